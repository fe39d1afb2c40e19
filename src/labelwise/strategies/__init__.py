"""labelwise.strategies: which texts to ask about next.

Pure functions over NumPy arrays (never a model): scorers map probabilities to scores (higher = ask first),
selectors map scores or embeddings to pool positions, and the registry names the combinations.

- probability scorers ``(n, C) -> (n,)``: :func:`least_confidence`, :func:`margin`, :func:`entropy`,
  :func:`probability_interval` (window from :func:`interval_window`), :func:`top_probability`;
- committee / MC scorers ``(k, n, C) -> (n,)``: :func:`vote_entropy`, :func:`mean_kl`, :func:`bald`;
- contrastive scorer (pool and labeled probabilities and embeddings -> (n,)): :func:`contrastive_kl` (CAL);
- multi-label scorers ``(n, L) -> (n,)``: :func:`multilabel_uncertainty`, :func:`multilabel_cardinality`
  (per-label values: :func:`label_uncertainty`);
- selectors -> int64 positions: :func:`select`, :func:`batch_bald`, :func:`kmeans_cold_start`,
  :func:`coreset`, :func:`diverse_top`, :func:`representatives_and_top`, :func:`badge`;
- registry: :class:`QueryContext`, :class:`QueryStrategy`, :func:`get_strategy`,
  :func:`available_strategies`, :func:`make_default_strategy`, :func:`register_strategy`.
"""

from .batch_bald import batch_bald
from .committee import bald, mean_kl, vote_entropy
from .contrastive import contrastive_kl
from .diversity import badge, coreset, diverse_top, kmeans_cold_start, representatives_and_top
from .multilabel import label_uncertainty, multilabel_cardinality, multilabel_uncertainty
from .registry import (
    QueryContext,
    QueryStrategy,
    available_strategies,
    get_strategy,
    make_default_strategy,
    register_strategy,
)
from .selection import select
from .uncertainty import (
    entropy,
    interval_window,
    least_confidence,
    margin,
    probability_interval,
    top_probability,
)

__all__ = [
    "QueryContext",
    "QueryStrategy",
    "available_strategies",
    "badge",
    "bald",
    "batch_bald",
    "contrastive_kl",
    "coreset",
    "diverse_top",
    "entropy",
    "get_strategy",
    "interval_window",
    "kmeans_cold_start",
    "representatives_and_top",
    "label_uncertainty",
    "least_confidence",
    "make_default_strategy",
    "margin",
    "mean_kl",
    "multilabel_cardinality",
    "multilabel_uncertainty",
    "probability_interval",
    "register_strategy",
    "select",
    "top_probability",
    "vote_entropy",
]
