"""Per-customer survival figures as one table, for customers.parquet (column names: insight.runs.layout).

For each horizon H (in the duration's unit), conditional on the time each customer has already stayed
(`elapsed`; 0 for new customers):

- `churn_within_<H>`: P(leave within H);
- `expected_lifetime_<H>`: RMST(H), the expected time stayed within the next H (at most H);
- `value_lost_<H>` (with a value per period): value per period x (H - RMST(H)), the value expected to be lost
  within the next H against a customer certain to stay;

and `median_lifetime`: the median time to leaving counted from the start (S(t) = 0.5; inf when the curve does
not fall that far within the longest duration the model was fitted on), with `expected_leave_in`: the
conditional median from now, the time u with S(elapsed + u) = S(elapsed) / 2 (inf likewise when elapsed + u
lies past that longest duration).
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from insight.runs import layout
from insight.survival import curves
from insight.survival.hazard import HazardModel
from insight.survival.person_period import IntervalGrid

log = logging.getLogger(__name__)


def conditional_median(rates: np.ndarray, grid: IntervalGrid, elapsed: np.ndarray) -> np.ndarray:
    """The time u from `elapsed` with S(elapsed + u) = S(elapsed) / 2 (inf when never reached)."""
    a = np.broadcast_to(np.asarray(elapsed, dtype=float), (len(rates),))
    start = np.einsum("ik,ik->i", rates, np.clip(np.minimum(a[:, None] - grid.starts[None, :],
                                                            np.r_[grid.widths[:-1], np.inf][None, :]), 0, None))
    target = start + np.log(2.0)
    ends = np.r_[grid.edges[:-1], np.inf]
    before = np.column_stack([np.zeros(len(rates)), np.cumsum(rates[:, :-1] * grid.widths[None, :-1], axis=1)])
    out = np.full(len(rates), np.inf)
    for k in range(grid.n_intervals):
        lam = rates[:, k]
        with np.errstate(divide="ignore", invalid="ignore"):
            t = grid.starts[k] + (target - before[:, k]) / lam
        hit = np.isinf(out) & (before[:, k] <= target) & (lam > 0) & (t <= ends[k] + 1e-12) & (t >= a - 1e-12)
        out[hit] = t[hit] - a[hit]
    return out


def survival_table(model: HazardModel, frame: pd.DataFrame, *, horizons: tuple[float, ...],
                   elapsed: np.ndarray | None = None, value_per_period: np.ndarray | None = None) -> pd.DataFrame:
    """The columns of the module docstring, one row per customer of `frame` (same order, fresh index)."""
    rates = model.rates(frame)
    a = np.zeros(len(frame)) if elapsed is None else np.asarray(elapsed, dtype=float)
    if np.isnan(a).any() or (a < 0).any():
        raise ValueError("elapsed (the time already stayed) must be present and non-negative")
    out: dict[str, np.ndarray] = {}
    surv = curves.survival_at(rates, model.grid, np.asarray(horizons, dtype=float), a)
    for j, h in enumerate(horizons):
        out[layout.churn_within(h)] = 1.0 - surv[:, j]
        rmst = curves.restricted_mean(rates, model.grid, h, a)
        out[layout.expected_lifetime(h)] = rmst
        if value_per_period is not None:
            out[layout.value_lost(h)] = np.asarray(value_per_period, dtype=float) * (float(h) - rmst)
    out[layout.MEDIAN_LIFETIME] = curves.within_observed(curves.median_time(rates, model.grid), model.grid)
    out[layout.EXPECTED_LEAVE_IN] = curves.within_observed(conditional_median(rates, model.grid, a), model.grid, a)
    return pd.DataFrame(out)
