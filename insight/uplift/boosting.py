"""The LightGBM fits every uplift learner is built from: a churn classifier and an effect regressor.

Each fit holds out `valid_share` of its rows (stratified by the label for a classifier) to find the number of
boosting rounds by early stopping, then refits on every row with that count; a resampled refit (the bagged
intervals) reuses the count, so it costs one fit. One LightGBM thread by default: on a few thousand rows a
second thread costs more in synchronising than it saves (insight.survival.hazard.fit_threads), and the
machine is shared.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from insight.data.names import model_feature_names
from insight.models.churn import thread_count

if TYPE_CHECKING:
    import lightgbm as lgb

log = logging.getLogger(__name__)

ROWS_PER_THREAD = 250_000
"""Rows per LightGBM thread, as insight.survival.hazard measured it."""


@dataclass(frozen=True)
class UpliftConfig:
    """LightGBM settings of the outcome classifiers and of the effect regressors (the final stage)."""

    learning_rate: float = 0.05
    outcome_leaves: int = 8
    effect_leaves: int = 4
    min_child_samples: int = 40
    effect_min_child_samples: int = 100
    """Pseudo-outcomes are noisy (a DR pseudo-outcome has about four times the outcome's variance at a 50/50
    split): larger leaves average more of them."""
    feature_fraction: float = 0.8
    bagging_fraction: float = 0.8
    bagging_freq: int = 1
    lambda_l2: float = 5.0
    min_data_per_group: int = 50
    cat_smooth: float = 20.0
    max_rounds: int = 1000
    early_stopping_rounds: int = 50
    valid_share: float = 0.2
    folds: int = 3
    """Cross-fitting folds of the DR-learner's outcome models."""
    bootstrap: int = 20
    """Resampled refits of the learner behind each customer's interval (insight.uplift.learners)."""
    interval_level: float = 0.9


@dataclass(frozen=True)
class Booster:
    """A fitted booster and how it was fitted (the rounds reused by resampled refits)."""

    booster: lgb.Booster
    rounds: int


def fit_threads(rows: int, threads: int | None) -> int:
    return max(1, min(thread_count(threads), rows // ROWS_PER_THREAD))


def params(config: UpliftConfig, *, objective: str, seed: int, threads: int) -> dict[str, Any]:
    effect = objective == "regression"
    return {
        "objective": objective, "metric": "l2" if effect else "binary_logloss",
        "learning_rate": config.learning_rate,
        "num_leaves": config.effect_leaves if effect else config.outcome_leaves,
        "min_child_samples": config.effect_min_child_samples if effect else config.min_child_samples,
        "feature_fraction": config.feature_fraction, "bagging_fraction": config.bagging_fraction,
        "bagging_freq": config.bagging_freq, "lambda_l2": config.lambda_l2,
        "min_data_per_group": config.min_data_per_group, "cat_smooth": config.cat_smooth, "seed": seed,
        "deterministic": True, "force_col_wise": True, "num_threads": threads, "verbosity": -1,
    }


def _holdout(y: np.ndarray, share: float, seed: int, stratify: bool) -> np.ndarray:
    rng = np.random.default_rng(seed)
    hold = np.zeros(len(y), dtype=bool)
    groups = [np.flatnonzero(y == v) for v in (0, 1)] if stratify else [np.arange(len(y))]
    for idx in groups:
        take = int(round(share * len(idx)))
        if take:
            hold[rng.choice(idx, size=take, replace=False)] = True
    return hold


def fit_booster(X: np.ndarray, y: np.ndarray, *, objective: str, feature_names: list[str], categorical: list[int],
                config: UpliftConfig, seed: int = 0, threads: int | None = None,
                rounds: int | None = None) -> Booster:
    """A classifier (`objective="binary"`, y 0/1) or regressor (`"regression"`, L2) on (X, y).

    With `rounds` it is fitted on every row with that many rounds; otherwise early stopping on a held-out
    share finds them first."""
    import lightgbm as lgb

    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    names = model_feature_names(feature_names)
    threads = fit_threads(len(y), threads)
    p = params(config, objective=objective, seed=seed, threads=threads)
    if rounds is None:
        hold = _holdout(y, config.valid_share, seed, stratify=objective == "binary")
        train = lgb.Dataset(X[~hold], label=y[~hold], feature_name=names, categorical_feature=categorical,
                            free_raw_data=False)
        valid = lgb.Dataset(X[hold], label=y[hold], reference=train, free_raw_data=False)
        probe = lgb.train(p, train, num_boost_round=config.max_rounds, valid_sets=[valid],
                          callbacks=[lgb.early_stopping(config.early_stopping_rounds, verbose=False)])
        rounds = max(1, int(probe.best_iteration or probe.current_iteration()))
    data = lgb.Dataset(X, label=y, feature_name=names, categorical_feature=categorical)
    booster = lgb.train(p, data, num_boost_round=rounds)
    # the booster kept is the one its text gives back: what is saved is what predicts and is explained
    return Booster(booster=lgb.Booster(model_str=booster.model_to_string()), rounds=rounds)


def raw(booster: lgb.Booster, X: np.ndarray) -> np.ndarray:
    return np.asarray(booster.predict(np.asarray(X, dtype=np.float64), raw_score=True, num_threads=1), dtype=float)


def probability(booster: lgb.Booster, X: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-raw(booster, X)))
