"""Multi-annotator helpers: annotation matrix, consensus, annotator quality, ActiveLab choice."""

import numpy as np
import pytest

from labelwise.noise import (
    active_learning_scores,
    annotation_matrix,
    choose_to_relabel,
    label_quality_multiannotator,
    majority_vote,
)


def test_annotation_matrix_hand_case():
    df = annotation_matrix([("t1", "ann", "b"), ("t2", "bob", "a"), ("t1", "bob", "a"), ("t1", "ann", "a")],
                           ["t1", "t2", "t3"], ["a", "b"])
    assert list(df.columns) == ["ann", "bob"]
    assert df["ann"].tolist()[:1] == [0.0] and np.isnan(df["ann"][1]) and np.isnan(df["ann"][2])
    assert df["bob"].tolist()[:2] == [0.0, 0.0]
    with pytest.raises(ValueError, match="unknown item"):
        annotation_matrix([("zz", "ann", "a")], ["t1"], ["a", "b"])
    with pytest.raises(ValueError, match="not in"):
        annotation_matrix([("t1", "ann", "c")], ["t1"], ["a", "b"])


def crowd():
    # 3 annotators on 12 items of 2 classes; annotators 0 and 1 agree with the truth, annotator 2 flips every
    # other item; the model agrees with the truth.
    truth = np.array([0, 1] * 6)
    labels = np.stack([truth, truth, np.where(np.arange(12) % 2 == 0, 1 - truth, truth)], axis=1).astype(float)
    labels[0, 1] = np.nan  # item 0: one good annotator, one bad one
    P = np.where(truth[:, None] == np.arange(2), 0.8, 0.2)
    return truth, labels, P


def test_consensus_and_annotator_quality():
    truth, labels, P = crowd()
    out = label_quality_multiannotator(labels, P)
    assert out["consensus_label"].tolist() == truth.tolist()
    assert out["num_annotations"].tolist() == [2] + [3] * 11
    q = out["annotator_stats"]["annotator_quality"]
    assert q[2] < q[0] and q[2] < q[1]
    assert majority_vote(labels[1:]).tolist() == truth[1:].tolist()


def test_active_learning_prefers_disputed_items_with_few_labels():
    truth, labels, P = crowd()
    scores, unlabeled = active_learning_scores(labels, P, np.array([[0.5, 0.5], [0.99, 0.01]]))
    assert scores.shape == (12,) and unlabeled.shape == (2,)
    assert int(np.argmin(scores)) == 0  # two annotators who disagree, the fewest annotations
    assert unlabeled[0] < unlabeled[1]  # the model is unsure about the first unlabeled item
    picks = choose_to_relabel(labels, P, 2, np.array([[0.5, 0.5], [0.99, 0.01]]))
    assert len(picks) == 2 and ("labeled", 0) in picks
    with pytest.raises(ValueError, match="at least one annotation"):
        label_quality_multiannotator(np.full((2, 2), np.nan), P[:2])


def _sparse_counts(reliability: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(raters, units) matrix with NaN for no answer -> the (unit, value, count) rows a GROUP BY returns."""
    pairs: dict[tuple[int, int], int] = {}
    for unit in range(reliability.shape[1]):
        for value in reliability[:, unit]:
            if not np.isnan(value):
                pairs[unit, int(value)] = pairs.get((unit, int(value)), 0) + 1
    rows = np.array([(u, v, c) for (u, v), c in pairs.items()], dtype=np.int64).reshape(-1, 3)
    return rows[:, 0], rows[:, 1], rows[:, 2]


def test_krippendorff_alpha_hand_cases():
    from labelwise.noise import krippendorff_alpha_nominal as alpha

    assert alpha([0, 1], [0, 1], [2, 2]) == 1.0  # every text answered alike, two values in use
    assert alpha([0, 1, 1], [0, 0, 1], [2, 1, 1]) == pytest.approx(0.0)  # 1 - 3 · 2 / (16 - 10)
    assert np.isnan(alpha([0, 1], [0, 0], [2, 3]))  # one value only: no expected disagreement
    assert np.isnan(alpha([0, 1, 2], [0, 1, 0], [1, 1, 1]))  # no text with two answers
    assert np.isnan(alpha([], [], []))
    # one row per answer (count 1 each, pairs repeated) is the same data as the grouped rows
    assert alpha([0, 0, 1, 1, 2, 2], [0, 0, 0, 1, 1, 1], [1] * 6) == pytest.approx(alpha([0, 1, 1, 2], [0, 0, 1, 1],
                                                                                      [2, 1, 1, 2]))
    assert alpha([0, 0, 1, 1, 2, 2], [0, 0, 0, 1, 1, 1], [1] * 6) == pytest.approx(1 - 5 * 2 / (36 - 18))
    with pytest.raises(ValueError, match="one length"):
        alpha([0, 1], [0], [1, 1])


def test_krippendorff_alpha_matches_the_reference_implementation():
    """Krippendorff's (2011) nominal example (alpha 0.743, missing answers included) and random data with
    missing answers, against the ``krippendorff`` package's dense computation."""
    import krippendorff

    from labelwise.noise import krippendorff_alpha_nominal as alpha

    nan = np.nan
    example = np.array([[1, 2, 3, 3, 2, 1, 4, 1, 2, nan, nan, nan],
                        [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, nan, 3],
                        [nan, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, nan],
                        [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, nan]])
    assert alpha(*_sparse_counts(example)) == pytest.approx(0.743, abs=5e-4)
    rng = np.random.default_rng(0)
    for _ in range(20):
        raters, units, k = rng.integers(2, 6), rng.integers(5, 40), rng.integers(2, 5)
        truth = rng.integers(0, k, units)
        data = np.where(rng.random((raters, units)) < 0.7, truth, rng.integers(0, k, (raters, units))).astype(float)
        data[rng.random((raters, units)) < 0.3] = np.nan
        reference = krippendorff.alpha(reliability_data=data, level_of_measurement="nominal")
        assert alpha(*_sparse_counts(data)) == pytest.approx(reference, abs=1e-9)
