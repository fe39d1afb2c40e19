"""The strategy registry: names, needs, contexts, and the default composite."""

import numpy as np
import pytest

from labelwise.strategies import (
    QueryContext,
    available_strategies,
    get_strategy,
    kmeans_cold_start,
    make_default_strategy,
    margin,
    select,
)
from labelwise.strategies.multilabel import predicted_cardinality

RNG = np.random.default_rng(0)
N = 120
PROBA = RNG.dirichlet(np.ones(4), size=N)
SAMPLES = RNG.dirichlet(np.ones(4), size=(5, N))
X = RNG.normal(size=(N, 6))
ML = RNG.random((N, 5))


def full_context(task, **kw):
    if task == "multiclass":
        base = dict(proba=PROBA, samples=SAMPLES)
    else:
        base = dict(proba=ML, labeled_cardinality=1.5)
    return QueryContext(
        embeddings=X, labeled_embeddings=X[:4], labeled_proba=PROBA[:4] if task == "multiclass" else None, task=task, n_labeled=100, round=2, seed=7, **{**base, **kw}
    )


REQUIRED = {
    "random", "least-confidence", "margin", "entropy", "probability-interval", "vote-entropy", "mean-kl",
    "bald", "batch-bald", "kmeans", "coreset", "margin-diverse", "entropy-diverse", "ml-mean", "ml-max",
    "ml-cardinality", "default", "badge", "cal",
}  # fmt: skip


def test_all_required_names_are_registered():
    assert set(available_strategies()) >= REQUIRED
    assert set(available_strategies("multilabel")) >= {
        "random",
        "ml-mean",
        "ml-max",
        "ml-cardinality",
        "default",
    }
    assert "margin" not in available_strategies("multilabel")
    with pytest.raises(ValueError, match="task must be one of"):
        available_strategies("ner")


@pytest.mark.parametrize("task", ["multiclass", "multilabel"])
def test_every_strategy_returns_distinct_positions_and_is_seeded(task):
    for name in available_strategies(task):
        strategy = get_strategy(name)
        assert strategy.name == name and strategy.needs <= {
            "proba",
            "samples",
            "embeddings",
            "labeled_embeddings",
            "labeled_proba",
        }
        picks = strategy(full_context(task), 10)
        assert picks.dtype == np.int64 and picks.shape == (10,), name
        assert len(set(picks.tolist())) == 10 and picks.min() >= 0 and picks.max() < N, name
        np.testing.assert_array_equal(picks, get_strategy(name)(full_context(task), 10), err_msg=name)
        assert set(strategy.last_seconds) == {"score", "select"}


def test_only_needed_arrays_are_read():
    # a context holding exactly what .needs names is enough for every multiclass strategy
    for name in available_strategies("multiclass"):
        strategy = get_strategy(name)
        full = full_context("multiclass")
        kw = {need: getattr(full, need) for need in strategy.needs}
        ctx = QueryContext(task="multiclass", n_labeled=100, round=2, seed=7, n_pool=N, **kw)
        assert strategy(ctx, 5).shape == (5,), name


def test_scoring_strategy_matches_select_on_scores():
    ctx = full_context("multiclass")
    strategy = get_strategy("margin")
    picks = strategy(ctx, 10)
    np.testing.assert_array_equal(picks, select(margin(PROBA), 10, ctx.rng()))
    np.testing.assert_allclose(strategy.last_scores, margin(PROBA))


def test_rounds_change_the_random_stream():
    a = get_strategy("random")(QueryContext(n_pool=1000, seed=1, round=0), 5)
    b = get_strategy("random")(QueryContext(n_pool=1000, seed=1, round=1), 5)
    assert not np.array_equal(a, b)


def test_probability_interval_uses_the_round_window():
    # top probabilities 0.95, 0.5, 0.62, 0.3 (3 classes)
    P = np.array([[0.95, 0.03, 0.02], [0.5, 0.3, 0.2], [0.62, 0.2, 0.18], [0.3, 0.35, 0.35]])
    strategy = get_strategy("probability-interval")
    # round 0: window [0.4, 0.6] holds only row 1; row 2 is 0.02 above, row 3 0.05 under, row 0 0.35 above
    np.testing.assert_array_equal(strategy(QueryContext(proba=P, round=0, seed=0), 4), [1, 2, 3, 0])
    # round 1: [0.35, 0.65] holds rows 1 and 2 (random order), then row 3 (0.05 under), then row 0
    assert set(strategy(QueryContext(proba=P, round=1, seed=0), 2).tolist()) == {1, 2}


def _assert_representatives_then_top_margin(picks, ctx, n_representatives):
    """``picks`` = the k-means representatives of X, then the best by margin of the rest (one rng stream)."""
    rng = ctx.rng()
    representatives = kmeans_cold_start(X, n_representatives, seed=rng)
    np.testing.assert_array_equal(picks[:n_representatives], representatives)
    others = margin(ctx.proba).copy()
    others[representatives] = -np.inf
    np.testing.assert_array_equal(picks[n_representatives:], select(others, len(picks) - n_representatives, rng))


def test_default_cold_starts_then_uses_diverse_margin():
    strategy = get_strategy("default")
    # no model yet: k-means representatives only
    no_model = QueryContext(embeddings=X, n_labeled=0, seed=3)
    np.testing.assert_array_equal(strategy(no_model, 10), kmeans_cold_start(X, 10, seed=no_model.rng()))
    assert strategy.last_scores is None
    # a model on 4 classes from too few labels: 80 % of the batch k-means representatives, 20 % top by margin
    cold = QueryContext(proba=PROBA, embeddings=X, n_labeled=10, seed=3)  # 10 < 2 * 10
    picks = strategy(cold, 10)
    _assert_representatives_then_top_margin(picks, cold, 8)
    assert set(picks[8:].tolist()) <= set(select(margin(PROBA), 10, seed=0).tolist())  # among the most uncertain
    assert len(set(picks.tolist())) == 10
    np.testing.assert_allclose(strategy.last_scores, margin(PROBA))
    # balanced binary tasks keep the all-k-means batch; so does every task with cold_start_top_share=0
    binary = RNG.dirichlet(np.ones(2), size=N)
    np.testing.assert_array_equal(strategy(QueryContext(proba=binary, embeddings=X, n_labeled=10, seed=3), 10),
                                  kmeans_cold_start(X, 10, seed=cold.rng()))
    np.testing.assert_array_equal(make_default_strategy(cold_start_top_share=0)(cold, 10),
                                  kmeans_cold_start(X, 10, seed=cold.rng()))
    all_top = make_default_strategy(cold_start_top_share=1)(cold, 10)
    np.testing.assert_array_equal(all_top, select(margin(PROBA), 10, cold.rng()))
    with pytest.raises(ValueError, match="cold_start_top_share must be in"):
        make_default_strategy(cold_start_top_share=1.5)
    warm = QueryContext(proba=PROBA, embeddings=X, n_labeled=20, seed=3)  # 20 >= 2 * 10
    picks = strategy(warm, 10)
    np.testing.assert_allclose(strategy.last_scores, margin(PROBA))
    top = set(select(margin(PROBA), 100, seed=0).tolist())  # candidates = 10 * 10
    assert set(picks.tolist()) <= top
    # no model yet and no embeddings: random
    assert get_strategy("default")(QueryContext(n_pool=50, seed=1), 5).shape == (5,)
    # the thresholds are tunable
    eager = make_default_strategy(cold_start_factor=0.5, diverse=False)
    np.testing.assert_array_equal(eager(cold, 10), select(margin(PROBA), 10, cold.rng()))


def test_default_cold_start_of_an_imbalanced_binary_task_takes_half_its_batch_by_margin():
    strategy = get_strategy("default")
    p_minority = RNG.beta(1, 9, size=N)  # mean ~0.1: the model thinks one class is ~10 % of the pool
    imbalanced = np.column_stack([1 - p_minority, p_minority])
    assert imbalanced.mean(axis=0).min() < 0.25
    cold = QueryContext(proba=imbalanced, embeddings=X, n_labeled=10, seed=4)  # 10 < 2 * 10
    _assert_representatives_then_top_margin(strategy(cold, 10), cold, 5)
    np.testing.assert_allclose(strategy.last_scores, margin(imbalanced))
    # the same task counted as balanced, or with the rule off: all k-means
    for off in (make_default_strategy(imbalanced_below=0.05), make_default_strategy(imbalanced_top_share=0)):
        np.testing.assert_array_equal(off(cold, 10), kmeans_cold_start(X, 10, seed=cold.rng()))
    # the rule is for binary tasks: a 4-class model keeps its own 20 % share
    np.testing.assert_array_equal(
        make_default_strategy(imbalanced_top_share=1)(QueryContext(proba=PROBA, embeddings=X, n_labeled=10, seed=3), 10),
        strategy(QueryContext(proba=PROBA, embeddings=X, n_labeled=10, seed=3), 10))
    with pytest.raises(ValueError, match="imbalanced_top_share must be in"):
        make_default_strategy(imbalanced_top_share=-0.1)
    with pytest.raises(ValueError, match="imbalanced_below must be in"):
        make_default_strategy(imbalanced_below=0.6)


def test_default_cold_start_of_a_balanced_binary_task_takes_its_own_share_by_margin():
    balanced = RNG.dirichlet(np.ones(2) * 5, size=N)  # both classes near half of the pool
    assert balanced.mean(axis=0).min() >= 0.25
    cold = QueryContext(proba=balanced, embeddings=X, n_labeled=10, seed=4)  # 10 < 2 * 10
    strategy = make_default_strategy(balanced_top_share=0.2)
    _assert_representatives_then_top_margin(strategy(cold, 10), cold, 8)
    np.testing.assert_allclose(strategy.last_scores, margin(balanced))
    # imbalanced binary tasks keep their own share, and the default share for balanced ones is 0 (all k-means)
    p_minority = RNG.beta(1, 9, size=N)
    imbalanced = QueryContext(proba=np.column_stack([1 - p_minority, p_minority]), embeddings=X, n_labeled=10, seed=4)
    _assert_representatives_then_top_margin(strategy(imbalanced, 10), imbalanced, 5)
    np.testing.assert_array_equal(get_strategy("default")(cold, 10), kmeans_cold_start(X, 10, seed=cold.rng()))
    with pytest.raises(ValueError, match="balanced_top_share must be in"):
        make_default_strategy(balanced_top_share=2)


def test_default_binary_batches_stop_spreading_out_after_four_batches():
    binary = RNG.dirichlet(np.ones(2), size=N)
    strategy = get_strategy("default")
    early = QueryContext(proba=binary, embeddings=X, n_labeled=30, seed=5)  # 2 * 10 <= 30 < 4 * 10
    diverse = strategy(early, 10)
    plain = select(margin(binary), 10, early.rng())
    assert not np.array_equal(np.sort(diverse), np.sort(plain))  # spread out over the top 100
    assert set(diverse.tolist()) <= set(select(margin(binary), 100, seed=0).tolist())
    late = QueryContext(proba=binary, embeddings=X, n_labeled=40, seed=5)
    np.testing.assert_array_equal(strategy(late, 10), plain)
    # more than two classes stay diverse at any size; so does binary with binary_diverse_until=inf
    assert not np.array_equal(np.sort(strategy(QueryContext(proba=PROBA, embeddings=X, n_labeled=400, seed=5), 10)),
                              np.sort(select(margin(PROBA), 10, early.rng())))
    always = make_default_strategy(binary_diverse_until=float("inf"))
    np.testing.assert_array_equal(always(late, 10), diverse)
    with pytest.raises(ValueError, match="binary_diverse_until must be >= 0"):
        make_default_strategy(binary_diverse_until=-1)


def test_default_multilabel_uses_ml_max():
    strategy = get_strategy("default", diverse=False)
    ctx = QueryContext(proba=ML, task="multilabel", n_labeled=500, seed=0)
    picks = strategy(ctx, 5)
    u = 1 - np.abs(2 * ML - 1)
    np.testing.assert_array_equal(picks, select(u.max(axis=1), 5, ctx.rng()))


def test_default_multilabel_asks_at_random_while_the_model_underpredicts_labels():
    strategy = get_strategy("default", diverse=False)
    # 4 rows, 3 labels: exactly one probability > 0.5 in all -> 0.25 predicted labels per text
    P = np.array([[0.9, 0.1, 0.2], [0.4, 0.3, 0.1], [0.45, 0.05, 0.2], [0.1, 0.2, 0.3]])
    assert predicted_cardinality(P) == 0.25
    weak = QueryContext(proba=P, task="multilabel", n_labeled=500, seed=4, labeled_cardinality=1.0)
    np.testing.assert_array_equal(strategy(weak, 2), weak.rng().choice(4, size=2, replace=False))
    assert strategy.last_scores is None
    # the labeled texts carry 0.4 labels each: 0.25 >= 0.5 * 0.4, the model is ready -> ml-max uncertainty
    ready = QueryContext(proba=P, task="multilabel", n_labeled=500, seed=4, labeled_cardinality=0.4)
    np.testing.assert_array_equal(strategy(ready, 2), [2, 1])
    # 0 disables the gate
    ungated = make_default_strategy(diverse=False, min_predicted_cardinality=0)
    np.testing.assert_array_equal(ungated(weak, 2), [2, 1])
    with pytest.raises(ValueError, match="min_predicted_cardinality must be >= 0"):
        make_default_strategy(min_predicted_cardinality=-1)


def test_clear_errors():
    with pytest.raises(ValueError, match="unknown strategy 'nope'; available"):
        get_strategy("nope")
    with pytest.raises(ValueError, match="strategy 'margin' needs QueryContext.proba"):
        get_strategy("margin")(QueryContext(n_pool=10), 3)
    with pytest.raises(ValueError, match="supports tasks \\['multiclass'\\], not 'multilabel'"):
        get_strategy("margin")(QueryContext(proba=ML, task="multilabel"), 3)
    with pytest.raises(ValueError, match="disagree on the number of rows"):
        get_strategy("random")(QueryContext(proba=PROBA, embeddings=X[:5]), 3)
    with pytest.raises(ValueError, match="give n_pool or at least one"):
        get_strategy("random")(QueryContext(), 3)
    with pytest.raises(ValueError, match="needs QueryContext.labeled_cardinality"):
        get_strategy("ml-cardinality")(QueryContext(proba=ML, task="multilabel"), 3)


def test_n_zero_and_n_above_pool():
    assert get_strategy("margin")(QueryContext(proba=PROBA), 0).shape == (0,)
    assert sorted(get_strategy("margin")(QueryContext(proba=PROBA[:3], seed=0), 10).tolist()) == [0, 1, 2]
