"""The LightGBM churn model of record: fit with early stopping, calibrate, predict.

Calibration is Platt scaling of the raw score (a strictly increasing map), so calibrated probabilities rank
customers exactly as the raw score does and the SHAP values of the raw score explain the probabilities.
"""

from __future__ import annotations

import logging
import math
import os
import time
from dataclasses import dataclass, field
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
    search: dict[str, Any] = field(default_factory=dict)
    """How the tree size was chosen (candidates with their out-of-fold log loss)."""

    @property
    def feature_names(self) -> list[str]:
        return list(self.booster.feature_name())

    def raw_score(self, X: np.ndarray, *, threads: int | None = None) -> np.ndarray:
        """The booster's log-odds score (what SHAP values add up to)."""
        return self.booster.predict(X, raw_score=True, num_threads=thread_count(threads))

    def probability(self, X: np.ndarray) -> np.ndarray:
        """Calibrated churn probability."""
        return self.calibration(self.raw_score(X))

    def to_text(self) -> str:
        return self.booster.model_to_string()

    @classmethod
    def from_text(cls, model_text: str, calibration: Calibration) -> ChurnModel:
        import lightgbm as lgb

        return cls(booster=lgb.Booster(model_str=model_text), calibration=calibration)


def learning_rate_for(config: ChurnConfig, rows: int) -> float:
    """`config.learning_rate` up to `config.large_data_rows` training rows; beyond, it grows with the square
    root of the row count, up to `config.max_learning_rate`. With that much data each tree is well estimated,
    so larger steps cost little accuracy and save most of the boosting rounds (and of SHAP's time, which is
    linear in the number of trees)."""
    if rows <= config.large_data_rows:
        return config.learning_rate
    return float(min(config.max_learning_rate, config.learning_rate * math.sqrt(rows / config.large_data_rows)))


def lightgbm_params(config: ChurnConfig, *, num_leaves: int, seed: int, threads: int | None,
                    learning_rate: float | None = None) -> dict[str, Any]:
    return {
        "objective": "binary",
        "metric": "binary_logloss",
        "learning_rate": learning_rate or config.learning_rate,
        "num_leaves": num_leaves,
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
        "num_threads": thread_count(threads),
        "verbosity": -1,
    }


@dataclass(frozen=True)
class SearchResult:
    num_leaves: int
    iterations: int
    oof_raw: np.ndarray
    """Out-of-fold raw scores of the chosen setting, for calibration."""
    oof_rows: np.ndarray
    report: dict[str, Any]


def fit_churn_model(
    X: np.ndarray,
    y: np.ndarray,
    *,
    feature_names: list[str],
    categorical: list[int],
    config: ChurnConfig,
    seed: int = 0,
    threads: int | None = None,
) -> ChurnModel:
    """Search the tree size by inner cross-validation, refit on every row, calibrate out of fold.

    Rows whose label is NaN are ignored.
    """
    import lightgbm as lgb

    known = ~np.isnan(y)
    X, y = X[known], y[known]
    learning_rate = learning_rate_for(config, len(y))
    search = search_tree_size(X, y, feature_names=feature_names, categorical=categorical, config=config,
                              seed=seed, threads=threads, learning_rate=learning_rate)
    params = lightgbm_params(config, num_leaves=search.num_leaves, seed=seed, threads=threads,
                             learning_rate=learning_rate)
    data = lgb.Dataset(X, label=y, feature_name=feature_names, categorical_feature=categorical)
    booster = lgb.train(params, data, num_boost_round=search.iterations)
    # Re-load from text: the booster that scores is exactly the one saved and explained by SHAP.
    final = lgb.Booster(model_str=booster.model_to_string())
    calibration = fit_calibration(search.oof_raw, y[search.oof_rows])
    log.info("LightGBM: %d leaves, %d trees; calibration slope %.3f intercept %.3f", search.num_leaves,
             search.iterations, calibration.slope, calibration.intercept)
    return ChurnModel(booster=final, calibration=calibration, search=search.report)


def search_tree_size(X: np.ndarray, y: np.ndarray, *, feature_names: list[str], categorical: list[int],
                     config: ChurnConfig, seed: int, threads: int | None,
                     learning_rate: float | None = None) -> SearchResult:
    """Inner stratified k-fold CV of each `num_leaves` candidate (simplest first) with early stopping;
    the best out-of-fold log loss wins. The search stops at the first candidate that does not improve, or
    when the time budget runs out."""
    import lightgbm as lgb
    from sklearn.metrics import log_loss
    from sklearn.model_selection import StratifiedKFold

    rows = np.arange(len(y))
    if len(rows) > config.max_search_rows:
        rows = np.sort(np.random.default_rng(seed).choice(rows, size=config.max_search_rows, replace=False))
    Xs, ys = X[rows], y[rows]
    folds = list(StratifiedKFold(config.inner_folds, shuffle=True, random_state=seed).split(Xs, ys))
    started = time.perf_counter()
    tried: list[dict[str, Any]] = []
    best: tuple[float, int, int, np.ndarray] | None = None
    for leaves in config.num_leaves_grid:
        if best is not None and time.perf_counter() - started > config.search_seconds:
            log.info("tree-size search stopped by its %.0f s budget", config.search_seconds)
            break
        params = lightgbm_params(config, num_leaves=leaves, seed=seed, threads=threads, learning_rate=learning_rate)
        oof = np.zeros(len(ys))
        iterations = []
        for fit, hold in folds:
            train = lgb.Dataset(Xs[fit], label=ys[fit], feature_name=feature_names, categorical_feature=categorical)
            valid = lgb.Dataset(Xs[hold], label=ys[hold], reference=train)
            booster = lgb.train(params, train, num_boost_round=config.max_rounds, valid_sets=[valid],
                                callbacks=[lgb.early_stopping(config.early_stopping_rounds, verbose=False)])
            best_iteration = booster.best_iteration or booster.current_iteration()
            oof[hold] = booster.predict(Xs[hold], raw_score=True, num_iteration=best_iteration)
            iterations.append(best_iteration)
        loss = float(log_loss(ys, 1 / (1 + np.exp(-oof)), labels=[0, 1]))
        n_iter = max(1, int(round(float(np.mean(iterations)))))
        tried.append({"num_leaves": leaves, "oof_log_loss": round(loss, 5), "iterations": n_iter})
        if best is not None and loss >= best[0] - 1e-6:
            break  # larger trees stopped helping: the loss is U-shaped in tree size
        best = (loss, leaves, n_iter, oof)
    assert best is not None
    _, leaves, n_iter, oof = best
    report = {"chosen_num_leaves": leaves, "iterations": n_iter, "candidates": tried,
              "learning_rate": learning_rate or config.learning_rate,
              "inner_folds": config.inner_folds, "search_rows": int(len(rows)),
              "seconds": round(time.perf_counter() - started, 2)}
    return SearchResult(num_leaves=leaves, iterations=n_iter, oof_raw=oof, oof_rows=rows, report=report)


def fit_calibration(raw: np.ndarray, y: np.ndarray) -> Calibration:
    """Platt scaling: a one-feature logistic regression of the label on the raw score."""
    from sklearn.linear_model import LogisticRegression

    lr = LogisticRegression(C=1e4, max_iter=1000)
    lr.fit(np.asarray(raw).reshape(-1, 1), np.asarray(y).astype(int))
    slope = float(lr.coef_[0, 0])
    if slope <= 0:  # a useless model on tiny data: keep the booster's own probabilities
        return Calibration(slope=1.0, intercept=0.0)
    return Calibration(slope=slope, intercept=float(lr.intercept_[0]))


def thread_count(threads: int | None) -> int:
    """`threads`, else $INSIGHT_THREADS, else every core."""
    return threads or int(os.environ.get("INSIGHT_THREADS", 0)) or os.cpu_count() or 1
