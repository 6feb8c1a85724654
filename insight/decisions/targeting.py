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


DEFAULT_SAVE_RATE = 0.30
"""The Targeting page's default share of contacted churners an offer keeps."""
DEFAULT_COST_SHARE = 0.10
"""The Targeting page's default cost of an offer, as a share of the value of a kept customer."""


def break_even_probability(economics: OfferEconomics) -> float:
    """The churn probability above which contacting a customer of the offer's fixed value pays:
    cost / (save rate x value); the best cut contacts exactly the customers above it (inf when nothing pays)."""
    gain = economics.save_rate * (economics.value_per_customer or 0.0)
    return economics.cost_per_contact / gain if gain > 0 else float("inf")


def default_threshold() -> float:
    """The break-even probability of the Targeting page's default offer (a cost of DEFAULT_COST_SHARE of the
    customer's value, DEFAULT_SAVE_RATE saved): 1/3, whatever the value."""
    return break_even_probability(OfferEconomics(cost_per_contact=DEFAULT_COST_SHARE, save_rate=DEFAULT_SAVE_RATE,
                                                 value_per_customer=1.0))


def customer_worth(value: np.ndarray | None, n: int, economics: OfferEconomics) -> np.ndarray:
    """What keeping each of `n` customers is worth: the offer's fixed value for everyone when it has one (or
    when there are no values), else each customer's own `value` with missing and negative values as 0."""
    if economics.value_per_customer is not None or value is None:
        return np.full(n, economics.value_per_customer or 0.0)
    return np.clip(np.nan_to_num(np.asarray(value, dtype=float)), 0, None)


def expected_benefit(probability: np.ndarray, worth: np.ndarray, economics: OfferEconomics) -> np.ndarray:
    """The expected net benefit of contacting each customer: probability x save rate x worth - cost."""
    return np.asarray(probability, dtype=float) * economics.save_rate * np.asarray(worth, dtype=float) \
        - economics.cost_per_contact


def benefit_curve(probability: np.ndarray, value: np.ndarray | None, economics: OfferEconomics) -> pd.DataFrame:
    """Expected net benefit after contacting the top 0..n customers (ranked by probability).

    Returns one row per k with columns: contacted, expected_saved, expected_value_saved, cost, net_benefit.
    """
    p = np.asarray(probability, dtype=float)
    order = np.argsort(-p, kind="stable")
    kept = customer_worth(None if value is None else np.asarray(value, dtype=float)[order], len(p), economics)
    saved = p[order] * economics.save_rate
    gains = np.concatenate([[0.0], np.cumsum(saved * kept)])
    contacted = np.arange(len(p) + 1)
    cost = contacted * economics.cost_per_contact
    return pd.DataFrame({"contacted": contacted, "expected_saved": np.concatenate([[0.0], np.cumsum(saved)]),
                         "expected_value_saved": gains, "cost": cost, "net_benefit": gains - cost})


def best_cut(curve: pd.DataFrame) -> int:
    """How many customers to contact for the largest expected net benefit (0 when no offer pays)."""
    return int(curve.loc[curve["net_benefit"].idxmax(), "contacted"])


def typical_value(values: np.ndarray | None, *, default: float = 100.0) -> float:
    """The mean of the customers' values (missing ones left out): the value a kept customer starts at;
    `default` when the run has no values."""
    if values is None:
        return default
    mean = pd.Series(np.asarray(values, dtype=float)).mean()
    return default if pd.isna(mean) else float(mean)


@dataclass(frozen=True)
class TargetPlan:
    """The benefit curve of an offer and the best cut on it."""

    curve: pd.DataFrame
    contacted: int
    """How many of the riskiest customers to contact (`best_cut`)."""
    customers: int

    @property
    def best(self) -> dict[str, float]:
        """The curve's row at the best cut: contacted, expected_saved, expected_value_saved, cost and
        net_benefit."""
        return {k: float(v) for k, v in self.curve.iloc[self.contacted].items()}

    @property
    def share(self) -> float:
        """The share of all customers contacted."""
        return self.contacted / max(1, self.customers)


def plan(probability: np.ndarray, value: np.ndarray | None, economics: OfferEconomics) -> TargetPlan:
    """`benefit_curve` and its `best_cut`."""
    curve = benefit_curve(probability, value, economics)
    return TargetPlan(curve=curve, contacted=best_cut(curve), customers=len(curve) - 1)
