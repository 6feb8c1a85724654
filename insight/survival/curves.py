"""Survival curves from per-interval hazards: the piecewise-constant-hazard arithmetic.

Within interval k the hazard rate is constant, lambda_k = -log(1 - h_k) / width_k, so that the survival
probability at each edge is exactly prod_{j <= k} (1 - h_j) and between edges it falls exponentially. The
last interval's rate holds on beyond the last edge. With Lambda(t) the cumulative hazard:

- S(t) = exp(-Lambda(t));
- conditional on having stayed `elapsed` units: S(u | a) = exp(-(Lambda(a + u) - Lambda(a)));
- restricted mean survival time RMST(H | a) = integral_0^H S(u | a) du, integrated exactly per interval.
"""

from __future__ import annotations

import numpy as np

from insight.survival.person_period import IntervalGrid

MAX_HAZARD = 1 - 1e-12


def hazard_rates(hazards: np.ndarray, grid: IntervalGrid) -> np.ndarray:
    """Per-customer, per-interval constant rates (n x K) from discrete hazards h in [0, 1)."""
    h = np.clip(np.asarray(hazards, dtype=float), 0.0, MAX_HAZARD)
    return -np.log1p(-h) / grid.widths[None, :]


def _exposure(grid: IntervalGrid, t: np.ndarray) -> np.ndarray:
    """Time spent in each interval up to time t: (len(t) x K), the last interval open-ended."""
    t = np.asarray(t, dtype=float)[:, None]
    spent = np.clip(t - grid.starts[None, :], 0.0, None)
    spent[:, :-1] = np.minimum(spent[:, :-1], grid.widths[None, :-1])
    return spent


def cumulative_hazard(rates: np.ndarray, grid: IntervalGrid, times: np.ndarray) -> np.ndarray:
    """Lambda(t) for every customer (rows) at each of `times` (columns)."""
    return rates @ _exposure(grid, np.atleast_1d(times)).T


def _cumulative_each(rates: np.ndarray, grid: IntervalGrid, t: np.ndarray) -> np.ndarray:
    """Lambda(t_i) of customer i at its own time t_i."""
    return np.einsum("ik,ik->i", rates, _exposure(grid, t))


def survival_at(rates: np.ndarray, grid: IntervalGrid, times: np.ndarray,
                elapsed: np.ndarray | None = None) -> np.ndarray:
    """S(t) (or S(t | elapsed), t counted from `elapsed`) per customer (rows) and time (columns)."""
    times = np.atleast_1d(np.asarray(times, dtype=float))
    if elapsed is None:
        return np.exp(-cumulative_hazard(rates, grid, times))
    a = np.broadcast_to(np.asarray(elapsed, dtype=float), (len(rates),))
    base = _cumulative_each(rates, grid, a)
    out = np.empty((len(rates), len(times)))
    for j, t in enumerate(times):
        out[:, j] = np.exp(-(_cumulative_each(rates, grid, a + t) - base))
    return out


def restricted_mean(rates: np.ndarray, grid: IntervalGrid, horizon: float,
                    elapsed: np.ndarray | None = None) -> np.ndarray:
    """RMST up to `horizon` (from `elapsed` when given): the expected time stayed within the horizon."""
    n = len(rates)
    a = np.zeros(n) if elapsed is None else np.broadcast_to(np.asarray(elapsed, dtype=float), (n,))
    stop = a + float(horizon)
    base = _cumulative_each(rates, grid, a)
    ends = np.r_[grid.edges[:-1], np.inf]
    total = np.zeros(n)
    for k in range(grid.n_intervals):
        lo = np.maximum(a, grid.starts[k])
        hi = np.minimum(stop, ends[k])
        length = np.clip(hi - lo, 0.0, None)
        s_lo = np.exp(-(_cumulative_each(rates, grid, lo) - base))
        lam = rates[:, k]
        small = lam * length < 1e-10
        safe = np.where(small, 1.0, lam)
        total += np.where(small, s_lo * length, s_lo * -np.expm1(-safe * length) / safe)
    return total


def median_time(rates: np.ndarray, grid: IntervalGrid) -> np.ndarray:
    """The time t with S(t) = 0.5 per customer (inf when the hazard is 0 from there on)."""
    target = np.log(2.0)
    ends = np.r_[grid.edges[:-1], np.inf]
    cum = np.cumsum(rates[:, :-1] * grid.widths[None, :-1], axis=1)
    before = np.column_stack([np.zeros(len(rates)), cum])  # Lambda at each interval's start
    out = np.full(len(rates), np.inf)
    for k in range(grid.n_intervals):
        lam = rates[:, k]
        with np.errstate(divide="ignore", invalid="ignore"):
            t = grid.starts[k] + (target - before[:, k]) / lam
        hit = np.isinf(out) & (before[:, k] <= target) & (lam > 0) & (t <= ends[k] + 1e-12)
        out[hit] = t[hit]
    return out


def within_observed(times: np.ndarray, grid: IntervalGrid, start: np.ndarray | float = 0.0) -> np.ndarray:
    """`times` (from `start`) with those ending past the grid's last edge, the longest duration the model was
    fitted on, as inf: beyond it a median would only extend the last interval's hazard ("not reached")."""
    t = np.asarray(times, dtype=float)
    return np.where(np.asarray(start, dtype=float) + t > float(grid.edges[-1]), np.inf, t)
