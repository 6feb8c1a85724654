"""Risk bands: low, medium, high and very high churn risk, relative to the average churn rate.

The band names and their factors are part of the run contract (`insight.runs.layout`); a run stores its
thresholds in the manifest, and scoring new customers with the run uses those same thresholds.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from insight.runs.layout import RISK_BAND_FACTORS, RISK_BANDS

MAX_THRESHOLD = 0.95


def risk_band_thresholds(base_rate: float) -> dict[str, float]:
    """Where each band starts: medium from half the average risk, high from 1.5x, very high from 2.5x
    (each at most 0.95)."""
    return {band: min(MAX_THRESHOLD, base_rate * factor) for band, factor in RISK_BAND_FACTORS.items()}


def risk_bands(probability: np.ndarray, thresholds: dict[str, float]) -> pd.Categorical:
    """The band of each probability (ordered categorical, `RISK_BANDS` order)."""
    edges = [thresholds[band] for band in RISK_BANDS[1:]]
    idx = np.searchsorted(edges, probability, side="right")
    return pd.Categorical.from_codes(idx, categories=list(RISK_BANDS), ordered=True)
