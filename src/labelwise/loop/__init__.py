"""The active-learning loop: pools, query, teach, retrain policy, saved state."""

from labelwise.loop.learner import ActiveLearner
from labelwise.loop.pipeline import MODEL_NAMES, ModelSpec, resolve_model

__all__ = ["MODEL_NAMES", "ActiveLearner", "ModelSpec", "resolve_model"]
