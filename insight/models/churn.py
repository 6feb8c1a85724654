"""The LightGBM churn model of record: fit with early stopping, calibrate, predict.

Calibration is Platt scaling of the raw score (a strictly increasing map), so calibrated probabilities rank
customers exactly as the raw score does and the SHAP values of the raw score explain the probabilities.
"""

from __future__ import annotations

import logging
import math
import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from insight.config import ChurnConfig
from insight.data.names import model_feature_names

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
        """The booster's own names (`insight.data.names.model_feature_names` of the columns'); people read
        the columns' names from the FeatureMap."""
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
    # One thread: a single LightGBM fit synchronises its threads at every split, and on a shared machine a
    # descheduled thread stalls all of them (measured: 26 s instead of 1 s for one fit while other work ran).
    # The recipe runs this fit beside the multi-task network's instead.
    params = lightgbm_params(config, num_leaves=search.num_leaves, seed=seed, threads=1,
                             learning_rate=learning_rate)
    data = lgb.Dataset(X, label=y, feature_name=model_feature_names(feature_names),
                       categorical_feature=categorical)
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
    """Inner stratified k-fold CV of `num_leaves` candidates with early stopping; the best out-of-fold log loss
    wins.

    The loss is U-shaped in tree size, so the search starts in the middle of the grid and walks towards the
    better neighbour until a step stops improving: it finds the grid's best size with fewer fits than trying
    every size, and it skips the smallest trees (the most boosting rounds, the dearest fits) whenever a larger
    size is already better. A larger size must beat a smaller one by more than 1e-6; on a tie the simpler
    wins. The folds of a candidate are fitted concurrently, one LightGBM thread each (on tables this size
    LightGBM gains little from a second thread within one fit), so the result depends on `threads` only
    through how many folds run at once, never on timing. A candidate is not started once the search has
    run for `config.search_seconds`."""
    from sklearn.model_selection import StratifiedKFold

    rows = np.arange(len(y))
    if len(rows) > config.max_search_rows:
        rows = np.sort(np.random.default_rng(seed).choice(rows, size=config.max_search_rows, replace=False))
    Xs, ys = X[rows], y[rows]
    folds = list(StratifiedKFold(config.inner_folds, shuffle=True, random_state=seed).split(Xs, ys))
    started = time.perf_counter()
    grid = sorted(set(config.num_leaves_grid))
    evaluated: dict[int, tuple[float, int, np.ndarray]] = {}

    def evaluate(leaves: int) -> tuple[float, int, np.ndarray]:
        if leaves not in evaluated:
            evaluated[leaves] = _cross_validate(Xs, ys, folds, feature_names=feature_names, categorical=categorical,
                                                params=lightgbm_params(config, num_leaves=leaves, seed=seed, threads=1,
                                                                       learning_rate=learning_rate),
                                                config=config, workers=min(len(folds), thread_count(threads)))
        return evaluated[leaves]

    def better(a: int, b: int) -> bool:
        """Is size a better than size b (ties go to the smaller)?"""
        (la, _, _), (lb, _, _) = evaluated[a], evaluated[b]
        return la < lb - 1e-6 if a > b else la <= lb + 1e-6

    def out_of_time() -> bool:
        if time.perf_counter() - started > config.search_seconds:
            log.info("tree-size search stopped by its %.0f s budget", config.search_seconds)
            return True
        return False

    at = (len(grid) - 1) // 2
    evaluate(grid[at])
    for step in (1, -1):  # upwards while larger trees help; else downwards while smaller ones do
        moved = False
        while 0 <= at + step < len(grid) and not out_of_time():
            evaluate(grid[at + step])
            if not better(grid[at + step], grid[at]):
                break
            at, moved = at + step, True
        if moved:
            break
    leaves = grid[at]
    loss, n_iter, oof = evaluated[leaves]
    tried = [{"num_leaves": n, "oof_log_loss": round(evaluated[n][0], 5), "iterations": evaluated[n][1]}
             for n in evaluated]
    report = {"chosen_num_leaves": leaves, "iterations": n_iter, "candidates": tried,
              "learning_rate": learning_rate or config.learning_rate,
              "inner_folds": config.inner_folds, "search_rows": int(len(rows)),
              "seconds": round(time.perf_counter() - started, 2)}
    return SearchResult(num_leaves=leaves, iterations=n_iter, oof_raw=oof, oof_rows=rows, report=report)


def _cross_validate(X: np.ndarray, y: np.ndarray, folds: list[tuple[np.ndarray, np.ndarray]], *,
                    feature_names: list[str], categorical: list[int], params: dict[str, Any], config: ChurnConfig,
                    workers: int) -> tuple[float, int, np.ndarray]:
    """Out-of-fold log loss, mean early-stopping iteration count and out-of-fold raw scores of one setting;
    `workers` folds at a time (LightGBM releases the GIL while it trains)."""
    import lightgbm as lgb
    from sklearn.metrics import log_loss

    def fold(fit: np.ndarray, hold: np.ndarray) -> tuple[np.ndarray, int]:
        train = lgb.Dataset(X[fit], label=y[fit], feature_name=model_feature_names(feature_names),
                            categorical_feature=categorical)
        valid = lgb.Dataset(X[hold], label=y[hold], reference=train)
        booster = lgb.train(params, train, num_boost_round=config.max_rounds, valid_sets=[valid],
                            callbacks=[lgb.early_stopping(config.early_stopping_rounds, verbose=False)])
        best = booster.best_iteration or booster.current_iteration()
        return booster.predict(X[hold], raw_score=True, num_iteration=best, num_threads=1), best

    if workers > 1:
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="insight-fold") as pool:
            results = list(pool.map(lambda f: fold(*f), folds))
    else:
        results = [fold(fit, hold) for fit, hold in folds]
    oof = np.zeros(len(y))
    for (_, hold), (raw, _) in zip(folds, results, strict=True):
        oof[hold] = raw
    loss = float(log_loss(y, 1 / (1 + np.exp(-oof)), labels=[0, 1]))
    iterations = max(1, int(round(float(np.mean([best for _, best in results])))))
    return loss, iterations, oof


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
