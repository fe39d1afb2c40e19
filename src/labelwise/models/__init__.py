"""Models with scikit-learn's fit / predict_proba conventions."""

from labelwise.models.linear import BootstrapCommittee, LinearModel

__all__ = ["BootstrapCommittee", "LinearModel"]
