"""The demo business (insight.data.demo) as a snapshot of current AND former customers, with a planted time to
churn per segment, for survival models (`insight train ... --duration tenure_months`).

Like IBM Telco's table, every customer who signed up in the eight years before the snapshot
(demo.REFERENCE_DATE) is in it, whether still a customer or not. Signups grow over the years
(`GROWTH_PER_YEAR`), so recent ones are more common. Each customer has a time to churn T (months from
signup), drawn from a Weibull law whose shape and scale depend on the planted segment. Each segment's own
driver changes the scale through an accelerated-failure-time effect, as do a few mild global effects and a
little unobserved noise:

    scale_i = SCALE[segment] * exp(driver_i + global_i + noise_i),   S_i(t) = exp(-(t / scale_i) ** SHAPE[segment])

| segment        | shape | scale | median at 0 | S_seg median | driver (added to the log scale)                   |
|----------------|-------|-------|-------------|--------------|---------------------------------------------------|
| hobbyist       | 1.1   | 11    | 7.9         | 4.7          | + 0.05 per login over 8 (logins_30d), - 0.02 per  |
|                |       |       |             |              | day since the last login over 8                   |
| growing_studio | 1.3   | 48    | 36          | 32           | + 0.04 per project over 6 (projects_created_90d)  |
| enterprise     | 1.6   | 56    | 45          | 42           | + 0.25 x log(seats / 100); - 0.4 without          |
|                |       |       |             |              | auto-renew                                        |
| freelancer     | 1.2   | 22    | 16          | 9.0          | - 0.9 after a price increase without a discount   |
|                |       |       |             |              | of 10 % or more; - 0.2 per payment failure        |
| frustrated_pro | 1.2   | 22    | 16          | 6.4          | - 0.15 per support ticket over 4, - 0.3 per csat  |
|                |       |       |             |              | point under 3, - 0.005 per resolution hour over 60|
| student        | 3.5   | 19    | 17          | 17           | graduation: a steep law (shape 3.5) around a year |
|                |       |       |             |              | and a half; + 0.15 on annual billing              |

Scales and medians in months. "median at 0": scale x ln(2) ** (1 / shape), a member whose driver, global effects
and noise are all 0; "S_seg median": where the segment's marginal survival mean_i S_i(t) crosses 0.5 with the
drivers, global effects and noise as drawn (20,000 customers, seed 0; seeds 1 and 2 agree within 0.5 month).

Global effects on every segment: - 0.15 on monthly billing, - 0.2 without auto-renew, - 0.1 with a payment
failure; noise ~ Normal(0, 0.1). Each driver is clipped to [-1.5, 1.5].

Observation: months since signup A (signup_date = REFERENCE_DATE - A, in whole days of `DAYS_PER_MONTH`);
`tenure_months` = min(T, A) to 0.01 month and `churned` = Yes when T <= A (the customer left before the
snapshot), else No (censored: still a customer). The other inputs are the default demo's, describing the
customer's last months as a customer (for former customers, the months before they left, as in Telco).
Next year's targets follow the true T: a former customer has `revenue_next_12m` 0 and
`seat_change_next_12m` = -seats; a current one who leaves within 12 months (T <= A + 12) is drawn as a
churner by demo.next_year, the rest as stayers. No column is the churn date or another function of T
a real table would not have. About 42 % of the customers are censored (still customers at the snapshot).

`truth.csv`: customer_id, segment, weibull_shape, weibull_scale (months, the customer's own scale),
true_median_lifetime = scale_i * ln(2) ** (1 / shape) (months), time_to_churn (T, months, uncensored) and
months_since_signup (A). Same (rows, seed), same data. `true_survival` gives S_i(t) for checking curves.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from insight.data.demo import (ID_COLUMN, REFERENCE_DATE, SEGMENTS, TARGET, DemoData, add_mess, customer_frame,
                               draw_account, draw_customers, next_year)

log = logging.getLogger(__name__)

DURATION = "tenure_months"
DAYS_PER_MONTH = 30.4
WINDOW_MONTHS = 96.0
"""Signups over the eight years before the snapshot."""
GROWTH_PER_YEAR = 0.6
"""Signups grow 35 % a year: the signup month's density rises as exp(log(1.35) / 12 per month)."""
SHAPE = {"hobbyist": 1.1, "growing_studio": 1.3, "enterprise": 1.6, "freelancer": 1.2, "frustrated_pro": 1.2,
         "student": 3.5}
SCALE = {"hobbyist": 11.0, "growing_studio": 48.0, "enterprise": 56.0, "freelancer": 22.0, "frustrated_pro": 22.0,
         "student": 19.0}
"""Weibull scale in months at a driver of 0."""
NOISE_SD = 0.1
DRIVER_CLIP = 1.5


def months_since_signup(rng: np.random.Generator, n: int) -> np.ndarray:
    """A in (0, WINDOW_MONTHS]: signups growing GROWTH_PER_YEAR a year (recent ones more common), in whole days."""
    g = np.log1p(GROWTH_PER_YEAR) / 12
    u = rng.random(n)
    # the age a has density proportional to exp(-g a) on [0, W]: inverse of its distribution function
    age = -np.log1p(-u * -np.expm1(-g * WINDOW_MONTHS)) / g
    days = np.maximum(1, np.round(age * DAYS_PER_MONTH))
    return days / DAYS_PER_MONTH


def log_scale_effect(rng: np.random.Generator, seg: np.ndarray, d: dict[str, np.ndarray]) -> np.ndarray:
    """driver_i + global_i + noise_i of the module docstring (`d`: the profile's and the activity's arrays)."""
    n, is_ = len(seg), {name: seg == i for i, name in enumerate(SEGMENTS)}
    no_discount_rise = d["price_increase"] & (d["discount_pct"] < 10)
    csat = np.nan_to_num(d["csat"], nan=4.0)
    resolution = np.nan_to_num(d["resolution"], nan=60.0)
    drivers = {
        "hobbyist": 0.05 * (d["logins_30d"] - 8) - 0.02 * (d["last_login_days_ago"] - 8),
        "growing_studio": 0.04 * (d["projects_90d"] - 6),
        "enterprise": 0.25 * np.log(np.maximum(d["seats"], 1) / 100) - 0.4 * ~d["auto_renew"],
        "freelancer": -0.9 * no_discount_rise - 0.2 * d["payment_failures"],
        "frustrated_pro": (-0.15 * (d["tickets"] - 4) - 0.3 * np.clip(3 - csat, 0, None)
                           - 0.005 * np.clip(resolution - 60, 0, None)),
        "student": 0.15 * (d["billing"] == "annual"),
    }
    driver = np.zeros(n)
    for name, value in drivers.items():
        driver[is_[name]] = np.clip(np.asarray(value, dtype=float), -DRIVER_CLIP, DRIVER_CLIP)[is_[name]]
    common = -0.15 * (d["billing"] == "monthly") - 0.2 * ~d["auto_renew"] - 0.1 * (d["payment_failures"] > 0)
    return driver + common + rng.normal(0, NOISE_SD, n)


def true_survival(truth: pd.DataFrame, times: np.ndarray) -> np.ndarray:
    """S_i(t) = exp(-(t / scale_i) ** shape_i) per customer of `truth` (rows) and time in months (columns)."""
    t = np.asarray(times, dtype=float)[None, :]
    scale = truth["weibull_scale"].to_numpy(dtype=float)[:, None]
    shape = truth["weibull_shape"].to_numpy(dtype=float)[:, None]
    return np.exp(-((t / scale) ** shape))


def demo_survival_data(*, rows: int = 20_000, seed: int = 0) -> DemoData:
    """Generate `rows` current and former customers. The same (rows, seed) always gives the same data."""
    rng, seg, profile, activity = draw_customers(rows, seed)
    n = rows
    account = draw_account(rng, n)
    names = np.array(SEGMENTS)[seg]
    shape = np.array([SHAPE[s] for s in names])
    scale = np.array([SCALE[s] for s in names]) * np.exp(log_scale_effect(rng, seg, {**profile, **activity}))
    time_to_churn = scale * (-np.log(rng.random(n))) ** (1 / shape)
    observed = months_since_signup(rng, n)
    churned = time_to_churn <= observed
    profile = {**profile, "tenure_months": np.round(np.minimum(time_to_churn, observed), 2)}
    revenue, seat_change = next_year(rng, seg, profile, time_to_churn <= observed + 12)
    revenue = np.where(churned, 0.0, revenue)
    signup = REFERENCE_DATE - pd.to_timedelta(np.round(observed * DAYS_PER_MONTH), unit="D")
    customers = customer_frame([f"C{i:06d}" for i in range(1, n + 1)], signup.strftime("%Y-%m-%d"), profile,
                               activity, account, churned, revenue, seat_change)
    customers.insert(customers.columns.get_loc("signup_date") + 1, DURATION, profile["tenure_months"])
    add_mess(customers, rng)
    truth = pd.DataFrame({ID_COLUMN: customers[ID_COLUMN], "segment": names, "weibull_shape": shape,
                          "weibull_scale": np.round(scale, 6),
                          "true_median_lifetime": np.round(scale * np.log(2) ** (1 / shape), 6),
                          "time_to_churn": np.round(time_to_churn, 6),
                          "months_since_signup": np.round(observed, 6)})
    log.info("demo survival data: %d customers, %.1f%% left before the snapshot (%.1f%% censored)", n,
             100 * churned.mean(), 100 * (1 - churned.mean()))
    return DemoData(customers=customers, truth=truth)


def write_demo_survival_data(out_dir: Path, *, rows: int = 20_000, seed: int = 0) -> tuple[Path, Path]:
    """Write `customers.csv` and `truth.csv` into `out_dir`; return their paths."""
    data = demo_survival_data(rows=rows, seed=seed)
    out_dir.mkdir(parents=True, exist_ok=True)
    customers_path, truth_path = out_dir / "customers.csv", out_dir / "truth.csv"
    data.customers.to_csv(customers_path, index=False)
    data.truth.to_csv(truth_path, index=False)
    return customers_path, truth_path


__all__ = ["DURATION", "TARGET", "demo_survival_data", "true_survival", "write_demo_survival_data"]
