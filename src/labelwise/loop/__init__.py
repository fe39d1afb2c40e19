"""The active-learning loop: pools, query, teach, retrain policy, saved state."""

from labelwise.loop.learner import ActiveLearner
from labelwise.loop.pipeline import E5_PREFIXES, MODEL_NAMES, ModelSpec, e5_prefix_options, resolve_model

__all__ = ["E5_PREFIXES", "MODEL_NAMES", "ActiveLearner", "ModelSpec", "e5_prefix_options", "resolve_model"]
