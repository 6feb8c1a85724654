"""Per-customer uplift figures as one table, for customers.parquet.

- `uplift`: the estimated reduction in churn probability if offered (positive = the offer helps);
- `uplift_lower`, `uplift_upper`: its interval (UpliftModel.interval, 90 % by default);
- `churn_if_not_offered`: P(churn | x, no offer), the control group's churn model;
- `uplift_group`: persuadable, sure thing, lost cause or sleeping dog (insight.uplift.groups).

The names are insight.runs.layout's.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from insight.runs.layout import CHURN_IF_NOT_OFFERED, UPLIFT, UPLIFT_GROUP, UPLIFT_LOWER, UPLIFT_UPPER
from insight.uplift.groups import CHURN_THRESHOLD, uplift_groups
from insight.uplift.model import UpliftModel

COLUMNS = (UPLIFT, UPLIFT_LOWER, UPLIFT_UPPER, CHURN_IF_NOT_OFFERED, UPLIFT_GROUP)


def uplift_columns(model: UpliftModel, X: np.ndarray, *, level: float | None = None,
                   churn_threshold: float = CHURN_THRESHOLD) -> pd.DataFrame:
    """COLUMNS for each row of X, in X's order."""
    tau = model.predict(X)
    lower, upper = model.interval(X, level=level)
    p0 = model.control_churn(X)
    return pd.DataFrame({UPLIFT: tau, UPLIFT_LOWER: lower, UPLIFT_UPPER: upper, CHURN_IF_NOT_OFFERED: p0,
                         UPLIFT_GROUP: uplift_groups(lower, upper, p0, churn_threshold=churn_threshold)})
