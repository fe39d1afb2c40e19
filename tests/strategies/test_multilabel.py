"""Multi-label scorers, checked against hand-computed values."""

import numpy as np
import pytest

from labelwise.strategies import label_uncertainty, multilabel_cardinality, multilabel_uncertainty

P = np.array([[0.5, 0.9], [0.1, 0.0]])


def test_label_uncertainty_by_hand():
    # 1 - |2p - 1|: p=.5 -> 1, p=.9 -> .2, p=.1 -> .2, p=0 -> 0
    np.testing.assert_allclose(label_uncertainty(P), [[1.0, 0.2], [0.2, 0.0]], atol=1e-15)


def test_mean_and_max_aggregation():
    np.testing.assert_allclose(multilabel_uncertainty(P, aggregate="mean"), [0.6, 0.1], atol=1e-15)
    np.testing.assert_allclose(multilabel_uncertainty(P, aggregate="max"), [1.0, 0.2], atol=1e-15)
    with pytest.raises(ValueError, match="'mean' or 'max'"):
        multilabel_uncertainty(P, aggregate="sum")


def test_cardinality_by_hand():
    # labeled texts carry c = 1 label on average, L = 2 -> normaliser max(1, 2 - 1) = 1
    # row 0: expected count 1.4 -> mismatch 0.4; mean uncertainty 0.6 -> 0.25*0.6 + 0.75*0.4 = 0.45
    # row 1: expected count 0.1 -> mismatch 0.9; mean uncertainty 0.1 -> 0.25*0.1 + 0.75*0.9 = 0.70
    np.testing.assert_allclose(
        multilabel_cardinality(P, labeled_cardinality=1.0, weight=0.25), [0.45, 0.70], atol=1e-15
    )
    # weight 1 is plain mean uncertainty
    np.testing.assert_allclose(multilabel_cardinality(P, labeled_cardinality=1.0, weight=1.0), [0.6, 0.1])


def test_cardinality_errors():
    with pytest.raises(ValueError, match=r"labeled_cardinality must be in \[0, 2\]"):
        multilabel_cardinality(P, labeled_cardinality=3.0)
    with pytest.raises(ValueError, match="weight"):
        multilabel_cardinality(P, labeled_cardinality=1.0, weight=2.0)
    with pytest.raises(ValueError, match=r"must lie in \[0, 1\]"):
        multilabel_uncertainty(np.array([[1.2, 0.0]]))
