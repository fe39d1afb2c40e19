"""Committee / Monte-Carlo scorers: ``(k, n, C) -> (n,)``, higher = ask first.

``samples[m, i, c]`` is member (or MC-dropout pass) ``m``'s probability of class ``c`` for text ``i``; a
bootstrap committee of linear models (``labelwise.models.BootstrapCommittee``) produces them.
"""

from __future__ import annotations

import numpy as np

from ._arrays import _TINY, as_samples, neg_entropy_rows

__all__ = ["bald", "mean_kl", "vote_entropy"]


def _entropies(P2: np.ndarray) -> np.ndarray:
    """Entropy of each row of an already validated (rows, C) array."""
    out = np.empty(P2.shape[0], dtype=np.float64)
    neg_entropy_rows(P2, out, name="entropy", check=False)
    np.subtract(0.0, out, out=out)  # negate without producing -0.0
    return out


def vote_entropy(samples: np.ndarray) -> np.ndarray:
    """Vote entropy ``-sum_c (V_ic / k) log(V_ic / k)``, ``V_ic`` = members whose top class for text i is c.

    Shapes: ``samples`` (k, n, C) -> (n,) float64 in [0, log min(k, C)]. A member's vote is its argmax (the
    lowest class index on exact ties). Paper: Dagan & Engelson 1995, "Committee-based sampling for training
    probabilistic classifiers" (ICML).
    """
    S = as_samples(samples, name="vote_entropy")
    k, n, C = S.shape
    counts = np.zeros((n, C), dtype=np.float64)
    rows = np.arange(n)
    for member in S:
        counts[rows, member.argmax(axis=1)] += 1.0
    counts /= k
    return _entropies(counts)


def mean_kl(samples: np.ndarray) -> np.ndarray:
    """Mean KL divergence of each member from the consensus: ``(1/k) sum_m KL(p_m || p_bar)``.

    ``p_bar = (1/k) sum_m p_m``, ``KL(p || q) = sum_c p_c log(p_c / q_c)`` with ``0 log 0 = 0``.
    Shapes: ``samples`` (k, n, C) -> (n,) float64 >= 0.

    Paper: McCallum & Nigam 1998, "Employing EM and pool-based active learning for text classification" (ICML).
    For equal member weights this equals :func:`bald`'s mutual information (it is the generalised
    Jensen-Shannon divergence); it is computed here from its own formula.
    """
    S = as_samples(samples, name="mean_kl")
    k, n, C = S.shape
    log_bar = np.log(S.mean(axis=0) + _TINY)  # (n, C); p_bar = 0 only where every member has 0
    total = np.zeros(n, dtype=np.float64)
    for member in S:
        diff = np.log(member + _TINY)
        diff -= log_bar
        diff *= member  # 0 * finite = 0 for zero probabilities
        total += diff.sum(axis=1)
    total /= k
    np.maximum(total, 0.0, out=total)  # KL >= 0; remove rounding noise
    return total


def bald(samples: np.ndarray) -> np.ndarray:
    """BALD: mutual information between the label and the model, ``H(p_bar) - (1/k) sum_m H(p_m)``.

    Shapes: ``samples`` (k, n, C) -> (n,) float64 >= 0 (clipped at 0 against rounding).
    High when members are individually confident but disagree with each other.

    Papers: Houlsby, Huszar, Ghahramani & Lengyel 2011, "Bayesian active learning for classification and
    preference learning" (arXiv 1112.5745); Gal, Islam & Ghahramani 2017, "Deep Bayesian active learning with
    image data" (ICML).
    """
    S = as_samples(samples, name="bald")
    k, n, C = S.shape
    score = _entropies(S.mean(axis=0))
    member_h = _entropies(np.ascontiguousarray(S).reshape(k * n, C)).reshape(k, n)
    score -= member_h.mean(axis=0)
    np.maximum(score, 0.0, out=score)
    return score
