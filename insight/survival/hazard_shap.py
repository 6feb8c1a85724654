"""Exact SHAP values of the hazard model, for reasons in words about the timing.

Two explained quantities, both exact and additive (base value + sum of SHAP values = the quantity, per
customer, to floating-point rounding):

- `interval_shap(model, frame, interval=k)`: the SHAP values of the hazard's log-odds at interval k,
  logit h_k(x) (the customer's features with the interval feature set to k);
- `horizon_shap(model, frame, horizon=H)`: the SHAP values of the mean hazard log-odds over the intervals that
  start before H, (1/m) sum_{k < m} logit h_k(x). SHAP values are linear in the model explained, so the mean of
  the per-interval SHAP values is exactly the SHAP value of this mean: it stays additive. It is the customer's
  typical per-interval log-odds of leaving within the horizon, and it rises with P(leave within H) wherever the
  hazards move together.

The last column is the interval feature's share (a constant interval in the first case; the background's
spread of intervals set against the fixed ones), kept so that the sums add up; reasons use the others.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from insight.models.explain import FAST_TREESHAP_ROWS, pred_contrib_values
from insight.survival.hazard import HazardModel

log = logging.getLogger(__name__)


def _shap(model: HazardModel, X: np.ndarray, threads: int | None) -> tuple[np.ndarray, np.ndarray]:
    """The booster's SHAP values mapped through the model's calibration a + b x raw (SHAP is linear in the
    model explained: the values scale by b, the base value becomes a + b x base)."""
    values, base = _booster_shap(model, X, threads)
    a, b = model.calibration
    return values * b, a + b * base


def _booster_shap(model: HazardModel, X: np.ndarray, threads: int | None) -> tuple[np.ndarray, np.ndarray]:
    if len(X) >= FAST_TREESHAP_ROWS:
        from insight.models import treeshap

        try:
            return treeshap.shap_values(treeshap.compile_model(model.booster), X, threads=threads)
        except ValueError as e:  # a model the compiled kernel does not cover
            log.info("hazard SHAP by pred_contrib: %s", e)
    return pred_contrib_values(model.booster, X, threads=threads)


def interval_shap(model: HazardModel, frame: pd.DataFrame, *, interval: int,
                  threads: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """SHAP values (customers x (features + interval)) and base values of logit h_interval(x)."""
    if not 0 <= interval < model.grid.n_intervals:
        raise ValueError(f"interval must be in 0..{model.grid.n_intervals - 1}")
    X = np.column_stack([model.matrix(frame), np.full(len(frame), float(interval))])
    return _shap(model, X, threads)


def horizon_intervals(model: HazardModel, horizon: float) -> int:
    """How many intervals start before `horizon` (at least one)."""
    return max(1, int(np.searchsorted(model.grid.starts, float(horizon), side="left")))


def horizon_shap(model: HazardModel, frame: pd.DataFrame, *, horizon: float,
                 threads: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """SHAP values and base values of the mean hazard log-odds over the intervals starting before `horizon`."""
    m = horizon_intervals(model, horizon)
    Xc = model.matrix(frame)
    n = len(Xc)
    X = np.column_stack([np.repeat(Xc, m, axis=0), np.tile(np.arange(m, dtype=float), n)])
    values, base = _shap(model, X, threads)
    return values.reshape(n, m, -1).mean(axis=1), base.reshape(n, m).mean(axis=1)


def horizon_log_odds(model: HazardModel, frame: pd.DataFrame, *, horizon: float) -> np.ndarray:
    """The quantity `horizon_shap` explains: mean logit h_k(x) over the intervals starting before `horizon`."""
    return model.raw_hazard(frame)[:, :horizon_intervals(model, horizon)].mean(axis=1)


WINDOW_CHUNK_ROWS = 200_000
"""Customer-interval rows explained at a time by `window_shap` (bounds its memory)."""


def window_weights(model: HazardModel, elapsed: np.ndarray, horizon: float) -> np.ndarray:
    """customers x intervals: the share of each customer's window [elapsed, elapsed + horizon) that falls in
    each interval (rows sum to 1; the last interval is open-ended)."""
    a = np.asarray(elapsed, dtype=float)[:, None]
    starts = model.grid.starts[None, :]
    ends = np.r_[model.grid.edges[:-1], np.inf][None, :]
    overlap = np.clip(np.minimum(a + float(horizon), ends) - np.maximum(a, starts), 0.0, None)
    return overlap / float(horizon)


def window_shap(model: HazardModel, frame: pd.DataFrame, *, elapsed: np.ndarray, horizon: float,
                threads: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """SHAP values (customers x (features + interval)) and base values of the time-weighted mean hazard
    log-odds over each customer's next `horizon` from `elapsed`: sum_k w_k logit h_k(x), w from
    `window_weights`. Exact and additive like `horizon_shap` (a weighted sum of exact SHAP values)."""
    if horizon <= 0:
        raise ValueError("the horizon must be positive")
    Xc = model.matrix(frame)
    w = window_weights(model, elapsed, horizon)
    n, f = Xc.shape
    values = np.zeros((n, f + 1))
    base = np.zeros(n)
    rows, ks = np.nonzero(w > 0)
    for lo in range(0, len(rows), WINDOW_CHUNK_ROWS):
        r, k = rows[lo:lo + WINDOW_CHUNK_ROWS], ks[lo:lo + WINDOW_CHUNK_ROWS]
        part, part_base = _shap(model, np.column_stack([Xc[r], k.astype(float)]), threads)
        weight = w[r, k]
        np.add.at(values, r, part * weight[:, None])
        np.add.at(base, r, part_base * weight)
    return values, base


def window_log_odds(model: HazardModel, frame: pd.DataFrame, *, elapsed: np.ndarray, horizon: float) -> np.ndarray:
    """The quantity `window_shap` explains."""
    return (model.raw_hazard(frame) * window_weights(model, elapsed, horizon)).sum(axis=1)
