"""The active-learning loop: pools, query, teach, retrain policy, saved state."""

from labelwise.loop.learner import ActiveLearner
from labelwise.loop.pipeline import (
    E5_PREFIX_SETTINGS,
    E5_PREFIXES,
    MODEL_NAMES,
    ModelSpec,
    check_e5_prefix,
    e5_prefix_options,
    resolve_model,
)

__all__ = ["E5_PREFIXES", "E5_PREFIX_SETTINGS", "MODEL_NAMES", "ActiveLearner", "ModelSpec", "check_e5_prefix",
           "e5_prefix_options", "resolve_model"]
