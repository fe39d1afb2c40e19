"""Model names as users write them ("tfidf-lr", "minilm-lr", "auto") resolved to a featurizer + classifier."""

from __future__ import annotations

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
_STRATEGY_DEFAULTS = {
    "e5-tfidf": {"default": {"cold_start_top_share": 0.0, "balanced_top_share": 0.2}},
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
        return dict(self.strategy_options.get(strategy, {}))


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
                     strategy_options={k: dict(v) for k, v in _STRATEGY_DEFAULTS.get(features, {}).items()})


E5_PREFIXES = ("passage", "query")


def e5_prefix_options(features: str, prefix: str) -> dict:
    """The featurizer options that make the e5 part of ``features`` (``"e5"`` or ``"e5-tfidf"``) read each text
    behind ``prefix``: ``"passage"`` (labelwise's default) or ``"query"``. On the shared datasets "query: " did
    better on sentiment and subjectivity labels and worse on topic, spam and question labels
    (docs/label-efficiency.md, "The e5 prefix"). ValueError for a featurizer without an e5 part."""
    if prefix not in E5_PREFIXES:
        raise ValueError(f"the e5 prefix is one of {', '.join(E5_PREFIXES)}, got {prefix!r}")
    if features == "e5":
        return {"mode": prefix}
    if features == "e5-tfidf":
        return {"embedding_options": {"mode": prefix}}
    raise ValueError(f"an e5 prefix needs a model with an e5 part (e5-lr, e5-tfidf-lr); {features}-lr has none")
