"""Per-customer uplift figures as one table, for customers.parquet.

- `uplift`: the estimated reduction in churn probability if offered (positive = the offer helps);
- `uplift_lower`, `uplift_upper`: its interval (UpliftModel.interval, 90 % by default);
- `churn_if_not_offered`: P(churn | x, no offer), the control group's churn model;
- `uplift_group`: persuadable, sure thing, lost cause or sleeping dog (insight.uplift.groups).

The names are here until the lead moves them to insight.runs.layout with the wiring.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from insight.uplift.groups import CHURN_THRESHOLD, uplift_groups
from insight.uplift.model import UpliftModel

UPLIFT = "uplift"
UPLIFT_LOWER = "uplift_lower"
UPLIFT_UPPER = "uplift_upper"
CHURN_IF_NOT_OFFERED = "churn_if_not_offered"
UPLIFT_GROUP = "uplift_group"
COLUMNS = (UPLIFT, UPLIFT_LOWER, UPLIFT_UPPER, CHURN_IF_NOT_OFFERED, UPLIFT_GROUP)


def uplift_columns(model: UpliftModel, X: np.ndarray, *, level: float | None = None,
                   churn_threshold: float = CHURN_THRESHOLD) -> pd.DataFrame:
    """COLUMNS for each row of X, in X's order."""
    tau = model.predict(X)
    lower, upper = model.interval(X, level=level)
    p0 = model.control_churn(X)
    return pd.DataFrame({UPLIFT: tau, UPLIFT_LOWER: lower, UPLIFT_UPPER: upper, CHURN_IF_NOT_OFFERED: p0,
                         UPLIFT_GROUP: uplift_groups(lower, upper, p0, churn_threshold=churn_threshold)})
