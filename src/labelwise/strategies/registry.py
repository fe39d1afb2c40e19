"""Named query strategies: what the loop, ``labelwise simulate`` and the app call by name.

A :class:`QueryStrategy` turns a :class:`QueryContext` (the arrays computed for the unlabeled pool) into pool
positions, ask-first order. ``needs`` names the arrays the loop should compute for it; nothing else is read.

    >>> from labelwise.strategies import QueryContext, get_strategy
    >>> strategy = get_strategy("margin")
    >>> positions = strategy(QueryContext(proba=P, seed=0, round=3), 50)  # doctest: +SKIP
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import scipy.sparse as sp

from .batch_bald import batch_bald
from .committee import bald, mean_kl, vote_entropy
from .contrastive import contrastive_kl
from .diversity import badge, coreset, diverse_top, kmeans_cold_start, representatives_and_top
from .multilabel import multilabel_cardinality, multilabel_uncertainty, predicted_cardinality
from .selection import as_count, select
from .uncertainty import entropy, interval_window, least_confidence, margin, probability_interval

__all__ = [
    "NEEDS",
    "TASKS",
    "QueryContext",
    "QueryStrategy",
    "available_strategies",
    "get_strategy",
    "make_default_strategy",
    "register_strategy",
]

TASKS = frozenset({"multiclass", "multilabel"})
NEEDS = frozenset({"proba", "samples", "embeddings", "labeled_embeddings", "labeled_proba"})
Embeddings = np.ndarray | sp.spmatrix


@dataclass
class QueryContext:
    """Everything a strategy may look at for one query over the unlabeled pool (row i = pool position i).

    proba: (n, C) class probabilities (multiclass) or (n, L) per-label probabilities (multilabel), or None.
    samples: (k, n, C) committee / MC-dropout probabilities, or None.
    embeddings: (n, d) pool embeddings, dense or SciPy sparse, or None.
    labeled_embeddings: (m, d) embeddings of the already labeled texts, or None.
    labeled_proba: (m, C) the model's probabilities for the already labeled texts (same rows), or None.
    task: "multiclass" or "multilabel".
    n_labeled: how many texts are labeled so far (drives cold-start decisions).
    round: 0-based query round (drives the probability-interval window and the per-round random stream).
    seed: base seed (a non-negative int) or None for fresh randomness each call.
    labeled_cardinality: mean number of labels per labeled text (multilabel), or None.
    n_pool: pool size, needed only when no array is given (e.g. for "random").
    """

    proba: np.ndarray | None = None
    samples: np.ndarray | None = None
    embeddings: Embeddings | None = None
    labeled_embeddings: Embeddings | None = None
    labeled_proba: np.ndarray | None = None
    task: str = "multiclass"
    n_labeled: int = 0
    round: int = 0
    seed: int | None = None
    labeled_cardinality: float | None = None
    n_pool: int | None = None

    def pool_size(self) -> int:
        """Number of pool rows, checked to agree across every array given."""
        sizes = {}
        if self.proba is not None:
            sizes["proba"] = np.shape(self.proba)[0]
        if self.samples is not None:
            shape = np.shape(self.samples)
            if len(shape) != 3:
                raise ValueError(f"QueryContext.samples must have shape (k, n, C), got {shape}")
            sizes["samples"] = shape[1]
        if self.embeddings is not None:
            sizes["embeddings"] = self.embeddings.shape[0]
        if self.n_pool is not None:
            sizes["n_pool"] = int(self.n_pool)
        if not sizes:
            raise ValueError("QueryContext: give n_pool or at least one of proba, samples, embeddings")
        if len(set(sizes.values())) > 1:
            raise ValueError(f"QueryContext: the pool arrays disagree on the number of rows: {sizes}")
        return next(iter(sizes.values()))

    def rng(self) -> np.random.Generator:
        """This round's random stream: the same (seed, round) always gives the same stream."""
        if self.seed is None:
            return np.random.default_rng()
        return np.random.default_rng([int(self.seed), int(self.round)])

    def require(self, what: str, strategy: str) -> Any:
        """The array named ``what``, or a ValueError saying which strategy needs it."""
        value = getattr(self, what)
        if value is None:
            raise ValueError(f"strategy {strategy!r} needs QueryContext.{what}, which is None")
        return value


#: ``run(ctx, n, seconds)`` -> (positions, scores or None); it may record ``seconds["score"]``, the time
#: spent computing scores, so callers can split scoring from selecting.
Runner = Callable[[QueryContext, int, dict[str, float]], "tuple[np.ndarray, np.ndarray | None]"]


@dataclass
class QueryStrategy:
    """A named strategy: ``strategy(ctx, n) -> positions`` (int64, distinct, ask-first order).

    ``needs``: arrays of the context to compute (subset of ``NEEDS``). ``tasks``: the tasks it supports.
    ``pseudo_labels``: when the learner should train, for this strategy, on the answers plus the pool texts
    its model is sure of with the model's labels, the fields of
    :class:`labelwise.models.self_training.PseudoLabelling` (``{"threshold": 0.8, ...}``); None: on the
    answers alone. The strategy still sees only
    predictions; this only says which model its predictions should come from.
    ``last_scores``: the (n_pool,) scores of the last call, for inspection (None for strategies without
    per-text scores, such as k-means or core-set). ``last_seconds``: ``{"score", "select"}`` wall seconds of
    the last call (everything that is not computing scores counts as selecting).
    """

    name: str
    needs: frozenset[str]
    tasks: frozenset[str]
    run: Runner = field(repr=False)
    description: str = ""
    pseudo_labels: dict[str, Any] | None = None
    last_scores: np.ndarray | None = field(default=None, repr=False, compare=False)
    last_seconds: dict[str, float] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.needs <= NEEDS:
            raise ValueError(f"strategy {self.name!r}: unknown needs {sorted(self.needs - NEEDS)}")
        if not self.tasks <= TASKS:
            raise ValueError(f"strategy {self.name!r}: unknown tasks {sorted(self.tasks - TASKS)}")

    def __call__(self, ctx: QueryContext, n: int) -> np.ndarray:
        if ctx.task not in self.tasks:
            raise ValueError(
                f"strategy {self.name!r} supports tasks {sorted(self.tasks)}, not {ctx.task!r}; "
                f"strategies for {ctx.task!r}: {available_strategies(ctx.task)}"
                if ctx.task in TASKS
                else f"QueryContext.task must be one of {sorted(TASKS)}, got {ctx.task!r}"
            )
        n = as_count(n, name=self.name)
        pool = ctx.pool_size()
        seconds = {"score": 0.0}
        start = time.perf_counter()
        if n <= 0 or pool == 0:
            positions, scores = np.empty(0, dtype=np.int64), None
        else:
            positions, scores = self.run(ctx, min(n, pool), seconds)
        seconds["select"] = max(0.0, time.perf_counter() - start - seconds["score"])
        self.last_scores, self.last_seconds = scores, seconds
        return np.asarray(positions, dtype=np.int64)


_FACTORIES: dict[str, Callable[..., QueryStrategy]] = {}


def register_strategy(name: str, factory: Callable[..., QueryStrategy]) -> None:
    """Make ``get_strategy(name, **options)`` return ``factory(**options)``."""
    _FACTORIES[name] = factory


def get_strategy(name: str, **options: Any) -> QueryStrategy:
    """A fresh strategy object by name; ``options`` go to its factory (e.g. ``candidates=5``)."""
    try:
        factory = _FACTORIES[name]
    except KeyError:
        raise ValueError(f"unknown strategy {name!r}; available: {sorted(_FACTORIES)}") from None
    return factory(**options)


def available_strategies(task: str | None = None) -> list[str]:
    """Names of the registered strategies (those supporting ``task`` if given), in registration order."""
    if task is not None and task not in TASKS:
        raise ValueError(f"task must be one of {sorted(TASKS)}, got {task!r}")
    return [name for name, f in _FACTORIES.items() if task is None or task in f().tasks]


# --- building blocks ------------------------------------------------------------------------------------

_MC = frozenset({"multiclass"})
_ML = frozenset({"multilabel"})
_BOTH = TASKS


def _pick(scores: np.ndarray, ctx: QueryContext, n: int, *, diverse: bool, candidates: int) -> np.ndarray:
    if diverse and ctx.embeddings is not None:
        return diverse_top(scores, ctx.embeddings, n, candidates=candidates, seed=ctx.rng())
    return select(scores, n, ctx.rng())


def _scoring(
    name: str,
    needs: set[str],
    tasks: frozenset[str],
    score: Callable[[QueryContext], np.ndarray],
    description: str,
    *,
    diverse_default: bool = False,
) -> Callable[..., QueryStrategy]:
    """Factory for ``score -> select`` strategies and, with ``diverse=True``, ``score -> diverse_top``."""

    def factory(*, diverse: bool = diverse_default, candidates: int = 10) -> QueryStrategy:
        def run(ctx: QueryContext, n: int, seconds: dict[str, float]) -> tuple[np.ndarray, np.ndarray]:
            if diverse:
                ctx.require("embeddings", name)
            start = time.perf_counter()
            scores = score(ctx)
            seconds["score"] = time.perf_counter() - start
            return _pick(scores, ctx, n, diverse=diverse, candidates=candidates), scores

        all_needs = frozenset(needs | ({"embeddings"} if diverse else set()))
        return QueryStrategy(name, all_needs, tasks, run, description)

    return factory


def _proba(name: str, fn: Callable[[np.ndarray], np.ndarray]) -> Callable[[QueryContext], np.ndarray]:
    return lambda ctx: fn(ctx.require("proba", name))


def _samples(name: str, fn: Callable[[np.ndarray], np.ndarray]) -> Callable[[QueryContext], np.ndarray]:
    return lambda ctx: fn(ctx.require("samples", name))


def _random_factory() -> QueryStrategy:
    def run(ctx: QueryContext, n: int, seconds: dict[str, float]) -> tuple[np.ndarray, None]:
        return ctx.rng().choice(ctx.pool_size(), size=n, replace=False), None

    return QueryStrategy("random", frozenset(), _BOTH, run, "uniformly at random (the baseline)")


def _probability_interval_factory(
    *, start: tuple[float, float] = (0.4, 0.6), step: float = 0.05
) -> QueryStrategy:
    def score(ctx: QueryContext) -> np.ndarray:
        lo, hi = interval_window(ctx.round, start=start, step=step)
        return probability_interval(ctx.require("proba", "probability-interval"), lo=lo, hi=hi)

    return _scoring(
        "probability-interval",
        {"proba"},
        _MC,
        score,
        f"top probability in a window widening from {start} by {step} per round",
    )()


def _cardinality_score(weight: float) -> Callable[[QueryContext], np.ndarray]:
    def score(ctx: QueryContext) -> np.ndarray:
        c = ctx.require("labeled_cardinality", "ml-cardinality")
        return multilabel_cardinality(
            ctx.require("proba", "ml-cardinality"), labeled_cardinality=c, weight=weight
        )

    return score


def _ml_cardinality_factory(
    *, weight: float = 0.5, diverse: bool = False, candidates: int = 10
) -> QueryStrategy:
    return _scoring(
        "ml-cardinality",
        {"proba"},
        _ML,
        _cardinality_score(weight),
        "label uncertainty + cardinality mismatch",
    )(diverse=diverse, candidates=candidates)


def _batch_bald_factory(
    *, candidates: int | None = 10, max_exact: int = 1024, num_samples: int = 1024
) -> QueryStrategy:
    def run(ctx: QueryContext, n: int, seconds: dict[str, float]) -> tuple[np.ndarray, np.ndarray]:
        S = ctx.require("samples", "batch-bald")
        start = time.perf_counter()
        scores = bald(S)
        seconds["score"] = time.perf_counter() - start
        picks = batch_bald(
            S, n, seed=ctx.rng(), max_exact=max_exact, num_samples=num_samples, candidates=candidates
        )
        return picks, scores

    return QueryStrategy(
        "batch-bald", frozenset({"samples"}), _MC, run, "greedy BatchBALD over committee samples"
    )


def _kmeans_factory(*, minibatch_above: int = 20_000) -> QueryStrategy:
    def run(ctx: QueryContext, n: int, seconds: dict[str, float]) -> tuple[np.ndarray, None]:
        X = ctx.require("embeddings", "kmeans")
        return kmeans_cold_start(X, n, seed=ctx.rng(), minibatch_above=minibatch_above), None

    return QueryStrategy("kmeans", frozenset({"embeddings"}), _BOTH, run, "k-means cluster representatives")


def _coreset_factory() -> QueryStrategy:
    def run(ctx: QueryContext, n: int, seconds: dict[str, float]) -> tuple[np.ndarray, None]:
        X = ctx.require("embeddings", "coreset")
        return coreset(X, ctx.labeled_embeddings, n, seed=ctx.rng()), None

    return QueryStrategy(
        "coreset", frozenset({"embeddings", "labeled_embeddings"}), _BOTH, run, "greedy k-center core-set"
    )


def _badge_factory() -> QueryStrategy:
    def run(ctx: QueryContext, n: int, seconds: dict[str, float]) -> tuple[np.ndarray, None]:
        P, X = ctx.require("proba", "badge"), ctx.require("embeddings", "badge")
        return badge(P, X, n, seed=ctx.rng()), None

    return QueryStrategy("badge", frozenset({"proba", "embeddings"}), _MC, run,
                         "k-means++ over gradient embeddings (uncertain and diverse)")


def _contrastive_factory(*, k: int = 10, diverse: bool = False, candidates: int = 10) -> QueryStrategy:
    def score(ctx: QueryContext) -> np.ndarray:
        if ctx.labeled_proba is None or ctx.labeled_embeddings is None:
            return margin(ctx.require("proba", "cal"))  # nothing labeled to contrast with yet
        return contrastive_kl(ctx.require("proba", "cal"), ctx.require("embeddings", "cal"),
                              ctx.labeled_proba, ctx.labeled_embeddings, k=k)

    return _scoring("cal", {"proba", "embeddings", "labeled_proba", "labeled_embeddings"}, _MC, score,
                    f"mean KL from the {k} nearest labeled texts' predictions (contrastive)")(
        diverse=diverse, candidates=candidates)


def make_default_strategy(
    *,
    cold_start_factor: float = 2.0,
    candidates: int = 10,
    diverse: bool = True,
    multilabel_aggregate: Literal["mean", "max"] = "max",
    min_predicted_cardinality: float = 0.3,
    binary_diverse_until: float = 4.0,
    cold_start_top_share: float = 0.2,
    imbalanced_below: float = 0.25,
    imbalanced_top_share: float = 0.5,
    balanced_top_share: float = 0.0,
    pseudo_labels: dict[str, Any] | None = None,
) -> QueryStrategy:
    """labelwise's recommended strategy (``"default"``), a composite whose thresholds are tunable here.

    - Multilabel readiness gate, checked first: while the model predicts (probability > 0.5) fewer than
      ``min_predicted_cardinality`` × as many labels per pool text as the labeled texts carry
      (``ctx.labeled_cardinality``), the batch is drawn at random. Such a model misses most positives, so its
      per-label uncertainties say little, and any non-random pick skews the label frequencies that its
      threshold-0.5 predictions depend on: on goemotions (28 emotions, micro-F1), where MiniLM + LR predicts
      at most ~0.26× the true cardinality up to 1,000 random labels, k-means, uncertainty and mixed batches
      all fell 4–8 points below random, while on reuters21578_modapte the ratio passes 0.3 at ~100 labels
      (benchmarks/ml_readiness.py; docs/label-efficiency.md). 0 disables the gate.

    - Cold start, while there is no model (``ctx.proba is None``) or ``n_labeled < cold_start_factor * n``:
      :func:`kmeans_cold_start` representatives of the pool embeddings (random if there are none), because
      uncertainty from a model trained on a handful of labels is worse than random (issue 2's TF-IDF lesson).
      Single-label tasks with three or more classes, once a model exists (the first query after the initial
      random labels): ``cold_start_top_share`` of the batch are the top texts by margin, the rest k-means
      representatives. A model trained on a few random labels already knows where some classes meet, and
      k-means alone spends the whole batch on the pool's dense regions. With 20 % the area under the curve
      rose on trec6, ag_news and online_shopping_10cats, whose dip below random at 100 labels (-1.7 points)
      went away, and fell by 0.003 on thucnews_titles; 30 % and 50 % did worse on thucnews_titles (50 %: 3.9
      points below random at 100 labels). On the binary datasets 20 % and 50 % were mixed (sst2 1.3 and 2.8
      points below random at 100 labels), so balanced binary tasks keep the all-k-means batch (``benchmarks/le_tune.py
      --variants dflt,dflt-cu20,dflt-cu30,dflt-cu``; docs/label-efficiency.md). 0 gives every task the
      all-k-means batch; the loop passes 0 with the Chinese default model ``e5-tfidf-lr``, where the share
      made thucnews_titles dip below random (``labelwise.loop.pipeline``).
    - Imbalanced binary tasks, in that same first cold-start query once a model exists: when the model's mean
      predicted probability of one class over the pool (its estimate of that class's share) is below
      ``imbalanced_below``, ``imbalanced_top_share`` of the batch are the top texts by margin and the rest
      k-means representatives. k-means representatives mirror the pool, so with a 15 % minority class they
      are mostly majority texts, while the texts nearest the boundary hold many minority ones (Ertekin et al.
      2007, "Learning on the border: active learning in imbalanced data classification", CIKM). On five
      binary sets with a 13.5–25 % minority class (sms_spam, and sst2, mr, subj subsampled to 15 % positives,
      ag_news Sports-vs-rest) the all-k-means batch had the lowest area under the curve of every variant tried
      (50 %, 70 %, 100 % margin, no cold start, plain margin), and on chnsenticorp_htl (31 % negative) 50 %
      raised it too; on the balanced sst2 the 50 % batch had dipped 2.8 points below random, so balanced
      tasks keep the all-k-means batch. With 50 random labels the estimate ran 0.31–0.49 on sst2, mr and subj,
      0.03–0.27 on the five imbalanced sets and 0.22–0.34 on chnsenticorp_htl, hence 0.25 (the derived sets
      and the estimates: ``benchmarks/imbalanced_sets.py``; the runs: ``benchmarks/le_tune.py --variants
      default,dflt-d4-cu,dflt-d4-cu70,dflt-d4-cu100,dflt-d4-k0,margin``; docs/label-efficiency.md).
      ``imbalanced_top_share=0`` keeps every binary task on the all-k-means batch. The loop passes 1.0 (the
      whole batch by margin) with ``e5-tfidf-lr``, stronger after 50 random labels than the MiniLM stack these
      runs used: over the same six sets its AUC rose from .9334 to .9342 on average, higher or level on each
      (``le_tune.py --variants default@imbalanced_top_share=0.5,default``).
    - Balanced binary tasks (the estimate at or above ``imbalanced_below``) take ``balanced_top_share`` of that
      batch by margin (0: all k-means). The loop passes 0.2 with ``e5-tfidf-lr``: that model is strong enough
      after 50 random labels that the all-k-means batch fell 1.3 points below random at 100 labels on sst2 (4 of
      5 seeds below), while 20 % by margin stayed within 0.7 points, level on mr and a savings step (0.0014 AUC)
      behind on subj
      (``benchmarks/le_tune.py --model e5-tfidf-lr --variants default,dflt-d4-cu20,dflt-d4-k0,dflt-d4-cr``;
      docs/label-efficiency.md).
    - Then, multiclass: :func:`margin` scores; multilabel: :func:`multilabel_uncertainty` with
      ``multilabel_aggregate``. With ``diverse`` and embeddings available the batch is spread out by
      :func:`diverse_top` over the top ``candidates * n``; otherwise the top-n by :func:`select`.
    - Binary tasks (two classes, one decision boundary) spread the batch out only while fewer than
      ``binary_diverse_until * n`` texts are labeled, then take the plain top-n by margin. On sst2, mr, subj and
      sms_spam this raised the savings and / or the area under the curve against diverse batches throughout
      (e.g. sst2 savings 0.15 -> 0.40), while on trec6 (6 classes) diverse batches throughout did better
      (``benchmarks/le_tune.py --variants dflt,dflt-d4,dflt-d8,margin``, where ``dflt`` is the composite
      without this rule; docs/label-efficiency.md).
      ``inf`` keeps binary batches diverse throughout.
    - ``pseudo_labels``: how the learner trains for this strategy (``QueryStrategy.pseudo_labels``), the fields
      of :class:`labelwise.models.self_training.PseudoLabelling`; None trains on the answers alone. The loop
      passes ``labelwise.loop.pipeline.BINARY_PSEUDO_LABELS`` with ``e5-tfidf-lr``: binary tasks, from 200
      answers on, also train on the pool texts the model predicts with p >= 0.8, labeled by it (Wang et al.
      2016, CEAL). Margin picks crowd the boundary and leave the answers short of typical texts; those
      pseudo-labels put them back. On the five binary shared sets the area under the curve rose or stayed
      level (sst2 .8491 -> .8522, chnsenticorp_htl .8839 -> .8885), on trec6 it fell (.8741 -> .8672), and
      random picking gained nothing from them (docs/label-efficiency.md, "Pseudo-labels").
    """
    if cold_start_factor < 0:
        raise ValueError(f"cold_start_factor must be >= 0, got {cold_start_factor}")
    if min_predicted_cardinality < 0:
        raise ValueError(f"min_predicted_cardinality must be >= 0, got {min_predicted_cardinality}")
    if binary_diverse_until < 0:
        raise ValueError(f"binary_diverse_until must be >= 0, got {binary_diverse_until}")
    if not 0.0 <= cold_start_top_share <= 1.0:
        raise ValueError(f"cold_start_top_share must be in [0, 1], got {cold_start_top_share}")
    if not 0.0 <= imbalanced_top_share <= 1.0:
        raise ValueError(f"imbalanced_top_share must be in [0, 1], got {imbalanced_top_share}")
    if not 0.0 <= balanced_top_share <= 1.0:
        raise ValueError(f"balanced_top_share must be in [0, 1], got {balanced_top_share}")
    if not 0.0 <= imbalanced_below <= 0.5:
        raise ValueError(f"imbalanced_below must be in [0, 0.5], got {imbalanced_below}")

    def top_share(proba: np.ndarray | None, task: str) -> float:
        """The share of a cold-start batch taken as the top texts by margin (0: all k-means)."""
        if proba is None or task != "multiclass":
            return 0.0
        if proba.shape[1] >= 3:
            return cold_start_top_share
        return imbalanced_top_share if proba.mean(axis=0).min() < imbalanced_below else balanced_top_share

    def run(ctx: QueryContext, n: int, seconds: dict[str, float]) -> tuple[np.ndarray, np.ndarray | None]:
        if (ctx.task == "multilabel" and ctx.proba is not None and ctx.labeled_cardinality
                and predicted_cardinality(ctx.proba) < min_predicted_cardinality * ctx.labeled_cardinality):
            return ctx.rng().choice(ctx.pool_size(), size=n, replace=False), None
        if ctx.proba is None or ctx.n_labeled < cold_start_factor * n:
            if ctx.embeddings is None:
                return ctx.rng().choice(ctx.pool_size(), size=n, replace=False), None
            share = top_share(ctx.proba, ctx.task)
            if int(share * n) == 0:
                return kmeans_cold_start(ctx.embeddings, n, seed=ctx.rng()), None
            start = time.perf_counter()
            scores = margin(ctx.proba)
            seconds["score"] = time.perf_counter() - start
            return representatives_and_top(scores, ctx.embeddings, n, top_share=share, seed=ctx.rng()), scores
        start = time.perf_counter()
        if ctx.task == "multilabel":
            scores = multilabel_uncertainty(ctx.proba, aggregate=multilabel_aggregate)
        else:
            scores = margin(ctx.proba)
        seconds["score"] = time.perf_counter() - start
        binary = ctx.task == "multiclass" and ctx.proba.shape[1] == 2
        spread = diverse and not (binary and ctx.n_labeled >= binary_diverse_until * n)
        return _pick(scores, ctx, n, diverse=spread, candidates=candidates), scores

    description = (
        f"k-means cold start below {cold_start_factor:g}x the batch in labels"
        + (f" ({cold_start_top_share:.0%} of it top margin once a model exists, 3+ classes)"
           if cold_start_top_share else "")
        + (f" ({imbalanced_top_share:.0%} of it top margin for binary tasks whose smaller class is predicted "
           f"below {imbalanced_below:.0%} of the pool)" if imbalanced_top_share and imbalanced_below else "")
        + (f" ({balanced_top_share:.0%} of it top margin for the other binary tasks)" if balanced_top_share else "")
        + ", then "
        f"margin / ml-{multilabel_aggregate}{' with a diverse batch' if diverse else ''}"
        + (f" (binary: until {binary_diverse_until:g}x the batch in labels)" if diverse else "")
        + (f"; multilabel: random while the model predicts < {min_predicted_cardinality:g}x the labeled "
           "cardinality" if min_predicted_cardinality else "")
    )
    if pseudo_labels:
        description += ("; single-label models also train on the pool texts they predict with p >= "
                        f"{pseudo_labels.get('threshold', 0.8):g}, labeled by themselves")
    return QueryStrategy("default", frozenset({"proba", "embeddings"}), _BOTH, run, description,
                         pseudo_labels=pseudo_labels)


def _register_all() -> None:
    register_strategy("random", _random_factory)
    specs: list[tuple[str, set[str], frozenset[str], Callable[[QueryContext], np.ndarray], str]] = [
        ("least-confidence", {"proba"}, _MC, _proba("least-confidence", least_confidence), "1 - max p"),
        ("margin", {"proba"}, _MC, _proba("margin", margin), "smallest gap between the two best classes"),
        ("entropy", {"proba"}, _MC, _proba("entropy", entropy), "predictive entropy"),
        ("vote-entropy", {"samples"}, _MC, _samples("vote-entropy", vote_entropy), "committee vote entropy"),
        ("mean-kl", {"samples"}, _MC, _samples("mean-kl", mean_kl), "mean KL of members to the consensus"),
        ("bald", {"samples"}, _MC, _samples("bald", bald), "mutual information of label and model"),
    ]
    for aggregate in ("mean", "max"):
        name = f"ml-{aggregate}"
        score = _proba(name, lambda P, a=aggregate: multilabel_uncertainty(P, aggregate=a))
        specs.append((name, {"proba"}, _ML, score, f"per-label uncertainty, {aggregate} over labels"))
    for name, needs, tasks, score, description in specs:
        register_strategy(name, _scoring(name, needs, tasks, score, description))
    register_strategy("probability-interval", _probability_interval_factory)
    register_strategy("ml-cardinality", _ml_cardinality_factory)
    register_strategy("batch-bald", _batch_bald_factory)
    register_strategy("kmeans", _kmeans_factory)
    register_strategy("coreset", _coreset_factory)
    register_strategy("badge", _badge_factory)
    register_strategy("cal", _contrastive_factory)
    for name, needs, tasks, score, description in specs:
        if name in ("margin", "entropy", "ml-max"):
            diverse_name = f"{name}-diverse"
            description += ", spread out by k-means over the top candidates"
            register_strategy(
                diverse_name, _scoring(diverse_name, needs, tasks, score, description, diverse_default=True)
            )
    register_strategy("default", make_default_strategy)


_register_all()
