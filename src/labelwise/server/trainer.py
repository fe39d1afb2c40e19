"""Background retraining: the annotator never waits for the model.

A :class:`Trainer` thread in the server waits until ``retrain_every`` answers have changed, snapshots the
answers, and hands them to a worker (by default a separate, low-priority process, so training never holds
the server's GIL or its CPU share). The worker keeps one :class:`labelwise.loop.ActiveLearner` alive across
rounds (features computed once), syncs it with the answers (teach new or changed ones, forget retracted
ones), retrains, queries the next ranked batch (k-means cold start while there is no model: the learner's
own policy) and estimates accuracy by cross-validation on the labels so far. The thread then swaps the
ranking into the store in one assignment. While a round embeds texts, ``Trainer.progress`` says how far it has
come. On a pool larger than the project setting ``first_round_sample`` (5,000) the first round ranks a random
sample of that many unlabeled texts (the labeled ones included) and the trainer starts a round over the whole
pool right after: embedding 50,000 English texts takes minutes on two cores, and the annotator would
otherwise label texts in random order all that time.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
import traceback
from collections.abc import Callable
from concurrent.futures import Executor, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from multiprocessing import get_context
from typing import Any

import numpy as np

log = logging.getLogger("labelwise.server")


@dataclass
class TrainJob:
    url: str
    task: str
    label_set: list[str]
    settings: dict[str, Any]
    answers: dict[int, Any]
    n_items: int
    #: > 0: rank a seeded random sample of this many unlabeled texts (and the labeled ones) instead of the
    #: whole pool, unless the worker already holds the whole pool's learner
    sample: int = 0


@dataclass
class TrainResult:
    n_labels: int
    ranking: list[int]
    proba: np.ndarray | None
    accuracy: float | None
    metric: str | None
    seconds: float
    timings: dict[str, float] = field(default_factory=dict)
    #: texts the round ranked: the pool's size, or the sample's (``TrainJob.sample``)
    n_ranked: int = 0
    #: how the model was trained, for the Progress panel: ``e5_prefix`` (the prefix e5 read the texts behind,
    #: with ``prefix_chosen_at``: the answers the "auto" choice was made at) and ``pseudo_labels`` (pool texts
    #: the model also trained on with its own labels; see labelwise.models.self_training)
    notes: dict[str, Any] = field(default_factory=dict)


# ---------------------------------------------------------------------------------------- worker side
_LEARNERS: dict[str, Any] = {}  # per worker process: db url -> (learner, answers taught)
#: per worker process: where the round in progress reports its stage (set by ``_worker_init``)
_PROGRESS_QUEUE: Any = None
#: a progress message at most this often (seconds), besides the first and the last of a pass
PROGRESS_EVERY = 0.5


def _throttled(report: Callable[[dict[str, Any]], None]) -> Callable[[str, int, int], None]:
    """An embedding listener (:func:`labelwise.features.embedding_progress`) that forwards ``{"stage", "done",
    "total"}`` to ``report``: the first and last call of a pass, and otherwise at most every PROGRESS_EVERY s."""
    last = 0.0

    def listener(name: str, done: int, total: int) -> None:
        nonlocal last
        now = time.monotonic()
        if done in (0, total) or now - last >= PROGRESS_EVERY:
            last = now
            report({"stage": f"embedding texts ({name})", "done": int(done), "total": int(total)})

    return listener


def _reporting_stages(report: Callable[[dict[str, Any]], None]) -> contextlib.AbstractContextManager[None]:
    """Within the block, the features layer's stages go to ``report``: embedding passes with their counts
    (throttled) and an encoder's one-time build, which has no count (``total`` 0: the page shows the stage
    alone)."""
    from labelwise.features import embedding_progress

    def on_build(name: str) -> None:
        report({"stage": f"building the {name} encoder (once per machine, up to a minute)", "done": 0, "total": 0})

    return embedding_progress(_throttled(report), on_build=on_build)


def _train_round_in_worker(job: TrainJob) -> TrainResult:
    """``train_round`` with its embedding progress sent to the server through the worker's queue."""
    queue = _PROGRESS_QUEUE
    if queue is None:
        return train_round(job)

    def report(stage: dict[str, Any]) -> None:
        with contextlib.suppress(Exception):  # progress is a courtesy: never fail a round over it
            queue.put_nowait(stage)

    with _reporting_stages(report):
        return train_round(job)


WORKER_NICE = 10


def _worker_init(progress_queue: Any = None) -> None:
    """Worker process: one BLAS/OpenMP thread and a lower CPU priority than the request-serving process, so
    training uses at most one core and yields it to the server: nice 10 (the server, at nice 0, gets ~9x
    its share of a contended core) and, on Linux, SCHED_BATCH (a waking request handler preempts it)."""
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = "1"  # libraries loaded from here on (threadpool_limits covers those loaded already)
    with contextlib.suppress(OSError):
        os.nice(WORKER_NICE)
    with contextlib.suppress(AttributeError, OSError):
        os.sched_setscheduler(0, os.SCHED_BATCH, os.sched_param(0))
    with contextlib.suppress(Exception):  # Linux: die with the server, even when it is SIGKILLed
        import ctypes
        import signal

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    global _PROGRESS_QUEUE
    _PROGRESS_QUEUE = progress_queue
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(1)
    except ImportError:  # pragma: no cover
        pass


def _load_pool(url: str) -> tuple[list[int], list[str]]:
    from sqlalchemy import select

    from labelwise.server import db
    from labelwise.server.tables import Item

    engine = db.make_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(select(Item.id, Item.text).order_by(Item.position)).all()
    finally:
        engine.dispose()
    return [r[0] for r in rows], [r[1] for r in rows]


#: unlabeled texts (a seeded sample) the quality estimate's folds look for pseudo-labels in
QUALITY_PSEUDO_LABEL_POOL = 5_000


def estimate_quality(learner: Any, *, folds: int = 5, seed: int = 0) -> tuple[float | None, str]:
    """Cross-validated score of the learner's model family on its labels so far: accuracy (multiclass) or
    micro-F1 (multilabel). None while there are too few labels (under 10, or fewer than 2 classes with 2
    labels each). A class answered once cannot be both trained on and tested: its text joins every training
    fold and is never scored, so one rare answer does not blank the estimate. When the learner trains on
    pseudo-labels, so does each fold's model (found in a sample of at most :data:`QUALITY_PSEUDO_LABEL_POOL`
    unlabeled texts, where no held-out answer can be)."""
    from sklearn.metrics import f1_score
    from sklearn.model_selection import KFold, StratifiedKFold

    from labelwise.data import encode_labels
    from labelwise.models import LinearModel
    from labelwise.models.self_training import at_most, fit_with_pseudo_labels

    task = learner.corpus.task
    metric = "accuracy" if task == "multiclass" else "micro_f1"
    answers = learner.answers()
    if len(answers) < 10:
        return None, metric
    positions = learner.positions(list(answers))
    y = encode_labels(list(answers.values()), learner.corpus.label_set, task)
    if task == "multiclass":
        counts = np.bincount(y, minlength=len(learner.corpus.label_set))
        scored = np.flatnonzero(counts[y] >= 2)  # rows of classes with at least 2 answers
        always_train = np.flatnonzero(counts[y] == 1)
        if np.count_nonzero(counts >= 2) < 2:  # scored on one class alone, always-majority would score 1.0
            return None, metric
        smallest = int(counts[counts >= 2].min())
        splitter = StratifiedKFold(n_splits=min(folds, smallest), shuffle=True, random_state=seed)
        splits = [(np.concatenate([scored[train], always_train]), scored[test])
                  for train, test in splitter.split(scored, y[scored])]
    else:
        splits = KFold(n_splits=min(folds, len(answers) // 2), shuffle=True, random_state=seed).split(positions)
    X = learner.features[positions]
    options = dict(learner.spec.classifier_options)
    pool = None
    if learner.trains_on_pseudo_labels:  # each fold's model trains as the served one does (self_training)
        unlabeled = at_most(learner.unlabeled_positions, QUALITY_PSEUDO_LABEL_POOL, np.random.default_rng(seed))
        pool = learner.features[unlabeled]
    correct, total, preds, truth = 0, 0, [], []
    for train, test in splits:
        model = LinearModel(task, len(learner.corpus.label_set), **options)
        if pool is None:
            model.fit(X[train], y[train])
        else:
            fit_with_pseudo_labels(model, X[train], y[train], pool, learner.pseudo_labelling, seed=seed)
        proba = model.predict_proba(X[test])
        if task == "multiclass":
            correct += int((proba.argmax(axis=1) == y[test]).sum())
            total += len(test)
        else:
            preds.append((proba >= 0.5).astype(int))
            truth.append(y[test])
    if task == "multiclass":
        return correct / total, metric
    return float(f1_score(np.vstack(truth), np.vstack(preds), average="micro", zero_division=0)), metric


def train_round(job: TrainJob) -> TrainResult:
    """One round (runs in the worker): sync answers, retrain, rank, predict, estimate."""
    if job.task == "ner":  # a CRF tagger instead of the ActiveLearner (labelwise.server.ner_training)
        from labelwise.server.ner_training import train_ner_round

        return train_ner_round(job)
    start = time.perf_counter()
    cached = _LEARNERS.get(job.url)
    whole_pool_held = cached is not None and len(cached[0].corpus) == job.n_items
    if job.sample and not whole_pool_held:
        ids, texts = _load_pool(job.url)
        rows = _sample_rows(ids, job.answers, job.sample, seed=int(job.settings.get("seed", 0)))
        if len(rows) < len(ids):
            learner = _new_learner(job, [ids[r] for r in rows], [texts[r] for r in rows])
            _sync(learner, {}, job.answers)
            return _finish_round(learner, job, start, rows=rows)
        cached = (_new_learner(job, ids, texts), {})
    elif not whole_pool_held:
        cached = (_new_learner(job, *_load_pool(job.url)), {})
    learner, taught = cached
    _sync(learner, taught, job.answers)
    _LEARNERS[job.url] = (learner, dict(job.answers))
    return _finish_round(learner, job, start)


def _sample_rows(ids: list[int], answers: dict[int, Any], size: int, *, seed: int) -> np.ndarray:
    """Pool rows of a first round on a sample: every labeled text and ``size`` unlabeled ones, seeded."""
    labeled = np.array([i in answers for i in ids], dtype=bool)
    unlabeled = np.flatnonzero(~labeled)
    if len(unlabeled) <= size:
        return np.arange(len(ids))
    picked = np.random.default_rng(seed).choice(unlabeled, size, replace=False)
    return np.sort(np.concatenate([np.flatnonzero(labeled), picked]))


def _new_learner(job: TrainJob, ids: list[int], texts: list[str]) -> Any:
    from labelwise.data import Corpus
    from labelwise.loop import ActiveLearner

    settings = job.settings
    corpus = Corpus(ids=ids, texts=texts, task=job.task, label_set=list(job.label_set))
    return ActiveLearner(corpus, model=settings.get("model", "auto"), strategy=settings.get("strategy", "default"),
                         retrain_every=0, refit=settings.get("refit", "scratch"), seed=int(settings.get("seed", 0)),
                         e5_prefix=settings.get("e5_prefix"))


def _sync(learner: Any, taught: dict[int, Any], answers: dict[int, Any]) -> None:
    """Teach the learner the answers (``taught``: what it was taught before): forget retracted, teach changed."""
    gone = [i for i in taught if i not in answers]
    if gone:
        learner.forget(gone)
    changed = [(i, v) for i, v in answers.items() if taught.get(i, object()) != v]
    if changed:
        learner.teach([i for i, _ in changed], [v for _, v in changed])


def _finish_round(learner: Any, job: TrainJob, start: float, *, rows: np.ndarray | None = None) -> TrainResult:
    """Retrain, predict, estimate and rank. ``rows``: the pool rows of a sampled learner's texts; its
    probabilities are NaN elsewhere."""
    settings = job.settings
    proba = None
    accuracy, metric = None, None
    if job.answers:
        learner.retrain()
        proba = np.asarray(learner.predict_proba(), dtype=np.float32)
        if rows is not None:
            whole = np.full((job.n_items, proba.shape[1]), np.nan, dtype=np.float32)
            whole[rows] = proba
            proba = whole
        accuracy, metric = estimate_quality(learner, seed=int(settings.get("seed", 0)))
    ranking = learner.query(int(settings.get("ranked_size", 1000)))
    return TrainResult(n_labels=len(job.answers), ranking=[int(i) for i in ranking], proba=proba,
                       accuracy=accuracy, metric=metric, seconds=time.perf_counter() - start,
                       timings=dict(getattr(learner, "timings", {})), n_ranked=len(learner.corpus),
                       notes=model_notes(learner))


def model_notes(learner: Any) -> dict[str, Any]:
    """:attr:`TrainResult.notes` of a retrained :class:`labelwise.loop.ActiveLearner` (keys only where they
    apply: no e5 part, no prefix; a strategy without pseudo-labels, none)."""
    notes: dict[str, Any] = {}
    if learner.e5_prefix is not None:
        notes["e5_prefix"] = learner.e5_prefix
        if learner.prefix_choice is not None:
            notes["prefix_chosen_at"] = learner.prefix_choice["labels"]
    if learner.trains_on_pseudo_labels:
        notes["pseudo_labels"] = learner.pseudo_labeled
    return notes


# ---------------------------------------------------------------------------------------- server side
class Trainer:
    """Retrains in the background after every ``retrain_every`` changed answers.

    mode: "process" (default: a spawned, niced worker process), "thread" (in this process; tests), or
    "off" (never train: the queue stays in cold-start/random order).
    """

    def __init__(self, store: Any, *, mode: str = "process", retrain_every: int | None = None):
        if mode not in ("process", "thread", "off"):
            raise ValueError(f"mode must be 'process', 'thread' or 'off', got {mode!r}")
        self.store, self.mode = store, mode
        self.retrain_every = int(retrain_every or store.project.settings["retrain_every"])
        # One lock for the schedule: answers counted since the last round, whether a round is wanted, whether
        # one runs, whether to stop. Idle (nothing running, nothing wanted) is derived from them under that lock; two separate
        # events let a change arriving as a round finished be overwritten by "idle".
        self._schedule = threading.Condition()
        self._pending = 0
        self._wanted = False
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._executor: Executor | None = None
        self.rounds = 0
        self.last_error: str | None = None
        #: :attr:`TrainResult.notes` of the last finished round (None before one has finished since start)
        self.model_notes: dict[str, Any] | None = None
        self.running = False
        #: what the round in progress is doing, e.g. ``{"stage": "embedding texts (e5)", "done": 1200,
        #: "total": 50000}`` while the first round embeds the pool; None between rounds and in stages that
        #: do not report
        self.progress: dict[str, Any] | None = None
        self._progress_queue: Any = None
        #: whether the first round on a sample (``first_round_sample``) has been tried: later rounds rank the pool
        self._sampled = False

    def start(self, *, initial_round: bool = True) -> Trainer:
        if self.mode == "off":
            return self
        self.store.listeners.append(self._on_change)
        if initial_round:
            self.request()
        self._thread = threading.Thread(target=self._loop, name="labelwise-trainer", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        with self._schedule:
            self._stopping = True
            self._schedule.notify_all()
        if self._executor is not None:
            # a round may be running in the worker: end the worker process rather than leave it behind
            workers = list(getattr(self._executor, "_processes", {}).values())
            self._executor.shutdown(wait=False, cancel_futures=True)
            for process in workers:
                if process.is_alive():
                    process.terminate()
            self._executor = None
        if self._progress_queue is not None:
            self._progress_queue.close()
            self._progress_queue = None
        if self._thread is not None:
            self._thread.join(timeout=10)
        if self._on_change in self.store.listeners:
            self.store.listeners.remove(self._on_change)

    def request(self) -> None:
        """Retrain as soon as the worker is free, whatever the count."""
        with self._schedule:
            self._wanted = True
            self._schedule.notify_all()

    def wait_idle(self, timeout: float = 60.0) -> bool:
        """Block until no round is running or wanted (tests, benchmarks); False on timeout."""
        with self._schedule:
            return self._schedule.wait_for(lambda: not (self.running or self._wanted), timeout)

    def _on_change(self, _n_labels: int) -> None:
        with self._schedule:
            self._pending += 1
            if self._pending >= self.retrain_every:
                self._wanted = True
                self._schedule.notify_all()

    def _set_progress(self, stage: dict[str, Any]) -> None:
        self.progress = stage

    def _drain_progress(self) -> None:
        """Keep the newest message the worker sent (process mode)."""
        import queue as queue_module

        queue = self._progress_queue
        while queue is not None:
            try:
                self.progress = queue.get_nowait()
            except (queue_module.Empty, OSError, ValueError):  # empty, or closed by stop()
                return

    def _run(self, job: TrainJob) -> TrainResult:
        if self.mode == "thread":
            with _reporting_stages(self._set_progress):
                return train_round(job)
        if self._executor is None:
            context = get_context("spawn")
            self._progress_queue = context.Queue()
            self._executor = ProcessPoolExecutor(max_workers=1, mp_context=context, initializer=_worker_init,
                                                 initargs=(self._progress_queue,))
        self._drain_progress()  # a late message of the previous round, if any, is not this round's
        self.progress = None
        try:
            future = self._executor.submit(_train_round_in_worker, job)
            while True:  # wait for the round, passing on what the worker reports meanwhile
                try:
                    return future.result(timeout=PROGRESS_EVERY / 2)
                except TimeoutError:
                    self._drain_progress()
        except BrokenProcessPool:
            self._executor = None
            raise

    def _loop(self) -> None:
        while True:
            with self._schedule:
                self._schedule.wait_for(lambda: self._wanted or self._stopping)
                if self._stopping:
                    break
                self._wanted, self._pending, self.running = False, 0, True
            try:
                self._round()
            except Exception as err:  # never let one round end the thread: later answers still need rounds
                self.last_error = "".join(traceback.format_exception_only(type(err), err)).strip()
                log.exception("retraining round failed outside training")
            finally:
                self._drain_progress()  # leftovers of this round: read and dropped
                self.progress = None
                with self._schedule:
                    self.running = False
                    self._schedule.notify_all()

    def _round(self) -> None:
        store = self.store
        answers = store.current_labels()
        settings = dict(store.project.settings)
        sample = int(settings.get("first_round_sample") or 0)
        sample = sample if not self._sampled and store.project.task != "ner" and store.n_items > sample else 0
        self._sampled = True
        job = TrainJob(url=store.url, task=store.project.task, label_set=store.project.labels,
                       settings=settings, answers=answers, n_items=store.n_items, sample=sample)
        try:
            result = self._run(job)
        except Exception as err:  # keep serving; the queue stays as it was
            self.last_error = "".join(traceback.format_exception_only(type(err), err)).strip()
            log.warning("retraining failed: %s", self.last_error)
            log.debug("%s", traceback.format_exc())
            try:
                store.record_run(n_labels=len(answers), accuracy=None, metric=None, seconds=0.0,
                                 ranking=None, error=self.last_error)
            except Exception:  # pragma: no cover - the database itself is gone
                log.exception("could not record the failed run")
            return
        self.last_error = None
        run_id = store.record_run(n_labels=result.n_labels, accuracy=result.accuracy,
                                  metric=result.metric, seconds=result.seconds, ranking=result.ranking)
        store.set_ranking(result.ranking, result.proba, version=run_id, n_labels=result.n_labels)
        self.model_notes = dict(result.notes)
        self.rounds += 1
        if job.sample and result.n_ranked < job.n_items:  # it ranked a sample: now the whole pool
            self.request()
