"""Dense low-dimensional views of feature matrices, for strategies that use geometry (k-means, core-set,
diverse batches): distances over 10^5-dimensional sparse TF-IDF are slow and dominated by noise."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from sklearn.decomposition import TruncatedSVD
from sklearn.preprocessing import normalize
from threadpoolctl import threadpool_limits


def dense_view(X, *, dims: int = 128, seed: int = 0) -> np.ndarray:
    """(n, d) features -> (n, ≤ dims) float32, L2-normalised rows.

    Dense input (sentence embeddings) is returned as float32 unchanged in content; sparse input (TF-IDF) is
    projected by truncated SVD, i.e. latent semantic analysis (Deerwester et al. 1990), which keeps the
    directions of largest variance.
    """
    if not sp.issparse(X):
        return np.asarray(X, dtype=np.float32)
    n, d = X.shape
    k = min(dims, n - 1, d - 1)
    if k < 2:
        return np.asarray(X.todense(), dtype=np.float32)
    with threadpool_limits(limits=1):
        Z = TruncatedSVD(n_components=k, random_state=seed, algorithm="randomized", n_iter=4).fit_transform(X)
    return normalize(Z).astype(np.float32)
