"""Survival by group (the Segments page): Kaplan-Meier curves with 95 % bands, the log-rank test of each group
against all other customers, and the model's mean predicted curve per group.

The curves come as one long table, the run's `survival_curves.parquet` (insight.runs.layout.SURVIVAL_CURVES):
`group` (text: "everyone" or a segment id), `kind` ("kaplan_meier" or "predicted"), `time`, `survival`,
`lower`, `upper` (the 95 % band of a Kaplan-Meier curve, lifelines' exponential Greenwood interval; NaN for
predicted curves).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from insight.runs.layout import EVERYONE
from insight.survival.baselines import kaplan_meier_curve, logrank_against_rest
from insight.survival.encoding import event_indicator

if TYPE_CHECKING:
    from insight.survival.hazard import HazardModel

log = logging.getLogger(__name__)

KAPLAN_MEIER, PREDICTED = "kaplan_meier", "predicted"
CURVE_COLUMNS = ("group", "kind", "time", "survival", "lower", "upper")
CURVE_POINTS = 61
"""Times a predicted curve is evaluated at, 0 to the end of the model's interval grid."""
CHUNK_ROWS = 50_000


def _labels(groups: Sequence[Any] | np.ndarray | pd.Series, n: int) -> np.ndarray:
    """Group labels as text ('3', not '3.0' for integral floats); one per customer."""
    values = pd.Series(groups).reset_index(drop=True)
    if len(values) != n:
        raise ValueError(f"groups holds {len(values)} labels for {n} customers; give one per customer")
    if values.isna().any():
        raise ValueError("groups holds missing labels; give every customer a group")
    if pd.api.types.is_float_dtype(values) and (values == values.round()).all():
        values = values.astype("int64")
    labels = values.astype(str).to_numpy(dtype=object)
    if (labels == EVERYONE).any():
        raise ValueError(f"{EVERYONE!r} is the name of the curve of all customers; rename that group")
    return labels


def _arrays(duration: Any, event: Any, groups: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    d = np.asarray(duration, dtype=float)
    e = event_indicator(event)
    if len(e) != len(d):
        raise ValueError("duration and event need one value per customer")
    if np.isnan(d).any() or (d < 0).any():
        raise ValueError("durations must be present and non-negative")
    return d, e, _labels(groups, len(d))


def _order(labels: np.ndarray) -> list[str]:
    """Distinct labels, numerically when they are all whole numbers (segment ids), else as text."""
    distinct = list(dict.fromkeys(labels.tolist()))
    try:
        return sorted(distinct, key=int)
    except ValueError:
        return sorted(distinct)


def kaplan_meier_curves(duration: Any, event: Any, groups: Any) -> pd.DataFrame:
    """The Kaplan-Meier curve with its 95 % band of every group and of everyone, in the long format of the
    module docstring (kind "kaplan_meier"), "everyone" first, then the groups in order."""
    d, e, labels = _arrays(duration, event, groups)
    parts = []
    if len(d):
        for name in [EVERYONE, *_order(labels)]:
            mask = np.ones(len(d), dtype=bool) if name == EVERYONE else labels == name
            curve = kaplan_meier_curve(d[mask], e[mask])
            parts.append(pd.DataFrame({"group": name, "kind": KAPLAN_MEIER, "time": curve["time"],
                                       "survival": curve["survival"], "lower": curve["low"],
                                       "upper": curve["high"]}))
    return _frame(parts)


def _frame(parts: list[pd.DataFrame]) -> pd.DataFrame:
    if not parts:
        return pd.DataFrame({c: pd.Series(dtype=object if c in ("group", "kind") else float)
                             for c in CURVE_COLUMNS})
    out = pd.concat(parts, ignore_index=True)[list(CURVE_COLUMNS)]
    out["group"], out["kind"] = out["group"].astype(str), out["kind"].astype(str)
    for c in ("time", "survival", "lower", "upper"):
        out[c] = out[c].astype(float)
    return out


def median_kaplan_meier(duration: np.ndarray, event: np.ndarray) -> float:
    """The smallest time at which the Kaplan-Meier curve is at or below 0.5 (inf when it never gets there; NaN
    without customers)."""
    if not len(duration):
        return float("nan")
    curve = kaplan_meier_curve(duration, event)
    below = curve["time"][curve["survival"] <= 0.5]
    return float(below.iloc[0]) if len(below) else float("inf")


def expected_events(duration: np.ndarray, event: np.ndarray, in_group: np.ndarray) -> float:
    """The churn events the group would have had if it left at everyone's rate: the log-rank test's E, the sum
    over event times t of (events at t) x (group at risk at t) / (everyone at risk at t). Observed above
    expected: the group leaves sooner than the rest."""
    d, e = np.asarray(duration, dtype=float), np.asarray(event, dtype=bool)
    g = np.asarray(in_group, dtype=bool)
    times, leaving = np.unique(d[e], return_counts=True)
    if not len(times):
        return 0.0
    at_risk = len(d) - np.searchsorted(np.sort(d), times, side="left")
    group_at_risk = int(g.sum()) - np.searchsorted(np.sort(d[g]), times, side="left")
    return float(np.sum(leaving * group_at_risk / at_risk))


def log_rank_vs_rest(duration: Any, event: Any, groups: Any) -> dict[str, dict[str, Any]]:
    """Per group (by its label as text): the log-rank test of its customers against all other customers
    (`log_rank_statistic`, chi-square with one degree of freedom, and `log_rank_p`; NaN when there is no
    rest), `customers`, `events` (churned), `events_expected` (at everyone's rate: more events than expected
    means the group leaves sooner), and `median_km` and `median_km_rest`, the Kaplan-Meier medians of the
    group and of the rest (inf when the curve stays above 0.5, NaN without customers). The format of the manifest's
    metrics.survival.segments."""
    d, e, labels = _arrays(duration, event, groups)
    out: dict[str, dict[str, Any]] = {}
    for name in _order(labels):
        mask = labels == name
        test = logrank_against_rest(d, e, mask)
        out[name] = {"log_rank_statistic": test["statistic"], "log_rank_p": test["p_value"],
                     "customers": int(mask.sum()), "events": int(e[mask].sum()),
                     "events_expected": expected_events(d, e, mask),
                     "median_km": median_kaplan_meier(d[mask], e[mask]),
                     "median_km_rest": median_kaplan_meier(d[~mask], e[~mask])}
    log.info("log-rank against the rest for %d groups", len(out))
    return out


def curve_times(model: HazardModel, points: int = CURVE_POINTS) -> np.ndarray:
    """Evenly spaced times from 0 to the last edge of the model's interval grid."""
    return np.linspace(0.0, float(model.grid.edges[-1]), points)


def predicted_mean_curves(model: HazardModel, frame: pd.DataFrame, groups: Any,
                          times: np.ndarray | None = None) -> pd.DataFrame:
    """The mean over each group's customers (and everyone) of the model's S(t) from the start
    (model.survival_at without `elapsed`), kind "predicted", at `times` (default `curve_times(model)`)."""
    t = curve_times(model) if times is None else np.asarray(times, dtype=float)
    labels = _labels(groups, len(frame))
    names = _order(labels)
    index = {name: i for i, name in enumerate(names)}
    codes = np.array([index[v] for v in labels], dtype=int)
    sums = np.zeros((len(names), len(t)))
    frame = frame.reset_index(drop=True)
    for start in range(0, len(frame), CHUNK_ROWS):
        part = slice(start, start + CHUNK_ROWS)
        s = model.survival_at(frame.iloc[part], t)
        np.add.at(sums, codes[part], s)
    counts = np.bincount(codes, minlength=len(names)).astype(float)
    parts = []
    if len(frame):
        everyone = sums.sum(axis=0) / counts.sum()
        for name, curve in [(EVERYONE, everyone), *((n, sums[i] / counts[i]) for n, i in index.items())]:
            parts.append(pd.DataFrame({"group": name, "kind": PREDICTED, "time": t, "survival": curve,
                                       "lower": np.nan, "upper": np.nan}))
    return _frame(parts)
