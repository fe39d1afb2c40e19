"""BatchBALD (Kirsch, van Amersfoort & Gal 2019): greedy batches that are jointly informative."""

from __future__ import annotations

import numpy as np

from ._arrays import as_samples, neg_entropy_rows
from .committee import _entropies
from .selection import Seed, as_count, as_rng, select

__all__ = ["batch_bald"]

#: Values of the (particles x candidates x classes) predictive tensor computed at once.
_CHUNK_VALUES = 1 << 20


def batch_bald(
    samples: np.ndarray,
    n: int,
    *,
    seed: Seed = None,
    max_exact: int = 1024,
    num_samples: int = 1024,
    candidates: int | None = None,
) -> np.ndarray:
    """Greedy BatchBALD: positions of ``n`` texts whose labels are jointly most informative about the model.

    Shapes: ``samples`` (k, N, C) member / MC-dropout probabilities -> (min(n, N),) int64, in pick order.

    The batch ``b`` maximises ``I(y_b; w) = H(y_b) - sum_{x in b} (1/k) sum_m H(p_m(y | x))``, where
    ``p(y_b) = (1/k) sum_m prod_{x in b} p_m(y_x | x)`` is the joint predictive over the members. It is built
    greedily (the objective is submodular, so greedy is within 1 - 1/e of optimal); the first pick equals
    :func:`labelwise.strategies.bald`'s best.

    The joint entropy is tracked through "particles": label configurations ``y_b`` with weight ``pi`` and the
    member posterior ``W = p(m | y_b)``. Since ``H(y_b, y_x) = H(y_b) + sum_j pi_j H(W_j . p(y_x | x))``, the
    gain of a candidate ``x`` is ``sum_j pi_j H(W_j . p(y_x | x)) - (1/k) sum_m H(p_m(y | x))``. While the
    configurations number at most ``max_exact`` they are enumerated exactly (``C ** |b|`` of them, fewer
    after dropping impossible ones); beyond, ``num_samples`` configurations are drawn from ``p(y_b)`` and
    extended by sampling ``y_x ~ p(y_x | y_b)`` (Kirsch et al., section 3.2). Sampling uses ``seed``.

    ``candidates``: if given, only the ``candidates * n`` texts with the highest BALD score are considered
    (a common speed-up on large pools); None considers all N.

    Paper: Kirsch, van Amersfoort & Gal 2019, "BatchBALD: Efficient and diverse batch acquisition for deep
    Bayesian active learning" (NeurIPS).
    """
    S = as_samples(samples, name="batch_bald")
    k, N, C = S.shape
    n = min(as_count(n, name="batch_bald"), N)
    if n <= 0:
        return np.empty(0, dtype=np.int64)
    if max_exact < 1 or num_samples < 1:
        raise ValueError(
            f"batch_bald: max_exact and num_samples must be >= 1, got {max_exact} and {num_samples}"
        )
    rng = as_rng(seed)
    cond = _entropies(np.ascontiguousarray(S).reshape(k * N, C)).reshape(k, N).mean(axis=0)
    if candidates is None:
        pool = np.arange(N)
    else:
        if candidates < 1:
            raise ValueError(f"batch_bald: candidates must be >= 1 or None, got {candidates}")
        bald_scores = np.maximum(_entropies(S.mean(axis=0)) - cond, 0.0)
        pool = np.sort(select(bald_scores, candidates * n, rng))
    P_pool = np.ascontiguousarray(S[:, pool, :])  # (k, m, C)
    cond_pool = cond[pool]

    W = np.full((1, k), 1.0 / k)  # member posterior of each particle
    pi = np.ones(1)  # particle weights
    exact = True
    taken = np.zeros(pool.shape[0], dtype=bool)
    picks: list[int] = []
    for _ in range(n):
        gains = _joint_entropy_gain(W, pi, P_pool) - cond_pool
        gains[taken] = -np.inf
        best = int(select(gains, 1, rng)[0])
        taken[best] = True
        picks.append(int(pool[best]))
        W, pi, exact = _extend_particles(W, pi, P_pool[:, best, :], exact, max_exact, num_samples, rng)
    return np.asarray(picks, dtype=np.int64)


def _joint_entropy_gain(W: np.ndarray, pi: np.ndarray, P_pool: np.ndarray) -> np.ndarray:
    """``sum_j pi_j H(W_j . p(y | x))`` for every candidate x, computed in chunks of candidates."""
    M, k = W.shape
    _, m, C = P_pool.shape
    out = np.empty(m, dtype=np.float64)
    step = max(1, _CHUNK_VALUES // (M * C))
    for start in range(0, m, step):
        stop = min(m, start + step)
        b = stop - start
        Q = W @ P_pool[:, start:stop, :].reshape(k, b * C)  # (M, b*C) predictive per particle
        h = np.empty(M * b, dtype=np.float64)
        neg_entropy_rows(Q.reshape(M * b, C), h, name="batch_bald", check=False)
        out[start:stop] = -(pi @ h.reshape(M, b))
    return out


def _extend_particles(
    W: np.ndarray,
    pi: np.ndarray,
    p_x: np.ndarray,
    exact: bool,
    max_exact: int,
    num_samples: int,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray, bool]:
    """Add the picked text (member probabilities ``p_x``, (k, C)) to every particle's configuration."""
    M, k = W.shape
    C = p_x.shape[1]
    Q = W @ p_x  # (M, C): p(y_x = c | configuration j)
    if exact and max_exact >= M * C:
        W_new = W[:, None, :] * p_x.T[None, :, :]  # (M, C, k) unnormalised p(m, y_x = c | config)
        pi_new = (pi[:, None] * Q).reshape(M * C)
        W_new = W_new.reshape(M * C, k)
        keep = pi_new > 0
        W_new, pi_new = W_new[keep], pi_new[keep]
        W_new /= W_new.sum(axis=1, keepdims=True)
        return W_new, pi_new / pi_new.sum(), True
    # Sampling: on the switch, draw num_samples configurations from the exact mixture; later, each
    # sampled configuration extends itself.
    parent = rng.choice(M, size=num_samples, p=pi / pi.sum()) if exact else np.arange(M)
    Qp = Q[parent]
    cum = np.cumsum(Qp, axis=1)
    u = rng.random(parent.shape[0]) * cum[:, -1]
    c = np.minimum((cum <= u[:, None]).sum(axis=1), C - 1)  # first class with cum > u: never p = 0
    W_new = W[parent] * p_x.T[c]
    W_new /= W_new.sum(axis=1, keepdims=True)
    return W_new, np.full(parent.shape[0], 1.0 / parent.shape[0]), False
