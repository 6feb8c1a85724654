"""The survival parts of a run (`insight train --duration`): fit, evaluate on the run's held-out customers,
and derive what the run stores. Called by insight.pipeline only; no file I/O (insight.runs.writer writes).

- the model: insight.survival.hazard's discrete-time hazard model, fitted on the run's training customers
  (its fit and validation splits; the test customers stay unseen, as for the churn model);
- evaluation on the test customers against Cox PH and Kaplan-Meier fitted on the same training customers
  (insight.survival.evaluate.fold_metrics: Uno's and Harrell's concordance, the integrated Brier score, Brier
  score and calibration error per horizon) and the calibration tables per horizon;
- per customer (conditional on the time already stayed, the duration): insight.survival.predict's columns and
  the timing reasons in words (insight.survival.reasons);
- per segment: Kaplan-Meier curves with bands, the mean predicted curves, and the log-rank test against the
  rest (insight.survival.groups).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from insight.data.features import FeatureMap
from insight.runs import layout
from insight.survival.hazard import HazardConfig, HazardModel
from insight.survival.setup import SurvivalSetup, survival_inputs

log = logging.getLogger(__name__)

@dataclass(frozen=True)
class SurvivalParts:
    setup: SurvivalSetup
    model: HazardModel
    columns: pd.DataFrame
    """The customers.parquet columns, row for row with the customers."""
    shap: pd.DataFrame
    """survival_shap.parquet: the timing's SHAP values per survival feature and `base_value`."""
    curves: pd.DataFrame
    """survival_curves.parquet."""
    metrics: dict[str, Any]
    """metrics.survival."""

    def manifest(self) -> dict[str, Any]:
        """The manifest's `survival` section."""
        return {**self.setup.to_dict(), "model": self.model.report}


def fit_survival(setup: SurvivalSetup, X: np.ndarray, fmap: FeatureMap, duration: np.ndarray, event: np.ndarray,
                 *, train_rows: np.ndarray, test_rows: np.ndarray, seed: int,
                 threads: int | None = None, config: HazardConfig | None = None) -> tuple[HazardModel, dict[str, Any]]:
    """The hazard model fitted on the training customers, and metrics.survival's `test` and `calibration`
    measured on the test customers against Cox PH and Kaplan-Meier fitted on the same rows."""
    from insight.survival.hazard import fit_hazard_model

    frame = survival_inputs(X, fmap, setup.features)
    features = list(setup.features)
    train = frame.iloc[train_rows].reset_index(drop=True)
    d, e = duration.astype(float), np.asarray(event).astype(bool)
    model = fit_hazard_model(train, d[train_rows], e[train_rows], features=features, config=config, seed=seed,
                             threads=threads)
    return model, held_out_evaluation(model, frame, d, e, setup, train_rows=train_rows, test_rows=test_rows)


def held_out_evaluation(model: HazardModel, frame: pd.DataFrame, d: np.ndarray, e: np.ndarray,
                        setup: SurvivalSetup, *, train_rows: np.ndarray, test_rows: np.ndarray) -> dict[str, Any]:
    from insight.survival import metrics
    from insight.survival.baselines import fit_cox, fit_kaplan_meier
    from insight.survival.evaluate import fold_metrics

    out: dict[str, Any] = {"test_customers": int(len(test_rows)), "test_events": int(e[test_rows].sum())}
    if len(test_rows) < 20 or e[test_rows].sum() < 5:
        out["note"] = "too few held-out customers or churners to evaluate the survival model"
        return out
    started = time.perf_counter()
    train = frame.iloc[train_rows].reset_index(drop=True)
    test = frame.iloc[test_rows].reset_index(drop=True)
    fitted: dict[str, Any] = {"survival": model}
    try:
        fitted["cox"] = fit_cox(train, d[train_rows], e[train_rows], features=list(setup.features))
    except Exception as err:  # lifelines' convergence errors vary in type; the run goes on without Cox
        log.warning("Cox PH baseline failed to fit: %s", err)
        out["cox_error"] = str(err)
    fitted["kaplan_meier"] = fit_kaplan_meier(d[train_rows], e[train_rows])
    times = metrics.evaluation_times(d[train_rows], d[test_rows], e[test_rows])
    horizons = setup.horizons
    out["test"], out["calibration"] = {}, {}
    for name, fitted_model in fitted.items():
        out["test"][name] = fold_metrics(fitted_model, test, d[test_rows], e[test_rows], d_train=d[train_rows],
                                         e_train=e[train_rows], times=times, horizons=horizons)
        risk = 1.0 - fitted_model.survival_at(test, np.asarray(horizons, dtype=float))
        out["calibration"][name] = {
            layout.horizon_label(h): _jsonable_calibration(
                metrics.horizon_calibration(risk[:, j], d[test_rows], e[test_rows], h))
            for j, h in enumerate(horizons)}
    out["evaluation_times"] = [float(times[0]), float(times[-1])]
    out["seconds"] = round(time.perf_counter() - started, 2)
    return out


def _jsonable_calibration(cal: dict[str, Any]) -> dict[str, Any]:
    return {"horizon": cal["horizon"], "error": cal["error"], "table": cal["table"].to_dict(orient="records")}


def customer_columns(model: HazardModel, setup: SurvivalSetup, X: np.ndarray, fmap: FeatureMap,
                     duration: np.ndarray, value_per_period: np.ndarray | None, *,
                     threads: int | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """customers.parquet's survival columns (with the timing reasons) and survival_shap.parquet's frame."""
    from insight.survival.hazard_shap import window_shap
    from insight.survival.predict import survival_table
    from insight.survival.reasons import timing_reasons

    frame = survival_inputs(X, fmap, setup.features)
    columns = survival_table(model, frame, horizons=setup.horizons, elapsed=duration,
                             value_per_period=value_per_period)
    values, base = window_shap(model, frame, elapsed=duration, horizon=setup.main_horizon, threads=threads)
    features = list(setup.features)
    # the interval feature's share (when the customer's window falls: the hazard's shape over time) joins the
    # base value, so each customer's base is the typical log-odds over their window; reasons use the features
    base = base + values[:, len(features)]
    values = values[:, :len(features)]
    reasons = timing_reasons(X, fmap, features, values, unit=setup.unit)
    shap = pd.DataFrame(values.astype(np.float32), columns=features)
    shap[layout.BASE_VALUE] = base
    return pd.concat([columns, reasons], axis=1), shap


def segment_curves(model: HazardModel, setup: SurvivalSetup, X: np.ndarray, fmap: FeatureMap,
                   duration: np.ndarray, event: np.ndarray, segments: np.ndarray) -> tuple[pd.DataFrame, dict]:
    """survival_curves.parquet (Kaplan-Meier with bands and the mean predicted curve, per segment and for
    everyone) and metrics.survival.segments (the log-rank test of each segment against the rest)."""
    from insight.survival.groups import kaplan_meier_curves, log_rank_vs_rest, predicted_mean_curves

    frame = survival_inputs(X, fmap, setup.features)
    curves = pd.concat([kaplan_meier_curves(duration, event, segments),
                        predicted_mean_curves(model, frame, segments)], ignore_index=True)
    return curves, log_rank_vs_rest(duration, event, segments)
