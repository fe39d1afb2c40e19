import numpy as np
import pytest
from scipy import sparse

from labelwise.models import LinearModel
from labelwise.models.self_training import (
    PseudoLabelling,
    at_most,
    confident_pseudo_labels,
    fit_with_pseudo_labels,
)


def _two_blobs(n=400, seed=0):
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 2
    return np.where(y[:, None] == 1, 2.0, -2.0) + rng.normal(size=(n, 2)), y


def test_confident_pseudo_labels_by_hand():
    proba = np.array([[0.95, 0.05], [0.6, 0.4], [0.1, 0.9], [0.5, 0.5]])
    rows, classes = confident_pseudo_labels(proba, threshold=0.9)
    assert rows.tolist() == [0, 2] and classes.tolist() == [0, 1]
    assert rows.dtype == np.int64 and classes.dtype == np.int64
    rows, _ = confident_pseudo_labels(proba, threshold=0.5)
    assert rows.tolist() == [0, 1, 2, 3]  # at the threshold counts
    with pytest.raises(ValueError, match=r"\(n, classes\)"):
        confident_pseudo_labels(np.ones(3), threshold=0.9)


@pytest.mark.parametrize("kwargs, match", [({"threshold": 0.4}, "threshold"), ({"weight": 0.0}, "weight"),
                                           ({"max_ratio": 0.0}, "max_ratio"), ({"min_answers": -1}, "min_answers"),
                                           ({"max_rows": 0}, "max_rows"), ({"max_classes": 1}, "max_classes"),
                                           ({"max_candidates": 0}, "max_candidates")])
def test_recipe_rejects_bad_settings(kwargs, match):
    with pytest.raises(ValueError, match=match):
        PseudoLabelling(**kwargs)


def test_row_weight_caps_the_total_at_max_ratio_times_the_answers():
    assert PseudoLabelling(weight=0.3, max_ratio=None).row_weight(50, 3000) == 0.3
    capped = PseudoLabelling(weight=1.0, max_ratio=1.0)
    assert capped.row_weight(50, 1000) == pytest.approx(0.05)  # 1000 × 0.05 = 50 answers' worth
    assert capped.row_weight(500, 100) == 1.0  # few confident texts: each keeps the full weight


def test_sample_weight_two_equals_a_duplicated_row():
    X, y = _two_blobs(60)
    w = np.ones(60)
    w[:10] = 2.0
    weighted = LinearModel("multiclass", 2, C=1.0).fit(X, y, sample_weight=w)
    duplicated = LinearModel("multiclass", 2, C=1.0).fit(np.vstack([X, X[:10]]), np.concatenate([y, y[:10]]))
    np.testing.assert_allclose(weighted.predict_proba(X), duplicated.predict_proba(X), atol=1e-4)
    with pytest.raises(ValueError, match="shape"):
        LinearModel("multiclass", 2).fit(X, y, sample_weight=np.ones(3))
    with pytest.raises(ValueError, match=">= 0"):
        LinearModel("multiclass", 2).fit(X, y, sample_weight=-w)


def test_fit_with_pseudo_labels_adds_the_confident_pool_texts():
    X, y = _two_blobs()
    labeled = np.arange(20)
    pool = np.arange(20, 400)
    model = LinearModel("multiclass", 2)
    added = fit_with_pseudo_labels(model, X[labeled], y[labeled], X[pool],
                                   PseudoLabelling(threshold=0.9, min_answers=20))
    plain = LinearModel("multiclass", 2).fit(X[labeled], y[labeled])
    expected, _ = confident_pseudo_labels(plain.predict_proba(X[pool]), threshold=0.9)
    assert added == expected.size > 100
    assert not np.allclose(model.predict_proba(X), plain.predict_proba(X))  # refit with them
    assert (model.predict(X[pool]) == y[pool]).mean() > 0.95


def test_fit_with_pseudo_labels_respects_min_answers_max_rows_max_classes_and_sparse_input():
    X, y = _two_blobs()
    Xs = sparse.csr_matrix(X)
    model = LinearModel("multiclass", 2)
    assert fit_with_pseudo_labels(model, Xs[:20], y[:20], Xs[20:], PseudoLabelling(min_answers=21)) == 0
    plain = LinearModel("multiclass", 2).fit(Xs[:20], y[:20])
    np.testing.assert_allclose(model.predict_proba(Xs), plain.predict_proba(Xs))
    assert fit_with_pseudo_labels(model, Xs[:20], y[:20], Xs[20:], PseudoLabelling(max_rows=7, min_answers=0)) == 7
    assert fit_with_pseudo_labels(model, Xs[:20], y[:20], Xs[:0], PseudoLabelling()) == 0
    three = LinearModel("multiclass", 3)
    assert fit_with_pseudo_labels(three, Xs[:20], y[:20], Xs[20:], PseudoLabelling(max_classes=2, min_answers=0)) == 0
    assert fit_with_pseudo_labels(three, Xs[:20], y[:20], Xs[20:], PseudoLabelling(max_classes=3, min_answers=0)) > 0


def test_fit_with_pseudo_labels_is_for_single_label_models():
    X, y = _two_blobs(40)
    with pytest.raises(ValueError, match="single-label"):
        fit_with_pseudo_labels(LinearModel("multilabel", 2), X, np.eye(2)[y], X, PseudoLabelling())


def test_at_most_keeps_a_small_set_and_samples_a_large_one_seeded():
    rows = np.array([9, 3, 7])
    np.testing.assert_array_equal(at_most(rows, 3, np.random.default_rng(0)), rows)  # as given, untouched
    big = np.arange(100, 200)
    picked = at_most(big, 10, np.random.default_rng(1))
    assert picked.size == 10 and np.all(np.diff(picked) > 0) and set(picked) <= set(big)
    np.testing.assert_array_equal(picked, at_most(big, 10, np.random.default_rng(1)))
