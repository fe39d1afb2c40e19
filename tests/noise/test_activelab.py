"""ActiveLab over a pool (labelwise.noise.rank_to_relabel): a hand-built case whose order is known.

Two well separated classes on a 2-D feature given as a precomputed view (no featurizer): 24 texts answered
by three annotators who agree; one text in the middle that two annotators split on; one text answered once
with the label of the other cluster; one answered once and right; two unanswered texts, one deep in a cluster
and one in the middle.
"""

import numpy as np
import pytest

from labelwise.noise import rank_to_relabel


def pool():
    rng = np.random.default_rng(0)
    ids, X, annotations = [], [], []
    for i in range(24):
        c = i % 2
        ids.append(f"t{i}")
        X.append([(-2 if c == 0 else 2) + rng.normal(0, 0.3), rng.normal(0, 0.3)])
        annotations += [(f"t{i}", name, "ab"[c]) for name in ("ann", "bob", "cy")]
    extra = {"split": [0.05, 0.0], "once_wrong": [-2.1, 0.1], "once_right": [2.0, 0.0], "new_sure": [-2.5, 0.0],
             "new_unsure": [0.0, 0.1]}
    ids += list(extra)
    X += list(extra.values())
    annotations += [("split", "ann", "a"), ("split", "bob", "b"), ("once_wrong", "cy", "b"),
                    ("once_right", "cy", "b")]
    return ids, np.array(X), annotations


def test_disputed_and_uncertain_texts_come_first():
    ids, X, annotations = pool()
    out = rank_to_relabel(ids, [f"text {i}" for i in ids], annotations, ["a", "b"], model="tfidf-lr",
                          views={"tfidf": X}, folds=4)
    order = [r["id"] for r in out.records]
    rank = {item: k for k, item in enumerate(order)}
    assert sorted(order) == sorted(ids) and out.model == "tfidf-lr"
    # the two texts nobody can place (annotators split / the model is unsure, no answer yet) first
    assert set(order[:2]) == {"split", "new_unsure"}
    assert rank["new_unsure"] < rank["new_sure"]  # among unlabeled: the model's doubt
    assert rank["once_wrong"] < rank["once_right"]  # among answered once: the model disagrees with the answer
    agreed = [rank[f"t{i}"] for i in range(24)]
    assert min(agreed) > max(rank[i] for i in ("split", "once_wrong", "once_right", "new_sure", "new_unsure"))
    by_id = {r["id"]: r for r in out.records}
    assert by_id["split"]["num_annotations"] == 2 and by_id["new_sure"]["num_annotations"] == 0
    assert by_id["new_sure"]["consensus_label"] is None and by_id["once_wrong"]["consensus_label"] == "b"
    assert all(0 <= r["score"] <= 1 for r in out.records)
    # out-of-fold probabilities follow labeled_ids; the consensus is the majority vote
    assert out.pred_probs.shape == (27, 2) and out.labeled_ids[:2] == ["t0", "t1"]
    assert out.consensus[:2] == ["a", "b"] and out.pred_probs[0, 0] > 0.5


def test_needs_enough_labeled_texts_and_known_ids():
    ids, X, annotations = pool()
    with pytest.raises(ValueError, match="unknown text ids"):
        rank_to_relabel(ids, ids, annotations + [("zz", "ann", "a")], ["a", "b"], model="tfidf-lr",
                        views={"tfidf": X})
    few = [a for a in annotations if a[0] in ("t0", "t1", "t2")]
    with pytest.raises(ValueError, match="at least 5 labeled"):
        rank_to_relabel(ids, ids, few, ["a", "b"], model="tfidf-lr", views={"tfidf": X})


def test_e5_views_are_centered_as_check_labels_centers_them():
    """An e5 view with one dominant direction is ranked on its centered rows (cosine k-NN sees the difference)."""
    from labelwise.noise.pipeline import center_rows

    ids, X, annotations = pool()
    shifted = np.hstack([X / 10, np.full((len(X), 1), 5.0)])
    texts = [f"text {i}" for i in ids]

    def probs(model, views):
        return rank_to_relabel(ids, texts, annotations, ["a", "b"], model=model, views=views, folds=4).pred_probs

    as_e5 = probs("e5-knn", {"e5": shifted})
    np.testing.assert_allclose(as_e5, probs("minilm-knn", {"minilm": center_rows(shifted)}))
    assert not np.allclose(as_e5, probs("minilm-knn", {"minilm": shifted}))
