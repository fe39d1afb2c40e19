"""Oracle replay: run active learning on a fully labeled dataset, answering each query with the true label,
and measure the test score after every batch. Every strategy starts, for a given seed, from the same initial
random sample, so curves differ only by what the strategies chose.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

import numpy as np
from sklearn.metrics import accuracy_score, f1_score

from labelwise.data import Corpus
from labelwise.loop import ActiveLearner, resolve_model
from labelwise.loop.pipeline import E5_PREFIXES, e5_prefix_options, plan_e5_prefix
from labelwise.loop.view_choice import PREFIX_CHOICE_AT, choose_view
from labelwise.models import LinearModel
from labelwise.strategies.registry import get_strategy

METRICS = {"multiclass": "accuracy", "multilabel": "micro_f1"}


def score_predictions(task: str, y_true: np.ndarray, proba: np.ndarray) -> float:
    """Accuracy (multiclass: argmax) or micro-F1 (multi-label: threshold 0.5)."""
    if task == "multiclass":
        return float(accuracy_score(y_true, proba.argmax(axis=1)))
    return float(f1_score(y_true, (proba >= 0.5).astype(np.int8), average="micro", zero_division=0.0))


class SettingsError(ValueError):
    """A simulation's settings do not fit its data (budget beyond the pool, one class, …). Raised before any
    featurizing or training, so a caller can report it as a usage error rather than a crash."""


@dataclass
class Progress:
    """Callbacks the engine reports to (the CLI turns them into a progress bar)."""

    on_start: Callable[[int], None] = lambda total: None
    on_step: Callable[[str], None] = lambda description: None


def label_schedule(initial: int, batch: int, budget: int) -> list[int]:
    """Numbers of labels at which the model is scored: initial, initial + batch, …, budget."""
    if initial < 1 or batch < 1 or budget < initial:
        raise SettingsError(f"need initial >= 1, batch >= 1 and budget >= initial; got initial {initial}, batch "
                            f"{batch}, budget {budget}")
    points = list(range(initial, budget, batch))
    if not points or points[-1] != budget:
        points.append(budget)
    return points


def savings_against_random(curves: dict, budget: int, *, baseline: str = "random",
                           interval: float = 0.9, resamples: int = 2000) -> dict:
    """The seed study's definition: target = random's mean score at the full budget; labels_needed = fewest
    labels at which a strategy's mean curve reaches it; savings = 1 − labels_needed / budget (None if never).

    Where the curves carry ``per_seed`` scores (seed i of every strategy started from the same initial
    sample), ``savings_interval`` is a paired seed bootstrap: resample the seeds with replacement
    (``resamples`` times, fixed random stream), recompute random's target and the strategy's mean curve from
    the same resampled seeds, and report the central ``interval`` of the resulting savings as ``[lo, hi]``
    (None for an end where the strategy never reaches the target). How far a five-seed savings number can move.
    """
    if baseline not in curves:
        return {}
    target = curves[baseline]["mean"][-1]

    def needed(curve: dict) -> int | None:
        hits = [n for n, m in zip(curve["labels"], curve["mean"], strict=True) if m >= target - 1e-12]
        return int(hits[0]) if hits else None

    random_needed = needed(curves[baseline])
    base_runs = np.asarray(curves[baseline].get("per_seed", []), dtype=float)
    picks = None
    if base_runs.ndim == 2 and base_runs.shape[0] > 1:
        picks = np.random.default_rng(0).integers(base_runs.shape[0], size=(resamples, base_runs.shape[0]))
        targets = base_runs[picks].mean(axis=1)[:, -1]
    out = {}
    for name, curve in curves.items():
        n = needed(curve)
        out[name] = {"target_score": float(target), "labels_needed": n,
                     "random_labels_needed": random_needed,
                     "savings": None if n is None else float(1.0 - n / budget)}
        runs = np.asarray(curve.get("per_seed", []), dtype=float)
        if picks is not None and runs.shape == base_runs.shape:
            means = runs[picks].mean(axis=1)  # (resamples, points)
            reached = means >= targets[:, None] - 1e-12
            labels = np.asarray(curve["labels"], dtype=float)
            boot = np.where(reached.any(axis=1), 1.0 - labels[reached.argmax(axis=1)] / budget, -np.inf)
            tail = (1.0 - interval) / 2
            lo, hi = np.quantile(boot, [tail, 1.0 - tail], method="inverted_cdf")
            out[name]["savings_interval"] = [None if not np.isfinite(v) else round(float(v), 6) for v in (lo, hi)]
    return out


def area_under_curve(labels: Sequence[int], scores: Sequence[float]) -> float:
    """Normalised area under a learning curve (trapezoids, divided by the label range): a mean score."""
    x, y = np.asarray(labels, dtype=float), np.asarray(scores, dtype=float)
    if x.size < 2:
        return float(y[0]) if y.size else float("nan")
    return float(np.sum((x[1:] - x[:-1]) * (y[1:] + y[:-1]) / 2) / (x[-1] - x[0]))


def pool_rows(n_train: int, pool_size: int | None) -> np.ndarray:
    """The rows of a train split that :func:`simulate` replays: all of them, or a sorted sample of ``pool_size``
    drawn with a fixed seed, so that every run (and every benchmark comparing with one) sees the same pool."""
    if pool_size is None or pool_size >= n_train:
        return np.arange(n_train)
    return np.sort(np.random.default_rng(12345).choice(n_train, size=pool_size, replace=False))


def initial_rows(n_pool: int, initial: int, seed: int) -> np.ndarray:
    """The random initially labeled pool rows of one seed; every strategy run with that seed starts from them."""
    return np.random.default_rng(seed).choice(n_pool, size=initial, replace=False)


def _accepted_options(model: str, train: Corpus, options: dict | None) -> dict | None:
    """The featurizer options that ``model``'s featurizer takes (an embedding backend means nothing to TF-IDF)."""
    if not options:
        return options
    import inspect

    from labelwise.features import FEATURIZERS
    from labelwise.features.stacked import EMBEDDERS

    features = resolve_model(model, train.texts, train.task).features
    accepted = {k: v for k, v in options.items() if k in inspect.signature(FEATURIZERS[features]).parameters}
    if isinstance(accepted.get("embedding_options"), dict):  # a stacked view: keep what its embedding part takes
        taken = inspect.signature(EMBEDDERS[features.split("-")[0]]).parameters
        accepted["embedding_options"] = {k: v for k, v in accepted["embedding_options"].items() if k in taken}
    return accepted


def simulate(train: Corpus, test: Corpus, *, model: str = "auto",
             strategies: Sequence[str] = ("random", "least-confidence", "margin", "entropy"),
             initial: int = 50, batch: int = 50, budget: int = 1000, seeds: int = 5,
             pool_size: int | None = None, refit: str = "scratch", progress: Progress | None = None,
             featurizer_options: dict | None = None, model_options: dict | None = None,
             baseline_model: str | None = None, e5_prefix: str | None = None) -> dict:
    """Replay ``train`` as an oracle and score on ``test``; returns the results.json structure.

    ``e5_prefix``: for a model with an e5 part, "passage", "query" or "auto" (the default for single-label
    tasks: every learner starts on "passage" and picks its prefix from its labels at
    :data:`~labelwise.loop.view_choice.PREFIX_CHOICE_AT` labels, see :class:`~labelwise.loop.ActiveLearner`;
    both views are featurized once and shared, and each learner is scored on the test view of its prefix).
    results["pseudo_labels"] (only when some strategy's learner trains on pseudo-labels, as ``default`` does
    on binary tasks with ``e5-tfidf-lr``): per such strategy its ``recipe`` and the count it added in the last
    round of each seed (``added_at_budget``).
    results["e5_prefix"] records the setting, the prefix the full-data score used (chosen the same way on the
    whole pool) and each strategy's choice per seed.

    ``baseline_model``: also run random picking with this model (same pool, seeds and initial labels) and
    read every strategy's curve against its score at the budget: results["baseline"] holds its
    ``model``, ``full_data_score``, ``curve`` and per-strategy ``savings``. This answers "how many labels
    does this setup save over random labels with the model I use today" next to the contract's savings,
    which compare strategies on one model.
    """
    if train.task != test.task:
        raise ValueError(f"train is {train.task!r} but test is {test.task!r}")
    if train.task not in METRICS:
        raise ValueError(f"simulate handles {sorted(METRICS)} here; got task {train.task!r}")
    if not train.is_labeled or not test.is_labeled:
        raise ValueError("simulate needs every train and test record labeled")
    strategies = list(dict.fromkeys(strategies))
    if "random" not in strategies:
        strategies.insert(0, "random")  # savings are measured against random: always run it
    progress = progress or Progress()
    label_set = sorted(set(train.label_set) | set(test.label_set))
    train = Corpus(ids=train.ids, texts=train.texts, task=train.task, labels=train.labels, label_set=label_set)
    test = Corpus(ids=test.ids, texts=test.texts, task=test.task, labels=test.labels, label_set=label_set)
    if pool_size is not None and pool_size < len(train):
        train = train.subset(pool_rows(len(train), pool_size))
    if budget > len(train):
        raise SettingsError(f"budget {budget} is larger than the pool ({len(train)} texts)")
    schedule = label_schedule(initial, batch, budget)
    if train.task == "multiclass" and len(label_set) < 2:
        raise SettingsError(f"the train and test splits hold a single label ({label_set[0]!r}); a classifier needs "
                            "at least two")
    spec = resolve_model(model, train.texts, train.task)
    first_prefix, choosing = plan_e5_prefix(spec.features, train.task, e5_prefix, featurizer_options)
    if baseline_model is not None:
        resolve_model(baseline_model, train.texts, train.task)  # an unknown name fails before the long run

    baseline_steps = seeds * len(schedule) + 2 if baseline_model is not None else 0
    progress.on_start(len(strategies) * seeds * len(schedule) + 2 + baseline_steps)
    progress.on_step(f"featurizing with {spec.features}")
    from labelwise.features import make_featurizer

    start = time.perf_counter()
    pool_views, test_views = {}, {}  # per e5 prefix (one view, keyed None, without an e5 part)
    embeddings = None
    needs_geometry = any(get_strategy(name).needs & {"embeddings", "labeled_embeddings"} for name in strategies)
    for prefix in (E5_PREFIXES if choosing else (first_prefix,)):
        options = (featurizer_options or {}) if prefix is None else e5_prefix_options(spec.features, prefix,
                                                                                       featurizer_options)
        featurizer = make_featurizer(spec.features, **options)
        pool_views[prefix] = featurizer.fit(train.texts).transform(train.texts)
        test_views[prefix] = featurizer.transform(test.texts)
        if needs_geometry and embeddings is None:  # the first view's, shared by every learner below
            embeddings = featurizer.geometry(pool_views[prefix])
    featurize_seconds = time.perf_counter() - start
    y_pool = train.label_matrix()
    y_test = test.label_matrix()

    progress.on_step("fitting on the full pool")
    options = {**spec.classifier_options, **(model_options or {})}
    full_prefix = first_prefix
    if choosing:
        full_prefix, _ = choose_view(pool_views, y_pool, n_classes=len(label_set), classifier_options=options)
    full = LinearModel(train.task, len(label_set), **options).fit(pool_views[full_prefix], y_pool)
    full_data_score = score_predictions(train.task, y_test, full.predict_proba(test_views[full_prefix]))
    chosen_prefix: dict[str, list] = {s: [] for s in strategies}
    pseudo_labels: dict[str, dict] = {}

    per_seed: dict[str, list[list[float]]] = {s: [] for s in strategies}
    seconds = {s: {"featurize": featurize_seconds, "fit": 0.0, "score": 0.0, "select": 0.0} for s in strategies}
    for seed in range(seeds):
        start_rows = initial_rows(len(train), initial, seed)
        initial_ids = [train.ids[i] for i in start_rows]
        for name in strategies:
            learner = ActiveLearner(train, model=spec.name, strategy=name, retrain_every=0, refit=refit,
                                    seed=seed, embeddings=embeddings, model_options=model_options,
                                    e5_prefix="auto" if choosing else first_prefix,
                                    **({"feature_views": pool_views} if choosing else
                                       {"features": pool_views[first_prefix]}))
            learner.teach(initial_ids, [train.labels[i] for i in start_rows])
            curve = []
            for target in schedule:
                if learner.n_labeled < target:
                    ids = learner.query(target - learner.n_labeled)
                    learner.teach(ids, [train.labels[i] for i in learner.positions(ids)])
                learner.retrain()
                X_test = test_views[learner.e5_prefix]
                curve.append(score_predictions(train.task, y_test, learner.model.predict_proba(X_test)))
                progress.on_step(f"{name} · seed {seed} · {target} labels")
            per_seed[name].append(curve)
            chosen_prefix[name].append(learner.e5_prefix)
            if learner.trains_on_pseudo_labels:
                record = pseudo_labels.setdefault(name, {"recipe": asdict(learner.pseudo_labelling),
                                                         "added_at_budget": []})
                record["added_at_budget"].append(learner.pseudo_labeled)
            for key in ("fit", "score", "select"):
                seconds[name][key] += learner.timings[key]

    curves = {}
    for name, runs in per_seed.items():
        arr = np.asarray(runs)
        curves[name] = {"labels": schedule, "mean": arr.mean(axis=0).tolist(), "std": arr.std(axis=0).tolist(),
                        "per_seed": arr.tolist()}
    for name in curves:
        curves[name]["auc"] = area_under_curve(schedule, curves[name]["mean"])
    baseline = None
    if baseline_model is not None:
        baseline = baseline_reading(train, test, curves, model=baseline_model, initial=initial, batch=batch,
                                    budget=budget, seeds=seeds, refit=refit, progress=progress,
                                    featurizer_options=featurizer_options)
    results = {
        "task": train.task,
        "model": spec.name,
        "metric": METRICS[train.task],
        "full_data_score": full_data_score,
        "curves": curves,
        "savings": savings_against_random(curves, budget),
        "seconds": seconds,
        "settings": {"initial": initial, "batch": batch, "budget": budget, "seeds": seeds,
                     "pool_size": len(train), "test_size": len(test), "refit": refit,
                     # as JSON (an encoder object or a path given through the API shows as its text)
                     "featurizer_options": json.loads(json.dumps(featurizer_options or {}, default=str)),
                     "strategies": strategies, "labels": label_set},
    }
    if first_prefix is not None:
        results["settings"]["e5_prefix"] = "auto" if choosing else first_prefix
        results["e5_prefix"] = {"setting": results["settings"]["e5_prefix"], "full_data": full_prefix,
                                "chosen_at": PREFIX_CHOICE_AT if choosing else None, "chosen": chosen_prefix}
    if pseudo_labels:
        results["pseudo_labels"] = pseudo_labels
    if baseline is not None:
        results["baseline"] = baseline
    return results


def baseline_reading(train: Corpus, test: Corpus, curves: dict, *, model: str, initial: int = 50, batch: int = 50,
                     budget: int = 1000, seeds: int = 5, pool_size: int | None = None, refit: str = "scratch",
                     progress: Progress | None = None, featurizer_options: dict | None = None) -> dict:
    """Random picking with ``model`` on the pool, seeds and initial labels that produced ``curves`` (pass the
    same ``pool_size`` and settings), and every curve's savings read against its score at the budget.

    Returns ``{"model", "full_data_score", "curve", "savings": {strategy: {...}}}`` (results["baseline"]).
    """
    progress = progress or Progress()
    base = simulate(train, test, model=model, strategies=["random"], initial=initial, batch=batch, budget=budget,
                    seeds=seeds, pool_size=pool_size, refit=refit,
                    progress=Progress(on_step=lambda d: progress.on_step(f"baseline {d}")),
                    featurizer_options=_accepted_options(model, train, featurizer_options))
    key = f"random ({base['model']})"
    against = savings_against_random({key: base["curves"]["random"], **curves}, budget, baseline=key)
    return {"model": base["model"], "full_data_score": base["full_data_score"], "curve": base["curves"]["random"],
            "savings": {n: against[n] for n in curves}}
