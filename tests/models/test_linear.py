import numpy as np
import pytest

from labelwise.models import BootstrapCommittee, LinearModel


def _blobs(n=120, seed=0):
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 3
    centers = np.array([[4.0, 0.0], [0.0, 4.0], [-4.0, -4.0]])
    return centers[y] + rng.normal(scale=0.5, size=(n, 2)), y


def test_multiclass_columns_follow_full_label_set_even_for_unseen_classes():
    X, y = _blobs()
    keep = y < 2  # class 2 never seen
    model = LinearModel("multiclass", 4, smoothing=1.0).fit(X[keep], y[keep])
    p = model.predict_proba(X)
    assert p.shape == (len(X), 4)
    np.testing.assert_allclose(p.sum(axis=1), 1.0)
    # unseen classes keep their smoothed prior: (0 + 1) / (80 + 4)
    np.testing.assert_allclose(p[:, 2], 1 / 84)
    np.testing.assert_allclose(p[:, 3], 1 / 84)
    assert (model.predict(X[keep]) == y[keep]).mean() > 0.95


def test_single_class_predicts_smoothed_prior():
    X, _ = _blobs(10)
    model = LinearModel("multiclass", 3).fit(X, np.zeros(10, dtype=int))
    np.testing.assert_allclose(model.predict_proba(X[:2]), [[11 / 13, 1 / 13, 1 / 13]] * 2)


def test_multilabel_one_vs_rest_with_constant_labels():
    X, y = _blobs()
    Y = np.stack([y == 0, y != 0, np.zeros_like(y, dtype=bool)], axis=1).astype(int)
    p = LinearModel("multilabel", 3).fit(X, Y).predict_proba(X)
    assert p.shape == (120, 3)
    assert ((p[:, 0] > 0.5) == (y == 0)).mean() > 0.95
    np.testing.assert_allclose(p[:, 2], 1 / 122)  # never positive: (0 + 1) / (120 + 2)


def test_warm_start_continues_from_previous_weights():
    X, y = _blobs()
    model = LinearModel("multiclass", 3, warm_start=True, max_iter=1).fit(X, y)
    first = model._estimators.coef_.copy()
    model.fit(X, y)
    assert not np.allclose(first, model._estimators.coef_)  # moved on from where it stopped
    cold = LinearModel("multiclass", 3, warm_start=False, max_iter=1).fit(X, y)
    np.testing.assert_allclose(cold.fit(X, y)._estimators.coef_, first)  # scratch: the same single step


def test_bad_shapes_are_explained():
    X, y = _blobs()
    with pytest.raises(ValueError, match="rows"):
        LinearModel("multiclass", 3).fit(X[:5], y)
    with pytest.raises(ValueError, match=r"\[0, 2\)"):
        LinearModel("multiclass", 2).fit(X, y)
    with pytest.raises(RuntimeError, match="not fitted"):
        LinearModel("multiclass", 3).predict_proba(X)


def test_committee_samples_shape_and_diversity():
    X, y = _blobs(60)
    committee = BootstrapCommittee(lambda: LinearModel("multiclass", 3), n_members=4, seed=1).fit(X, y)
    samples = committee.predict_proba_samples(X)
    assert samples.shape == (4, 60, 3)
    assert not np.allclose(samples[0], samples[1])
    np.testing.assert_allclose(committee.predict_proba(X), samples.mean(axis=0))


def test_auto_solver_newton_cg_on_sparse_input_matches_lbfgs():
    import scipy.sparse as sp

    rng = np.random.default_rng(0)
    X = sp.random(200, 500, density=0.05, format="csr", random_state=1, dtype=np.float64)
    y = rng.integers(0, 3, size=200)
    auto = LinearModel("multiclass", 3, C=3.0).fit(X, y)
    assert auto._estimators.solver == "newton-cg"
    lbfgs = LinearModel("multiclass", 3, C=3.0, solver="lbfgs", max_iter=2000).fit(X, y)
    np.testing.assert_allclose(auto.predict_proba(X), lbfgs.predict_proba(X), atol=1e-2)  # same optimum, tol 1e-4
    assert LinearModel("multiclass", 3).fit(X.toarray(), y)._estimators.solver == "lbfgs"
