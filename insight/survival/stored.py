"""The survival model of a saved run applied to its stored customers (the dashboard's customer curve).

A row of customers.parquet holds the clean feature columns; the churn model's feature map encodes them into
the matrix the survival inputs are made from (insight.survival.setup.survival_inputs), as at training.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from insight.data.features import FeatureMap, encode
from insight.survival.groups import curve_times
from insight.survival.hazard import HazardModel
from insight.survival.setup import survival_inputs

log = logging.getLogger(__name__)


def customer_curve(model: HazardModel, fmap: FeatureMap, row: Mapping[str, Any],
                   times: np.ndarray | None = None) -> pd.DataFrame:
    """`time`, `survival`: one stored customer's predicted S(t) from the start (default times: the model's
    curve grid, as the stored segment curves)."""
    t = curve_times(model) if times is None else np.asarray(times, dtype=float)
    frame = pd.DataFrame([{name: row.get(name) for name in fmap.names}])
    for feat in fmap.features:  # a stored date comes back as text or a timestamp; the encoder parses either
        if str(feat.role) == "date":
            frame[feat.name] = pd.to_datetime(frame[feat.name], errors="coerce")
    X = encode(frame, fmap)
    inputs = survival_inputs(X, fmap, model.encoder.features)
    return pd.DataFrame({"time": t, "survival": model.survival_at(inputs, t)[0]})
