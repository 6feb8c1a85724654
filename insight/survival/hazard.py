"""The survival model of record: a discrete-time hazard model on LightGBM.

One binary LightGBM classifier is trained on person-period rows (insight.survival.person_period): each row is
a customer at an interval they were at risk in, with the interval index as a feature, labelled 1 when they
left in it. Its probability is the hazard h_k(x) = P(leave in interval k | there at its start, x); the
survival curve is S(e_k | x) = prod_{j <= k} (1 - h_j(x)), exponential between edges
(insight.survival.curves).

What it predicts per customer, given `elapsed` (the time they have already stayed: their tenure for a current
customer; 0 for a new one), each conditional on having stayed that long:

- `survival_at(frame, times)`: S(t | elapsed), t counted from `elapsed`;
- `churn_within(frame, horizons)`: P(leave within H) = 1 - S(H | elapsed);
- `restricted_mean(frame, horizon)`: RMST(H) = integral_0^H S(u | elapsed) du, the expected time stayed
  within the horizon (at most H);
- `value_lost(frame, value_per_period, horizon)`: value per period x (H - RMST(H)). H is the RMST of a customer
  certain to stay, so this is the value of the periods expected to be lost within the horizon against staying,
  in the value's currency, for a value per unit of the duration (monthly charges for tenure in months).

Early stopping watches the log loss of a validation split by customer (every row of a customer on one side),
stratified by the event, for each tree size in `num_leaves_grid`; the size with the lowest validation log loss
is refitted on every row with the iteration count it found.
The hazard's log-odds are then Platt-scaled (a + b x raw, `HazardModel.calibration`) on the validation
customers' person-period rows, scored by the chosen tree size's early-stopped fit that never saw them: early
stopping picks the iteration count by log loss but the refit on every row can still be over- or under-
confident, and one monotone map keeps every curve a proper survival curve (the horizons' risks move
together). Calibration at each horizon is measured on held-out customers
(insight.survival.metrics.horizon_calibration).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from insight.data.names import model_feature_names
from insight.models.churn import thread_count
from insight.survival import curves
from insight.survival.encoding import SurvivalEncoder, event_indicator
from insight.survival.person_period import (INTERVAL_FEATURE, MAX_INTERVALS, IntervalGrid, all_intervals,
                                            interval_grid, person_period)

if TYPE_CHECKING:
    import lightgbm as lgb

log = logging.getLogger(__name__)

HORIZONS_BY_UNIT: dict[str, tuple[float, ...]] = {
    "days": (30.0, 90.0, 365.0), "weeks": (4.0, 13.0, 52.0), "months": (1.0, 3.0, 12.0),
    "years": (1 / 12, 0.25, 1.0),
}
"""30, 90 and 365 days in each unit a duration may be counted in."""


def horizons_for(unit: str) -> tuple[float, ...]:
    if unit not in HORIZONS_BY_UNIT:
        raise ValueError(f"unknown duration unit {unit!r}; use one of {sorted(HORIZONS_BY_UNIT)}")
    return HORIZONS_BY_UNIT[unit]


@dataclass(frozen=True)
class HazardConfig:
    """LightGBM settings in the style of insight.config.ChurnConfig, and the interval grid's."""

    learning_rate: float = 0.05
    num_leaves_grid: tuple[int, ...] = (4, 8, 16)
    """Tree sizes tried; the one with the lowest validation log loss wins (ties to the smaller)."""
    min_child_samples: int = 40
    feature_fraction: float = 0.8
    bagging_fraction: float = 0.8
    bagging_freq: int = 1
    lambda_l2: float = 5.0
    min_data_per_group: int = 50
    cat_smooth: float = 20.0
    max_rounds: int = 2000
    early_stopping_rounds: int = 50
    valid_share: float = 0.2
    grid_method: str = "quantile"
    max_intervals: int = MAX_INTERVALS
    interval_width: float | None = None
    calibrate: bool = True
    """Platt-scale the hazard's log-odds on the validation customers' person-period rows (a + b x raw)."""


def lightgbm_params(config: HazardConfig, *, num_leaves: int, seed: int, threads: int | None) -> dict[str, Any]:
    return {
        "objective": "binary", "metric": "binary_logloss", "learning_rate": config.learning_rate,
        "num_leaves": num_leaves, "min_child_samples": config.min_child_samples,
        "feature_fraction": config.feature_fraction, "bagging_fraction": config.bagging_fraction,
        "bagging_freq": config.bagging_freq, "lambda_l2": config.lambda_l2,
        "min_data_per_group": config.min_data_per_group, "cat_smooth": config.cat_smooth, "seed": seed,
        "deterministic": True, "force_col_wise": True, "num_threads": thread_count(threads), "verbosity": -1,
    }


@dataclass(frozen=True)
class HazardModel:
    booster: lgb.Booster
    grid: IntervalGrid
    encoder: SurvivalEncoder
    report: dict[str, Any] = dataclasses.field(default_factory=dict)
    calibration: tuple[float, float] = (0.0, 1.0)
    """(a, b): the hazard's log-odds are a + b x the booster's raw score (Platt scaling; (0, 1): none)."""

    @property
    def feature_names(self) -> list[str]:
        """The columns of `matrix` rows: the customer features, then the interval index."""
        return [*self.encoder.features, INTERVAL_FEATURE]

    def matrix(self, frame: pd.DataFrame) -> np.ndarray:
        """The customers' tree features (without the interval)."""
        return self.encoder.tree_matrix(frame)

    def raw_hazard(self, frame: pd.DataFrame) -> np.ndarray:
        """Log-odds of the hazard, customers (rows) x intervals (columns)."""
        X = all_intervals(self.matrix(frame), self.grid)
        raw = self.booster.predict(X, raw_score=True, num_threads=thread_count(None))
        a, b = self.calibration
        return a + b * np.asarray(raw, dtype=float).reshape(len(frame), self.grid.n_intervals)

    def hazards(self, frame: pd.DataFrame) -> np.ndarray:
        """h_k(x): the probability of leaving in each interval, having stayed to its start."""
        return 1.0 / (1.0 + np.exp(-self.raw_hazard(frame)))

    def rates(self, frame: pd.DataFrame) -> np.ndarray:
        return curves.hazard_rates(self.hazards(frame), self.grid)

    def survival_at(self, frame: pd.DataFrame, times: np.ndarray, *,
                    elapsed: np.ndarray | None = None) -> np.ndarray:
        """S(t | elapsed) per customer (rows) and time (columns)."""
        return curves.survival_at(self.rates(frame), self.grid, np.asarray(times, dtype=float), elapsed)

    def churn_within(self, frame: pd.DataFrame, horizons: tuple[float, ...] | list[float], *,
                     elapsed: np.ndarray | None = None) -> np.ndarray:
        """P(leave within each horizon | elapsed), customers x horizons."""
        return 1.0 - self.survival_at(frame, np.asarray(horizons, dtype=float), elapsed=elapsed)

    def restricted_mean(self, frame: pd.DataFrame, horizon: float, *,
                        elapsed: np.ndarray | None = None) -> np.ndarray:
        """RMST(horizon | elapsed): the expected time stayed within the horizon."""
        return curves.restricted_mean(self.rates(frame), self.grid, horizon, elapsed)

    def value_lost(self, frame: pd.DataFrame, value_per_period: np.ndarray, horizon: float, *,
                   elapsed: np.ndarray | None = None) -> np.ndarray:
        """value per period x (horizon - RMST(horizon | elapsed)): the value expected to be lost within the
        horizon against a customer certain to stay."""
        v = np.asarray(value_per_period, dtype=float)
        return v * (float(horizon) - self.restricted_mean(frame, horizon, elapsed=elapsed))

    def median_lifetime(self, frame: pd.DataFrame) -> np.ndarray:
        """The predicted median time to leaving, from the start (S(t) = 0.5; inf past the longest duration
        fitted on, curves.within_observed)."""
        return curves.within_observed(curves.median_time(self.rates(frame), self.grid), self.grid)

    def risk_score(self, frame: pd.DataFrame, horizon: float) -> np.ndarray:
        """For concordance: minus RMST(horizon) from the start (shorter expected stay = higher risk)."""
        return -self.restricted_mean(frame, horizon)

    def to_json(self) -> str:
        """The model as JSON text (LightGBM's text model inside; never pickle)."""
        return json.dumps({"booster": self.booster.model_to_string(), "grid": self.grid.to_dict(),
                           "encoder": dataclasses.asdict(self.encoder), "report": self.report,
                           "calibration": list(self.calibration)})

    @classmethod
    def from_json(cls, text: str) -> HazardModel:
        import lightgbm as lgb

        d = json.loads(text)
        enc = d["encoder"]
        encoder = SurvivalEncoder(features=list(enc["features"]), numeric_=list(enc["numeric_"]),
                                  categories_={k: list(v) for k, v in enc["categories_"].items()},
                                  medians_=dict(enc["medians_"]),
                                  scales_={k: (float(v[0]), float(v[1])) for k, v in enc["scales_"].items()})
        a, b = d.get("calibration", (0.0, 1.0))
        return cls(booster=lgb.Booster(model_str=d["booster"]), grid=IntervalGrid.from_dict(d["grid"]),
                   encoder=encoder, report=d.get("report", {}), calibration=(float(a), float(b)))


ROWS_PER_THREAD = 250_000
"""Person-period rows per LightGBM thread: below this a second thread costs more in synchronising than it
saves (measured on Telco's 125,594 rows on 2 cores: 100 trees in 1.4-2.5 s on one thread, 6.7-28 s on two
while the machine had other work)."""


def fit_threads(rows: int, threads: int | None) -> int:
    """Threads for fitting on `rows` person-period rows: one per ROWS_PER_THREAD, at most `thread_count`."""
    return max(1, min(thread_count(threads), rows // ROWS_PER_THREAD))


def customer_split(event: np.ndarray, share: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Customer positions for fitting and for validation, stratified by the event."""
    rng = np.random.default_rng(seed)
    hold = np.zeros(len(event), dtype=bool)
    for flag in (False, True):
        idx = np.flatnonzero(event == flag)
        take = int(round(share * len(idx)))
        hold[rng.choice(idx, size=take, replace=False)] = True
    return np.flatnonzero(~hold), np.flatnonzero(hold)


def fit_hazard_model(frame: pd.DataFrame, duration: np.ndarray | pd.Series, event: np.ndarray | pd.Series, *,
                     features: list[str], config: HazardConfig | None = None, seed: int = 0,
                     threads: int | None = None) -> HazardModel:
    """Fit the discrete-time hazard model on `frame[features]` (see the module docstring)."""
    import lightgbm as lgb

    config = config or HazardConfig()
    started = time.perf_counter()
    d = np.asarray(duration, dtype=float)
    e = event_indicator(event)
    if len(d) != len(frame) or len(e) != len(frame):
        raise ValueError("duration and event need one value per row of the frame")
    if INTERVAL_FEATURE in features:
        raise ValueError(f"{INTERVAL_FEATURE!r} is the model's own interval feature; rename that column")
    encoder = SurvivalEncoder(features=list(features)).fit(frame)
    X = encoder.tree_matrix(frame)
    grid = interval_grid(d, e, method=config.grid_method, max_intervals=config.max_intervals,
                         width=config.interval_width)
    names = model_feature_names([*features, INTERVAL_FEATURE])
    categorical = encoder.categorical_indices
    fit_rows, hold_rows = customer_split(e, config.valid_share, seed)
    train_pp = person_period(X[fit_rows], d[fit_rows], e[fit_rows], grid)
    valid_pp = person_period(X[hold_rows], d[hold_rows], e[hold_rows], grid)
    threads = fit_threads(len(train_pp.y) + len(valid_pp.y), threads)
    train = lgb.Dataset(train_pp.X, label=train_pp.y, feature_name=names, categorical_feature=categorical,
                        free_raw_data=False)
    valid = lgb.Dataset(valid_pp.X, label=valid_pp.y, reference=train, free_raw_data=False)
    candidates: list[dict[str, Any]] = []
    probes: dict[int, lgb.Booster] = {}
    for leaves in sorted(set(config.num_leaves_grid)):
        probe = lgb.train(lightgbm_params(config, num_leaves=leaves, seed=seed, threads=threads), train,
                          num_boost_round=config.max_rounds, valid_sets=[valid],
                          callbacks=[lgb.early_stopping(config.early_stopping_rounds, verbose=False)])
        probes[leaves] = probe
        candidates.append({"num_leaves": leaves, "iterations": int(probe.best_iteration or probe.current_iteration()),
                           "valid_log_loss": float(probe.best_score["valid_0"]["binary_logloss"])})
    best = min(candidates, key=lambda c: (round(c["valid_log_loss"], 6), c["num_leaves"]))
    calibration = (platt(probes[best["num_leaves"]].predict(valid_pp.X, raw_score=True,
                                                            num_iteration=best["iterations"]), valid_pp.y)
                   if config.calibrate else (0.0, 1.0))
    iterations = best["iterations"]
    params = lightgbm_params(config, num_leaves=best["num_leaves"], seed=seed, threads=threads)
    everyone = person_period(X, d, e, grid)
    data = lgb.Dataset(everyone.X, label=everyone.y, feature_name=names, categorical_feature=categorical)
    booster = lgb.train(params, data, num_boost_round=iterations)
    final = lgb.Booster(model_str=booster.model_to_string())  # the booster saved is the one that scores
    report = {"threads": threads, "intervals": grid.n_intervals, "grid_method": grid.method, "num_leaves": best["num_leaves"],
              "iterations": iterations, "candidates": candidates, "person_period_rows": int(len(everyone.y)),
              "customers": int(len(d)), "events": int(e.sum()), "valid_log_loss": best["valid_log_loss"],
              "seconds": round(time.perf_counter() - started, 2)}
    log.info("hazard model: %d intervals, %d person-period rows, %d leaves, %d trees", grid.n_intervals,
             len(everyone.y), best["num_leaves"], iterations)
    report["calibration"] = list(calibration)
    return HazardModel(booster=final, grid=grid, encoder=encoder, report=report, calibration=calibration)


def platt(raw: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """(a, b) of the logistic regression of the labels on the raw score (maximum likelihood, unpenalised):
    the validation rows' own scale for the hazard's log-odds. (0, 1) when it cannot be fitted (one class)."""
    from sklearn.linear_model import LogisticRegression

    y = np.asarray(y)
    if len(np.unique(y)) < 2:
        return 0.0, 1.0
    fit = LogisticRegression(C=1e6, max_iter=1000).fit(np.asarray(raw, dtype=float).reshape(-1, 1), y)
    return float(fit.intercept_[0]), float(fit.coef_[0, 0])
