"""Whom to contact: expected net benefit of a retention offer by how many of the riskiest customers get it.

For the top-k customers by churn probability, the expected benefit is
    sum over them of  probability x save_rate x value  -  k x cost,
where `save_rate` is the share of contacted churners the offer keeps and `value` what a kept customer is
worth. The best cut maximises it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class OfferEconomics:
    cost_per_contact: float
    save_rate: float
    value_per_customer: float | None = None
    """A fixed value of a kept customer; None to use each customer's own value."""

    def __post_init__(self) -> None:
        if self.cost_per_contact < 0:
            raise ValueError("the cost of an offer cannot be negative")
        if not 0 <= self.save_rate <= 1:
            raise ValueError("the save rate is a share between 0 and 1")


def benefit_curve(probability: np.ndarray, value: np.ndarray | None, economics: OfferEconomics) -> pd.DataFrame:
    """Expected net benefit after contacting the top 0..n customers (ranked by probability).

    Returns one row per k with columns: contacted, expected_saved, expected_value_saved, cost, net_benefit.
    """
    p = np.asarray(probability, dtype=float)
    order = np.argsort(-p, kind="stable")
    if economics.value_per_customer is not None or value is None:
        worth = np.full(len(p), economics.value_per_customer or 0.0)
    else:
        worth = np.clip(np.nan_to_num(np.asarray(value, dtype=float)[order]), 0, None)
    saved = p[order] * economics.save_rate
    gains = np.concatenate([[0.0], np.cumsum(saved * worth)])
    contacted = np.arange(len(p) + 1)
    cost = contacted * economics.cost_per_contact
    return pd.DataFrame({"contacted": contacted, "expected_saved": np.concatenate([[0.0], np.cumsum(saved)]),
                         "expected_value_saved": gains, "cost": cost, "net_benefit": gains - cost})


def best_cut(curve: pd.DataFrame) -> int:
    """How many customers to contact for the largest expected net benefit (0 when no offer pays)."""
    return int(curve.loc[curve["net_benefit"].idxmax(), "contacted"])
