"""Out-of-fold probabilities: folds, the never-saw-it guarantee, small classes, multi-label, tokens."""

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from labelwise.noise.oof import fold_assignments, out_of_fold_proba, out_of_fold_token_proba


class Memorizer:
    """Predicts the training label of a row it saw (keyed by its id feature), uniform otherwise."""

    def __init__(self, n_classes):
        self.n_classes = n_classes

    def fit(self, X, y):
        self.seen = {int(x[0]): int(label) for x, label in zip(X, y, strict=True)}
        return self

    def predict_proba(self, X):
        out = np.full((len(X), self.n_classes), 1.0 / self.n_classes)
        for r, x in enumerate(X):
            if int(x[0]) in self.seen:
                out[r] = 0.0
                out[r, self.seen[int(x[0])]] = 1.0
        return out


def test_no_row_is_predicted_by_a_model_that_saw_it():
    n, c = 103, 3
    X = np.arange(n, dtype=float)[:, None]
    y = np.arange(n) % c
    P = out_of_fold_proba(X, y, model_factory=lambda: Memorizer(c), folds=5, repeats=3, n_classes=c)
    # a memorizer that had seen a row would put probability 1 on its label
    np.testing.assert_allclose(P, 1.0 / c)


def test_train_mask_rows_are_predicted_but_never_trained_on():
    n, c = 40, 2
    X = np.arange(n, dtype=float)[:, None]
    y = np.arange(n) % c

    class Recorder(Memorizer):
        trained: set = set()

        def fit(self, X, y):
            Recorder.trained |= {int(x[0]) for x in X}
            return super().fit(X, y)

    mask = np.ones(n, dtype=bool)
    mask[[3, 7, 11]] = False
    P = out_of_fold_proba(X, y, model_factory=lambda: Recorder(c), folds=4, n_classes=c, train_mask=mask)
    assert P.shape == (n, c)
    assert Recorder.trained == set(range(n)) - {3, 7, 11}


def test_folds_are_stratified_and_balanced():
    y = np.array([0] * 50 + [1] * 30 + [2] * 20)
    a = fold_assignments(y, folds=5, seed=1)
    for k in range(5):
        assert np.bincount(y[a == k], minlength=3).tolist() == [10, 6, 4]


def test_class_smaller_than_folds_is_spread_and_gets_its_column():
    # class 2 has two members: they land in two different folds, each predicted by a model that saw the other
    y = np.array([0] * 20 + [1] * 20 + [2] * 2)
    a = fold_assignments(y, folds=5, seed=0)
    assert a[40] != a[41]
    X = np.zeros((42, 3))
    X[np.arange(42), y] = 1.0
    P = out_of_fold_proba(X, y, model_factory=lambda: LogisticRegression(C=10.0), folds=5, n_classes=3)
    assert P.shape == (42, 3)
    np.testing.assert_allclose(P.sum(axis=1), 1.0)
    assert (P.argmax(axis=1) == y).all()


def test_singleton_class_gets_zero_not_a_missing_column():
    # the only member of class 3 is predicted by a model that never saw class 3: probability 0 there
    y = np.array([0, 1, 2] * 10 + [3])
    X = np.eye(4)[y]
    P = out_of_fold_proba(X, y, model_factory=lambda: LogisticRegression(), folds=3, n_classes=4)
    assert P.shape == (31, 4)
    assert P[30, 3] == 0.0


def test_repeats_average_different_splits():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 4))
    y = (X[:, 0] > 0).astype(int)
    f = lambda: LogisticRegression()  # noqa: E731
    one = out_of_fold_proba(X, y, model_factory=f, folds=3, seed=0)
    other = out_of_fold_proba(X, y, model_factory=f, folds=3, seed=1)
    both = out_of_fold_proba(X, y, model_factory=f, folds=3, seed=0, repeats=2)
    np.testing.assert_allclose(both, (one + other) / 2)


def test_multilabel_shape_and_out_of_fold():
    n = 30
    X = np.arange(n, dtype=float)[:, None]
    Y = np.zeros((n, 3), dtype=int)
    Y[np.arange(n), np.arange(n) % 3] = 1

    class MLMemorizer(Memorizer):
        def fit(self, X, Y):
            self.seen = {int(x[0]): row for x, row in zip(X, Y, strict=True)}
            return self

        def predict_proba(self, X):
            return np.array([self.seen.get(int(x[0]), np.full(3, 0.5)) for x in X], dtype=float)

    P = out_of_fold_proba(X, Y, model_factory=lambda: MLMemorizer(3), folds=3)
    np.testing.assert_allclose(P, 0.5)


def test_bad_inputs():
    with pytest.raises(ValueError, match="folds"):
        fold_assignments(np.zeros(10, dtype=int), folds=1)
    with pytest.raises(ValueError, match="at least as many rows"):
        fold_assignments(np.zeros(3, dtype=int), folds=5)
    with pytest.raises(ValueError, match="out of range"):
        out_of_fold_proba(np.zeros((10, 1)), np.arange(10) % 3, model_factory=LogisticRegression, n_classes=2)
    with pytest.raises(ValueError, match="train_mask"):
        out_of_fold_proba(np.zeros((10, 1)), np.arange(10) % 2, model_factory=LogisticRegression,
                          train_mask=np.ones(3, dtype=bool))


def test_token_out_of_fold_marginals():
    class TokenMemorizer:
        def fit(self, seqs, tags):
            self.seen = {tuple(s): t for s, t in zip(seqs, tags, strict=True)}
            return self

        def predict_marginals(self, seqs):
            out = []
            for s in seqs:
                m = np.full((len(s), 2), 0.5)
                if tuple(s) in self.seen:
                    m[np.arange(len(s)), self.seen[tuple(s)]] = 1.0
                out.append(m)
            return out

    seqs = [[f"w{i}", f"x{i}"] for i in range(10)]
    tags = [[0, 1]] * 10
    P = out_of_fold_token_proba(seqs, tags, model_factory=TokenMemorizer, folds=5)
    assert [p.shape for p in P] == [(2, 2)] * 10
    for p in P:
        np.testing.assert_allclose(p, 0.5)
