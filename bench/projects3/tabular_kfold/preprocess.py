"""Loading the competition data (a synthetic house-price table from fixed seeds, with missing
values), StandardScaler written out in numpy, and the folds."""

import numpy as np


def load_train(seed=0, n_rows=1600, n_features=12):
    """Feature columns on very different scales (areas, years, counts, ratios), ~6% missing
    cells, a price target around 2e5."""
    rng = np.random.RandomState(seed)
    scales = np.array([1500, 1, 30, 3, 1e4, 0.2, 50, 2, 800, 1, 5, 1e3])[:n_features]
    offsets = np.array([2000, 0, 1970, 3, 5e4, 0.5, 100, 1, 500, 0, 10, 2e3])[:n_features]
    z = rng.randn(n_rows, n_features)
    X = z * scales + offsets
    w = np.random.RandomState(1).randn(n_features)
    signal = z @ w + 0.8 * np.sin(2 * z[:, 0]) * z[:, 1] + 0.5 * z[:, 2] ** 2
    y = 2e5 + 4e4 * signal + 8e3 * rng.randn(n_rows)
    missing = rng.rand(n_rows, n_features) < 0.006
    X[missing] = np.nan
    return X.astype(np.float64), y.astype(np.float64)


def clean(X, y):
    """Rows with a missing feature are dropped (the notebook's dropna())."""
    keep = ~np.isnan(X).any(axis=1)
    return X[keep], y[keep]


class StandardScaler:
    def fit(self, X):
        self.mean_ = X.mean(axis=0)
        self.scale_ = X.std(axis=0)
        self.scale_[self.scale_ == 0] = 1.0
        return self

    def transform(self, X):
        return (X - self.mean_) / self.scale_

    def fit_transform(self, X):
        return self.fit(X).transform(X)

    def inverse_transform(self, X):
        return X * self.scale_ + self.mean_


def make_folds(n_rows, n_folds, seed):
    """KFold(shuffle=True): a fold number for every row."""
    order = np.random.RandomState(seed).permutation(n_rows)
    folds = np.zeros(n_rows, dtype=int)
    for k, chunk in enumerate(np.array_split(order, n_folds)):
        folds[chunk] = k
    return folds
