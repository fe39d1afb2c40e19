"""One background training round of an NER project (runs in the trainer's worker, like ``train_round``).

A :class:`labelwise.models.crf.CRFTagger` is fit from scratch on the labeled sentences; its per-token
marginals rank the unlabeled sentences with the project's NER strategy (``default`` = token-entropy-sqrt, see
:mod:`labelwise.strategies.ner`), and its Viterbi path pre-fills every sentence's spans. Token features are
computed once per worker and reused across rounds. The estimate is entity-level F1 (seqeval) by k-fold
cross-validation on the labels so far.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from labelwise.server.trainer import TrainJob, TrainResult

MIN_FOR_ESTIMATE = 10
SCORE_CHUNK = 2000  # sentences padded at once (memory: chunk x longest sentence x tags)

_POOLS: dict[str, tuple[list[int], list[list[str]], list[Any]]] = {}  # per worker: db url -> ids, tokens, features


def _load_pool(job: TrainJob) -> tuple[list[int], list[list[str]], list[Any]]:
    cached = _POOLS.get(job.url)
    if cached is not None and len(cached[0]) == job.n_items:
        return cached
    from sqlalchemy import select

    from labelwise.models.crf import CRFTagger
    from labelwise.server import db
    from labelwise.server.tables import Item

    engine = db.make_engine(job.url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(select(Item.id, Item.tokens).order_by(Item.position)).all()
    finally:
        engine.dispose()
    ids = [r[0] for r in rows]
    tokens = [list(r[1] or []) for r in rows]
    features = CRFTagger(types=job.label_set).featurize(tokens)
    _POOLS[job.url] = (ids, tokens, features)
    return _POOLS[job.url]


def _scores(name: str, marginals: Sequence[np.ndarray], tokens: Sequence[Sequence[str]],
            predicted: Sequence[Sequence[str]], seen: set[tuple[str, str]], seed: int) -> np.ndarray:
    from labelwise.data.ner import bio_to_spans
    from labelwise.strategies.ner import count_unseen_entities, pad_marginals, score_ner

    out = np.empty(len(marginals))
    for start in range(0, len(marginals), SCORE_CHUNK):
        stop = min(start + SCORE_CHUNK, len(marginals))
        P, mask = pad_marginals(marginals[start:stop])
        unseen = None
        if name == "ltp-unseen":
            unseen = count_unseen_entities(tokens[start:stop], [bio_to_spans(t) for t in predicted[start:stop]],
                                           seen)
        out[start:stop] = score_ner(name, P, mask, unseen=unseen, seed=seed + start)
    return out


def estimate_entity_f1(features: Sequence[Any], tags: Sequence[Sequence[str]], types: Sequence[str], *,
                       folds: int = 5, seed: int = 0) -> float | None:
    """k-fold cross-validated entity F1 of a CRF on the labeled sentences; None under 10 sentences."""
    from labelwise.models.crf import CRFTagger
    from labelwise.simulate.ner import entity_f1

    n = len(tags)
    if n < MIN_FOR_ESTIMATE:
        return None
    fold = np.random.default_rng(seed).permutation(np.arange(n) % min(folds, n))
    truth, pred = [], []
    for k in np.unique(fold):
        train, test = np.flatnonzero(fold != k), np.flatnonzero(fold == k)
        model = CRFTagger(types=types).fit([features[i] for i in train], [tags[i] for i in train])
        pred += model.predict([features[i] for i in test])
        truth += [tags[i] for i in test]
    return entity_f1(truth, pred)


def train_ner_round(job: TrainJob) -> TrainResult:
    """Fit, rank the unlabeled sentences, pre-fill spans for all, estimate entity F1."""
    from labelwise.data.ner import bio_to_spans
    from labelwise.models.crf import CRFTagger
    from labelwise.server.spans import suggestion_from_marginals

    start = time.perf_counter()
    settings = job.settings
    seed = int(settings.get("seed", 0))
    ids, tokens, features = _load_pool(job)
    row_of = {pk: i for i, pk in enumerate(ids)}
    labeled = [(row_of[i], list(v)) for i, v in job.answers.items() if i in row_of]
    if not labeled:  # nothing to learn from: the store's seeded random order serves the queue
        return TrainResult(n_labels=0, ranking=[], proba=None, accuracy=None, metric="entity_f1",
                           seconds=time.perf_counter() - start)
    rows = [r for r, _ in labeled]
    tags = [t for _, t in labeled]
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    tagger = CRFTagger(types=job.label_set).fit([features[r] for r in rows], tags)
    timings["fit"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    marginals = tagger.predict_marginals(features)
    predicted = tagger.predict(features)
    timings["predict"] = time.perf_counter() - t0
    column = {tag: j for j, tag in enumerate(tagger.tags_)}
    suggestions = np.empty(len(ids), dtype=object)
    for i, (path, m) in enumerate(zip(predicted, marginals, strict=True)):
        probs = m[np.arange(len(path)), [column[t] for t in path]] if len(path) else np.ones(0)
        suggestions[i] = suggestion_from_marginals(path, probs)
    t0 = time.perf_counter()
    done = set(rows)
    todo = np.array([i for i in range(len(ids)) if i not in done], dtype=np.int64)
    seen = {(" ".join(tokens[r][s:e]), t) for r, tg in labeled for s, e, t in bio_to_spans(tg)}
    name = str(settings.get("strategy", "default"))
    scores = _scores(name, [marginals[i] for i in todo], [tokens[i] for i in todo], [predicted[i] for i in todo],
                     seen, seed)
    size = int(settings.get("ranked_size", 1000))
    best = todo[np.argsort(-scores, kind="stable")[:size]]
    timings["rank"] = time.perf_counter() - t0
    accuracy = estimate_entity_f1([features[r] for r in rows], tags, job.label_set, seed=seed)
    return TrainResult(n_labels=len(labeled), ranking=[int(ids[i]) for i in best], proba=suggestions,
                       accuracy=accuracy, metric="entity_f1", seconds=time.perf_counter() - start,
                       timings=timings)
