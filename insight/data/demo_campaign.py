"""A past randomised retention campaign on the demo business (insight.data.demo, or the survival snapshot of
insight.data.demo_survival), for uplift models (`insight demo-data --campaign`).

Each customer got the retention offer (`retention_offer` = 1 in customers.csv) with probability
`OFFER_SHARE`, independently of everything else (a randomised campaign with a control group). The offer
shifts the customer's churn log-odds by `delta_i` (negative: the offer keeps them): the planted response
group below sets delta, and an unobserved per-customer factor exp(Normal(0, 0.2)) scales it. The rules are
checked top to bottom; the first that matches sets the group. Shares and mean true uplift on the default
demo, 20,000 customers, seed 0:

| group               | rule (customers.csv's columns, the planted segment)   | delta_i                  | share | uplift |
|---------------------|-------------------------------------------------------|--------------------------|-------|--------|
| sleeping_dog        | auto_renew Yes, logins_30d <= 6, not an enterprise:   | + 0.5, + 0.15 per login  | 7.7 % | - 0.15 |
|                     | the reminder shows a rarely used subscription         | under 6                  |       |        |
| price_persuadable   | freelancer, price_increase_notice, discount_pct < 10  | - 2.0                    | 4.9 % | + 0.43 |
| support_persuadable | frustrated_pro with a support ticket: the offer's     | - 0.2 per support ticket | 15 %  | + 0.17 |
|                     | support call answers part of it                       | (at most 8 counted)      |       |        |
| lost_cause          | hobbyist whose last login is over 21 days ago         | 0                        | 4.1 % | 0      |
| mild_responder      | other freelancers and hobbyists: a welcome discount   | - 0.4                    | 28 %  | + 0.06 |
| sure_thing          | enterprise and growing_studio: they stay anyway       | 0                        | 22 %  | 0      |
| unmoved             | the rest: students (graduation is their reason), pros | 0                        | 19 %  | 0      |
|                     | without a ticket                                      |                          |       |        |

"uplift": the group's mean true uplift.
(the shares and uplifts: `python -c "from insight.data.demo_campaign import describe; print(describe())"`.)

Default demo: P(churn | not treated) = the demo's churn_probability p0; P(churn | treated) =
sigmoid(logit(p0) + delta_i). Survival demo: the offer multiplies the customer's hazard by exp(delta_i),
so the time to churn becomes T1 = T0 * exp(-delta_i / shape) (the same uniform draw) and the Weibull scale
scale * exp(-delta_i / shape); a churn probability there is that of leaving before the snapshot,
1 - S_i(months_since_signup).

Outcomes stay the demo's own where the offer changes nothing: control customers keep every value; a treated
customer's `churned` is coupled to the untreated draw (kept with probability p1 / p0 when the offer helps,
added with probability (p1 - p0) / (1 - p0) when it harms; on the survival demo T1 decides), and
`revenue_next_12m` / `seat_change_next_12m` are drawn again by demo.next_year only for customers whose
outcome changed (survival: tenure_months = min(T1, months_since_signup) as well).

truth.csv gains `campaign_group`, `churn_probability_control`, `churn_probability_treated` and `uplift` =
control - treated (positive: the offer helps); on the default demo `churn_probability` is that of the arm
the customer was in; on the survival demo `weibull_scale`, `true_median_lifetime` and `time_to_churn` are
the customer's realised (treated or not) law. The campaign's draws come from their own stream
(numpy's default_rng([seed, CAMPAIGN_STREAM])), so the demo's own draws and the default demos are
unchanged. Same (rows, seed), same data.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from insight.data.demo import ID_COLUMN, PRICE_PER_SEAT, SEGMENTS, TARGET, DemoData, demo_data, next_year

log = logging.getLogger(__name__)

TREATMENT = "retention_offer"
OFFER_SHARE = 0.5
CAMPAIGN_STREAM = 17
"""The campaign's random stream: default_rng([seed, CAMPAIGN_STREAM]), apart from the demo's own."""
HETEROGENEITY_SD = 0.2
GROUPS = ("sleeping_dog", "price_persuadable", "support_persuadable", "lost_cause", "mild_responder",
          "sure_thing", "unmoved")
TRUTH_COLUMNS = ("campaign_group", "churn_probability_control", "churn_probability_treated", "uplift")


def planted_response(customers: pd.DataFrame, segment: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Each customer's response group (the docstring's rules, in order) and delta before the unobserved factor."""
    seg = segment.to_numpy()
    logins = pd.to_numeric(customers["logins_30d"], errors="coerce").to_numpy(dtype=float)
    rarely = np.nan_to_num(logins, nan=np.inf) <= 6
    auto_renew = (customers["auto_renew"] == "Yes").to_numpy()
    price_rise = customers["price_increase_notice"].astype(bool).to_numpy()
    no_discount = customers["discount_pct"].to_numpy(dtype=float) < 10
    tickets = np.minimum(customers["support_tickets_90d"].to_numpy(dtype=float), 8)
    away = customers["last_login_days_ago"].to_numpy(dtype=float) > 21
    rules = [
        ("sleeping_dog", auto_renew & rarely & (seg != "enterprise"),
         0.5 + 0.15 * (6 - np.where(rarely, logins, 6))),
        ("price_persuadable", (seg == "freelancer") & price_rise & no_discount, np.full(len(seg), -2.0)),
        ("support_persuadable", (seg == "frustrated_pro") & (tickets >= 1), -0.2 * tickets),
        ("lost_cause", (seg == "hobbyist") & away, np.zeros(len(seg))),
        ("mild_responder", (seg == "freelancer") | (seg == "hobbyist"), np.full(len(seg), -0.4)),
        ("sure_thing", (seg == "enterprise") | (seg == "growing_studio"), np.zeros(len(seg))),
        ("unmoved", np.ones(len(seg), dtype=bool), np.zeros(len(seg))),
    ]
    group = np.full(len(seg), "", dtype=object)
    delta = np.zeros(len(seg))
    for name, mask, value in rules:
        take = mask & (group == "")
        group[take] = name
        delta[take] = value[take]
    return group, delta


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-x))


def _numeric_fee(customers: pd.DataFrame) -> np.ndarray:
    """The monthly fee as numbers; the few blank exports filled from the plan's list price."""
    fee = pd.to_numeric(customers["monthly_fee"], errors="coerce").to_numpy(dtype=float)
    list_price = (customers["plan"].map(PRICE_PER_SEAT).to_numpy(dtype=float) * customers["seats"].to_numpy()
                  * (1 - customers["discount_pct"].to_numpy(dtype=float) / 100)
                  * np.where(customers["billing_cycle"] == "annual", 0.85, 1.0))
    return np.where(np.isnan(fee), list_price, fee)


def _next_year_again(rng: np.random.Generator, customers: pd.DataFrame, seg: np.ndarray, leaves: np.ndarray,
                     redraw: np.ndarray) -> None:
    """Draw revenue_next_12m and seat_change_next_12m again (demo.next_year) for the `redraw` rows, in place."""
    profile = {"seats": customers["seats"].to_numpy(), "billing": customers["billing_cycle"].to_numpy(),
               "monthly_fee": _numeric_fee(customers)}
    revenue, seat_change = next_year(rng, seg, profile, leaves)
    customers.loc[redraw, "revenue_next_12m"] = revenue[redraw]
    customers.loc[redraw, "seat_change_next_12m"] = seat_change[redraw]


def add_campaign(data: DemoData, *, seed: int = 0, share: float = OFFER_SHARE) -> DemoData:
    """The demo (or survival demo) `data` with a past randomised retention campaign (the module docstring)."""
    if not 0 < share < 1:
        raise ValueError("the offer's share must be between 0 and 1")
    customers, truth = data.customers.copy(), data.truth.copy()
    if customers[ID_COLUMN].tolist() != truth[ID_COLUMN].tolist():
        raise ValueError("customers and truth must list the same customers in the same order")
    rng = np.random.default_rng([seed, CAMPAIGN_STREAM])
    n = len(customers)
    treated = rng.random(n) < share
    group, delta = planted_response(customers, truth["segment"])
    delta = delta * np.exp(rng.normal(0, HETEROGENEITY_SD, n))
    u = rng.random(n)
    seg = pd.Categorical(truth["segment"], categories=SEGMENTS).codes.astype(int)
    churned = (customers[TARGET] == "Yes").to_numpy()
    if "time_to_churn" in truth.columns:
        p0, p1 = _survival_arms(customers, truth, treated, delta, rng, seg)
    else:
        p0 = truth["churn_probability"].to_numpy(dtype=float)
        p1 = _sigmoid(np.log(p0 / (1 - p0)) + delta)
        helps = p1 <= p0
        keep = u < np.where(helps, p1 / np.maximum(p0, 1e-12), 1.0)
        add = u < np.where(helps, 0.0, (p1 - p0) / np.maximum(1 - p0, 1e-12))
        now = np.where(treated, np.where(helps, churned & keep, churned | add), churned)
        _next_year_again(rng, customers, seg, now, now != churned)
        customers[TARGET] = np.where(now, "Yes", "No")
        truth["churn_probability"] = np.round(np.where(treated, p1, p0), 6)
    customers.insert(customers.columns.get_loc(TARGET), TREATMENT, treated.astype(int))
    truth["campaign_group"] = group
    truth["churn_probability_control"] = np.round(p0, 6)
    truth["churn_probability_treated"] = np.round(p1, 6)
    truth["uplift"] = np.round(p0, 6) - np.round(p1, 6)
    log.info("demo campaign: %d of %d customers offered; churn %.1f%% treated, %.1f%% control", treated.sum(), n,
             100 * (customers.loc[treated, TARGET] == "Yes").mean(),
             100 * (customers.loc[~treated, TARGET] == "Yes").mean())
    return DemoData(customers=customers, truth=truth)


def _survival_arms(customers: pd.DataFrame, truth: pd.DataFrame, treated: np.ndarray, delta: np.ndarray,
                   rng: np.random.Generator, seg: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The survival demo's campaign, in place: the hazard times exp(delta) for the treated; P(left by the
    snapshot) without and with the offer."""
    shape = truth["weibull_shape"].to_numpy(dtype=float)
    scale0 = truth["weibull_scale"].to_numpy(dtype=float)
    t0 = truth["time_to_churn"].to_numpy(dtype=float)
    age = truth["months_since_signup"].to_numpy(dtype=float)
    stretch = np.exp(-delta / shape)
    p0 = 1 - np.exp(-((age / scale0) ** shape))
    p1 = 1 - np.exp(-((age / (scale0 * stretch)) ** shape))
    t = np.where(treated, t0 * stretch, t0)
    changed = treated & (delta != 0)
    left = (customers[TARGET] == "Yes").to_numpy()
    now = np.where(changed, t <= age, left)
    within_year = t <= age + 12
    _next_year_again(rng, customers, seg, within_year, changed & ((now != left) | (within_year != (t0 <= age + 12))))
    customers[TARGET] = np.where(now, "Yes", "No")
    customers.loc[now, "revenue_next_12m"] = 0.0
    tenure = customers["tenure_months"].to_numpy(dtype=float)
    customers["tenure_months"] = np.where(changed, np.round(np.minimum(t, age), 2), tenure)
    scale = np.where(treated, scale0 * stretch, scale0)
    truth["weibull_scale"] = np.round(scale, 6)
    truth["true_median_lifetime"] = np.round(scale * np.log(2) ** (1 / shape), 6)
    truth["time_to_churn"] = np.round(t, 6)
    return p0, p1


def demo_campaign_data(*, rows: int = 20_000, seed: int = 0, survival: bool = False,
                       share: float = OFFER_SHARE) -> DemoData:
    """The default (or, with `survival`, the survival) demo of (rows, seed) with its past retention campaign."""
    if survival:
        from insight.data.demo_survival import demo_survival_data

        return add_campaign(demo_survival_data(rows=rows, seed=seed), seed=seed, share=share)
    return add_campaign(demo_data(rows=rows, seed=seed), seed=seed, share=share)


def write_demo_campaign_data(out_dir: Path, *, rows: int = 20_000, seed: int = 0,
                             survival: bool = False) -> tuple[Path, Path]:
    """Write `customers.csv` and `truth.csv` into `out_dir`; return their paths."""
    data = demo_campaign_data(rows=rows, seed=seed, survival=survival)
    out_dir.mkdir(parents=True, exist_ok=True)
    customers_path, truth_path = out_dir / "customers.csv", out_dir / "truth.csv"
    data.customers.to_csv(customers_path, index=False)
    data.truth.to_csv(truth_path, index=False)
    return customers_path, truth_path


def describe(*, rows: int = 20_000, seed: int = 0, survival: bool = False) -> pd.DataFrame:
    """Per planted response group: share, mean true uplift and realised churn treated vs control (logged)."""
    data = demo_campaign_data(rows=rows, seed=seed, survival=survival)
    frame = pd.DataFrame({"group": data.truth["campaign_group"], "uplift": data.truth["uplift"],
                          "treated": data.customers[TREATMENT] == 1,
                          "churned": data.customers[TARGET] == "Yes"})
    table = frame.groupby("group").agg(share=("uplift", lambda s: len(s) / len(frame)), uplift=("uplift", "mean"))
    rates = frame.groupby(["group", "treated"])["churned"].mean().unstack()
    table["churn_treated"], table["churn_control"] = rates[True], rates[False]
    log.info("demo campaign groups:\n%s", table.round(3).to_string())
    return table.loc[[g for g in GROUPS if g in table.index]]
