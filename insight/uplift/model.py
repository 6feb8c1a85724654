"""A fitted uplift model: predicts tau(x), its interval and (X/DR) exact SHAP values; saved as JSON.

The estimand is tau(x) = P(churn | x, no offer) - P(churn | x, offer): the reduction in churn probability the
offer brings (positive = the offer helps; the `uplift` column of issue 17).

An `Effect` is how one fitted learner turns features into tau:
- `Difference` (T-learner): P_control(x) - P_treated(x), two churn classifiers;
- `WeightedSum` (X- and DR-learners): sum_j w_j f_j(x) of LightGBM regressors (X: g tau0 + (1 - g) tau1,
  DR: one regressor). SHAP values are linear in the model explained, so sum_j w_j SHAP(f_j) are the exact
  SHAP values of tau and add up to it (base value + sum = tau, per customer).

The interval (`interval`) is the point estimate -/+ z standard deviations of the bag: the learner refitted
on bootstrap resamples of its training rows (insight.uplift.learners). The point estimate is the model fitted
on every row, whose SHAP values are exact.

Saved with `to_json` (LightGBM's text models inside, never pickle) and read back with `from_json`.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from insight.uplift.boosting import probability, raw

if TYPE_CHECKING:
    import lightgbm as lgb

log = logging.getLogger(__name__)

FORMAT = "insight-uplift-1"
KINDS = {"t": "T-learner", "x": "X-learner", "dr": "DR-learner"}


def _booster(text: str) -> lgb.Booster:
    import lightgbm as lgb

    return lgb.Booster(model_str=text)


@dataclass(frozen=True)
class Difference:
    """tau(x) = P(churn | x) of `control` minus that of `treated` (two binary classifiers)."""

    control: lgb.Booster
    treated: lgb.Booster

    def predict(self, X: np.ndarray) -> np.ndarray:
        return probability(self.control, X) - probability(self.treated, X)

    def to_dict(self) -> dict[str, Any]:
        return {"type": "difference", "control": self.control.model_to_string(),
                "treated": self.treated.model_to_string()}


@dataclass(frozen=True)
class WeightedSum:
    """tau(x) = sum_j weights[j] * regressors[j](x)."""

    weights: tuple[float, ...]
    regressors: tuple[lgb.Booster, ...]

    def predict(self, X: np.ndarray) -> np.ndarray:
        out = np.zeros(len(X))
        for w, f in zip(self.weights, self.regressors, strict=True):
            out += w * raw(f, X)
        return out

    def shap(self, X: np.ndarray, *, threads: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        values = np.zeros(np.shape(X))
        base = np.zeros(len(X))
        for w, f in zip(self.weights, self.regressors, strict=True):
            v, b = _tree_shap(f, np.asarray(X, dtype=np.float64), threads)
            values += w * v
            base += w * b
        return values, base

    def to_dict(self) -> dict[str, Any]:
        return {"type": "sum", "weights": list(self.weights), "regressors": [f.model_to_string() for f in self.regressors]}


Effect = Difference | WeightedSum


def effect_from_dict(d: dict[str, Any]) -> Effect:
    if d["type"] == "difference":
        return Difference(control=_booster(d["control"]), treated=_booster(d["treated"]))
    if d["type"] == "sum":
        return WeightedSum(weights=tuple(float(w) for w in d["weights"]),
                           regressors=tuple(_booster(t) for t in d["regressors"]))
    raise ValueError(f"unknown uplift effect type {d['type']!r}")


def _tree_shap(booster: lgb.Booster, X: np.ndarray, threads: int | None) -> tuple[np.ndarray, np.ndarray]:
    """Exact TreeSHAP: the compiled kernel for large tables (as insight.survival.hazard_shap), else LightGBM's."""
    from insight.models.explain import FAST_TREESHAP_ROWS, pred_contrib_values

    if len(X) >= FAST_TREESHAP_ROWS:
        from insight.models import treeshap

        try:
            return treeshap.shap_values(treeshap.compile_model(booster), X, threads=threads)
        except ValueError as e:  # a model the compiled kernel does not cover
            log.info("uplift SHAP by pred_contrib: %s", e)
    return pred_contrib_values(booster, X, threads=threads)


@dataclass(frozen=True)
class UpliftModel:
    kind: str
    """"t", "x" or "dr" (KINDS)."""
    estimate: Effect
    """Fitted on every training row: the point estimate, explained by `shap`."""
    bag: tuple[Effect, ...]
    """The final stage refitted on bootstrap resamples: the spread behind `interval`."""
    control: lgb.Booster
    """P(churn | x, no offer): the control group's churn classifier (for the customer groups)."""
    feature_names: tuple[str, ...]
    interval_level: float = 0.9
    report: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return KINDS[self.kind]

    def _check(self, X: np.ndarray) -> np.ndarray:
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != len(self.feature_names):
            raise ValueError(f"X needs {len(self.feature_names)} feature columns ({', '.join(self.feature_names)})")
        return X

    def predict(self, X: np.ndarray) -> np.ndarray:
        """tau(x): the reduction in churn probability the offer brings, per customer."""
        return self.estimate.predict(self._check(X))

    def bag_predictions(self, X: np.ndarray) -> np.ndarray:
        """customers x bag members."""
        X = self._check(X)
        return np.column_stack([b.predict(X) for b in self.bag])

    def interval(self, X: np.ndarray, level: float | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(lower, upper): tau(x) -/+ z * the bag's standard deviation at x, z the normal quantile of
        (1 + level) / 2 (1.645 at 90 %). Centred on the point estimate, so it always holds it; with 20 bag
        members the standard deviation is a steadier measure of the spread than the bag's own 5 % and 95 %
        quantiles (measured on simulated campaigns: tests/uplift/test_uplift_learners.py)."""
        from scipy.stats import norm

        level = self.interval_level if level is None else float(level)
        if not 0 < level < 1:
            raise ValueError("the interval level must lie between 0 and 1")
        if len(self.bag) < 2:
            raise ValueError("this model was fitted with fewer than 2 bag members (bootstrap): it has no interval")
        X = self._check(X)
        half = float(norm.ppf((1 + level) / 2)) * self.bag_predictions(X).std(axis=1, ddof=1)
        tau = self.predict(X)
        return tau - half, tau + half

    def control_churn(self, X: np.ndarray) -> np.ndarray:
        """P(churn | x, no offer)."""
        return probability(self.control, self._check(X))

    @property
    def explainable(self) -> bool:
        return isinstance(self.estimate, WeightedSum)

    def shap(self, X: np.ndarray, *, threads: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Exact SHAP values (customers x features) of tau and the base value per customer:
        base + values.sum(axis=1) = predict(X). X- and DR-learners only."""
        if not isinstance(self.estimate, WeightedSum):
            raise ValueError(f"the {self.name}'s uplift is a difference of two churn probabilities, which has no exact "
                             "tree SHAP values; explain an X- or DR-learner")
        return self.estimate.shap(self._check(X), threads=threads)

    def to_json(self) -> str:
        return json.dumps({"format": FORMAT, "kind": self.kind, "estimate": self.estimate.to_dict(),
                           "bag": [b.to_dict() for b in self.bag], "control": self.control.model_to_string(),
                           "feature_names": list(self.feature_names), "interval_level": self.interval_level,
                           "report": self.report})

    @classmethod
    def from_json(cls, text: str) -> UpliftModel:
        d = json.loads(text)
        if d.get("format") != FORMAT:
            raise ValueError(f"not an uplift model ({FORMAT} expected, found {d.get('format')!r})")
        return cls(kind=d["kind"], estimate=effect_from_dict(d["estimate"]),
                   bag=tuple(effect_from_dict(b) for b in d["bag"]), control=_booster(d["control"]),
                   feature_names=tuple(d["feature_names"]), interval_level=float(d["interval_level"]),
                   report=d.get("report", {}))
