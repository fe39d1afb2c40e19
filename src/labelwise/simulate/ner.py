"""Oracle replay for NER (sequence labeling): learning curves in sentences and tokens, entity-level F1.

The same experiment and results.json as :func:`labelwise.simulate.simulate`, for ``task="ner"``: every
strategy starts, for a given seed, from the same initial random sample of sentences; after each round the
tagger is refit from scratch and scored on the test split with entity-level F1 (seqeval). Savings are
counted in sentences (``savings``, the seeds' definition) and in tokens (``token_savings``), since long
sentences cost more to annotate.

``protocol="seed"`` is the seed study's protocol: start at 5 % of the pool and add 5 % per round up to
50 %; ``results["table"]`` then holds its table (rate, count, F1 per strategy; :func:`write_ner_table`).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from labelwise.data import Corpus
from labelwise.data.ner import bio_to_spans, entity_types
from labelwise.simulate import engine
from labelwise.simulate.engine import (
    Progress,
    SettingsError,
    area_under_curve,
    label_schedule,
    savings_against_random,
)
from labelwise.strategies.ner import NAMES, count_unseen_entities, pad_marginals, score_ner
from labelwise.strategies.selection import select

__all__ = ["METRIC", "entity_f1", "resolve_amount", "simulate_ner", "write_ner_table"]

METRIC = "entity_f1"
SEED_PROTOCOL_RATES = tuple(round(0.05 * k, 2) for k in range(1, 11))  # 5 %, 10 %, …, 50 %


def entity_f1(y_true: Sequence[Sequence[str]], y_pred: Sequence[Sequence[str]]) -> float:
    """Entity-level micro F1 (seqeval, CoNLL evaluation: an entity counts only if type and span match)."""
    from seqeval.metrics import f1_score

    return float(f1_score([list(t) for t in y_true], [list(p) for p in y_pred], zero_division=0))


def resolve_amount(value: int | float | str, pool: int, *, name: str = "amount") -> int:
    """A count of sentences: an int as is, ``"5%"`` or a float fraction in (0, 1] of ``pool`` (at least 1)."""
    if isinstance(value, str):
        text = value.strip()
        try:
            value = float(text[:-1]) / 100.0 if text.endswith("%") else int(text)
        except ValueError:
            raise ValueError(f"{name}: expected a count like 50 or a percentage like 5%, got {text!r}") from None
    if isinstance(value, bool):
        raise ValueError(f"{name}: expected a count or a percentage, got {value!r}")
    if isinstance(value, float):
        if not 0.0 < value <= 1.0:
            raise ValueError(f"{name}: a fraction of the pool must be in (0, 1], got {value}")
        return max(1, round(value * pool))
    if int(value) < 1:
        raise ValueError(f"{name}: expected a positive count, got {value}")
    return int(value)


def _make_tagger(model: str, types: list[str], options: dict[str, Any]) -> Any:
    if model == "crf":
        from labelwise.models.crf import CRFTagger

        return CRFTagger(types=types, **options)
    if model == "transformer":
        from labelwise.models.token_transformer import TransformerTagger

        return TransformerTagger(types=types, **options)
    raise ValueError(f"unknown NER model {model!r}; expected 'crf' or 'transformer'")


def _first_reaching(labels: Sequence[int], mean: Sequence[float], target: float) -> int | None:
    for i, m in enumerate(mean):
        if m >= target - 1e-12:
            return i
    return None


def simulate_ner(
    train: Corpus,
    test: Corpus,
    *,
    model: str = "crf",
    strategies: Sequence[str] = ("random", "ltp"),
    initial: int | float | str = "5%",
    batch: int | float | str = "5%",
    budget: int | float | str = "50%",
    seeds: int | Sequence[int] = 3,
    pool_size: int | None = None,
    protocol: str | None = None,
    progress: Progress | None = None,
    model_options: dict[str, Any] | None = None,
) -> dict:
    """Replay ``train`` (BIO-labeled ``task="ner"`` corpus) as an oracle, score on ``test``; results.json dict.

    ``initial``/``batch``/``budget`` count sentences: ints, or percentages of the pool (``"5%"`` or 0.05).
    ``seeds``: how many (0, 1, …) or the seeds themselves. ``pool_size`` samples the train split (seeded)
    to at most that many sentences. ``protocol="seed"`` overrides initial/batch/budget with 5 %, +5 %, 50 %.

    Output beyond the classification contract: ``curves[s]["tokens"]`` (mean annotated tokens per point),
    ``["per_seed"]``; ``savings[s]["token_savings"]`` (1 − tokens needed / random's tokens at the budget);
    ``full_data_reached[s]`` (fewest sentences and tokens at which the mean curve reaches full-data F1 − 1
    point); ``table`` (rate, count, mean F1 per strategy at each point). ``seconds[s]["score"]`` includes
    predicting the pool's marginals and the test tags; ``featurize`` is the one-off shared feature cost.
    """
    if train.task != "ner" or test.task != "ner":
        raise ValueError(f"simulate_ner needs task='ner' corpora, got {train.task!r} and {test.task!r}")
    for name, corpus in (("train", train), ("test", test)):
        if corpus.tokens is None or not corpus.is_labeled:
            raise ValueError(f"simulate_ner needs {name} tokens and BIO tags for every record")
    if protocol not in (None, "seed"):
        raise ValueError(f"protocol must be None or 'seed', got {protocol!r}")
    unknown = [s for s in strategies if s not in NAMES]
    if unknown:
        raise ValueError(f"unknown NER strategies {unknown}; expected names from {', '.join(NAMES)}")
    strategies = list(dict.fromkeys(strategies))
    if "random" not in strategies:
        strategies.insert(0, "random")  # savings are measured against random: always run it
    seed_list = list(range(seeds)) if isinstance(seeds, int) else [int(s) for s in seeds]
    if not seed_list:
        raise ValueError("need at least one seed")
    progress = progress or Progress()
    options = dict(model_options or {})

    if pool_size is not None and pool_size < len(train):
        rows = engine.pool_rows(len(train), pool_size)  # the same pool sample as the classification engine
        train = train.subset(rows)
    N = len(train)
    if protocol == "seed":
        schedule = sorted({max(1, round(r * N)) for r in SEED_PROTOCOL_RATES})
    else:
        schedule = label_schedule(resolve_amount(initial, N, name="initial"), resolve_amount(batch, N, name="batch"),
                                  resolve_amount(budget, N, name="budget"))
    budget_n = schedule[-1]
    if budget_n > N:
        raise SettingsError(f"budget {budget_n} is larger than the pool ({N} sentences)")

    types = sorted(set(train.label_set) | set(test.label_set)
                   | set(entity_types(train.labels)) | set(entity_types(test.labels)))  # type: ignore[arg-type]
    pool_tags = train.labels
    test_tags = test.labels
    lengths = np.fromiter((len(t) for t in train.tokens), dtype=np.int64, count=N)  # type: ignore[union-attr]

    progress.on_start(len(strategies) * len(seed_list) * len(schedule) + 2)
    progress.on_step(f"featurizing for {model}")
    tagger = _make_tagger(model, types, options)
    t0 = time.perf_counter()
    X_pool = tagger.featurize(train.tokens)
    X_test = tagger.featurize(test.tokens)
    featurize_seconds = time.perf_counter() - t0

    progress.on_step("fitting on the full pool")
    full = _make_tagger(model, types, options).fit(X_pool, pool_tags)
    full_data_score = entity_f1(test_tags, full.predict(X_test))  # type: ignore[arg-type]
    del full

    per_seed: dict[str, list[list[float]]] = {s: [] for s in strategies}
    per_seed_tokens: dict[str, list[list[int]]] = {s: [] for s in strategies}
    seconds = {s: {"featurize": featurize_seconds, "fit": 0.0, "score": 0.0, "select": 0.0} for s in strategies}
    for seed in seed_list:
        start_rows = engine.initial_rows(N, schedule[0], seed)
        for name in strategies:
            rng = np.random.default_rng([seed, 1 + strategies.index(name)])
            is_labeled = np.zeros(N, dtype=bool)
            is_labeled[start_rows] = True
            curve: list[float] = []
            tokens_curve: list[int] = []
            tagger = None
            for target in schedule:
                need = target - int(is_labeled.sum())
                if need > 0:
                    unl = np.flatnonzero(~is_labeled)
                    t0 = time.perf_counter()
                    if name == "random":
                        scores = rng.random(unl.size)
                    else:
                        marg = tagger.predict_marginals([X_pool[i] for i in unl])  # type: ignore[union-attr]
                        P, mask = pad_marginals(marg)
                        unseen = None
                        if name == "ltp-unseen":
                            unseen = _unseen_counts(train, unl, is_labeled, P, mask, tagger.tags_)  # type: ignore[union-attr]
                        scores = score_ner(name, P, mask, unseen=unseen)
                    t1 = time.perf_counter()
                    chosen = unl[select(scores, need, seed=rng)]
                    is_labeled[chosen] = True
                    seconds[name]["score"] += t1 - t0
                    seconds[name]["select"] += time.perf_counter() - t1
                rows = np.flatnonzero(is_labeled)
                t0 = time.perf_counter()
                tagger = _make_tagger(model, types, options).fit([X_pool[i] for i in rows],
                                                                  [pool_tags[i] for i in rows])  # type: ignore[index]
                t1 = time.perf_counter()
                curve.append(entity_f1(test_tags, tagger.predict(X_test)))  # type: ignore[arg-type]
                seconds[name]["fit"] += t1 - t0
                seconds[name]["score"] += time.perf_counter() - t1
                tokens_curve.append(int(lengths[rows].sum()))
                progress.on_step(f"{name} · seed {seed} · {target} sentences")
            per_seed[name].append(curve)
            per_seed_tokens[name].append(tokens_curve)

    curves: dict[str, dict[str, Any]] = {}
    for name in strategies:
        arr = np.asarray(per_seed[name])
        tok = np.asarray(per_seed_tokens[name], dtype=np.float64)
        curves[name] = {"labels": list(schedule), "mean": arr.mean(axis=0).tolist(), "std": arr.std(axis=0).tolist(),
                        "tokens": tok.mean(axis=0).tolist(), "per_seed": arr.tolist(),
                        "per_seed_tokens": tok.astype(int).tolist()}
        curves[name]["auc"] = area_under_curve(schedule, curves[name]["mean"])

    savings = savings_against_random(curves, budget_n)
    random_tokens = curves["random"]["tokens"][-1]
    for name, entry in savings.items():
        i = _first_reaching(schedule, curves[name]["mean"], entry["target_score"])
        tokens_needed = None if i is None else curves[name]["tokens"][i]
        entry["tokens_needed"] = tokens_needed
        entry["random_tokens"] = random_tokens
        entry["token_savings"] = None if tokens_needed is None else float(1.0 - tokens_needed / random_tokens)

    full_target = full_data_score - 0.01
    reached = {}
    for name in strategies:
        i = _first_reaching(schedule, curves[name]["mean"], full_target)
        reached[name] = {"target_score": full_target,
                         "labels_needed": None if i is None else schedule[i],
                         "fraction_of_pool": None if i is None else schedule[i] / N,
                         "tokens_needed": None if i is None else curves[name]["tokens"][i],
                         "fraction_of_pool_tokens": None if i is None else curves[name]["tokens"][i] / int(lengths.sum())}

    return {
        "task": "ner",
        "model": model,
        "metric": METRIC,
        "full_data_score": full_data_score,
        "curves": curves,
        "savings": savings,
        "seconds": seconds,
        "full_data_reached": reached,
        "table": {"rate": [n / N for n in schedule], "count": list(schedule),
                  "f1": {name: curves[name]["mean"] for name in strategies}},
        "settings": {"initial": schedule[0], "batch": schedule[1] - schedule[0] if len(schedule) > 1 else 0,
                     "budget": budget_n, "seeds": seed_list, "pool_size": N, "pool_tokens": int(lengths.sum()),
                     "test_size": len(test), "refit": "scratch", "protocol": protocol, "strategies": strategies, "labels": types,
                     "model_options": options},
    }


def _unseen_counts(train: Corpus, unl: np.ndarray, is_labeled: np.ndarray, P: np.ndarray, mask: np.ndarray,
                   tags: list[str]) -> np.ndarray:
    """Predicted (argmax) entities per unlabeled sentence whose surface form no labeled sentence has."""
    tokens, labels = train.tokens, train.labels
    seen = {(" ".join(tokens[i][s:e]), t) for i in np.flatnonzero(is_labeled)  # type: ignore[index]
            for s, e, t in bio_to_spans(labels[i])}  # type: ignore[index]
    best = P.argmax(axis=2)
    spans = [bio_to_spans([tags[k] for k in best[j, : int(mask[j].sum())]]) for j in range(len(unl))]
    return count_unseen_entities([tokens[i] for i in unl], spans, seen)  # type: ignore[index]


def write_ner_table(results: dict, path: str | Path) -> Path:
    """The seed study's table as Markdown: rate, count, mean tokens, then F1 (mean ± std) per strategy."""
    table = results["table"]
    names = list(table["f1"])
    curves = results["curves"]
    lines = ["| rate | sentences | tokens (random) | " + " | ".join(names) + " |",
             "|---:|---:|---:|" + "---:|" * len(names)]
    for i, (rate, count) in enumerate(zip(table["rate"], table["count"], strict=True)):
        cells = [f"{100 * curves[n]['mean'][i]:.2f} ± {100 * curves[n]['std'][i]:.2f}" for n in names]
        tokens = curves.get("random", curves[names[0]])["tokens"][i]
        lines.append(f"| {100 * rate:.0f} % | {count} | {tokens:,.0f} | " + " | ".join(cells) + " |")
    lines.append("")
    lines.append(f"Entity F1 ×100 (seqeval), mean ± std over seeds {results['settings']['seeds']}; "
                 f"full-data F1 {100 * results['full_data_score']:.2f}.")
    out = Path(path)
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return out
