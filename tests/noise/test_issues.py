"""cleanlab wrappers: hand-computed confident joint, detection of known flips, multi-label and token variants."""

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from labelwise.noise import (
    estimated_num_issues,
    find_label_issues,
    find_multilabel_issues,
    find_token_label_issues,
    get_label_quality_scores,
    get_token_label_quality_scores,
    largest_flip_rate,
    multilabel_suggestions,
    noise_summary,
    out_of_fold_proba,
    resolve_filter,
)

# thresholds: class 0 = mean(.9, .8, .2) = .633, class 1 = mean(.9, .8, .7) = .8; row 2 is confidently class 1,
# row 5 is confident in nothing -> confident joint [[2, 1], [0, 2]], calibrated to the label counts [[2, 1], [0, 3]]
LABELS = np.array([0, 0, 0, 1, 1, 1])
PROBS = np.array([[0.9, 0.1], [0.8, 0.2], [0.2, 0.8], [0.1, 0.9], [0.2, 0.8], [0.3, 0.7]])


def test_hand_computed_confident_joint_summary():
    s = noise_summary(LABELS, PROBS, ["a", "b"])
    np.testing.assert_allclose(s.joint, [[2, 1], [0, 3]])
    assert s.noise_rate == pytest.approx({"a": 1 / 3, "b": 0.0})
    assert s.estimated_issues == {"a": 1, "b": 0}
    assert s.confused_pairs == [("a", "b", 1)]
    assert estimated_num_issues(LABELS, PROBS) == 1
    assert find_label_issues(LABELS, PROBS).tolist() == [False, False, True, False, False, False]
    np.testing.assert_allclose(get_label_quality_scores(LABELS, PROBS), [0.9, 0.8, 0.2, 0.9, 0.8, 0.7])


def test_auto_filter_switches_to_per_cell_pruning_when_one_pair_carries_the_noise():
    # LABELS / PROBS: joint [[2, 1], [0, 3]] -> a third of class 0's labels belong to class 1
    assert largest_flip_rate(LABELS, PROBS) == pytest.approx(1 / 3)
    assert resolve_filter(LABELS, PROBS) == "both"
    # 10 texts per class, one of class 0's confidently class 1 -> joint [[9, 1], [0, 10]], rate 0.1
    y = np.repeat([0, 1], 10)
    P = np.where(y[:, None] == np.arange(2), 0.9, 0.1)
    P[3] = [0.1, 0.9]
    assert largest_flip_rate(y, P) == pytest.approx(0.1)
    assert resolve_filter(y, P) == "low_self_confidence"
    assert resolve_filter(y, P, "prune_by_class") == "prune_by_class"  # explicit filters pass through
    assert np.flatnonzero(find_label_issues(y, P)).tolist() == [3]
    # a clean-looking set: no flips at all
    assert largest_flip_rate(y, np.where(y[:, None] == np.arange(2), 0.9, 0.1)) == 0.0
    with pytest.raises(ValueError, match="unknown filter_by"):
        resolve_filter(y, P, "magic")


def test_auto_filter_is_the_resolved_cleanlab_filter():
    rng = np.random.default_rng(3)
    y = rng.integers(0, 3, 300)
    P = rng.dirichlet(np.ones(3), 300)
    chosen = resolve_filter(y, P)
    np.testing.assert_array_equal(find_label_issues(y, P), find_label_issues(y, P, filter_by=chosen))


def test_num_issues_override_and_bad_filter():
    assert np.flatnonzero(find_label_issues(LABELS, PROBS, num_issues=2)).tolist() == [2, 5]
    with pytest.raises(ValueError, match="unknown filter_by"):
        find_label_issues(LABELS, PROBS, filter_by="magic")
    with pytest.raises(ValueError, match="class indices"):
        find_label_issues(np.array([0, 2]), PROBS[:2])
    with pytest.raises(ValueError, match="labels must be"):
        find_label_issues(LABELS[:3], PROBS)


def two_clusters(n_per=60, flips=(3, 17, 70, 101, 115), seed=0):
    rng = np.random.default_rng(seed)
    X = np.vstack([rng.normal(-3, 1, (n_per, 2)), rng.normal(3, 1, (n_per, 2))])
    y_true = np.repeat([0, 1], n_per)
    y = y_true.copy()
    y[list(flips)] = 1 - y[list(flips)]
    return X, y, set(flips)


@pytest.mark.parametrize("filter_by", ["low_self_confidence", "prune_by_noise_rate"])
def test_flipped_points_in_separated_clusters_are_found(filter_by):
    X, y, flipped = two_clusters()
    P = out_of_fold_proba(X, y, model_factory=lambda: LogisticRegression(), folds=5)
    assert set(np.flatnonzero(find_label_issues(y, P, filter_by=filter_by))) == flipped


def test_filters_run_in_this_process_so_a_daemon_worker_can_check(monkeypatch):
    """The app checks labels in a daemon process, which may not start children: cleanlab's default forks a pool
    for "both" and "prune_by_noise_rate" on a machine with several cores ("daemonic processes are not allowed to
    have children"). Every filter must work with the pool unavailable."""
    import multiprocessing

    def no_pool(*args, **kwargs):
        raise AssertionError("daemonic processes are not allowed to have children")

    monkeypatch.setattr(multiprocessing, "Pool", no_pool)
    import cleanlab.filter

    monkeypatch.setattr(multiprocessing, "cpu_count", lambda: 4)
    monkeypatch.setattr(cleanlab.filter, "psutil_exists", False)  # else a one-core runner gets n_jobs=1 anyway
    X, y, flipped = two_clusters()
    y3 = np.where(np.arange(len(y)) % 7 == 0, 2, y)  # three classes, so cleanlab has classes to spread over workers
    P = out_of_fold_proba(X, y3, model_factory=lambda: LogisticRegression(), folds=5)
    for filter_by in ("both", "prune_by_noise_rate", "low_self_confidence"):
        assert find_label_issues(y3, P, filter_by=filter_by).shape == (len(y3),)
    Y = np.eye(3, dtype=int)[y3]
    assert find_multilabel_issues(Y, P).shape == (len(y3),)
    assert isinstance(find_token_label_issues([[0, 1], [1, 0, 2]], [P[:2], P[2:5]]), list)


def test_multilabel_flip_is_found():
    rng = np.random.default_rng(1)
    n = 90
    Y = np.zeros((n, 3), dtype=int)
    Y[np.arange(n), np.arange(n) % 3] = 1
    Y[::4, 2] = 1  # some rows carry two labels
    X = Y * 4.0 + rng.normal(0, 0.5, (n, 3))
    Y_noisy = Y.copy()
    assert Y[10].tolist() == [0, 1, 0]
    Y_noisy[10] = [0, 0, 1]  # true {1}, given {2}
    from sklearn.multiclass import OneVsRestClassifier

    P = out_of_fold_proba(X, Y_noisy, model_factory=lambda: OneVsRestClassifier(LogisticRegression()), folds=5)
    mask = find_multilabel_issues(Y_noisy, P)
    assert mask[10]
    assert mask.sum() <= 3
    assert multilabel_suggestions(P)[10] == [1]
    assert multilabel_suggestions(np.array([[0.1, 0.2, 0.3]])) == [[2]]


def test_multilabel_flag_summary_counts_what_flagged_suggestions_add_and_drop():
    from labelwise.noise.issues import multilabel_flag_summary

    Y = np.array([[1, 0, 0], [1, 0, 0], [0, 1, 0], [0, 1, 1]])
    P = np.array([[0.9, 0.1, 0.1],   # agrees, not flagged
                  [0.2, 0.8, 0.1],   # flagged: a -> b
                  [0.1, 0.9, 0.7],   # flagged: adds c
                  [0.1, 0.2, 0.3]])  # not flagged, though its suggestion {c} drops b
    out = multilabel_flag_summary(Y, P, ["a", "b", "c"], np.array([False, True, True, False]))
    a, b, c = (out["per_label"][k] for k in "abc")
    assert (a["flagged_missing"], a["flagged_spurious"], a["flagged_rate"]) == (0, 1, 0.25)
    assert (b["flagged_missing"], b["flagged_spurious"]) == (1, 0)
    assert (c["flagged_missing"], c["flagged_spurious"], c["given_positive"], c["predicted_positive"]) == (1, 0, 1, 1)
    assert out["swaps"] == [[1, 1, 0], [0, 2, 0], [0, 0, 1]]  # rows sum to the given counts
    assert out["confused_pairs"] == [{"given": "a", "true": "b", "estimated_count": 1}]


def test_flagged_class_summary_of_pooled_items():
    from labelwise.noise.issues import flagged_class_summary

    given = np.array([0, 0, 0, 1, 1, 2])
    suggested = np.array([0, 1, 2, 1, 0, 2])
    flagged = np.array([False, True, False, True, True, False])  # item 2 disagrees but is not flagged
    out = flagged_class_summary(given, suggested, flagged, ["O", "B-PER", "I-PER"])
    assert out["matrix"] == [[2, 1, 0], [1, 1, 0], [0, 0, 1]]  # a flagged agreeing item stays on the diagonal
    assert out["noise_rate"] == pytest.approx({"O": 1 / 3, "B-PER": 1.0, "I-PER": 0.0})
    assert out["estimated_issues"] == {"O": 1, "B-PER": 2, "I-PER": 0}
    assert [(p["given"], p["true"]) for p in out["confused_pairs"]] == [("B-PER", "O"), ("O", "B-PER")]


def test_token_issue_on_tiny_hand_case():
    # 12 sentences of 3 tokens, tags O=0, B=1; the model is sure token 1 of every sentence is B, token 0 and 2 O.
    labels = [[0, 1, 0] for _ in range(12)]
    labels[4] = [0, 0, 0]  # the B was mislabeled as O
    probs = [np.array([[0.95, 0.05], [0.1, 0.9], [0.9, 0.1]]) for _ in range(12)]
    issues = find_token_label_issues(labels, probs)
    assert issues == [(4, 1)]
    sentence_q, token_q = get_token_label_quality_scores(labels, probs)
    assert int(np.argmin(sentence_q)) == 4
    assert token_q[4][1] == pytest.approx(0.1)
    with pytest.raises(ValueError, match="sentence 0"):
        find_token_label_issues([[0, 1]], [np.zeros((3, 2))])
