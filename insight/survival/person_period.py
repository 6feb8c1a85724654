"""The interval grid of a discrete-time survival model and the person-period rows it is trained on.

Time is cut into intervals (e_{k-1}, e_k], k = 1..K, e_0 = 0, in the duration's own unit (days, months...).
A customer observed for duration d with event flag delta contributes one row per interval they were at risk in:

- a churned customer (delta = 1): intervals 1..k(d), where k(d) is the interval holding d; the label is 1 in
  interval k(d) only, 0 before;
- a censored customer (delta = 0): the intervals they were observed through, labels 0. An interval is
  counted when at least half of it was observed (d >= its midpoint): the life-table convention that a
  customer censored within an interval was at risk for half of it. With whole-number durations on whole-number
  edges (tenure in months) this is simply every interval ending at or before d.

Durations beyond the last edge fall in the last interval, which is open-ended: the model treats its hazard as
holding on beyond e_K.

Each row carries the interval index k (0-based) as an extra, last feature (`INTERVAL_FEATURE`), so one binary
classifier learns the hazard h_k(x) = P(leave in interval k | still there at its start, x).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

INTERVAL_FEATURE = "interval"
MAX_INTERVALS = 40


@dataclass(frozen=True)
class IntervalGrid:
    """The right edges e_1 < ... < e_K of the intervals (e_0 = 0 is implicit), and how they were chosen."""

    edges: np.ndarray
    method: str

    @property
    def n_intervals(self) -> int:
        return int(len(self.edges))

    @property
    def starts(self) -> np.ndarray:
        return np.r_[0.0, self.edges[:-1]]

    @property
    def widths(self) -> np.ndarray:
        return self.edges - self.starts

    def interval_of(self, duration: np.ndarray) -> np.ndarray:
        """0-based index of the interval holding each duration (the last one beyond e_K)."""
        k = np.searchsorted(self.edges, np.asarray(duration, dtype=float), side="left")
        return np.minimum(k, self.n_intervals - 1)

    def to_dict(self) -> dict[str, Any]:
        return {"edges": [float(e) for e in self.edges], "method": self.method}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> IntervalGrid:
        return cls(edges=np.asarray(d["edges"], dtype=float), method=str(d["method"]))


def interval_grid(duration: np.ndarray, event: np.ndarray, *, method: str = "quantile",
                  max_intervals: int = MAX_INTERVALS, width: float | None = None) -> IntervalGrid:
    """Choose the intervals.

    "quantile": edges at the quantiles of the churned customers' durations (so each interval holds about as
    many events), at most `max_intervals` intervals, duplicates merged (whole-number durations give fewer),
    the last edge at the longest duration observed. "width": edges every `width` units up to the longest duration; when that
    would be more than `max_intervals` intervals, the width grows to fit that many.
    """
    d = np.asarray(duration, dtype=float)
    e = np.asarray(event, dtype=bool)
    if len(d) == 0 or np.isnan(d).any() or (d < 0).any():
        raise ValueError("durations must be present and non-negative for every customer")
    if max_intervals < 1:
        raise ValueError("max_intervals must be at least 1")
    longest = float(d.max())
    if longest <= 0:
        raise ValueError("every duration is 0: nothing was observed over time")
    if method == "quantile":
        times = d[e & (d > 0)]
        if len(times) == 0:
            edges = np.array([longest])
        else:
            inner = np.linspace(0, 1, max_intervals + 1)[1:-1]  # the last edge is the longest duration
            q = np.quantile(times, inner, method="inverted_cdf") if len(inner) else np.empty(0)
            edges = np.unique(np.r_[q[(q > 0) & (q < longest)], longest])
    elif method == "width":
        if width is None or width <= 0:
            raise ValueError("method 'width' needs a positive width")
        step = max(float(width), longest / max_intervals)
        count = int(np.ceil(longest / step - 1e-9))
        edges = step * np.arange(1, count + 1)
    else:
        raise ValueError(f"unknown grid method {method!r}; use 'quantile' or 'width'")
    grid = IntervalGrid(edges=np.asarray(edges, dtype=float), method=method)
    log.info("survival grid: %d intervals (%s), last edge %.4g", grid.n_intervals, method, grid.edges[-1])
    return grid


@dataclass(frozen=True)
class PersonPeriod:
    """Person-period rows: features with the interval index appended as the last column."""

    X: np.ndarray
    y: np.ndarray
    customer: np.ndarray
    """Row position of each row's customer in the input."""
    interval: np.ndarray


def at_risk_intervals(grid: IntervalGrid, duration: np.ndarray, event: np.ndarray) -> np.ndarray:
    """How many intervals (from the first) each customer contributes, per the module's rules."""
    d = np.asarray(duration, dtype=float)
    e = np.asarray(event, dtype=bool)
    k = grid.interval_of(d)
    mid = grid.starts[k] + grid.widths[k] / 2
    beyond = d > grid.edges[-1]
    observed_half = (d >= mid) | beyond
    return np.where(e, k + 1, k + observed_half.astype(int))


def person_period(X: np.ndarray, duration: np.ndarray, event: np.ndarray, grid: IntervalGrid) -> PersonPeriod:
    """Expand customers into person-period rows (see the module docstring)."""
    X = np.asarray(X, dtype=np.float64)
    e = np.asarray(event, dtype=bool)
    counts = at_risk_intervals(grid, duration, e)
    customer = np.repeat(np.arange(len(X)), counts)
    starts = np.cumsum(counts) - counts
    interval = np.arange(len(customer)) - np.repeat(starts, counts)
    last = interval == np.repeat(counts - 1, counts)
    y = (last & e[customer]).astype(np.float64)
    rows = np.column_stack([X[customer], interval.astype(np.float64)])
    return PersonPeriod(X=rows, y=y, customer=customer, interval=interval)


def all_intervals(X: np.ndarray, grid: IntervalGrid) -> np.ndarray:
    """Every customer at every interval: (n * K) rows, customer-major, interval index appended."""
    X = np.asarray(X, dtype=np.float64)
    n, k = len(X), grid.n_intervals
    return np.column_stack([np.repeat(X, k, axis=0), np.tile(np.arange(k, dtype=np.float64), n)])
