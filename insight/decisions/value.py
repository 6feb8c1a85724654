"""What a customer is worth, for revenue at risk (churn probability x value)."""

from __future__ import annotations

import numpy as np
import pandas as pd


def customer_value(data: pd.DataFrame, heads: dict[str, np.ndarray], revenue_column: str, *,
                   known: bool = False) -> np.ndarray:
    """The multi-task head's prediction when the revenue column is an aux target (an outcome, unknown for
    customers still to be scored), else the column; also the column when it is `known` (an aux target kept
    as a feature by --keep: a present-state value). Never negative; missing counts as 0."""
    from_head = revenue_column in heads and not known
    values = heads[revenue_column] if from_head else data[revenue_column].to_numpy(dtype=np.float64)
    return np.clip(np.nan_to_num(values, nan=0.0), 0.0, None)
