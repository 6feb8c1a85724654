"""The shift in predicted churn risk between two runs, and the customers who became high-risk with the features
whose SHAP contribution moved most."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd

from insight.changes.sides import KEY, RunSide, shap_rows
from insight.runs import layout
from insight.runs.tables import python_value

log = logging.getLogger(__name__)

HIGH_BANDS = ("high", "very high")
"""'High-risk': the top risk bands (insight.runs.layout.RISK_BANDS)."""
HISTOGRAM_BINS = 20
MOVED_FEATURES = 3
BECAME_HIGH_LIMIT = 200
"""At most this many customers listed (the largest rise in probability first); `count` gives them all."""
BAND_ORDER = {band: i for i, band in enumerate(layout.RISK_BANDS)}


def overlap(a: RunSide, b: RunSide) -> pd.DataFrame:
    """The customers in both runs: KEY, then each run's probability, band and segment (suffixes _a, _b)."""
    cols = [KEY, *(c for c in (layout.CHURN_PROBABILITY, layout.RISK_BAND, layout.SEGMENT_ID, layout.SEGMENT_NAME)
                   if c in a.customers and c in b.customers)]
    left = a.customers[cols].drop_duplicates(KEY)
    right = b.customers[cols].drop_duplicates(KEY)
    return left.merge(right, on=KEY, suffixes=("_a", "_b"), validate="one_to_one")


def risk_shift(a: RunSide, b: RunSide, both: pd.DataFrame) -> dict[str, Any]:
    """Mean predicted churn probability in each run and the difference; customers and share per band in each
    (each run's own band thresholds); a probability histogram of each; and for the customers in both runs the
    mean change and how many moved up or down a band (with every band-to-band count)."""
    pa, pb = _probabilities(a), _probabilities(b)
    mean_a, mean_b = _mean(pa), _mean(pb)
    edges = np.linspace(0.0, 1.0, HISTOGRAM_BINS + 1)
    out: dict[str, Any] = {
        "mean_probability": {"a": mean_a, "b": mean_b,
                             "change": None if mean_a is None or mean_b is None else mean_b - mean_a},
        "bands": _bands(a, b),
        "thresholds": {"a": dict(a.manifest.risk_bands), "b": dict(b.manifest.risk_bands)},
        "histogram": {"edges": edges.tolist(), "a": _histogram(pa, edges), "b": _histogram(pb, edges)},
        "both": _moves(both),
    }
    return out


def became_high_risk(a: RunSide, b: RunSide, both: pd.DataFrame, *,
                     limit: int = BECAME_HIGH_LIMIT) -> dict[str, Any]:
    """Customers in both runs whose band rose into HIGH_BANDS from below them: `count`, and up to `limit` of
    them (the largest rise in probability first) each with the MOVED_FEATURES features whose SHAP value
    changed most (feature, shap_a, shap_b, change, value_a, value_b)."""
    band_a, band_b = f"{layout.RISK_BAND}_a", f"{layout.RISK_BAND}_b"
    if band_a not in both or both.empty:
        return {"bands": list(HIGH_BANDS), "count": 0, "listed": 0, "customers": []}
    rose = both[~both[band_a].isin(HIGH_BANDS) & both[band_b].isin(HIGH_BANDS)].copy()
    p_a, p_b = f"{layout.CHURN_PROBABILITY}_a", f"{layout.CHURN_PROBABILITY}_b"
    rose["rise"] = rose[p_b] - rose[p_a]
    rose = rose.sort_values(["rise", KEY], ascending=[False, True])
    listed = rose.head(limit)
    keys = listed[KEY].tolist()
    features = [f for f in b.features if f in set(a.features)]
    shap_a, shap_b = shap_rows(a, keys, features), shap_rows(b, keys, features)
    values_a = a.customers.drop_duplicates(KEY).set_index(KEY).reindex(keys)
    values_b = b.customers.drop_duplicates(KEY).set_index(KEY).reindex(keys)
    customers = []
    for row in listed.to_dict("records"):
        key = row[KEY]
        customers.append({
            "id": key, "probability_a": python_value(row[p_a]), "probability_b": python_value(row[p_b]),
            "band_a": row[band_a], "band_b": row[band_b], "segment_a": _segment(row, "a"),
            "segment_b": _segment(row, "b"), "moved": _moved(key, features, shap_a, shap_b, values_a, values_b),
        })
    return {"bands": list(HIGH_BANDS), "count": int(len(rose)), "listed": len(customers), "customers": customers}


# ------------------------------------------------------------------------------------------------ pieces
def _probabilities(side: RunSide) -> np.ndarray:
    if layout.CHURN_PROBABILITY not in side.customers:
        return np.array([], dtype="float64")
    values = side.customers[layout.CHURN_PROBABILITY].to_numpy(dtype="float64", na_value=np.nan)
    return values[np.isfinite(values)]


def _mean(values: np.ndarray) -> float | None:
    return float(values.mean()) if len(values) else None


def _histogram(values: np.ndarray, edges: np.ndarray) -> list[int]:
    counts, _ = np.histogram(np.clip(values, 0.0, 1.0), bins=edges)
    return [int(c) for c in counts]


def _bands(a: RunSide, b: RunSide) -> list[dict[str, Any]]:
    out = []
    counts = {name: side.customers[layout.RISK_BAND].value_counts() if layout.RISK_BAND in side.customers
              else pd.Series(dtype="int64") for name, side in (("a", a), ("b", b))}
    totals = {name: max(1, len(side.customers)) for name, side in (("a", a), ("b", b))}
    for band in layout.RISK_BANDS:
        ca, cb = int(counts["a"].get(band, 0)), int(counts["b"].get(band, 0))
        out.append({"band": band, "a": ca, "b": cb, "share_a": ca / totals["a"], "share_b": cb / totals["b"],
                    "share_change": cb / totals["b"] - ca / totals["a"]})
    return out


def _moves(both: pd.DataFrame) -> dict[str, Any]:
    p_a, p_b = f"{layout.CHURN_PROBABILITY}_a", f"{layout.CHURN_PROBABILITY}_b"
    band_a, band_b = f"{layout.RISK_BAND}_a", f"{layout.RISK_BAND}_b"
    out: dict[str, Any] = {"customers": int(len(both)), "mean_change": None, "moved_up": 0, "moved_down": 0,
                           "same_band": 0, "band_moves": []}
    if both.empty or p_a not in both:
        return out
    change = (both[p_b] - both[p_a]).to_numpy(dtype="float64", na_value=np.nan)
    out["mean_change"] = float(np.nanmean(change)) if np.isfinite(change).any() else None
    out["mean_abs_change"] = float(np.nanmean(np.abs(change))) if np.isfinite(change).any() else None
    if band_a in both:
        ra, rb = both[band_a].map(BAND_ORDER), both[band_b].map(BAND_ORDER)
        out["moved_up"] = int((rb > ra).sum())
        out["moved_down"] = int((rb < ra).sum())
        out["same_band"] = int((rb == ra).sum())
        moves = both.groupby([band_a, band_b]).size()
        out["band_moves"] = [{"from": f, "to": t, "customers": int(n)} for (f, t), n in moves.items() if n]
        out["band_moves"].sort(key=lambda m: (BAND_ORDER.get(m["from"], 9), BAND_ORDER.get(m["to"], 9)))
    return out


def _segment(row: dict[str, Any], side: str) -> dict[str, Any] | None:
    sid = row.get(f"{layout.SEGMENT_ID}_{side}")
    if sid is None:
        return None
    return {"id": python_value(sid), "name": python_value(row.get(f"{layout.SEGMENT_NAME}_{side}"))}


def _moved(key: str, features: list[str], shap_a: pd.DataFrame, shap_b: pd.DataFrame, values_a: pd.DataFrame,
           values_b: pd.DataFrame) -> list[dict[str, Any]]:
    if key not in shap_a.index or key not in shap_b.index or not features:
        return []
    sa, sb = shap_a.loc[key, features], shap_b.loc[key, features]
    change = (sb - sa).fillna(0.0)
    top = change.abs().sort_values(ascending=False, kind="stable").index[:MOVED_FEATURES]
    return [{"feature": f, "shap_a": python_value(sa[f]), "shap_b": python_value(sb[f]),
             "change": float(change[f]), "value_a": _value(values_a, key, f), "value_b": _value(values_b, key, f)}
            for f in top]


def _value(frame: pd.DataFrame, key: str, feature: str) -> Any:
    if feature not in frame.columns:
        return None
    value = python_value(frame.at[key, feature])
    return value.isoformat() if hasattr(value, "isoformat") else value
