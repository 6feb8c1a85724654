"""The LightGBM churn model of record: fit with early stopping, calibrate, predict.

Calibration is Platt scaling of the raw score (a strictly increasing map), so calibrated probabilities rank
customers exactly as the raw score does and the SHAP values of the raw score explain the probabilities.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from insight.config import ChurnConfig

if TYPE_CHECKING:
    import lightgbm as lgb

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Calibration:
    """p = 1 / (1 + exp(-(slope * raw + intercept)))."""

    slope: float
    intercept: float

    def __call__(self, raw: np.ndarray) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-(self.slope * np.asarray(raw, dtype=np.float64) + self.intercept)))

    def to_dict(self) -> dict[str, Any]:
        return {"method": "platt", "slope": self.slope, "intercept": self.intercept}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Calibration:
        return cls(slope=float(d["slope"]), intercept=float(d["intercept"]))


@dataclass(frozen=True)
class ChurnModel:
    booster: lgb.Booster
    calibration: Calibration

    @property
    def feature_names(self) -> list[str]:
        return list(self.booster.feature_name())

    def raw_score(self, X: np.ndarray) -> np.ndarray:
        """The booster's log-odds score (what SHAP values add up to)."""
        return self.booster.predict(X, raw_score=True, num_threads=_threads(None))

    def probability(self, X: np.ndarray) -> np.ndarray:
        """Calibrated churn probability."""
        return self.calibration(self.raw_score(X))

    def to_text(self) -> str:
        return self.booster.model_to_string()

    @classmethod
    def from_text(cls, model_text: str, calibration: Calibration) -> ChurnModel:
        import lightgbm as lgb

        return cls(booster=lgb.Booster(model_str=model_text), calibration=calibration)


def lightgbm_params(config: ChurnConfig, *, seed: int, threads: int | None) -> dict[str, Any]:
    return {
        "objective": "binary",
        "metric": "binary_logloss",
        "learning_rate": config.learning_rate,
        "num_leaves": config.num_leaves,
        "min_child_samples": config.min_child_samples,
        "feature_fraction": config.feature_fraction,
        "bagging_fraction": config.bagging_fraction,
        "bagging_freq": config.bagging_freq,
        "lambda_l2": config.lambda_l2,
        "min_data_per_group": config.min_data_per_group,
        "cat_smooth": config.cat_smooth,
        "seed": seed,
        "deterministic": True,
        "force_col_wise": True,
        "num_threads": _threads(threads),
        "verbosity": -1,
    }


def fit_churn_model(
    X_train: np.ndarray,
    y_train: np.ndarray,
    X_valid: np.ndarray,
    y_valid: np.ndarray,
    *,
    feature_names: list[str],
    categorical: list[int],
    config: ChurnConfig,
    seed: int = 0,
    threads: int | None = None,
) -> ChurnModel:
    """Fit LightGBM with early stopping on the validation rows, then calibrate on them."""
    import lightgbm as lgb

    params = lightgbm_params(config, seed=seed, threads=threads)
    train = lgb.Dataset(X_train, label=y_train, feature_name=feature_names, categorical_feature=categorical,
                        free_raw_data=False)
    valid = lgb.Dataset(X_valid, label=y_valid, reference=train)
    booster = lgb.train(params, train, num_boost_round=config.max_rounds, valid_sets=[valid],
                        callbacks=[lgb.early_stopping(config.early_stopping_rounds, verbose=False)])
    best = booster.best_iteration or booster.current_iteration()
    # Re-load the model truncated at the best iteration: the booster that scores is the one SHAP explains.
    final = lgb.Booster(model_str=booster.model_to_string(num_iteration=best))
    calibration = fit_calibration(final.predict(X_valid, raw_score=True), y_valid)
    log.info("LightGBM: %d trees (early stopping), calibration slope %.3f intercept %.3f", best,
             calibration.slope, calibration.intercept)
    return ChurnModel(booster=final, calibration=calibration)


def fit_calibration(raw: np.ndarray, y: np.ndarray) -> Calibration:
    """Platt scaling: a one-feature logistic regression of the label on the raw score."""
    from sklearn.linear_model import LogisticRegression

    lr = LogisticRegression(C=1e4, max_iter=1000)
    lr.fit(np.asarray(raw).reshape(-1, 1), np.asarray(y).astype(int))
    slope = float(lr.coef_[0, 0])
    if slope <= 0:  # a useless model on tiny data: keep the booster's own probabilities
        return Calibration(slope=1.0, intercept=0.0)
    return Calibration(slope=slope, intercept=float(lr.intercept_[0]))


def _threads(threads: int | None) -> int:
    return threads or int(os.environ.get("INSIGHT_THREADS", 0)) or os.cpu_count() or 1
