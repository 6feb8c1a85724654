"""Synthetic customers of a creative-software subscription business, with planted segments and known
churn drivers.

Think seats of a game engine and its tools, sold per seat on monthly or annual plans. Six segments behave
differently; each has its own reason to churn:

- hobbyists drift away: churn rises as they stop logging in;
- growing studios add seats and rarely churn;
- steady enterprises buy hundreds of seats on annual invoices and almost never churn;
- price-sensitive freelancers leave after a price increase when they have no discount;
- support-frustrated professionals leave after many tickets, slow resolutions and poor satisfaction;
- students leave at graduation, about a year or two after signing up.

`customers.csv` holds the inputs and three targets (`churned`, `revenue_next_12m`,
`seat_change_next_12m`); `truth.csv` holds each customer's planted `segment` and true
`churn_probability`, for checking what the models recover. Same seed, same data.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from insight.config import DataSpec

log = logging.getLogger(__name__)

REFERENCE_DATE = pd.Timestamp("2026-06-30")
ID_COLUMN = "customer_id"
TARGET = "churned"
AUX_TARGETS = ("revenue_next_12m", "seat_change_next_12m")
ACTIONABLE = ("billing_cycle", "discount_pct", "auto_renew", "support_tickets_90d", "avg_resolution_hours",
              "plan")

SEGMENTS = ("hobbyist", "growing_studio", "enterprise", "freelancer", "frustrated_pro", "student")
SHARES = np.array([0.21, 0.14, 0.08, 0.22, 0.15, 0.20])
PRICE_PER_SEAT = {"Personal": 15.0, "Pro": 45.0, "Studio": 75.0, "Enterprise": 95.0, "Education": 9.0}


@dataclass(frozen=True)
class DemoData:
    customers: pd.DataFrame
    truth: pd.DataFrame


def demo_data(*, rows: int = 20_000, seed: int = 0) -> DemoData:
    """Generate `rows` customers. The same (rows, seed) always gives the same data."""
    rng, seg, profile, activity = draw_customers(rows, seed)
    n = rows
    churn_probability = 1 / (1 + np.exp(-churn_logit(rng, seg, {**profile, **activity})))
    churned = rng.random(n) < churn_probability
    revenue, seat_change = next_year(rng, seg, profile, churned)
    signup = REFERENCE_DATE - pd.to_timedelta(np.round(profile["tenure_months"] * 30.4), unit="D")
    customers = customer_frame([f"C{i:06d}" for i in range(1, n + 1)], signup.strftime("%Y-%m-%d"), profile,
                               activity, draw_account(rng, n), churned, revenue, seat_change)
    add_mess(customers, rng)
    truth = pd.DataFrame({ID_COLUMN: customers[ID_COLUMN], "segment": np.array(SEGMENTS)[seg],
                          "churn_probability": np.round(churn_probability, 6)})
    log.info("demo data: %d customers, churn rate %.1f%%", n, 100 * churned.mean())
    return DemoData(customers=customers, truth=truth)


# The generator's pieces, each drawing from `rng` in a fixed order (the same seed gives the same data);
# insight.data.demo_history draws months of snapshots with them. `seg` holds each customer's index into
# SEGMENTS.

def draw_customers(rows: int, seed: int) -> tuple[np.random.Generator, np.ndarray, dict[str, np.ndarray],
                                                  dict[str, np.ndarray]]:
    """The first draws of every demo (this one, insight.data.demo_survival): the generator of `seed`, each
    customer's planted segment, profile and activity, in that order (the generator goes on from there)."""
    if rows < 100:
        raise ValueError("demo data needs at least 100 rows")
    rng = np.random.default_rng(seed)
    seg = rng.choice(len(SEGMENTS), size=rows, p=SHARES / SHARES.sum())
    profile = draw_profile(rng, seg)
    engagement = draw_engagement(rng, seg)
    return rng, seg, profile, draw_activity(rng, seg, engagement, profile["seats"])


def _masks(seg: np.ndarray) -> dict[str, np.ndarray]:
    return {name: seg == i for i, name in enumerate(SEGMENTS)}


def _pick(rng: np.random.Generator, is_: dict[str, np.ndarray], options: dict[str, list[float]],
          values: list[str]) -> np.ndarray:
    """Draw one of `values` per customer with segment-specific probabilities."""
    out = np.empty(len(next(iter(is_.values()))), dtype=object)
    for name, probs in options.items():
        mask = is_[name]
        p = np.asarray(probs, dtype=float)
        out[mask] = rng.choice(values, size=int(mask.sum()), p=p / p.sum())
    return out


def _per_segment(is_: dict[str, np.ndarray], draw: dict[str, object]) -> np.ndarray:
    """Evaluate a segment-specific sampler (a callable of size) for every customer."""
    out = np.zeros(len(next(iter(is_.values()))), dtype=float)
    for name, fn in draw.items():
        mask = is_[name]
        out[mask] = fn(int(mask.sum()))  # type: ignore[operator]
    return out


def draw_profile(rng: np.random.Generator, seg: np.ndarray) -> dict[str, np.ndarray]:
    """Tenure, plan, billing, seats, discount, fee, company, industry, OS, payment and referral."""
    n, is_ = len(seg), _masks(seg)

    def pick(options: dict[str, list[float]], values: list[str]) -> np.ndarray:
        return _pick(rng, is_, options, values)

    def per_segment(draw: dict[str, object]) -> np.ndarray:
        return _per_segment(is_, draw)

    tenure_months = per_segment({
        "hobbyist": lambda k: rng.gamma(2.0, 7.0, k),
        "growing_studio": lambda k: rng.gamma(3.0, 9.0, k),
        "enterprise": lambda k: 18 + rng.gamma(3.0, 14.0, k),
        "freelancer": lambda k: rng.gamma(2.2, 9.0, k),
        "frustrated_pro": lambda k: rng.gamma(2.5, 10.0, k),
        "student": lambda k: rng.uniform(0.5, 30, k),
    }).clip(0.3, 120)
    plans = ["Personal", "Pro", "Studio", "Enterprise", "Education"]
    plan = pick({"hobbyist": [88, 12, 0, 0, 0], "growing_studio": [0, 15, 85, 0, 0],
                 "enterprise": [0, 0, 8, 92, 0], "freelancer": [10, 90, 0, 0, 0],
                 "frustrated_pro": [0, 62, 38, 0, 0], "student": [6, 0, 0, 0, 94]}, plans)
    billing = pick({"hobbyist": [85, 15], "growing_studio": [45, 55], "enterprise": [4, 96],
                    "freelancer": [80, 20], "frustrated_pro": [55, 45], "student": [25, 75]},
                   ["monthly", "annual"])
    seats = per_segment({
        "hobbyist": lambda k: 1 + (rng.random(k) < 0.05),
        "growing_studio": lambda k: np.round(rng.lognormal(2.0, 0.5, k)).clip(3, 60),
        "enterprise": lambda k: np.round(rng.lognormal(4.6, 0.7, k)).clip(25, 2000),
        "freelancer": lambda k: 1 + (rng.random(k) < 0.1),
        "frustrated_pro": lambda k: np.round(rng.lognormal(1.0, 0.6, k)).clip(1, 20),
        "student": lambda k: np.ones(k),
    }).astype(int)
    discount_pct = per_segment({
        "hobbyist": lambda k: np.where(rng.random(k) < 0.15, 10.0, 0.0),
        "growing_studio": lambda k: np.where(rng.random(k) < 0.4, rng.choice([10, 15, 20], k), 0),
        "enterprise": lambda k: rng.choice([15, 20, 25, 30], k),
        "freelancer": lambda k: np.where(rng.random(k) < 0.35, rng.choice([20, 30, 40], k), 0),
        "frustrated_pro": lambda k: np.where(rng.random(k) < 0.2, 10.0, 0.0),
        "student": lambda k: rng.choice([50, 60, 70], k),
    })
    price = np.array([PRICE_PER_SEAT[p] for p in plan])
    annual_factor = np.where(billing == "annual", 0.85, 1.0)
    monthly_fee = np.round(price * seats * (1 - discount_pct / 100) * annual_factor
                           * rng.normal(1.0, 0.03, n), 2).clip(0, None)

    company_size = pick({"hobbyist": [97, 3, 0, 0, 0], "growing_studio": [0, 55, 40, 5, 0],
                         "enterprise": [0, 0, 5, 30, 65], "freelancer": [92, 8, 0, 0, 0],
                         "frustrated_pro": [30, 50, 17, 3, 0], "student": [95, 5, 0, 0, 0]},
                        ["solo", "2-10", "11-50", "51-200", "200+"])
    industries = ["games", "film_animation", "architecture", "automotive", "advertising", "education", "none"]
    industry = pick({"hobbyist": [35, 5, 2, 1, 2, 0, 55], "growing_studio": [60, 20, 8, 4, 8, 0, 0],
                     "enterprise": [30, 20, 20, 25, 5, 0, 0], "freelancer": [25, 25, 15, 3, 32, 0, 0],
                     "frustrated_pro": [40, 20, 20, 10, 10, 0, 0], "student": [15, 5, 3, 0, 0, 72, 5]},
                    industries)
    primary_os = pick({"hobbyist": [70, 20, 10], "growing_studio": [65, 25, 10], "enterprise": [75, 15, 10],
                       "freelancer": [45, 50, 5], "frustrated_pro": [55, 35, 10], "student": [60, 35, 5]},
                      ["Windows", "macOS", "Linux"])
    payment_method = pick({"hobbyist": [60, 35, 0, 5], "growing_studio": [50, 10, 25, 15],
                           "enterprise": [5, 0, 80, 15], "freelancer": [55, 40, 0, 5],
                           "frustrated_pro": [60, 15, 15, 10], "student": [55, 40, 0, 5]},
                          ["card", "paypal", "invoice", "bank_transfer"])
    referral = pick({"hobbyist": [45, 30, 5, 0, 0, 20], "growing_studio": [30, 15, 20, 0, 15, 20],
                     "enterprise": [10, 0, 25, 0, 60, 5], "freelancer": [40, 30, 10, 0, 0, 20],
                     "frustrated_pro": [35, 20, 15, 0, 10, 20], "student": [10, 5, 0, 80, 0, 5]},
                    ["organic", "paid_ads", "partner", "education_program", "sales", "word_of_mouth"])
    return {"tenure_months": tenure_months, "plan": plan, "billing": billing, "seats": seats,
            "discount_pct": discount_pct, "monthly_fee": monthly_fee, "company_size": company_size,
            "industry": industry, "primary_os": primary_os, "payment_method": payment_method, "referral": referral}


def draw_engagement(rng: np.random.Generator, seg: np.ndarray) -> np.ndarray:
    """A latent activity level in (0, 1) per customer."""
    is_ = _masks(seg)

    def per_segment(draw: dict[str, object]) -> np.ndarray:
        return _per_segment(is_, draw)

    return per_segment({
        "hobbyist": lambda k: rng.beta(1.3, 4.0, k),
        "growing_studio": lambda k: rng.beta(6, 2.5, k),
        "enterprise": lambda k: rng.beta(5, 3, k),
        "freelancer": lambda k: rng.beta(5, 3, k),
        "frustrated_pro": lambda k: rng.beta(4, 3.5, k),
        "student": lambda k: rng.beta(3, 3, k),
    })


def draw_activity(rng: np.random.Generator, seg: np.ndarray, engagement: np.ndarray,
                  seats: np.ndarray) -> dict[str, np.ndarray]:
    """Usage, storage, purchases, renewal, price notice, support and satisfaction, given `engagement`."""
    n, is_ = len(seg), _masks(seg)
    logins_30d = rng.poisson(1 + 28 * engagement)
    active_days_90d = np.minimum(90, rng.poisson(2 + 70 * engagement))
    last_login_days_ago = np.round(rng.exponential(1 + 40 * (1 - engagement) ** 3)).astype(int)
    projects_90d = rng.poisson(np.where(is_["growing_studio"] | is_["enterprise"], 6, 2) * (0.3 + engagement))
    builds_90d = rng.poisson(np.where(is_["hobbyist"] | is_["student"], 1.5, 12) * (0.2 + engagement))
    collaborators = np.round(np.where(seats > 1, seats * rng.uniform(0.6, 1.6, n), rng.poisson(0.3, n)))
    storage_gb = np.round(rng.lognormal(np.log(5 + 3 * seats) + engagement, 0.6), 1)
    marketplace = rng.poisson(np.select([is_["hobbyist"], is_["student"], is_["freelancer"]], [1.2, 0.6, 4.0], 2.5))
    version_control = rng.random(n) < np.select([is_["hobbyist"], is_["student"]], [0.15, 0.35], 0.8)
    auto_renew = rng.random(n) < np.select([is_["enterprise"], is_["hobbyist"], is_["freelancer"]],
                                           [0.95, 0.55, 0.6], 0.75)
    price_increase = rng.random(n) < np.where(is_["student"] | is_["enterprise"], 0.05, 0.35)

    tickets = rng.poisson(np.select([is_["frustrated_pro"], is_["enterprise"], is_["growing_studio"]],
                                    [5.5, 2.5, 1.0], 0.35))
    resolution = np.where(is_["frustrated_pro"], rng.lognormal(np.log(70), 0.45, n), rng.lognormal(np.log(14), 0.5, n))
    resolution = np.where(tickets > 0, np.round(resolution, 1), np.nan)
    csat_mean = np.where(is_["frustrated_pro"], 2.0, 4.2) - 0.01 * np.nan_to_num(resolution - 20)
    csat = np.where(tickets > 0, np.round(rng.normal(csat_mean, 0.7)).clip(1, 5), np.nan)
    payment_failures = rng.poisson(np.select([is_["freelancer"], is_["hobbyist"]], [0.6, 0.4], 0.1))
    nps = np.round((rng.normal(np.select([is_["frustrated_pro"], is_["growing_studio"]], [4, 8.5], 7), 1.8)).clip(0, 10))
    trial_converted = rng.random(n) < np.where(is_["enterprise"], 0.2, 0.6)
    return {"logins_30d": logins_30d, "active_days_90d": active_days_90d,
            "last_login_days_ago": last_login_days_ago, "projects_90d": projects_90d, "builds_90d": builds_90d,
            "collaborators": collaborators, "storage_gb": storage_gb, "marketplace": marketplace,
            "version_control": version_control, "auto_renew": auto_renew, "price_increase": price_increase,
            "tickets": tickets, "resolution": resolution, "csat": csat, "payment_failures": payment_failures,
            "nps": nps, "trial_converted": trial_converted}


def churn_logit(rng: np.random.Generator, seg: np.ndarray, d: dict[str, np.ndarray]) -> np.ndarray:
    """Segment baselines plus each segment's own driver, plus mild global effects and noise (`d`: the
    profile's and the activity's arrays)."""
    n, is_ = len(seg), _masks(seg)
    billing, auto_renew, tenure_months = d["billing"], d["auto_renew"], d["tenure_months"]
    last_login_days_ago, logins_30d, price_increase = d["last_login_days_ago"], d["logins_30d"], d["price_increase"]
    discount_pct, payment_failures, csat = d["discount_pct"], d["payment_failures"], d["csat"]
    tickets, resolution = d["tickets"], d["resolution"]
    base = np.array([-1.2, -3.0, -4.3, -2.2, -2.6, -1.8])[seg]
    monthly = billing == "monthly"
    logit = base + 0.5 * monthly + 0.6 * ~auto_renew - 0.012 * tenure_months
    logit += is_["hobbyist"] * (0.045 * (last_login_days_ago - 8) - 0.08 * (logins_30d - 5))
    logit += is_["freelancer"] * (2.2 * (price_increase & (discount_pct < 10)) + 0.5 * payment_failures)
    pro_csat = np.nan_to_num(csat, nan=4.0)
    logit += is_["frustrated_pro"] * (0.35 * (tickets - 4) + 0.55 * (3 - pro_csat)
                                     + 0.01 * np.nan_to_num(resolution - 60))
    months_in_year = np.mod(tenure_months, 12)
    near_graduation = (tenure_months > 9) & ((months_in_year > 9) | (months_in_year < 2.5))
    logit += is_["student"] * (2.2 * near_graduation - 0.8)
    logit += 0.25 * (payment_failures > 0) + rng.normal(0, 0.25, n)
    return logit


def next_year(rng: np.random.Generator, seg: np.ndarray, profile: dict[str, np.ndarray],
              churned: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The other targets: next year's revenue and seat change."""
    n, is_ = len(seg), _masks(seg)
    seats, monthly, monthly_fee = profile["seats"], profile["billing"] == "monthly", profile["monthly_fee"]
    growth = np.select([is_["growing_studio"], is_["enterprise"], is_["frustrated_pro"]],
                       [rng.poisson(3.0, n), np.round(rng.normal(0, 0.08, n) * seats), rng.poisson(0.3, n)], 0)
    seat_change = np.where(churned, -seats, growth).astype(int)
    seat_change = np.where(~churned & (seats + seat_change < 1), 1 - seats, seat_change)
    months_paid = np.where(churned, np.where(monthly, rng.integers(0, 12, n), 0), 12)
    avg_seats = seats + np.where(churned, 0, seat_change / 2)
    revenue = months_paid * monthly_fee / np.maximum(seats, 1) * avg_seats * rng.lognormal(0, 0.1, n)
    revenue = np.round(np.clip(revenue, 0, None), 2)
    return revenue, seat_change


def draw_account(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    """Account details that vary from customer to customer but say nothing about segment or churn."""
    return {
        "country": rng.choice(["US", "UK", "DE", "FR", "JP", "KR", "BR", "IN", "CA", "PL", "SE", "AU"], n,
                              p=[.3, .1, .1, .07, .08, .05, .06, .07, .05, .05, .03, .04]),
        "preferred_language": rng.choice(["en", "de", "fr", "ja", "ko", "pt", "es", "pl"], n,
                                         p=[.45, .1, .08, .09, .06, .08, .09, .05]),
        "newsletter_opt_in": rng.random(n) < 0.4,
        "marketing_emails_opened_90d": rng.poisson(3.0, n),
        "profile_completeness_pct": np.round(rng.uniform(20, 100, n)),
        "beta_features_enabled": np.where(rng.random(n) < 0.25, "Yes", "No"),
        "timezone_offset_hours": rng.integers(-10, 11, n),
    }


def customer_frame(ids: list[str], signup: object, profile: dict[str, np.ndarray], activity: dict[str, np.ndarray],
                   account: dict[str, np.ndarray], churned: np.ndarray, revenue: np.ndarray,
                   seat_change: np.ndarray) -> pd.DataFrame:
    """customers.csv's columns, in their order, before `add_mess`."""
    p, a = profile, activity
    return pd.DataFrame({
        ID_COLUMN: ids,
        "signup_date": signup,
        "country": account["country"],
        "plan": p["plan"],
        "billing_cycle": p["billing"],
        "seats": p["seats"],
        "monthly_fee": p["monthly_fee"],
        "discount_pct": p["discount_pct"],
        "payment_method": p["payment_method"],
        "company_size": p["company_size"],
        "industry": p["industry"],
        "primary_os": p["primary_os"],
        "referral_source": p["referral"],
        "logins_30d": a["logins_30d"],
        "active_days_90d": a["active_days_90d"],
        "last_login_days_ago": a["last_login_days_ago"],
        "projects_created_90d": a["projects_90d"],
        "builds_published_90d": a["builds_90d"],
        "collaborators": a["collaborators"],
        "cloud_storage_gb": a["storage_gb"],
        "marketplace_purchases_12m": a["marketplace"],
        "uses_version_control": a["version_control"],
        "auto_renew": np.where(a["auto_renew"], "Yes", "No"),
        "price_increase_notice": a["price_increase"],
        "support_tickets_90d": a["tickets"],
        "avg_resolution_hours": a["resolution"],
        "csat_score": a["csat"],
        "payment_failures_12m": a["payment_failures"],
        "nps_score": a["nps"],
        "trial_converted": np.where(a["trial_converted"], "Yes", "No"),
        # account details that vary from customer to customer but say nothing about segment or churn
        **{k: account[k] for k in ("preferred_language", "newsletter_opt_in", "marketing_emails_opened_90d",
                                   "profile_completeness_pct", "beta_features_enabled", "timezone_offset_hours")},
        TARGET: np.where(churned, "Yes", "No"),
        "revenue_next_12m": revenue,
        "seat_change_next_12m": seat_change,
    })


def add_mess(frame: pd.DataFrame, rng: np.random.Generator) -> None:
    """Missing values and noise as real exports have them."""
    n = len(frame)
    frame.loc[rng.random(n) < 0.70, "nps_score"] = np.nan  # most customers never answer the survey
    for col, share in [("country", 0.02), ("industry", 0.06), ("company_size", 0.04), ("primary_os", 0.03),
                       ("cloud_storage_gb", 0.03), ("referral_source", 0.05), ("logins_30d", 0.01)]:
        frame.loc[rng.random(n) < share, col] = np.nan
    # a few storage figures were exported in MB by mistake
    wrong_unit = rng.random(n) < 0.002
    frame.loc[wrong_unit, "cloud_storage_gb"] = frame.loc[wrong_unit, "cloud_storage_gb"] * 1024
    # monthly fee exported as text by the billing system, blank for a handful of accounts
    fee = frame["monthly_fee"].map(lambda v: f"{v:.2f}").astype(object)
    fee[rng.random(n) < 0.003] = " "
    frame["monthly_fee"] = fee


def write_demo_data(out_dir: Path, *, rows: int = 20_000, seed: int = 0) -> tuple[Path, Path]:
    """Write `customers.csv` and `truth.csv` into `out_dir`; return their paths."""
    data = demo_data(rows=rows, seed=seed)
    out_dir.mkdir(parents=True, exist_ok=True)
    customers_path, truth_path = out_dir / "customers.csv", out_dir / "truth.csv"
    data.customers.to_csv(customers_path, index=False)
    data.truth.to_csv(truth_path, index=False)
    return customers_path, truth_path


def default_actionable(columns: object) -> tuple[str, ...]:
    """The demo data's levers (billing, discount, renewal, support...) when a table has the demo's columns."""
    return ACTIONABLE if set(ACTIONABLE) <= set(columns) else ()  # type: ignore[call-overload]


def demo_spec() -> DataSpec:
    """How to train on the demo data: churn plus both auxiliary targets."""
    return DataSpec(id_column=ID_COLUMN, target=TARGET, aux_targets=AUX_TARGETS, actionable=ACTIONABLE)
