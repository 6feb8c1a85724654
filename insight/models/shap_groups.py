"""SHAP sums per segment and risk band: the sufficient statistics for "what drives this group's risk".

The mean SHAP value of any union of segments and bands, and of everyone outside it, follows from these sums
and counts without reading a million rows of SHAP values again. A run stores them as `shap_groups.parquet`
(a few dozen rows); `insight.runs.store.RunStore.shap_contrast` uses them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

KEYS = ("segment_id", "risk_band")
CUSTOMERS = "customers"


def shap_group_sums(values: np.ndarray, names: list[str], segment_id: np.ndarray,
                    risk_band: np.ndarray) -> pd.DataFrame:
    """One row per (segment_id, risk_band) that has customers: the customers and the sum of each feature's
    SHAP values (float64) among them."""
    frame = pd.DataFrame(np.asarray(values, dtype=np.float64), columns=names)
    frame.insert(0, "segment_id", np.asarray(segment_id, dtype=np.int64))
    frame.insert(1, "risk_band", pd.Series(risk_band).astype(str).to_numpy())
    grouped = frame.groupby(list(KEYS), sort=True)
    out = grouped[names].sum()
    out.insert(0, CUSTOMERS, grouped.size())
    return out.reset_index()


def contrast_from_sums(groups: pd.DataFrame, chosen: np.ndarray, names: list[str],
                       selected: tuple[int, np.ndarray] | None = None) -> pd.DataFrame:
    """Mean SHAP per feature inside and outside a group of customers, from `shap_group_sums` rows.

    Inside: the rows of `groups` where `chosen` is true; or, with `selected` (customers, per-feature sums of
    a group counted directly), that group. Outside: everyone else. Columns feature, selected, rest,
    customers_selected, customers_rest (means are NaN for an empty side)."""
    counts = groups[CUSTOMERS].to_numpy(dtype=np.int64)
    sums = groups[names].to_numpy(dtype=np.float64)
    total_n, total = int(counts.sum()), sums.sum(axis=0)
    if selected is None:
        inside_n, inside = int(counts[chosen].sum()), sums[chosen].sum(axis=0)
    else:
        inside_n, inside = int(selected[0]), np.asarray(selected[1], dtype=np.float64)
    rest_n = total_n - inside_n
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_in = inside / inside_n if inside_n else np.full(len(names), np.nan)
        mean_out = (total - inside) / rest_n if rest_n else np.full(len(names), np.nan)
    return pd.DataFrame({"feature": names, "selected": mean_in, "rest": mean_out,
                         "customers_selected": inside_n, "customers_rest": rest_n})
