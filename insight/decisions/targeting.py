"""Whom to contact: expected net benefit of a retention offer by how many of the top-ranked customers get it.

Customers are ranked one of three ways (`RANKINGS`); each customer contacted brings an expected value saved
(`gain`) and costs `cost`, customers are contacted in decreasing order of their gain, and the best cut is the
number contacted that maximises the expected net benefit, the sum of gain - cost over those contacted:

- by expected saving (the default, `RANK_BY_PROBABILITY`): gain = probability x save_rate x worth, where
  `save_rate` is the share of contacted churners the offer keeps and `worth` what a kept customer is worth.
  With one amount for everyone this is the order of the churn probability (the riskiest first); with each
  customer's own value it is the order of probability x value, which maximises the benefit (a likely leaver
  worth little can come after a less likely one worth much);
- by value at risk (runs with a survival model and a value per period, `RANK_BY_VALUE`): `value_at_risk` is the
  survival model's `value_lost_<H>`, value per period x (H - RMST(H)), the value a customer is expected to take
  away within the horizon H against staying. It is already an expectation over when (and whether) they leave,
  so no probability multiplies it: gain = save_rate x value_at_risk. The expected number of customers saved is
  then probability x save_rate with the probability of leaving within the same horizon (`churn_within_<H>`);
- by the offer's effect (runs trained with --treatment, `RANK_BY_UPLIFT`): `uplift` is the uplift model's
  estimated reduction in the customer's churn probability if offered, so gain = uplift x worth (no save rate:
  the uplift is the share saved, measured on a past campaign). A customer the offer would push to leave has a
  negative gain, and one in the sleeping-dog group (the interval lies below 0) is never contacted, whatever the
  figures. `uplift_plan(..., order_by=probability)` ranks the same customers by churn risk and values them the
  same way: what targeting the riskiest first would bring by the same estimates (the comparison the Targeting
  page draws).

Missing and negative values and values at risk count as 0; a missing uplift counts as no effect.
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
RANK_BY_PROBABILITY = "probability"
RANK_BY_VALUE = "value_at_risk"
RANK_BY_UPLIFT = "uplift"
RANKINGS = (RANK_BY_PROBABILITY, RANK_BY_VALUE, RANK_BY_UPLIFT)
"""How customers can be ranked for an offer: by expected saving (churn probability x value), by the value at risk
within a horizon, or by the offer's estimated effect (uplift) x value."""


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


def value_at_risk_worth(value_at_risk: np.ndarray) -> np.ndarray:
    """The values at risk as a kept customer's worth: missing and negative ones as 0."""
    return np.clip(np.nan_to_num(np.asarray(value_at_risk, dtype=float), nan=0.0, posinf=0.0, neginf=0.0),
                   0, None)


def value_benefit(value_at_risk: np.ndarray, economics: OfferEconomics) -> np.ndarray:
    """The expected net benefit of contacting each customer when ranking by value at risk:
    save rate x value at risk - cost (the value at risk is already an expectation over leaving)."""
    return economics.save_rate * value_at_risk_worth(value_at_risk) - economics.cost_per_contact


def ranking_order(probability: np.ndarray, value_at_risk: np.ndarray | None = None) -> np.ndarray:
    """Positions of the customers in contact order: by probability, or by value at risk when given (the
    largest first; ties keep the input order)."""
    score = np.asarray(probability, dtype=float) if value_at_risk is None else value_at_risk_worth(value_at_risk)
    return np.argsort(-score, kind="stable")


def gain_order(gain: np.ndarray, *then: np.ndarray) -> np.ndarray:
    """Positions in decreasing order of `gain`, ties broken by each of `then` (decreasing), then by the input
    order. Missing figures count as the lowest."""
    keys = [np.nan_to_num(-np.asarray(k, dtype=float), nan=np.inf) for k in (gain, *then)]
    return np.lexsort(tuple(reversed(keys)))


def ranked_curve(order: np.ndarray, saved: np.ndarray, gain: np.ndarray, economics: OfferEconomics) -> pd.DataFrame:
    """The benefit curve when the customers are contacted in `order`, each bringing `saved` expected customers
    kept and `gain` expected value: one row per k = 0..n with contacted, expected_saved, expected_value_saved,
    cost and net_benefit."""
    saved, gain = (np.nan_to_num(np.asarray(a, dtype=float))[order] for a in (saved, gain))
    contacted = np.arange(len(order) + 1)
    cost = contacted * economics.cost_per_contact
    gains = np.concatenate([[0.0], np.cumsum(gain)])
    return pd.DataFrame({"contacted": contacted, "expected_saved": np.concatenate([[0.0], np.cumsum(saved)]),
                         "expected_value_saved": gains, "cost": cost, "net_benefit": gains - cost})


def benefit_curve(probability: np.ndarray, value: np.ndarray | None, economics: OfferEconomics, *,
                  value_at_risk: np.ndarray | None = None) -> pd.DataFrame:
    """Expected net benefit after contacting the top 0..n customers: ranked by expected saving, or by
    `value_at_risk` when given (then `value` must be None: the value at risk is what a kept customer is worth,
    and `probability`, the chance of leaving within its horizon, only counts the customers saved).

    Returns one row per k with columns: contacted, expected_saved, expected_value_saved, cost, net_benefit.
    """
    return _ranked(probability, value, economics, value_at_risk)[0]


def _ranked(probability: np.ndarray, value: np.ndarray | None, economics: OfferEconomics,
            value_at_risk: np.ndarray | None) -> tuple[pd.DataFrame, np.ndarray]:
    """`benefit_curve` and its contact order."""
    p = np.nan_to_num(np.asarray(probability, dtype=float))
    if value_at_risk is not None:
        if value is not None:
            raise ValueError("ranking by value at risk values each customer by it: give value=None")
        at_risk = value_at_risk_worth(value_at_risk)
        if len(at_risk) != len(p):
            raise ValueError("probability and value_at_risk need one value per customer")
        order = ranking_order(p, at_risk)
        return ranked_curve(order, p * economics.save_rate, economics.save_rate * at_risk, economics), order
    worth = customer_worth(value, len(p), economics)
    saved = p * economics.save_rate
    order = gain_order(saved * worth, p)
    return ranked_curve(order, saved, saved * worth, economics), order


def uplift_benefit(uplift: np.ndarray, worth: np.ndarray, economics: OfferEconomics) -> np.ndarray:
    """The expected net benefit of offering each customer when the offer's effect is estimated:
    uplift x worth - cost (a missing uplift as no effect)."""
    return np.nan_to_num(np.asarray(uplift, dtype=float)) * np.asarray(worth, dtype=float) - economics.cost_per_contact


def best_cut(curve: pd.DataFrame, *, at_most: int | None = None) -> int:
    """How many customers to contact for the largest expected net benefit (0 when no offer pays; the fewest
    of equally good cuts), contacting `at_most` customers when given."""
    net = curve["net_benefit"] if at_most is None else curve["net_benefit"].iloc[:at_most + 1]
    return int(curve.loc[net.idxmax(), "contacted"])


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
    """How many of the top-ranked customers to contact (`best_cut`)."""
    customers: int
    rank_by: str = RANK_BY_PROBABILITY
    """How the customers were ranked (one of `RANKINGS`)."""
    order: np.ndarray | None = None
    """The customers' positions (in the figures given to `plan`) in contact order."""

    @property
    def best(self) -> dict[str, float]:
        """The curve's row at the best cut: contacted, expected_saved, expected_value_saved, cost and
        net_benefit."""
        return {k: float(v) for k, v in self.curve.iloc[self.contacted].items()}

    @property
    def share(self) -> float:
        """The share of all customers contacted."""
        return self.contacted / max(1, self.customers)


def plan(probability: np.ndarray, value: np.ndarray | None, economics: OfferEconomics, *,
         value_at_risk: np.ndarray | None = None) -> TargetPlan:
    """`benefit_curve` (ranked by value at risk when `value_at_risk` is given) and its `best_cut`."""
    curve, order = _ranked(probability, value, economics, value_at_risk)
    rank_by = RANK_BY_PROBABILITY if value_at_risk is None else RANK_BY_VALUE
    return TargetPlan(curve=curve, contacted=best_cut(curve), customers=len(curve) - 1, rank_by=rank_by,
                      order=order)


def uplift_plan(uplift: np.ndarray, value: np.ndarray | None, economics: OfferEconomics, *,
                sleeping_dog: np.ndarray | None = None, order_by: np.ndarray | None = None,
                lower: np.ndarray | None = None) -> TargetPlan:
    """The offer's benefit curve and best cut when each customer is worth uplift x worth (module docstring):
    ranked by that expected incremental value, customers flagged `sleeping_dog` last and never within the cut;
    with `lower` (the interval's lower ends) only customers the offer is shown to move (lower > 0) are listed.
    With `order_by` (the churn probability) the customers are ranked by it instead, valued the same way, and the
    cut is that ranking's own best (sleeping dogs included: that ranking does not know them)."""
    tau = np.nan_to_num(np.asarray(uplift, dtype=float))
    worth = customer_worth(value, len(tau), economics)
    gain = tau * worth
    if order_by is not None:
        order = gain_order(np.asarray(order_by, dtype=float))
        curve = ranked_curve(order, tau, gain, economics)
        return TargetPlan(curve=curve, contacted=best_cut(curve), customers=len(tau), rank_by=RANK_BY_PROBABILITY,
                          order=order)
    dog = np.zeros(len(tau), dtype=bool) if sleeping_dog is None else np.asarray(sleeping_dog, dtype=bool)
    if lower is not None:
        dog = dog | ~(np.nan_to_num(np.asarray(lower, dtype=float)) > 0)
    order = gain_order((~dog).astype(float), gain, tau)
    curve = ranked_curve(order, tau, gain, economics)
    return TargetPlan(curve=curve, contacted=best_cut(curve, at_most=int((~dog).sum())), customers=len(tau),
                      rank_by=RANK_BY_UPLIFT, order=order)
