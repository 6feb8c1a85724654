"""How well a survival model does on held-out customers, for any model with `survival_at(frame, times)` and
`risk_score(frame, horizon)` (insight.survival.hazard, insight.survival.baselines).

All figures are scikit-survival's (its IPCW weights come from the training customers' censoring):

- `concordance`: Uno's C with inverse-probability-of-censoring weights, truncated at `tau`
  (sksurv.metrics.concordance_index_ipcw), and Harrell's C (concordance_index_censored), of `risk_score`;
- `integrated_brier`: the integrated Brier score over a time grid (integrated_brier_score), IPCW;
- `brier_at`: the Brier score at each horizon (brier_score);
- `horizon_calibration`: predicted P(leave within H) against the Kaplan-Meier risk observed per decile of it.
"""

from __future__ import annotations

import logging
from typing import Any, Protocol

import numpy as np
import pandas as pd

from insight.survival.encoding import event_indicator

log = logging.getLogger(__name__)

GRID_QUANTILES = (0.05, 0.85)
GRID_POINTS = 40


class SurvivalPredictor(Protocol):
    def survival_at(self, frame: pd.DataFrame, times: np.ndarray) -> np.ndarray: ...

    def risk_score(self, frame: pd.DataFrame, horizon: float) -> np.ndarray: ...


def structured(duration: np.ndarray | pd.Series, event: np.ndarray | pd.Series) -> np.ndarray:
    """scikit-survival's structured array (event, time)."""
    from sksurv.util import Surv

    return Surv.from_arrays(event=event_indicator(event), time=np.asarray(duration, dtype=float))


def evaluation_times(train_duration: np.ndarray, test_duration: np.ndarray, test_event: np.ndarray, *,
                     quantiles: tuple[float, float] = GRID_QUANTILES, points: int = GRID_POINTS) -> np.ndarray:
    """The time grid of the integrated Brier score: distinct quantiles of the held-out event times between
    `quantiles` (5 % and 85 %), kept strictly inside the held-out and training follow-up, as IPCW needs."""
    d = np.asarray(test_duration, dtype=float)
    e = event_indicator(test_event)
    times = d[e & (d > 0)] if (e & (d > 0)).any() else d[d > 0]
    grid = np.unique(np.quantile(times, np.linspace(*quantiles, points)))
    upper = min(float(d.max()), float(np.asarray(train_duration, dtype=float).max()))
    grid = grid[(grid > float(d.min())) & (grid < upper)]
    if len(grid) == 0:
        raise ValueError("the held-out customers' follow-up leaves no time to evaluate at")
    return grid


def concordance(model: SurvivalPredictor, frame: pd.DataFrame, duration: np.ndarray, event: np.ndarray, *,
                train_duration: np.ndarray, train_event: np.ndarray, tau: float) -> dict[str, float]:
    """Uno's IPCW concordance up to `tau` and Harrell's, of the model's risk score."""
    from sksurv.metrics import concordance_index_censored, concordance_index_ipcw

    risk = np.asarray(model.risk_score(frame, tau), dtype=float)
    e = event_indicator(event)
    uno = concordance_index_ipcw(structured(train_duration, train_event), structured(duration, e), risk, tau=tau)
    harrell = concordance_index_censored(e, np.asarray(duration, dtype=float), risk)
    return {"uno": float(uno[0]), "harrell": float(harrell[0])}


def integrated_brier(model: SurvivalPredictor, frame: pd.DataFrame, duration: np.ndarray, event: np.ndarray, *,
                     train_duration: np.ndarray, train_event: np.ndarray, times: np.ndarray) -> float:
    from sksurv.metrics import integrated_brier_score

    s = model.survival_at(frame, times)
    return float(integrated_brier_score(structured(train_duration, train_event), structured(duration, event),
                                        s, times))


def brier_at(model: SurvivalPredictor, frame: pd.DataFrame, duration: np.ndarray, event: np.ndarray, *,
             train_duration: np.ndarray, train_event: np.ndarray, horizons: np.ndarray) -> dict[float, float]:
    """The IPCW Brier score at each horizon (horizons beyond the held-out follow-up are left out)."""
    from sksurv.metrics import brier_score

    d = np.asarray(duration, dtype=float)
    upper = min(float(d.max()), float(np.asarray(train_duration, dtype=float).max()))
    h = np.asarray([t for t in horizons if float(d.min()) <= t < upper], dtype=float)
    if len(h) == 0:
        return {}
    s = model.survival_at(frame, h)
    _, scores = brier_score(structured(train_duration, train_event), structured(d, event), s, h)
    return {float(t): float(v) for t, v in zip(h, scores, strict=True)}


def kaplan_meier_at(duration: np.ndarray, event: np.ndarray, t: float) -> float:
    """The Kaplan-Meier survival at t (its last value beyond the last time observed)."""
    from sksurv.nonparametric import kaplan_meier_estimator

    d = np.asarray(duration, dtype=float)
    times, surv = kaplan_meier_estimator(event_indicator(event), d)
    i = np.searchsorted(times, t, side="right") - 1
    return 1.0 if i < 0 else float(surv[i])


def horizon_calibration(predicted_risk: np.ndarray, duration: np.ndarray, event: np.ndarray, horizon: float, *,
                        groups: int = 10) -> dict[str, Any]:
    """Predicted P(leave within `horizon`) against the observed risk, 1 - Kaplan-Meier(horizon), in each
    decile of the prediction; `error` is the customer-weighted mean absolute gap (an ICI by deciles),
    `table` the deciles."""
    p = np.asarray(predicted_risk, dtype=float)
    d = np.asarray(duration, dtype=float)
    e = event_indicator(event)
    order = np.argsort(p, kind="stable")
    rows = []
    for part in np.array_split(order, groups):
        if len(part) == 0:
            continue
        observed = 1.0 - kaplan_meier_at(d[part], e[part], horizon)
        rows.append({"predicted": float(p[part].mean()), "observed": observed, "count": int(len(part)),
                     "followed_to_horizon": bool(d[part].max() >= horizon)})
    table = pd.DataFrame(rows)
    error = float(np.average((table["predicted"] - table["observed"]).abs(), weights=table["count"]))
    return {"horizon": float(horizon), "error": error, "table": table}
