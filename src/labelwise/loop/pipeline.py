"""Model names as users write them ("tfidf-lr", "minilm-lr", "auto") resolved to a featurizer + classifier."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass, field

# Per-featurizer classifier settings. L2 strength differs by feature space: sparse TF-IDF wants weak
# regularisation, dense unit-norm sentence embeddings a moderate one.
_CLASSIFIER_DEFAULTS = {
    "tfidf": {"C": 10.0},
    "minilm": {"C": 3.0},
    "e5": {"C": 3.0},
    "minilm-tfidf": {"C": 3.0},
    "e5-tfidf": {"C": 3.0},
}
# Per-featurizer options for strategies whose best settings were measured to depend on the feature space.
# e5 stacked with TF-IDF: the default's top-margin share of the cold-start batch made thucnews_titles dip 1.05
# points below random at 100 labels (5 seeds), while all-k-means batches were at or above random there and on
# online_shopping_10cats with a larger area under the curve on both (benchmarks/le_tune.py --model e5-tfidf-lr
# --variants default,dflt; docs/label-efficiency.md). Measured before the e5 block was centered; with centering
# the share still did worse on trec6 (--variants dflt-cu20: AUC .8648 against the all-k-means .8719), so it stays 0.
# Balanced binary tasks on the same model: 20 % top margin in that batch, because the centered e5 stack is strong
# enough after 50 random labels that all-k-means fell 1.3 points below random at 100 labels on sst2 (the same
# command with --variants default,dflt-d4-cu20; docs/label-efficiency.md).
# Binary tasks on the same model: the default's learner also trains on the pool texts its model predicts with
# p >= 0.8, labeled by the model, from 200 answers on, the pseudo-labels together weighing as much as the answers
# (CEAL-style, labelwise.models.self_training). Uncertainty picks leave the answers short of typical texts; these
# put them back. 5 seeds: sst2 AUC .8491 -> .8522, mr .7951 -> .7965, subj .9179 -> .9180, chnsenticorp_htl
# .8839 -> .8885, sms_spam .9902 -> .9901; with more classes mixed (trec6 .8741 -> .8672, ag_news .8827 -> .8848,
# thucnews_titles .8101 -> .8116, online_shopping_10cats .8125 -> .8156), so binary only; random picking gained
# nothing from the same pseudo-labels (sst2, 10 seeds: AUC .8448 both). benchmarks/le_tune.py --variants
# 'default@imbalanced_top_share=0.5+pl0w0,default@imbalanced_top_share=0.5+pl80w100r100m200' (the imbalanced
# share as it was then); docs/label-efficiency.md, "Pseudo-labels".
BINARY_PSEUDO_LABELS = {"threshold": 0.8, "weight": 1.0, "max_ratio": 1.0, "min_answers": 200, "max_classes": 2}
# Imbalanced binary tasks on the same model: the whole cold-start batch by margin (not half), because after 50
# random labels the centered e5 stack already finds the boundary where the minority texts are, and k-means
# representatives are mostly majority texts: AUC over sms_spam, chnsenticorp_htl and the four derived
# imbalanced sets .9334 -> .9342, higher or level on all six (benchmarks/imbalanced_sets.py, then le_tune.py
# --variants default@imbalanced_top_share=0.5,default; docs/label-efficiency.md, "Imbalanced binary tasks").
_STRATEGY_DEFAULTS = {
    "e5-tfidf": {"default": {"cold_start_top_share": 0.0, "balanced_top_share": 0.2, "imbalanced_top_share": 1.0,
                             "pseudo_labels": BINARY_PSEUDO_LABELS}},
}
MODEL_NAMES = ("auto", "tfidf-lr", "minilm-lr", "e5-lr", "minilm-tfidf-lr", "e5-tfidf-lr")


@dataclass(frozen=True)
class ModelSpec:
    name: str
    features: str
    classifier: str = "lr"
    classifier_options: dict = field(default_factory=dict)
    #: {strategy name: options for :func:`~labelwise.strategies.registry.get_strategy`} tuned for these features.
    strategy_options: dict = field(default_factory=dict)

    def strategy_options_for(self, strategy: str) -> dict:
        """Options that ``get_strategy(strategy, ...)`` should get with this model (empty for most pairs)."""
        return copy.deepcopy(self.strategy_options.get(strategy, {}))  # nested dicts too: callers may edit theirs


def resolve_model(name: str, texts: Sequence[str] = (), task: str = "multiclass") -> ModelSpec:
    """Turn a model name into a spec; "auto" picks the featurizer for the texts' language and the task
    (:func:`labelwise.features.default_featurizer_for`: plain sentence embeddings for multi-label tasks).
    """
    if name == "auto":
        from labelwise.features import default_featurizer_for

        name = f"{default_featurizer_for(texts, task)}-lr"
    features, sep, classifier = name.rpartition("-")
    if not sep or classifier != "lr" or features not in _CLASSIFIER_DEFAULTS:
        raise ValueError(f"unknown model {name!r}; expected one of {', '.join(MODEL_NAMES)}")
    return ModelSpec(name=name, features=features, classifier=classifier,
                     classifier_options=dict(_CLASSIFIER_DEFAULTS[features]),
                     strategy_options=copy.deepcopy(_STRATEGY_DEFAULTS.get(features, {})))


#: multilingual-e5's input prefixes (``E5Featurizer(mode=...)``)
E5_PREFIXES = ("passage", "query")
#: what a user may ask for: a prefix, or "auto", chosen from the labels (labelwise.loop.view_choice)
E5_PREFIX_SETTINGS = ("auto", *E5_PREFIXES)


def has_e5_part(features: str) -> bool:
    """Whether the featurizer ``features`` embeds with multilingual-e5 (and so reads texts behind a prefix)."""
    return features in ("e5", "e5-tfidf")


def check_e5_prefix(features: str, prefix: str) -> None:
    """ValueError unless ``prefix`` is one of :data:`E5_PREFIX_SETTINGS` and ``features`` has an e5 part."""
    if prefix not in E5_PREFIX_SETTINGS:
        raise ValueError(f"the e5 prefix is one of {', '.join(E5_PREFIX_SETTINGS)}, got {prefix!r}")
    if not has_e5_part(features):
        raise ValueError(f"an e5 prefix needs a model with an e5 part (e5-lr, e5-tfidf-lr); {features}-lr has none")


def e5_prefix_options(features: str, prefix: str, options: dict | None = None) -> dict:
    """``options`` (featurizer options, not changed) with the e5 part of ``features`` (``"e5"`` or
    ``"e5-tfidf"``) reading each text behind ``prefix``, ``"passage"`` or ``"query"``. On the shared datasets
    "query: " did better on sentiment and subjectivity labels and worse on topic, spam and question labels
    (docs/label-efficiency.md, "The e5 prefix"). ValueError for a featurizer without an e5 part."""
    check_e5_prefix(features, prefix)
    if prefix not in E5_PREFIXES:
        raise ValueError(f"{prefix!r} is not a prefix e5 reads: one of {', '.join(E5_PREFIXES)}")
    merged = dict(options or {})
    if features == "e5":
        merged["mode"] = prefix
    else:  # the stacked view: an option of its embedding part
        merged["embedding_options"] = {**(merged.get("embedding_options") or {}), "mode": prefix}
    return merged


def e5_prefix_in(features: str, options: dict | None) -> str | None:
    """The prefix ``options`` set for the e5 part of ``features`` (None when they set none)."""
    options = options or {}
    if features == "e5":
        return options.get("mode")
    if features == "e5-tfidf":
        return (options.get("embedding_options") or {}).get("mode")
    return None


def plan_e5_prefix(features: str, task: str, e5_prefix: str | None,
                   featurizer_options: dict | None = None) -> tuple[str | None, bool]:
    """(the prefix to featurize with first, whether to choose one from the labels later) for a model with
    featurizer ``features``: (None, False) without an e5 part. ``e5_prefix`` None means "auto" for single-label
    tasks and "passage" otherwise, unless ``featurizer_options`` already set a prefix (then that one, fixed)."""
    if e5_prefix is not None:
        check_e5_prefix(features, e5_prefix)
        if e5_prefix == "auto" and task != "multiclass":
            raise ValueError(f"e5 prefix 'auto' chooses from single-label answers; set passage or query for a {task} "
                             "task")
    if not has_e5_part(features):
        return None, False
    given = e5_prefix_in(features, featurizer_options)
    if e5_prefix is None:
        if given is not None:
            return given, False
        e5_prefix = "auto" if task == "multiclass" else "passage"
    if given is not None and given != e5_prefix:
        raise ValueError(f"e5 prefix {e5_prefix!r} but the featurizer options set the prefix {given!r}")
    return ("passage", True) if e5_prefix == "auto" else (e5_prefix, False)
