"""The active-learning loop: one corpus, index arrays for the labeled and unlabeled pools, a model that is
retrained by policy, and a query strategy that sees only the model's predictions (never the model).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import joblib
import numpy as np
from threadpoolctl import threadpool_limits

from labelwise.data import Corpus, encode_labels
from labelwise.loop.pipeline import E5_PREFIXES, ModelSpec, e5_prefix_options, plan_e5_prefix, resolve_model
from labelwise.loop.view_choice import PREFIX_CHOICE_AT, choose_view
from labelwise.models import BootstrapCommittee, LinearModel
from labelwise.models.self_training import PseudoLabelling, at_most, fit_with_pseudo_labels
from labelwise.strategies.registry import QueryContext, get_strategy

STATE_VERSION = 1
REFIT_POLICIES = ("scratch", "warm")
TIMING_KEYS = ("featurize", "fit", "score", "select")


#: what :meth:`ActiveLearner.save` writes; a folder holding anything else is not replaced
STATE_FILES = frozenset({"state.json", "corpus.json", "model.joblib"})


def _check_state_dir(directory: Path) -> None:
    """Refuse to save over a file or over a folder that holds anything but a saved state: save replaces the
    whole folder, which would delete the user's other files."""
    if not directory.exists():
        return
    if not directory.is_dir():
        raise FileExistsError(f"{directory}: exists and is not a directory; cannot save a labelwise state there")
    others = sorted(p.name for p in directory.iterdir() if p.name not in STATE_FILES)
    if others:
        shown = ", ".join(others[:5]) + (f" and {len(others) - 5} more" if len(others) > 5 else "")
        raise FileExistsError(f"{directory}: not a labelwise state folder (it holds {shown}); save into a new or "
                              "empty folder, or one an earlier save wrote")


class ActiveLearner:
    """Pools, queries, answers and a model, for one corpus.

    Parameters
    ----------
    corpus: the texts (labels in it are ignored: answers come only through :meth:`teach`).
    model: a name from :data:`labelwise.loop.pipeline.MODEL_NAMES`; "auto" is chosen by language and task
        (:func:`labelwise.features.default_featurizer_for`).
    strategy: a name from :func:`labelwise.strategies.registry.available_strategies`; "default" is
        labelwise's recommendation.
    retrain_every: retrain after this many new labels; 0 means only when :meth:`retrain` is called.
    refit: "scratch" fits a new model each time; "warm" keeps training the previous weights.
    features: optional precomputed feature matrix aligned with ``corpus`` (skips featurizing).
    committee_size: members of the bootstrap committee built when the strategy needs samples (BALD, QBC).
    embeddings: optional precomputed dense vectors aligned with ``corpus`` for geometry-based strategies
        (k-means, core-set, diverse batches); by default the features when dense, an SVD view when sparse.
    threads: BLAS/OpenMP threads for fitting and querying (None: the libraries' default). One thread is the
        default because these problems are small and threads on busy cores slow them down many times.
    e5_prefix: for a model with a multilingual-e5 part, the prefix e5 reads each text behind: "passage",
        "query", or "auto" (the default for single-label tasks unless ``featurizer_options`` set one): "passage"
        until :data:`~labelwise.loop.view_choice.PREFIX_CHOICE_AT` labels, then whichever prefix gives the lower
        cross-validated log-loss on the labels so far (:func:`~labelwise.loop.view_choice.choose_view`); after
        a switch the whole corpus is featurized again (the geometry for k-means and diverse batches stays the
        passage view's). ``prefix_choice`` records the decision.
    feature_views: precomputed feature matrices per prefix, ``{"passage": X, "query": X}`` (both needed with
        ``e5_prefix="auto"``), used instead of featurizing (``features`` is then ignored). Precomputed
        ``features`` alone keep the prefix they were made with: no "auto" choice then.
    """

    def __init__(self, corpus: Corpus, *, model: str = "auto", strategy: str = "default",
                 retrain_every: int = 1, refit: str = "scratch", seed: int = 0, features: Any = None,
                 committee_size: int = 5, model_options: dict | None = None,
                 featurizer_options: dict | None = None, embeddings: Any = None, threads: int | None = 1,
                 e5_prefix: str | None = None, feature_views: dict[str, Any] | None = None):
        if corpus.task not in ("multiclass", "multilabel"):
            raise ValueError(f"ActiveLearner handles 'multiclass' and 'multilabel'; got task {corpus.task!r}")
        if not corpus.label_set:
            raise ValueError("corpus.label_set is empty: declare the labels the annotators may use")
        if refit not in REFIT_POLICIES:
            raise ValueError(f"refit must be one of {REFIT_POLICIES}, got {refit!r}")
        if retrain_every < 0:
            raise ValueError(f"retrain_every must be >= 0, got {retrain_every}")
        if features is not None and features.shape[0] != len(corpus):
            raise ValueError(f"features has {features.shape[0]} rows for a corpus of {len(corpus)}")
        self.corpus = corpus
        self.spec: ModelSpec = resolve_model(model, corpus.texts, corpus.task)
        self.strategy_name = strategy
        self.strategy = get_strategy(strategy, **self.spec.strategy_options_for(strategy))
        recipe = self.strategy.pseudo_labels
        #: the strategy's pseudo-label recipe (None: the model trains on the answers alone)
        self.pseudo_labelling = None if recipe is None else PseudoLabelling(**recipe)
        self.retrain_every, self.refit, self.seed = retrain_every, refit, seed
        self.committee_size = committee_size
        self.model_options = dict(model_options or {})
        self.featurizer_options = dict(featurizer_options or {})
        self.e5_prefix, self._choosing_prefix = plan_e5_prefix(self.spec.features, corpus.task, e5_prefix,
                                                               self.featurizer_options)
        #: the "auto" prefix decision once made: {"labels", "log_loss": {prefix: loss}, "chosen"}
        self.prefix_choice: dict | None = None
        if feature_views is not None:
            if self.e5_prefix is None or not set(feature_views) >= (set(E5_PREFIXES) if self._choosing_prefix
                                                                     else {self.e5_prefix}):
                raise ValueError(f"feature_views holds {sorted(feature_views)}; this learner needs "
                                 f"{list(E5_PREFIXES) if self._choosing_prefix else [self.e5_prefix]} (one per prefix)")
            features = feature_views[self.e5_prefix]
        elif features is not None:
            self._choosing_prefix = False  # features made elsewhere: their prefix is not this learner's to change
        self._feature_views = feature_views
        self._position = {id_: i for i, id_ in enumerate(corpus.ids)}
        if len(self._position) != len(corpus):
            raise ValueError("corpus ids are not unique")
        self._answers: list[Any] = [None] * len(corpus)
        self._labeled_mask = np.zeros(len(corpus), dtype=bool)
        self._teach_order: list[int] = []
        self._since_retrain = 0
        if embeddings is not None and embeddings.shape[0] != len(corpus):
            raise ValueError(f"embeddings has {embeddings.shape[0]} rows for a corpus of {len(corpus)}")
        self._features = features
        self._embeddings = embeddings
        self.threads = threads
        self.featurizer = None
        self.model: LinearModel | BootstrapCommittee | None = None
        self.model_n_labels = 0
        #: pool texts the last fit also trained on with the model's own labels (strategy.pseudo_labels)
        self.pseudo_labeled = 0
        self.rounds = 0
        self.timings = dict.fromkeys(TIMING_KEYS, 0.0)
        self._lock = threading.RLock()

    # ----------------------------------------------------------------- pools
    @property
    def labeled_positions(self) -> np.ndarray:
        return np.flatnonzero(self._labeled_mask)

    @property
    def unlabeled_positions(self) -> np.ndarray:
        return np.flatnonzero(~self._labeled_mask)

    @property
    def labeled_ids(self) -> list:
        return [self.corpus.ids[i] for i in self._teach_order]

    @property
    def unlabeled_ids(self) -> list:
        return [self.corpus.ids[i] for i in self.unlabeled_positions]

    @property
    def n_labeled(self) -> int:
        return len(self._teach_order)

    def answers(self) -> dict:
        """{id: label} for every labeled text, in teaching order."""
        return {self.corpus.ids[i]: self._answers[i] for i in self._teach_order}

    def positions(self, ids: Sequence) -> np.ndarray:
        try:
            return np.fromiter((self._position[i] for i in ids), dtype=np.int64, count=len(ids))
        except KeyError as err:
            raise KeyError(f"unknown id {err.args[0]!r}: not in this learner's corpus") from None

    # ------------------------------------------------------------- features
    @property
    def trains_on_pseudo_labels(self) -> bool:
        """Whether retraining adds pseudo-labels: the strategy asks for them and they apply to this task."""
        recipe = self.pseudo_labelling
        return recipe is not None and recipe.applies_to(self.corpus.task, len(self.corpus.label_set))

    @property
    def features(self):
        """The feature matrix of the whole corpus, computed once (TF-IDF fit on all texts, or cached embeddings)."""
        if self._features is None:
            from labelwise.features import make_featurizer

            start = time.perf_counter()
            self.featurizer = make_featurizer(self.spec.features, **self._featurizer_options_for(self.e5_prefix))
            self._features = self.featurizer.fit_transform(self.corpus.texts)
            self.timings["featurize"] += time.perf_counter() - start
        return self._features

    @property
    def embeddings(self) -> np.ndarray:
        """Dense vectors of the whole corpus for geometry-based strategies, computed once."""
        if self._embeddings is None:
            from labelwise.features.reduce import dense_view

            start = time.perf_counter()
            features = self.features  # builds self.featurizer when the features were not given
            if self.featurizer is not None:
                self._embeddings = self.featurizer.geometry(features, seed=self.seed)
            else:
                self._embeddings = dense_view(features, seed=self.seed)
            self.timings["featurize"] += time.perf_counter() - start
        return self._embeddings

    def _featurizer_options_for(self, prefix: str | None) -> dict:
        if prefix is None:
            return dict(self.featurizer_options)
        return e5_prefix_options(self.spec.features, prefix, self.featurizer_options)

    def _choose_prefix(self, rows: np.ndarray, y: np.ndarray) -> None:
        """Compare both e5 prefixes on the labeled texts by cross-validated log-loss; switch if the other wins.
        Without precomputed views both are featurized the same way, fit on the labeled texts plus up to 2,000
        others (the TF-IDF vocabulary and e5's centering mean), so that only the prefix differs."""
        from labelwise.features import make_featurizer

        start = time.perf_counter()
        if self._feature_views is not None:
            views = {prefix: self._feature_views[prefix][rows] for prefix in E5_PREFIXES}
        else:
            others = np.setdiff1d(np.arange(len(self.corpus)), rows)
            others = np.random.default_rng(self.seed).choice(others, min(2000, others.size), replace=False)
            fit_texts = [self.corpus.texts[i] for i in np.concatenate([rows, others])]
            texts = [self.corpus.texts[i] for i in rows]
            views = {}
            for prefix in E5_PREFIXES:
                featurizer = make_featurizer(self.spec.features, **self._featurizer_options_for(prefix))
                views[prefix] = featurizer.fit(fit_texts).transform(texts)
        self.timings["featurize"] += time.perf_counter() - start
        start = time.perf_counter()
        chosen, losses = choose_view(views, y, n_classes=len(self.corpus.label_set),
                                     classifier_options={**self.spec.classifier_options, **self.model_options},
                                     seed=self.seed, threads=self.threads)
        self.timings["fit"] += time.perf_counter() - start
        self.prefix_choice = {"labels": int(len(rows)), "log_loss": losses, "chosen": chosen}
        self._choosing_prefix = False
        if chosen == self.e5_prefix:
            return
        if self.strategy.needs & {"embeddings", "labeled_embeddings"}:
            self.embeddings  # noqa: B018  (the passage view's geometry, kept: see below)
        # k-means cold start and diverse batches keep clustering in the passage view: with the query view's
        # geometry after a switch `default` did worse on sst2 and mr (AUC .8474 / .7920 against .8491 / .7951)
        # and level on subj and chnsenticorp_htl (docs/label-efficiency.md, "The e5 prefix")
        self.e5_prefix = chosen
        if self._feature_views is not None:
            self._features = self._feature_views[chosen]
        else:
            self._features, self.featurizer = None, None  # featurized again, with the chosen prefix, when next used
        with self._lock:
            self.model = None  # trained on the other view's columns: the retrain under way fits a new one

    # ---------------------------------------------------------------- teach
    def teach(self, ids: Sequence, labels: Sequence) -> None:
        """Record answers (a label per id; a list of labels per id for multi-label). Re-teaching an id replaces
        its answer. Retrains when ``retrain_every`` new labels have arrived since the last fit."""
        if len(ids) != len(labels):
            raise ValueError(f"{len(ids)} ids but {len(labels)} labels")
        positions = self.positions(ids)
        encode_labels(list(labels), self.corpus.label_set, self.corpus.task)  # validates every label
        with self._lock:
            for pos, label in zip(positions, labels, strict=True):
                pos = int(pos)
                if not self._labeled_mask[pos]:
                    self._teach_order.append(pos)
                    self._labeled_mask[pos] = True
                    self._since_retrain += 1
                self._answers[pos] = list(label) if self.corpus.task == "multilabel" else label
        if self.retrain_every and self._since_retrain >= self.retrain_every:
            self.retrain()

    def forget(self, ids: Sequence) -> None:
        """Take answers back (undo): the texts return to the unlabeled pool."""
        positions = set(int(p) for p in self.positions(ids))
        with self._lock:
            for pos in positions:
                self._answers[pos] = None
                self._labeled_mask[pos] = False
            self._teach_order = [p for p in self._teach_order if p not in positions]

    # -------------------------------------------------------------- retrain
    def _new_classifier(self):
        options = {**self.spec.classifier_options, **self.model_options}
        n_classes = len(self.corpus.label_set)

        def member() -> LinearModel:
            return LinearModel(self.corpus.task, n_classes, warm_start=self.refit == "warm", seed=self.seed,
                               **options)

        if "samples" in self.strategy.needs:
            return BootstrapCommittee(member, n_members=self.committee_size, seed=self.seed + self.rounds)
        return member()

    def retrain(self) -> None:
        """Fit the model on all answers so far; the new model replaces the old one only when ready, so queries
        running meanwhile keep using the previous model."""
        with self._lock:
            order = list(self._teach_order)
            answers = [self._answers[p] for p in order]
            self._since_retrain = 0
        if not order:
            return
        y = encode_labels(answers, self.corpus.label_set, self.corpus.task)
        if self._choosing_prefix and len(order) >= PREFIX_CHOICE_AT:
            self._choose_prefix(np.asarray(order), y)
        rows = np.asarray(order)
        X = self.features[rows]
        start = time.perf_counter()
        model = self.model if (self.refit == "warm" and isinstance(self.model, LinearModel)) else None
        model = model or self._new_classifier()
        with threadpool_limits(limits=self.threads):
            if self.trains_on_pseudo_labels and isinstance(model, LinearModel):
                recipe, rng = self.pseudo_labelling, np.random.default_rng(self.seed + len(order))
                # a huge pool: look for them in a sample
                unlabeled = at_most(np.setdiff1d(np.arange(len(self.corpus)), rows), recipe.max_candidates, rng)
                self.pseudo_labeled = fit_with_pseudo_labels(model, X, y, self.features[unlabeled], recipe,
                                                             seed=int(rng.integers(2**31)))
            else:
                self.pseudo_labeled = 0
                model.fit(X, y)
        self.timings["fit"] += time.perf_counter() - start
        with self._lock:
            self.model, self.model_n_labels = model, len(order)

    # ---------------------------------------------------------------- query
    def predict_proba(self, ids: Sequence | None = None) -> np.ndarray:
        """(n, C) probabilities for ``ids`` (all texts when None), columns in ``corpus.label_set`` order."""
        model = self.model
        if model is None:
            raise RuntimeError("no model yet: teach some labels first (and retrain if retrain_every=0)")
        rows = np.arange(len(self.corpus)) if ids is None else self.positions(ids)
        return model.predict_proba(self.features[rows])

    def query(self, n: int, *, exclude: Sequence = ()) -> list:
        """The ids of the ``n`` unlabeled texts the strategy asks for next, most informative first."""
        with threadpool_limits(limits=self.threads):
            return self._query(n, exclude)

    def _query(self, n: int, exclude: Sequence) -> list:
        if n < 0:
            raise ValueError(f"n must be >= 0, got {n}")
        with self._lock:
            candidates = self.unlabeled_positions
            model, n_labeled = self.model, self.n_labeled
            labeled = np.asarray(self._teach_order, dtype=np.int64)
        if exclude:
            candidates = np.setdiff1d(candidates, self.positions(list(exclude)), assume_unique=False)
        if n == 0 or candidates.size == 0:
            return []
        strategy = self.strategy
        if model is None and strategy.needs & {"proba", "samples"}:
            strategy = get_strategy("kmeans")  # nothing to predict with yet: cold start by clusters
        X = self.features
        start = time.perf_counter()
        ctx = QueryContext(task=self.corpus.task, n_labeled=n_labeled, round=self.rounds, seed=self.seed,
                           n_pool=int(candidates.size))
        if "proba" in strategy.needs or "samples" in strategy.needs:
            if "samples" in strategy.needs and isinstance(model, BootstrapCommittee):
                ctx.samples = model.predict_proba_samples(X[candidates])
                ctx.proba = ctx.samples.mean(axis=0)
            else:
                ctx.proba = model.predict_proba(X[candidates])
        if "embeddings" in strategy.needs:
            ctx.embeddings = self.embeddings[candidates]
        if "labeled_embeddings" in strategy.needs:
            ctx.labeled_embeddings = self.embeddings[labeled] if labeled.size else None
        if "labeled_proba" in strategy.needs and model is not None and labeled.size:
            ctx.labeled_proba = model.predict_proba(X[labeled])
        if self.corpus.task == "multilabel" and labeled.size:
            ctx.labeled_cardinality = float(np.mean([len(self._answers[p]) for p in labeled]))
        predict_seconds = time.perf_counter() - start
        picked = np.asarray(strategy(ctx, min(n, candidates.size)), dtype=np.int64)
        # "score" = predicting the pool + computing scores; "select" = everything else the strategy did.
        self.timings["score"] += predict_seconds + strategy.last_seconds.get("score", 0.0)
        self.timings["select"] += strategy.last_seconds.get("select", 0.0)
        self.rounds += 1
        return [self.corpus.ids[i] for i in candidates[picked]]

    # ------------------------------------------------------------ save/load
    def save(self, directory: str | os.PathLike) -> Path:
        """Write the whole state (corpus, answers, model, settings) to ``directory`` atomically: a crash
        leaves either the previous state or the new one, never a mix. ``directory`` must be new, empty or an
        earlier save's (FileExistsError otherwise: the folder is replaced as a whole)."""
        directory = Path(directory)
        _check_state_dir(directory)
        directory.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{directory.name}.", dir=directory.parent))
        try:
            with self._lock:
                state = {
                    "version": STATE_VERSION,
                    "settings": {"model": self.spec.name, "strategy": self.strategy_name,
                                 "retrain_every": self.retrain_every, "refit": self.refit, "seed": self.seed,
                                 "committee_size": self.committee_size, "model_options": self.model_options,
                                 "featurizer_options": self.featurizer_options, "threads": self.threads,
                                 "e5_prefix": ("auto" if self._choosing_prefix else self.e5_prefix)},
                    "prefix_choice": self.prefix_choice,
                    "rounds": self.rounds,
                    "since_retrain": self._since_retrain,
                    "model_n_labels": self.model_n_labels,
                    "answers": [[self.corpus.ids[p], self._answers[p]] for p in self._teach_order],
                    "timings": self.timings,
                }
                corpus = {"task": self.corpus.task, "label_set": self.corpus.label_set,
                          "ids": self.corpus.ids, "texts": self.corpus.texts, "source": self.corpus.source}
                model = self.model
            (tmp / "state.json").write_text(json.dumps(state, ensure_ascii=False), encoding="utf-8")
            (tmp / "corpus.json").write_text(json.dumps(corpus, ensure_ascii=False), encoding="utf-8")
            if model is not None:
                joblib.dump(model, tmp / "model.joblib")
            old = directory.with_name(f".{directory.name}.old")
            if directory.exists():
                shutil.rmtree(old, ignore_errors=True)
                directory.rename(old)
            tmp.rename(directory)
            shutil.rmtree(old, ignore_errors=True)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return directory

    @classmethod
    def load(cls, directory: str | os.PathLike, *, features: Any = None) -> ActiveLearner:
        """Resume from :meth:`save`'s directory: same pools, answers, model and settings."""
        directory = Path(directory)
        if not (directory / "state.json").exists():
            old = directory.with_name(f".{directory.name}.old")  # crash between the two renames of save()
            if (old / "state.json").exists():
                directory = old
            else:
                raise FileNotFoundError(f"{directory}: no saved labelwise state (state.json missing)")
        state = json.loads((directory / "state.json").read_text(encoding="utf-8"))
        if state.get("version") != STATE_VERSION:
            raise ValueError(f"{directory}: state version {state.get('version')} (this labelwise reads "
                             f"{STATE_VERSION})")
        raw = json.loads((directory / "corpus.json").read_text(encoding="utf-8"))
        corpus = Corpus(ids=raw["ids"], texts=raw["texts"], task=raw["task"], label_set=raw["label_set"],
                        source=raw.get("source"))
        learner = cls(corpus, features=features, **state["settings"])
        ids = [a[0] for a in state["answers"]]
        if ids:
            positions = learner.positions(ids)
            for pos, (_, label) in zip(positions, state["answers"], strict=True):
                learner._answers[int(pos)] = label
                learner._labeled_mask[int(pos)] = True
                learner._teach_order.append(int(pos))
        learner.rounds = state["rounds"]
        learner._since_retrain = state["since_retrain"]
        learner.model_n_labels = state["model_n_labels"]
        learner.timings.update(state.get("timings", {}))
        learner.prefix_choice = state.get("prefix_choice")
        if (directory / "model.joblib").exists():
            learner.model = joblib.load(directory / "model.joblib")
        return learner
