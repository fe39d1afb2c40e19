"""The "review labels" queue: find the project's answers most likely wrong, let a person keep or change each.

A check snapshots the current answers and ranks them with :func:`labelwise.noise.check_labels` (out-of-fold
probabilities + cleanlab; a CRF's token marginals for NER), in a separate low-priority process by default so
requests never wait (``mode="thread"`` for tests). When some texts carry answers from several annotators
(multiclass), the check runs on their majority vote, and :func:`labelwise.noise.label_quality_multiannotator`
(CROWDLAB) gives the consensus label (the suggestion when the answer in use differs from it), its quality and
each annotator's quality, shown in the progress view; :func:`labelwise.noise.rank_to_relabel` (ActiveLab) ranks
every text of the project, answered or not, by how much one more answer would help, and the app offers the
best of them to be labeled again (``GET /api/review/relabel``, without the texts the asking annotator answered).

Flagged answers become rows of ``reviews`` (worst first). Keeping one records the decision; changing one adds a
new answer by the reviewer (``labels.source = "review"``) that supersedes the reviewed answer, linked from the
review row (``new_label_id``): the original stays in the history, nothing is overwritten.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing import get_context
from typing import Any

import numpy as np
from pydantic import BaseModel
from sqlalchemy import delete, func, select

from labelwise.server.store import Conflict, InvalidLabel, NotFound, Store, StoreError, answers_in_use, utcnow
from labelwise.server.tables import Annotator, Label, Review, ReviewRun

log = logging.getLogger("labelwise.server")

MIN_LABELS = 20  # fewer labeled texts make out-of-fold probabilities too weak to single out wrong labels
FOLDS = 5
MAX_ENTRIES = 1000
MAX_RELABEL = 200  # ActiveLab's best texts kept per check (the app offers them to be labeled once more)
Progress = Callable[[str, int, int], None]


class NotEnoughLabels(StoreError):
    status = 422


class DecisionBody(BaseModel):
    decision: str
    value: Any = None


@dataclass
class ReviewJob:
    task: str
    label_set: list[str]
    model: str
    folds: int
    seed: int
    items: list[tuple[int, str, list[str] | None]]  # item id, text, tokens (NER)
    annotations: list[tuple[int, int, str, Any]]  # label id, item id, annotator name, value
    in_use: dict[int, int] = field(default_factory=dict)  # item id -> label id of its answer in use (Store)


@dataclass
class ReviewResult:
    entries: list[dict[str, Any]]
    summary: dict[str, Any] = field(default_factory=dict)


# ------------------------------------------------------------------------------------- computation
def compute_review(job: ReviewJob, progress: Progress | None = None) -> ReviewResult:
    """Rank the answers of ``job`` (pure: no database). Entries are flagged answers, worst first, each
    ``{"item_id", "label_id", "given", "suggested", "quality", "rank"}``."""
    from labelwise.data import Corpus
    from labelwise.noise import (
        annotation_matrix,
        check_labels,
        label_quality_multiannotator,
        multiclass_result,
        rank_to_relabel,
    )

    by_item: dict[int, list[tuple[int, str, Any]]] = {}
    for label_id, item_id, annotator, value in job.annotations:
        by_item.setdefault(item_id, []).append((label_id, annotator, value))
    info = {item_id: (text, tokens) for item_id, text, tokens in job.items}
    item_ids = [i for i in by_item if i in info]
    # (label id, annotator, value) of the answer in use (the store's rule; the latest where the job has none)
    in_use = {i: next((a for a in by_item[i] if a[0] == job.in_use.get(i)), max(by_item[i], key=lambda a: a[0]))
              for i in item_ids}
    given = [in_use[i][2] for i in item_ids]
    multi = job.task == "multiclass" and any(len(by_item[i]) > 1 for i in item_ids)
    matrix = ranking = None
    if multi:
        # ActiveLab over the whole pool (texts answered by several, once or by nobody); its consensus model's
        # out-of-fold probabilities also drive the label check and CROWDLAB below
        triples = [(i, name, value) for i in item_ids for _, name, value in sorted(by_item[i])]
        ranking = rank_to_relabel([i for i, _, _ in job.items], [text for _, text, _ in job.items], triples,
                                  job.label_set, model=job.model, folds=job.folds, seed=job.seed, progress=progress)
        item_ids = list(ranking.labeled_ids)
        matrix = annotation_matrix(triples, item_ids, job.label_set)
        given = list(ranking.consensus)
    corpus = Corpus(ids=list(item_ids), texts=[info[i][0] for i in item_ids], task=job.task,  # type: ignore[arg-type]
                    labels=list(given), label_set=list(job.label_set),
                    tokens=[list(info[i][1] or []) for i in item_ids] if job.task == "ner" else None)
    if ranking is not None:
        check = multiclass_result(corpus, ranking.pred_probs, model=ranking.model)
    else:
        check = check_labels(corpus, model=job.model, folds=job.folds, seed=job.seed, progress=progress)
    position = {item_id: k for k, item_id in enumerate(item_ids)}
    records = {rec["id"]: rec for rec in check.records}
    summary: dict[str, Any] = {"model": check.model, "n_labels": len(item_ids), "n_issues": int(check.is_issue.sum()),
                               "annotations": len(job.annotations),
                               "small_class_flags": check.summary.get("small_class_flags") or []}
    if ranking is not None:
        summary["relabel"] = [{"item_id": r["id"], "score": round(r["score"], 6), "n_answers": r["num_annotations"],
                               "consensus": r["consensus_label"]} for r in ranking.records[:MAX_RELABEL]]
    quality = {i: float(records[i]["quality"]) for i in item_ids}
    suggested = {i: records[i]["suggested_label"] for i in item_ids}
    flagged = {i for i in item_ids if records[i]["is_issue"]}
    if multi and matrix is not None:
        crowd = label_quality_multiannotator(matrix, np.asarray(check.pred_probs))
        stats = crowd["annotator_stats"]
        summary["annotators"] = [
            {"annotator": str(name), "quality": _finite(row["annotator_quality"]),
             "agreement": _finite(row["agreement_with_consensus"]),
             "n": int(row["num_examples_labeled"])}
            for name, row in stats.iterrows()]
        summary["n_multi_annotated"] = int(sum(len(by_item[i]) > 1 for i in item_ids))
        for i in item_ids:
            if len(by_item[i]) < 2:
                continue
            k = position[i]
            consensus = job.label_set[int(crowd["consensus_label"][k])]
            quality[i] = float(crowd["consensus_quality"][k])
            if consensus != in_use[i][2]:
                suggested[i] = consensus
            if len({str(v) for _, _, v in by_item[i]}) > 1 or consensus != in_use[i][2]:
                flagged.add(i)  # annotators disagree, or the answer in use is not the consensus
        summary["n_issues"] = len(flagged)
    if job.task == "multiclass":  # nothing to change to: the answer under review already is the suggestion
        flagged = {i for i in flagged if suggested[i] != in_use[i][2]}
    order = sorted(flagged, key=lambda i: (quality[i], position[i]))[:MAX_ENTRIES]
    # "given" is the answer under review: the text's answer in use (the one training and exports use)
    entries = [{"item_id": i, "label_id": in_use[i][0], "given": in_use[i][2], "suggested": suggested[i],
                "quality": round(quality[i], 6), "rank": r} for r, i in enumerate(order)]
    return ReviewResult(entries, summary)


def _same_answer(value: Any, given: Any, store: Store, item_id: int) -> bool:
    """Whether a validated answer equals a stored one, both in canonical form (projects imported before
    multi-label answers were stored canonically keep the file's label order)."""
    with contextlib.suppress(InvalidLabel):  # an answer stored before a rule changed: compare as stored
        given = store.validate(given, item_id)
    return value == given


def _finite(x: Any, digits: int = 4) -> float | None:
    """Rounded float, or None for NaN / infinity (JSON has no NaN: the API would fail to answer)."""
    x = float(x)
    return round(x, digits) if np.isfinite(x) else None


def _process_main(job: ReviewJob, conn: Any) -> None:  # pragma: no cover - runs in the spawned worker
    from labelwise.server.trainer import _worker_init

    _worker_init()
    try:
        result = compute_review(job, lambda stage, done, total: conn.send(("progress", stage, done, total)))
        conn.send(("result", result))
    except BaseException as err:
        conn.send(("error", "".join(traceback.format_exception_only(type(err), err)).strip()))
    finally:
        conn.close()


# ------------------------------------------------------------------------------------------ the queue
class ReviewQueue:
    """Runs label checks in the background and serves their review entries. See the module docstring.

    mode: "process" (a spawned, niced worker per check) or "thread" (in this process).
    """

    def __init__(self, store: Store, *, mode: str = "process", model: str | None = None, folds: int = FOLDS,
                 min_labels: int = MIN_LABELS):
        if mode not in ("process", "thread"):
            raise ValueError(f"mode must be 'process' or 'thread', got {mode!r}")
        self.store, self.mode, self.folds, self.min_labels = store, mode, folds, min_labels
        self.model = model or str(store.project.settings.get("review_model", "ensemble"))
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._process: Any = None
        self.progress: dict[str, Any] = {"stage": None, "done": 0, "total": 0}
        self._stopped = False

    # -------------------------------------------------------------- running a check
    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _snapshot(self) -> ReviewJob:
        with self.store._session() as s:
            # one statement, so the answers and which of them is in use come from one snapshot (PostgreSQL's
            # READ COMMITTED gives each statement of a transaction its own)
            in_use_ids = select(answers_in_use().subquery().c.label_id)
            rows = s.execute(select(Label.id, Label.item_id, Annotator.name, Label.value,
                                    Label.id.in_(in_use_ids).label("in_use"))
                             .join(Annotator, Annotator.id == Label.annotator_id)
                             .where(Label.is_current).order_by(Label.id)).all()
        in_use = {r[1]: r[0] for r in rows if r[4]}
        items = [(pk, text, tokens) for pk, (_, text, tokens) in self.store._items.items()]
        p = self.store.project
        return ReviewJob(task=p.task, label_set=list(p.labels), model=self.model, folds=self.folds,
                         seed=int(p.settings.get("seed", 0)), items=items,
                         annotations=[(r[0], r[1], r[2], r[3]) for r in rows], in_use=in_use)

    def enough(self) -> tuple[bool, str]:
        """Whether a check can run now, and if not, why (how many labels are needed)."""
        n = self.store.n_labeled
        if n < self.min_labels:
            return False, (f"the label check needs at least {self.min_labels} labeled texts; this project has {n} "
                           f"(label {self.min_labels - n} more)")
        if self.store.project.task == "multiclass":
            used = {v for v in self.store.current_labels().values()}
            if len(used) < 2:
                return False, "the label check needs answers with at least two different labels"
        return True, ""

    def start(self) -> int:
        """Start a check in the background; returns its run id. Refused while one runs or with too few labels."""
        with self._lock:
            if self.running:
                raise Conflict("a label check is already running")
            ok, why = self.enough()
            if not ok:
                raise NotEnoughLabels(why)
            job = self._snapshot()
            with self.store._lock, self.store._write_session.begin() as s:
                run = ReviewRun(created_at=utcnow(), status="running", n_labels=self.store.n_labeled,
                                model=self.model if job.task != "ner" else "crf")
                s.add(run)
                s.flush()
                run_id = run.id
            self.progress = {"stage": "starting", "done": 0, "total": 0, "run_id": run_id,
                             "started": time.time()}
            self._thread = threading.Thread(target=self._run, args=(run_id, job), name="labelwise-review",
                                            daemon=True)
            self._thread.start()
            return run_id

    def wait(self, timeout: float = 120.0) -> bool:
        """Block until the running check (if any) has finished (tests)."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
        return not self.running

    def _on_progress(self, stage: str, done: int, total: int) -> None:
        self.progress = {**self.progress, "stage": stage, "done": int(done), "total": int(total)}

    def _compute(self, job: ReviewJob) -> ReviewResult:
        if self.mode == "thread":
            return compute_review(job, self._on_progress)
        ctx = get_context("spawn")
        parent, child = ctx.Pipe(duplex=False)
        process = ctx.Process(target=_process_main, args=(job, child), daemon=True, name="labelwise-review")
        process.start()
        child.close()
        self._process = process
        try:
            while True:
                try:
                    message = parent.recv()
                except EOFError:
                    raise RuntimeError(f"the label check's worker died (exit code {process.exitcode})") from None
                if message[0] == "progress":
                    self._on_progress(*message[1:])
                elif message[0] == "result":
                    return message[1]
                else:
                    raise RuntimeError(message[1])
        finally:
            process.join(timeout=5)
            if process.is_alive():
                process.terminate()
            self._process = None
            parent.close()

    def _run(self, run_id: int, job: ReviewJob) -> None:
        try:
            result = self._compute(job)
        except Exception as err:
            if self._stopped:
                return  # stop() ended the worker and recorded the run as interrupted
            message = "".join(traceback.format_exception_only(type(err), err)).strip()
            log.warning("label check failed: %s", message)
            with contextlib.suppress(Exception), self.store._lock, self.store._write_session.begin() as s:
                run = s.get(ReviewRun, run_id)
                run.status, run.error, run.finished_at = "error", message, utcnow()
            self.progress = {**self.progress, "stage": "failed"}
            return
        if self._stopped:
            return
        self._save(run_id, result)
        self.progress = {**self.progress, "stage": "done"}

    def _save(self, run_id: int, result: ReviewResult) -> None:
        """Replace the undecided entries with this check's; an answer a reviewer already kept (and not changed
        since) or gave in review is not asked about again: a review decision is final."""
        now = utcnow()
        with self.store._lock, self.store._write_session.begin() as s:
            s.execute(delete(Review).where(Review.decision.is_(None)))
            kept = set(s.scalars(select(Review.label_id).where(Review.decision == "keep")).all())
            current, from_review = set(), set()
            for label_id, source in s.execute(select(Label.id, Label.source).where(Label.is_current)):
                current.add(label_id)
                if source == "review":
                    from_review.add(label_id)
            rank = 0
            for entry in result.entries:
                if entry["label_id"] in kept or entry["label_id"] in from_review or entry["label_id"] not in current:
                    continue
                s.add(Review(item_id=entry["item_id"], label_id=entry["label_id"], quality=entry["quality"],
                             suggested=entry["suggested"], given=entry["given"], created_at=now, run_id=run_id,
                             rank=rank))
                rank += 1
            run = s.get(ReviewRun, run_id)
            run.status, run.finished_at, run.n_issues = "done", now, rank
            run.summary = result.summary

    def stop(self) -> None:
        """End a running check's worker (server shutdown); its run is recorded as interrupted, not left
        "running" for the next start to show."""
        self._stopped = True
        process = self._process
        if process is not None and process.is_alive():
            process.terminate()
        run_id = self.progress.get("run_id")
        if self.running and run_id is not None:
            with contextlib.suppress(Exception), self.store._lock, self.store._write_session.begin() as s:
                run = s.get(ReviewRun, run_id)
                if run is not None and run.status == "running":
                    run.status, run.finished_at = "error", utcnow()
                    run.error = "interrupted: the server stopped before the check finished; run it again"

    # ----------------------------------------------------------------------- reads
    def status(self) -> dict[str, Any]:
        ok, why = self.enough()
        with self.store._session() as s:
            last = s.scalars(select(ReviewRun).order_by(ReviewRun.id.desc()).limit(1)).first()
            pending = s.scalar(select(func.count()).select_from(Review).where(Review.decision.is_(None)))
            decided = dict(s.execute(select(Review.decision, func.count()).where(Review.decision.is_not(None))
                                     .group_by(Review.decision)).all())
        out: dict[str, Any] = {
            "running": self.running, "progress": dict(self.progress) if self.running else None,
            "n_labels": self.store.n_labeled, "min_labels": self.min_labels, "can_run": ok and not self.running,
            "message": why, "pending": pending, "kept": decided.get("keep", 0), "changed": decided.get("change", 0),
            "last_run": None,
        }
        if last is not None:
            out["last_run"] = {"id": last.id, "status": last.status, "n_labels": last.n_labels,
                               "n_issues": last.n_issues, "model": last.model, "error": last.error,
                               "created_at": last.created_at.isoformat() + "Z",
                               "finished_at": last.finished_at.isoformat() + "Z" if last.finished_at else None,
                               "annotators": (last.summary or {}).get("annotators"),
                               "small_class_flags": (last.summary or {}).get("small_class_flags") or [],
                               "n_relabel": len((last.summary or {}).get("relabel") or [])}
        return out

    def relabel(self, annotator_id: int, *, limit: int = 20) -> dict[str, Any]:
        """ActiveLab's choice from the last finished check with several annotators per text: texts to label once
        more, best first, leaving out those ``annotator_id`` already answers. ``n_answers`` is counted now."""
        with self.store._session() as s:
            last = s.scalars(select(ReviewRun).where(ReviewRun.status == "done")
                             .order_by(ReviewRun.id.desc()).limit(1)).first()
            ranked = list((last.summary or {}).get("relabel") or []) if last is not None else []
            mine = set(s.scalars(select(Label.item_id).where(Label.annotator_id == annotator_id,
                                                             Label.is_current)).all())
            chosen = [r for r in ranked if r["item_id"] not in mine and r["item_id"] in self.store._items][:limit]
            counts = dict(s.execute(select(Label.item_id, func.count()).where(
                Label.is_current, Label.item_id.in_([r["item_id"] for r in chosen])).group_by(Label.item_id)).all())
        entries = []
        for r in chosen:
            key, text, _ = self.store._items[r["item_id"]]
            entries.append({"item_id": r["item_id"], "key": key, "text": text, "score": r["score"],
                            "consensus": r["consensus"], "n_answers": int(counts.get(r["item_id"], 0))})
        return {"run_id": last.id if ranked else None, "entries": entries}

    def _entry(self, s: Any, review: Review) -> dict[str, Any]:
        key, text, tokens = self.store._items[review.item_id]
        answers = s.execute(select(Annotator.name, Label.value).join(Annotator, Annotator.id == Label.annotator_id)
                            .where(Label.item_id == review.item_id, Label.is_current).order_by(Label.id)).all()
        reviewer = s.scalar(select(Annotator.name).where(Annotator.id == review.reviewer_id)) \
            if review.reviewer_id else None
        return {"id": review.id, "item_id": review.item_id, "key": key, "text": text, "tokens": tokens,
                "label_id": review.label_id, "given": review.given, "suggested": review.suggested,
                "quality": review.quality, "rank": review.rank, "decision": review.decision,
                "reviewer": reviewer, "new_label_id": review.new_label_id,
                "decided_at": review.decided_at.isoformat() + "Z" if review.decided_at else None,
                "answers": [{"annotator": name, "answer": value} for name, value in answers]}

    def entries(self, *, limit: int = 50, pending: bool = True) -> list[dict[str, Any]]:
        """Review entries worst first (pending ones), or the decided ones newest first."""
        with self.store._session() as s:
            query = select(Review)
            if pending:
                query = query.where(Review.decision.is_(None)).order_by(Review.rank, Review.id)
            else:
                query = query.where(Review.decision.is_not(None)).order_by(Review.decided_at.desc(), Review.id.desc())
            return [self._entry(s, r) for r in s.scalars(query.limit(limit)).all()]

    def entry(self, review_id: int) -> dict[str, Any]:
        with self.store._session() as s:
            review = s.get(Review, review_id)
            if review is None:
                raise NotFound(f"no review entry {review_id}")
            out = self._entry(s, review)
        out["history"] = self.history(out["item_id"])
        return out

    def history(self, item_id: int) -> list[dict[str, Any]]:
        """Every answer ever given for the text, with its source and, for a review change, the review entry."""
        by_label = {}
        with self.store._session() as s:
            for review_id, new_label in s.execute(select(Review.id, Review.new_label_id)
                                                  .where(Review.item_id == item_id, Review.new_label_id.is_not(None))):
                by_label[new_label] = review_id
            sources = dict(s.execute(select(Label.id, Label.source).where(Label.item_id == item_id)).all())
        rows = self.store.label_history(item_id)
        for row in rows:
            row["source"] = sources.get(row["label_id"])
            row["review_id"] = by_label.get(row["label_id"])
        return rows

    # ----------------------------------------------------------------------- decisions
    def decide(self, review_id: int, reviewer_id: int, decision: str, value: Any = None) -> dict[str, Any]:
        """Keep the reviewed answer, or change it to ``value`` (default: the suggested label), recorded as a new
        answer by the reviewer that supersedes the reviewed one; a change to the answer it already is counts as
        keeping it. Returns the updated entry."""
        if decision not in ("keep", "change"):
            raise InvalidLabel(f"decision must be 'keep' or 'change', got {decision!r}")
        store = self.store
        now = utcnow()
        with store._lock, store._write_session.begin() as s:
            review = s.get(Review, review_id)
            if review is None:
                raise NotFound(f"no review entry {review_id}")
            if review.decision is not None:
                raise Conflict(f"review entry {review_id} was already decided ({review.decision})")
            reviewed = s.get(Label, review.label_id) if review.label_id else None
            if reviewed is None or not reviewed.is_current:
                raise Conflict("this answer was changed since the check ran; run the check again")
            in_use = s.execute(answers_in_use([review.item_id])).first()
            if in_use is None or in_use.label_id != reviewed.id:  # overlap: later answers outvoted it
                raise Conflict("this text's label now comes from another answer; run the check again")
            if decision == "change":
                value = store.validate(review.suggested if value is None else value, review.item_id)
                if _same_answer(value, reviewed.value, store, review.item_id):
                    decision = "keep"  # "changed" to the answer it already is: that is keeping it
            review.reviewer_id, review.decision, review.decided_at = reviewer_id, decision, now
            if decision == "change":
                own = s.scalars(select(Label).where(Label.item_id == review.item_id,
                                                    Label.annotator_id == reviewer_id, Label.is_current)
                                ).one_or_none()
                for old in {reviewed, own} - {None}:
                    old.is_current = False
                s.flush()
                new = Label(item_id=review.item_id, annotator_id=reviewer_id, value=value, created_at=now,
                            is_current=True, source="review")
                s.add(new)
                s.flush()
                for old in {reviewed, own} - {None}:
                    old.superseded_by = new.id
                review.new_label_id = new.id
        if decision == "change":
            store.refresh_answers(review.item_id)  # overlap bookkeeping: answers moved between annotators
            store._notify()  # the trainer counts it as a changed answer
        return self.entry(review_id)

    def next_entry(self) -> dict[str, Any] | None:
        found = self.entries(limit=1)
        return found[0] if found else None


# ---------------------------------------------------------------------------------------- HTTP routes
def add_review_routes(app: Any, store: Store, who: Any, queue: ReviewQueue | None = None) -> ReviewQueue:
    """``/api/review*`` routes on ``app``. ``who`` is the app's ``Annotated[Identity, Depends(identify)]``; its
    dependency is used as a parameter default (this module's annotations are strings)."""
    queue = queue or ReviewQueue(store, mode="thread")
    app.state.review = queue
    auth = who.__metadata__[0]

    @app.get("/api/review")
    def review_status(_who: Any = auth) -> dict[str, Any]:
        return queue.status()

    @app.post("/api/review/run")
    def review_run(_who: Any = auth) -> dict[str, Any]:
        return {"run_id": queue.start(), **queue.status()}

    @app.get("/api/review/queue")
    def review_queue(_who: Any = auth, limit: int = 50, decided: bool = False) -> dict[str, Any]:
        return {"entries": queue.entries(limit=max(1, min(limit, 500)), pending=not decided)}

    @app.get("/api/review/relabel")
    def review_relabel(who: Any = auth, limit: int = 20) -> dict[str, Any]:
        return queue.relabel(who.id, limit=max(1, min(limit, 200)))

    @app.get("/api/review/{review_id}")
    def review_entry(review_id: int, _who: Any = auth) -> dict[str, Any]:
        return {"entry": queue.entry(review_id)}

    @app.post("/api/review/{review_id}")
    def review_decide(review_id: int, body: DecisionBody, reviewer: Any = auth) -> dict[str, Any]:
        entry = queue.decide(review_id, reviewer.id, body.decision, body.value)
        return {"entry": entry, "next": queue.next_entry()}

    return queue
