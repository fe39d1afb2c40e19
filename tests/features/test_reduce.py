import numpy as np
import scipy.sparse as sp

from labelwise.features.reduce import dense_view


def test_dense_input_is_kept_and_sparse_is_projected():
    X = np.arange(12, dtype=np.float64).reshape(4, 3)
    np.testing.assert_array_equal(dense_view(X), X.astype(np.float32))
    S = sp.random(50, 400, density=0.05, random_state=1, format="csr")
    Z = dense_view(S, dims=16)
    assert Z.shape == (50, 16) and Z.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(Z, axis=1)[np.linalg.norm(Z, axis=1) > 0], 1, rtol=1e-5)
