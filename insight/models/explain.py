"""Exact SHAP values of the churn model, reasons in words, and global summaries.

SHAP values are exact TreeSHAP values on the raw log-odds score: for every customer, base value + sum of SHAP
values = raw score. Large tables go through insight.models.treeshap (the same values as LightGBM's own
`pred_contrib=True`, the algorithm shap's TreeExplainer runs, several times faster); a few rows, as a what-if
edit scores, go straight to `pred_contrib`, which needs no compilation. Reasons turn the
largest contributions into probability points on the calibrated scale.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from insight.formatting import label
from insight.models.churn import Calibration, ChurnModel
from insight.data.features import Feature, FeatureMap, decode_value
from insight.data.schema import Role

if TYPE_CHECKING:
    import lightgbm as lgb

log = logging.getLogger(__name__)

BASE_VALUE = "base_value"
TOP_REASONS = 3
CHUNK_ROWS = 50_000
FAST_TREESHAP_ROWS = 5_000
"""From this many rows on, the compiled TreeSHAP pays for its table building (about a second per 100 trees)."""


def shap_values(model: ChurnModel, X: np.ndarray, *, threads: int | None = None,
                method: str = "auto") -> tuple[np.ndarray, np.ndarray]:
    """Exact SHAP values (rows x features, float64) and the base value per row.

    `method`: "fast" (insight.models.treeshap), "pred_contrib" (LightGBM's TreeSHAP, the reference) or "auto"
    (fast from FAST_TREESHAP_ROWS rows on)."""
    if method not in ("auto", "fast", "pred_contrib"):
        raise ValueError(f"unknown SHAP method {method!r}")
    if method == "fast" or (method == "auto" and len(X) >= FAST_TREESHAP_ROWS):
        from insight.models import treeshap  # numba: imported only where a large table is explained

        try:
            compiled = treeshap.compile_model(model.booster)
        except ValueError as e:  # a model the compiled kernel does not cover
            if method == "fast":
                raise
            log.info("SHAP by pred_contrib: %s", e)
            return pred_contrib_values(model.booster, X, threads=threads)
        return treeshap.shap_values(compiled, X, threads=threads)
    return pred_contrib_values(model.booster, X, threads=threads)


def pred_contrib_values(booster: lgb.Booster, X: np.ndarray, *,
                        threads: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """LightGBM's own exact TreeSHAP (`predict(pred_contrib=True)`), in chunks to bound memory."""
    n, f = X.shape
    values = np.empty((n, f), dtype=np.float64)
    base = np.empty(n, dtype=np.float64)
    kwargs = {"num_threads": threads} if threads else {}
    for start in range(0, n, CHUNK_ROWS):
        stop = min(n, start + CHUNK_ROWS)
        contrib = booster.predict(X[start:stop], pred_contrib=True, **kwargs)
        values[start:stop] = contrib[:, :f]
        base[start:stop] = contrib[:, f]
    return values, base


def shap_frame(ids: pd.Series, values: np.ndarray, base: np.ndarray, names: list[str]) -> pd.DataFrame:
    """The table stored as shap.parquet: id, one column per feature, the base value."""
    frame = pd.DataFrame(values, columns=names)
    frame.insert(0, ids.name, ids.to_numpy())
    frame[BASE_VALUE] = base
    return frame


def probability_points(raw: np.ndarray, contributions: np.ndarray, calibration: Calibration) -> np.ndarray:
    """How many probability points each contribution adds: p(raw) - p(raw without it), times 100."""
    raw = np.asarray(raw, dtype=np.float64)
    p = calibration(raw)
    if contributions.ndim == 2:
        return 100.0 * (p[:, None] - calibration(raw[:, None] - contributions))
    return 100.0 * (p - calibration(raw - contributions))


def reason_frame(
    X: np.ndarray, values: np.ndarray, raw: np.ndarray, fmap: FeatureMap, calibration: Calibration,
    *, k: int = TOP_REASONS,
) -> pd.DataFrame:
    """Per customer: the k largest contributions in words (`reason_1`..), and `top_reason` (the feature
    with the largest contribution)."""
    n, f = values.shape
    k = min(k, f)
    order = np.argsort(-np.abs(values), axis=1, kind="stable")[:, :k]
    rows = np.arange(n)[:, None]
    contrib = values[rows, order]
    points = probability_points(raw, contrib, calibration)
    cells = X[rows, order]
    out: dict[str, object] = {}
    for j in range(k):
        out[f"reason_{j + 1}"] = [
            reason_text(fmap.features[feat], cell, pts)
            for feat, cell, pts in zip(order[:, j], cells[:, j], points[:, j], strict=True)
        ]
    out["top_reason"] = np.asarray(fmap.names, dtype=object)[order[:, 0]]
    return pd.DataFrame(out)


def reason_text(feature: Feature, value: float, points: float) -> str:
    """'Support tickets 90d: 6 (typical 1) — raises risk by 9 points'."""
    return f"{feature_value_text(feature, value)} — {effect_words(points)}"


def feature_value_text(feature: Feature, value: float) -> str:
    """'Support tickets 90d: 6 (typical 1)': a model-matrix value in words, with the typical one beside it."""
    shown = decode_value(feature, value)
    typical = typical_value(feature)
    context = f" (typical {typical})" if typical is not None and typical != shown and shown != "missing" else ""
    return f"{label(feature.name)}: {shown}{context}"


def effect_words(points: float) -> str:
    size = abs(points)
    amount = f"{size:.0f}" if size >= 1.5 else f"{size:.1f}"
    unit = "point" if amount == "1" else "points"
    if size < 0.05:
        return "barely changes risk"
    return f"{'raises' if points > 0 else 'lowers'} risk by {amount} {unit}"


def typical_value(feature: Feature) -> str | None:
    if feature.role is Role.CATEGORICAL:
        return feature.mode
    if feature.median is None:
        return None
    return decode_value(feature, feature.median)


def global_importance(values: np.ndarray, names: list[str]) -> pd.DataFrame:
    """Mean |SHAP| per feature, largest first."""
    imp = np.abs(values).mean(axis=0)
    return (pd.DataFrame({"feature": names, "mean_abs_shap": imp})
            .sort_values("mean_abs_shap", ascending=False, ignore_index=True))


def strongest_interaction(feature: str, shap: pd.DataFrame, values: pd.DataFrame) -> str | None:
    """The feature that best explains the spread of `feature`'s SHAP values at equal `feature` values.

    A cheap stand-in for SHAP interaction values (the heuristic of shap's `approximate_interactions`): the
    SHAP values of `feature` minus their mean within quantile bins of `feature`, correlated with every other
    feature (numbers as they are, categories by their codes).
    """
    x = _as_number(values[feature])
    if np.isnan(x).all():
        return None
    ranks = pd.Series(x).rank(pct=True).fillna(1.01).to_numpy()
    bins = np.minimum((ranks * 10).astype(int), 10)
    s = shap[feature].to_numpy(dtype=float)
    bin_means = pd.Series(s).groupby(bins).transform("mean").to_numpy()
    residual = s - bin_means
    best, best_score = None, 0.0
    for other in values.columns:
        if other == feature or other not in shap.columns:
            continue
        v = _as_number(values[other])
        ok = ~np.isnan(v)
        if ok.sum() < 10 or np.std(v[ok]) == 0 or np.std(residual[ok]) == 0:
            continue
        score = abs(float(np.corrcoef(residual[ok], v[ok])[0, 1]))
        if score > best_score:
            best, best_score = other, score
    return best


def _as_number(series: pd.Series) -> np.ndarray:
    if pd.api.types.is_bool_dtype(series) or pd.api.types.is_numeric_dtype(series):
        return series.to_numpy(dtype=float, na_value=np.nan)
    if pd.api.types.is_datetime64_any_dtype(series):
        return series.astype("int64").where(series.notna()).to_numpy(dtype=float, na_value=np.nan)
    codes = pd.factorize(series, use_na_sentinel=True)[0].astype(float)
    codes[codes < 0] = np.nan
    return codes
