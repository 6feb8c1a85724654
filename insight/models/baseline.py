"""A regularised logistic-regression baseline on the same features as the churn model."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from insight.data.features import FeatureMap


@dataclass
class LogisticBaseline:
    """One-hot categories, standardised numbers with missing flags, L2-regularised logistic regression."""

    fmap: FeatureMap
    means: np.ndarray
    stds: np.ndarray
    model: object

    def design(self, X: np.ndarray) -> np.ndarray:
        return _design(X, self.fmap, self.means, self.stds)

    def probability(self, X: np.ndarray) -> np.ndarray:
        return self.model.predict_proba(self.design(X))[:, 1]  # type: ignore[attr-defined]

    def to_dict(self) -> dict[str, Any]:
        """The fitted baseline as plain numbers (what a Dask worker is sent to score with it)."""
        model: Any = self.model
        return {"means": self.means.tolist(), "stds": self.stds.tolist(), "coef": model.coef_.tolist(),
                "intercept": model.intercept_.tolist(), "classes": model.classes_.tolist(),
                "params": model.get_params()}

    @classmethod
    def from_dict(cls, d: dict[str, Any], fmap: FeatureMap) -> LogisticBaseline:
        """The inverse of `to_dict`: the same probabilities, from the same coefficients."""
        from sklearn.linear_model import LogisticRegression

        model = LogisticRegression(**d["params"])
        model.coef_, model.intercept_ = np.asarray(d["coef"]), np.asarray(d["intercept"])
        model.classes_ = np.asarray(d["classes"])
        model.n_features_in_ = model.coef_.shape[1]
        return cls(fmap=fmap, means=np.asarray(d["means"], dtype=np.float64),
                   stds=np.asarray(d["stds"], dtype=np.float64), model=model)


MAX_FIT_ROWS = 200_000
"""A baseline needs no more: larger tables are fitted on a seeded random sample of this many rows."""


def fit_logistic_baseline(X: np.ndarray, y: np.ndarray, fmap: FeatureMap, *, C: float = 0.5,
                          max_rows: int = MAX_FIT_ROWS, seed: int = 0) -> LogisticBaseline:
    from sklearn.linear_model import LogisticRegression

    if len(y) > max_rows:
        rows = np.sort(np.random.default_rng(seed).choice(len(y), size=max_rows, replace=False))
        X, y = X[rows], y[rows]

    numeric = [i for i, f in enumerate(fmap.features) if not f.is_categorical]
    values = X[:, numeric]
    means = np.nanmean(values, axis=0) if numeric else np.zeros(0)
    stds = np.nanstd(values, axis=0) if numeric else np.zeros(0)
    stds = np.where(stds > 0, stds, 1.0)
    means, stds = np.nan_to_num(means), np.nan_to_num(stds, nan=1.0)
    model = LogisticRegression(C=C, max_iter=5000)
    model.fit(_design(X, fmap, means, stds), y.astype(int))
    return LogisticBaseline(fmap=fmap, means=means, stds=stds, model=model)


def _design(X: np.ndarray, fmap: FeatureMap, means: np.ndarray, stds: np.ndarray) -> np.ndarray:
    cols = []
    numeric = [i for i, f in enumerate(fmap.features) if not f.is_categorical]
    if numeric:
        values = X[:, numeric]
        missing = np.isnan(values)
        cols.append(np.where(missing, 0.0, (values - means) / stds))
        cols.append(missing[:, missing.any(axis=0) | True].astype(float))
    for i, f in enumerate(fmap.features):
        if f.is_categorical:
            codes = X[:, i]
            cols.append(np.column_stack([(codes == k).astype(float) for k in range(len(f.categories))]))
    return np.hstack(cols) if cols else np.zeros((len(X), 0))
