"""The timing's reasons in words, from the survival model's exact SHAP values (insight.survival.hazard_shap).

A SHAP value s here is a share of the customer's mean hazard log-odds over their next window, so exp(s) is
the factor it puts on the odds of leaving in any one period of the duration's unit (about the chance itself
while the chance per period is small): "Logins 30d: 2 (typical 12) — raises the chance of leaving in any
month by about 60 %". The feature's value is shown as the churn reasons show it (insight.models.explain).
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from insight.data.features import FeatureMap
from insight.models.explain import feature_value_text
from insight.runs.layout import TIMING_REASONS

log = logging.getLogger(__name__)

BARELY = 0.02
"""|SHAP| below this (odds x 0.98 to 1.02) barely changes the timing."""


def timing_effect_words(shap: float, unit: str) -> str:
    """'raises the chance of leaving in any month by about 60 %', 'about 2.5 times'."""
    period = unit.rstrip("s") or unit
    if abs(shap) < BARELY:
        return "barely changes when they may leave"
    factor = float(np.exp(shap))
    if factor >= 2:
        return f"makes leaving in any {period} about {factor:.1f} times as likely"
    change = abs(factor - 1) * 100
    amount = f"{change:.0f}" if change >= 1.5 else f"{change:.1f}"
    verb = "raises" if shap > 0 else "lowers"
    return f"{verb} the chance of leaving in any {period} by about {amount} %"


def timing_reasons(X: np.ndarray, fmap: FeatureMap, features: list[str], values: np.ndarray, *,
                   unit: str, k: int = len(TIMING_REASONS)) -> pd.DataFrame:
    """`timing_reason_1..k`: the k largest SHAP values of each customer (`values`: customers x `features`),
    in words, largest first."""
    index = {n: j for j, n in enumerate(fmap.names)}
    columns = np.array([index[f] for f in features])
    k = min(k, len(features))
    order = np.argsort(-np.abs(values), axis=1, kind="stable")[:, :k]
    rows = np.arange(len(values))[:, None]
    shap = values[rows, order]
    cells = X[rows, columns[order]]
    out: dict[str, list[str]] = {}
    for j in range(k):
        out[TIMING_REASONS[j]] = [
            f"{feature_value_text(fmap.features[columns[f]], cell)} — {timing_effect_words(float(s), unit)}"
            for f, cell, s in zip(order[:, j], cells[:, j], shap[:, j], strict=True)]
    for name in TIMING_REASONS[k:]:
        out[name] = [""] * len(values)
    return pd.DataFrame(out)
