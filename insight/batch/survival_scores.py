"""The survival columns of scored customers, for a run trained with --duration (insight.batch.scoring).

The same columns as the run's customers.parquet (insight.survival.run_parts.customer_columns: churn within
each horizon, expected lifetime and value lost within it, the median lifetime, the expected time to leaving
and the timing reasons), conditional on each scored customer's duration so far, which the input must hold.
The value per period is read from the input when the run used one; a customer without it counts 0.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd

from insight.data.features import FeatureMap
from insight.errors import InputError
from insight.runs import layout
from insight.survival.hazard import HazardModel
from insight.survival.setup import SurvivalSetup, duration_values

log = logging.getLogger(__name__)


def survival_columns(setup: dict[str, Any]) -> list[str]:
    """The output's survival columns, in order."""
    s = SurvivalSetup.from_dict(setup)
    out: list[str] = []
    for h in s.horizons:
        out += [layout.churn_within(h), layout.expected_lifetime(h)]
        if s.period_value_column:
            out.append(layout.value_lost(h))
    return [*out, layout.MEDIAN_LIFETIME, layout.EXPECTED_LEAVE_IN, *layout.TIMING_REASONS]


def empty_survival_columns(out: pd.DataFrame, setup: dict[str, Any]) -> None:
    """Add the survival columns, with their dtypes, to an empty output."""
    for name in survival_columns(setup):
        out[name] = pd.Series([], dtype="str") if name in layout.TIMING_REASONS else np.array([], dtype=np.float64)


def survival_scores(raw: pd.DataFrame, X: np.ndarray, fmap: FeatureMap, setup: dict[str, Any],
                    model: HazardModel) -> pd.DataFrame:
    """The survival columns of one partition (`raw` as read, `X` its churn model matrix), row for row."""
    from insight.survival.run_parts import customer_columns

    s = SurvivalSetup.from_dict(setup)
    if s.duration_column not in raw.columns:
        raise InputError(f"the run models time to churn from {s.duration_column!r}, which the data to score lacks: "
                         "add each customer's duration so far (their tenure) to score them.")
    duration = duration_values(raw, s.duration_column)
    value = None
    if s.period_value_column:
        value = (np.clip(np.nan_to_num(pd.to_numeric(raw[s.period_value_column], errors="coerce")
                                       .to_numpy(dtype=np.float64, na_value=np.nan), nan=0.0), 0.0, None)
                 if s.period_value_column in raw.columns else np.zeros(len(raw)))
    columns, _ = customer_columns(model, s, X, fmap, duration, value, threads=1)
    for name in layout.TIMING_REASONS:
        columns[name] = pd.Series(columns[name].to_numpy(dtype=object), dtype="str")
    return columns[survival_columns(setup)]
