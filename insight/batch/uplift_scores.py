"""The uplift columns of scored customers, for a run trained with --treatment (insight.batch.scoring).

The same columns as the run's customers.parquet, from the same functions: the uplift with its interval, the
churn probability if not offered and the customer group (insight.uplift.predict.uplift_columns), and what makes
the customer respond in words (`response_reason_1..3`, insight.uplift.run_parts.response_reasons; empty for a
T-learner). The treatment and propensity columns are never features, so the data to score need not hold them:
customers to come were never offered anything yet.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd

from insight.data.features import FeatureMap
from insight.runs import layout
from insight.uplift.model import UpliftModel
from insight.uplift.predict import COLUMNS as _UPLIFT_COLUMNS

log = logging.getLogger(__name__)

SCORE_COLUMNS = (*_UPLIFT_COLUMNS, *layout.RESPONSE_REASONS)
"""The uplift columns of the output, in order."""
TEXT_COLUMNS = (layout.UPLIFT_GROUP, *layout.RESPONSE_REASONS)
"""The uplift columns that hold words; the others are float64."""


def uplift_score_columns(setup: dict[str, Any]) -> list[str]:
    """The output's uplift columns, in order (`setup`: the manifest's uplift section; every learner has them all,
    a T-learner's response reasons empty)."""
    return list(SCORE_COLUMNS)


def empty_uplift_columns(out: pd.DataFrame, setup: dict[str, Any]) -> None:
    """Add the uplift columns, with their dtypes, to an empty output."""
    for name in uplift_score_columns(setup):
        out[name] = pd.Series([], dtype="str") if name in TEXT_COLUMNS else np.array([], dtype=np.float64)


def uplift_scores(X: np.ndarray, fmap: FeatureMap, model: UpliftModel) -> pd.DataFrame:
    """The uplift columns of one partition (`X` its churn model matrix), row for row, single-threaded."""
    from insight.uplift.predict import uplift_columns
    from insight.uplift.run_parts import response_reasons

    columns = pd.concat([uplift_columns(model, X), response_reasons(model, X, fmap, threads=1)], axis=1)
    for name in SCORE_COLUMNS:
        columns[name] = (pd.Series(columns[name].to_numpy(dtype=object), dtype="str") if name in TEXT_COLUMNS
                         else columns[name].to_numpy(dtype=np.float64))
    return columns[list(SCORE_COLUMNS)]
