"""Customer tables from other businesses, with planted segments, for the segment benchmark suite.

Each data set is drawn from a *domain* (telecom, retail, banking, SaaS, media, insurance): the columns are that
business's, and so are the two auxiliary targets. What the generator plants is the same in every domain:

- `k` segments (3 to 10) of unbalanced sizes (the smallest 3 % or less), each with its own profile over a
  random subset of the columns and its own churn mechanism (a base rate and one or two drivers of its own), and
  its own level of both auxiliary targets;
- *twins*: pairs of segments whose profiles differ in only a few columns, but whose churn and value differ
  (the segments target-aware clustering exists to keep apart);
- a *nuisance split* shared by every segment (a billing cycle): about half of every segment pays yearly, which
  moves the fee and payment columns the same way in each segment and says little about churn and value (a
  detail, not a segment);
- noise columns, missing values (at random, and one column missing more often in one segment), and mixed
  column kinds: numbers, counts, yes/no flags, categories, a signup date and money stored as text.

The planted segment of each customer is returned as `truth` (id, segment). The same `SuiteData` parameters
always give the same table.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

REFERENCE_DATE = pd.Timestamp("2026-06-30")
ID_COLUMN = "customer_id"
TARGET = "churned"


@dataclass(frozen=True)
class Domain:
    """A business: its numeric columns (name, typical value, spread as a share), counts (name, mean), flags,
    categories (name, values), and two auxiliary targets: a value (money) and a second outcome."""

    name: str
    numbers: tuple[tuple[str, float, float], ...]
    counts: tuple[tuple[str, float], ...]
    flags: tuple[str, ...]
    categories: tuple[tuple[str, tuple[str, ...]], ...]
    fee: str
    value_target: str
    second_target: str
    noise: tuple[str, ...]


DOMAINS: dict[str, Domain] = {
    "telecom": Domain(
        "telecom",
        numbers=(("monthly_minutes", 420, 0.5), ("data_gb", 12, 0.7), ("device_age_months", 20, 0.6),
                 ("avg_call_seconds", 140, 0.4), ("roaming_minutes", 30, 0.9)),
        counts=(("dropped_calls_30d", 2.0), ("support_calls_90d", 1.0), ("sms_30d", 60.0), ("lines", 1.5)),
        flags=("autopay", "paperless_billing", "family_plan", "device_financed"),
        categories=(("plan", ("Basic", "Plus", "Unlimited", "Prepaid", "Business")),
                    ("contract", ("Month-to-month", "One year", "Two year")),
                    ("handset", ("Android", "iPhone", "Feature phone")),
                    ("region", ("North", "South", "East", "West", "Central"))),
        fee="monthly_charge", value_target="revenue_next_12m", second_target="data_growth_next_6m",
        noise=("favourite_channel", "survey_wave")),
    "retail": Domain(
        "retail",
        numbers=(("avg_basket_value", 55, 0.5), ("days_since_last_order", 30, 0.8), ("discount_share", 0.15, 0.8),
                 ("return_rate", 0.08, 0.9), ("browse_minutes_30d", 90, 0.7)),
        counts=(("orders_90d", 4.0), ("app_sessions_30d", 12.0), ("reviews_written", 1.0), ("complaints_12m", 0.5)),
        flags=("loyalty_member", "newsletter", "store_card", "click_and_collect"),
        categories=(("favourite_category", ("Fashion", "Home", "Electronics", "Beauty", "Grocery", "Sports")),
                    ("channel", ("App", "Web", "Store", "Marketplace")),
                    ("membership_tier", ("None", "Silver", "Gold", "Platinum")),
                    ("delivery_speed", ("Standard", "Express", "Same day"))),
        fee="membership_fee", value_target="spend_next_12m", second_target="orders_next_12m",
        noise=("preferred_colour", "coupon_batch")),
    "banking": Domain(
        "banking",
        numbers=(("balance", 8000, 0.9), ("credit_score", 680, 0.1), ("card_spend_30d", 900, 0.7),
                 ("salary_inflow", 3200, 0.5), ("overdraft_days_90d", 3, 1.0)),
        counts=(("products_held", 2.0), ("branch_visits_12m", 2.0), ("app_logins_30d", 15.0),
                ("declined_payments_90d", 0.5)),
        flags=("has_mortgage", "has_credit_card", "salary_account", "joint_account"),
        categories=(("account_type", ("Current", "Savings", "Student", "Premier", "Business")),
                    ("age_band", ("18-25", "26-35", "36-50", "51-65", "65+")),
                    ("home_branch_region", ("City", "Suburb", "Rural", "Online only")),
                    ("occupation", ("Employee", "Self-employed", "Retired", "Student", "Unemployed"))),
        fee="account_fee", value_target="net_income_next_12m", second_target="balance_change_next_12m",
        noise=("statement_day", "marketing_cell")),
    "saas": Domain(
        "saas",
        numbers=(("active_users_share", 0.6, 0.4), ("api_calls_k_30d", 40, 0.9), ("storage_used_gb", 80, 0.8),
                 ("avg_session_minutes", 25, 0.5), ("onboarding_score", 70, 0.25)),
        counts=(("seats", 8.0), ("integrations", 3.0), ("tickets_90d", 1.5), ("admins", 1.5)),
        flags=("sso_enabled", "annual_contract_signed", "has_champion", "uses_mobile_app"),
        categories=(("tier", ("Free", "Starter", "Team", "Business", "Enterprise")),
                    ("company_industry", ("Software", "Finance", "Healthcare", "Retail", "Education", "Media")),
                    ("acquisition", ("Self-serve", "Sales-led", "Partner", "Marketplace")),
                    ("hq_region", ("Americas", "EMEA", "APAC"))),
        fee="subscription_fee", value_target="arr_next_12m", second_target="seat_change_next_12m",
        noise=("logo_colour", "trial_cohort")),
    "media": Domain(
        "media",
        numbers=(("watch_hours_30d", 30, 0.7), ("titles_finished_30d", 6, 0.8), ("avg_rating_given", 3.8, 0.2),
                 ("binge_share", 0.3, 0.7), ("days_since_last_view", 6, 1.0)),
        counts=(("profiles", 2.0), ("devices", 2.5), ("downloads_30d", 4.0), ("playback_errors_30d", 1.0)),
        flags=("kids_profile", "ad_supported", "bundle_partner", "hd_enabled"),
        categories=(("plan_tier", ("Mobile", "Basic", "Standard", "Premium")),
                    ("favourite_genre", ("Drama", "Comedy", "Documentary", "Sport", "Kids", "Reality")),
                    ("main_device", ("TV", "Phone", "Tablet", "Laptop", "Console")),
                    ("signup_offer", ("None", "Free month", "Half price", "Bundle"))),
        fee="monthly_price", value_target="revenue_next_12m", second_target="watch_hours_next_3m",
        noise=("avatar_style", "subtitle_language")),
    "insurance": Domain(
        "insurance",
        numbers=(("premium_quote_delta", 0.0, 1.0), ("sum_insured_k", 250, 0.6), ("driver_age", 42, 0.3),
                 ("vehicle_age_years", 7, 0.6), ("annual_mileage_k", 11, 0.5)),
        counts=(("claims_5y", 0.6), ("policies_held", 1.6), ("calls_to_service_12m", 1.5),
                ("late_payments_12m", 0.4)),
        flags=("no_claims_protected", "multi_car", "telematics_box", "paid_by_direct_debit"),
        categories=(("product", ("Car", "Home", "Car and home", "Travel", "Pet")),
                    ("acquired_via", ("Comparison site", "Direct", "Broker", "Bank partner")),
                    ("cover_level", ("Third party", "Standard", "Comprehensive")),
                    ("property_type", ("Flat", "Terraced", "Detached", "Rented"))),
        fee="monthly_premium", value_target="premium_next_12m", second_target="claims_cost_next_12m",
        noise=("quote_reference_batch", "postcode_digit")),
}


@dataclass(frozen=True)
class SuiteData:
    """The parameters of one data set of the suite."""

    name: str
    domain: str
    rows: int
    segments: int
    seed: int
    separation: float = 1.0
    """Scale of the profile differences between segments (1 = clear, 0.6 = overlapping)."""
    twins: int = 1
    """Pairs of segments that differ in only a few columns (but in churn and value)."""
    smallest_share: float = 0.02
    """Size of the smallest segment as a share of the customers."""
    nuisance: float = 1.0
    """How strongly the billing-cycle split moves the fee and payment columns in every segment."""
    missing: float = 0.04
    """Share of missing values in the columns that have them."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Generated:
    customers: pd.DataFrame
    truth: pd.DataFrame
    aux_targets: tuple[str, str]
    params: SuiteData


def segment_shares(k: int, smallest: float, rng: np.random.Generator) -> np.ndarray:
    """Unbalanced shares summing to 1, the smallest exactly `smallest` (one segment), the others drawn from a
    Dirichlet and rescaled."""
    rest = rng.dirichlet(np.full(k - 1, 1.5)) * (1 - smallest)
    rest = np.maximum(rest, smallest * 1.5)
    rest = rest / rest.sum() * (1 - smallest)
    shares = np.concatenate([rest, [smallest]])
    return shares[rng.permutation(k)]


def generate(params: SuiteData) -> Generated:
    """Draw one data set (see the module docstring)."""
    domain = DOMAINS[params.domain]
    rng = np.random.default_rng(params.seed)
    n, k = params.rows, params.segments
    shares = segment_shares(k, params.smallest_share, rng)
    seg = rng.choice(k, size=n, p=shares)
    sep = params.separation

    # Each segment's profile: shifts of a random subset of the numbers and counts, its own category mix and flag
    # rates. A twin copies its partner's profile and differs in two columns only.
    n_num, n_cnt = len(domain.numbers), len(domain.counts)
    shift = np.zeros((k, n_num + n_cnt))
    for s in range(k):
        chosen = rng.choice(n_num + n_cnt, size=rng.integers(3, 6), replace=False)
        shift[s, chosen] = rng.normal(0, 1.3 * sep, len(chosen))
    flag_rate = rng.beta(1.2, 1.2, (k, len(domain.flags)))
    cat_mix = [rng.dirichlet(np.full(len(values), 0.6), size=k) for _, values in domain.categories]
    twins = []
    order = rng.permutation(k)
    for t in range(min(params.twins, k // 2)):
        a, b = int(order[2 * t]), int(order[2 * t + 1])
        twins.append((a, b))
        shift[b] = shift[a]
        flag_rate[b] = flag_rate[a]
        for mix in cat_mix:
            mix[b] = mix[a]
        differ = rng.choice(n_num + n_cnt, size=2, replace=False)
        shift[b, differ] = shift[a, differ] + rng.choice([-1, 1], 2) * 1.4 * sep

    cols: dict[str, np.ndarray] = {}
    z = rng.normal(0, 1, (n, n_num + n_cnt)) * 0.8 + shift[seg]
    for j, (name, typical, spread) in enumerate(domain.numbers):
        if typical == 0:
            cols[name] = np.round(z[:, j] * max(spread, 0.1), 3)
        else:
            cols[name] = np.round(typical * np.exp(spread * 0.8 * z[:, j]) if spread >= 0.3
                                  else typical * (1 + spread * z[:, j]), 3)
    for j, (name, mean) in enumerate(domain.counts):
        cols[name] = rng.poisson(mean * np.exp(0.6 * z[:, n_num + j]))
    flags = {name: rng.random(n) < flag_rate[seg, j] for j, name in enumerate(domain.flags)}
    categories = {}
    for (name, values), mix in zip(domain.categories, cat_mix, strict=True):
        u = rng.random(n)[:, None]
        pick = (u > np.cumsum(mix[seg], axis=1)).sum(axis=1)
        categories[name] = np.asarray(values, dtype=object)[np.minimum(pick, len(values) - 1)]
    tenure = np.clip(rng.gamma(2.0, 10.0, n) * np.exp(0.4 * rng.normal(size=k))[seg], 0.5, 180)

    # The nuisance: every segment pays yearly or monthly alike; yearly payers pay less per month, pay fewer
    # times and are set up on autopay more often.
    yearly = rng.random(n) < 0.45
    base_fee = 20 * np.exp(0.5 * rng.normal(size=k))[seg] * np.exp(0.15 * rng.normal(size=n))
    fee = base_fee * np.where(yearly, 1 - 0.25 * params.nuisance, 1.0)
    payments_12m = np.where(yearly, 1, 12) + rng.poisson(0.2, n)

    # Churn: a base rate per segment, then each segment's own driver(s), a mild shared effect of tenure, noise.
    std = {name: (v - np.nanmean(v)) / (np.nanstd(v) + 1e-9) for name, v in {**cols}.items()}
    drivers = list(std)
    base_logit = rng.uniform(-3.3, -0.3, k)
    for a, b in twins:  # twins behave differently: one churns much more
        base_logit[b] = np.clip(base_logit[a] + rng.choice([-1, 1]) * rng.uniform(1.2, 2.0), -3.8, 0.5)
    logit = base_logit[seg] - 0.01 * tenure + 0.15 * ~yearly
    mechanism = {}
    for s in range(k):
        inside = seg == s
        names = list(rng.choice(drivers, size=rng.integers(1, 3), replace=False))
        coefs = rng.choice([-1, 1], len(names)) * rng.uniform(0.6, 1.2, len(names))
        flag = str(rng.choice(domain.flags))
        flag_coef = float(rng.uniform(-0.9, 0.9))
        for name, c in zip(names, coefs, strict=True):
            logit[inside] += c * std[name][inside]
        logit[inside] += flag_coef * flags[flag][inside]
        mechanism[s] = {"drivers": dict(zip(names, np.round(coefs, 2).tolist(), strict=True)),
                        "flag": {flag: round(flag_coef, 2)}, "base_logit": round(float(base_logit[s]), 2)}
    logit += rng.normal(0, 0.3, n)
    p = 1 / (1 + np.exp(-logit))
    churned = rng.random(n) < p

    # Auxiliary targets: value differs by segment (and with the fee); the second outcome by segment and its own
    # signal. Churners bring in part of a year.
    value_level = np.exp(rng.normal(0, 0.6, k))
    for a, b in twins:
        value_level[b] = value_level[a] * rng.choice([0.45, 2.2])
    months = np.where(churned, rng.integers(0, 12, n), 12)
    # a yearly payer's lower monthly fee is mostly made up by paying up front: value moves 5 %, not 25 %
    value = np.round(months * base_fee * np.where(yearly, 0.95, 1.0) * value_level[seg]
                     * rng.lognormal(0, 0.25, n), 2)
    second_level = rng.normal(0, 1.0, k)
    second = np.round(second_level[seg] * 10 + rng.normal(0, 4, n) - 6 * churned, 2)

    ids = rng.permutation(n) + 100_000
    frame = pd.DataFrame({ID_COLUMN: [f"{domain.name[:3].upper()}{i}" for i in ids]})
    frame["signup_date"] = (REFERENCE_DATE - pd.to_timedelta(np.round(tenure * 30.4), unit="D")).strftime("%Y-%m-%d")
    for name, values in categories.items():
        frame[name] = values
    for name, values in cols.items():
        frame[name] = values
    for name, values in flags.items():
        frame[name] = np.where(values, "Yes", "No")
    frame["billing_cycle"] = np.where(yearly, "yearly", "monthly")
    frame[domain.fee] = [f"${v:,.2f}" for v in fee]  # money exported as text
    frame["payments_12m"] = payments_12m
    frame[domain.noise[0]] = rng.choice(["a", "b", "c", "d", "e", "f"], n)
    frame[domain.noise[1]] = rng.integers(1, 40, n)
    frame["noise_score"] = np.round(rng.normal(50, 10, n), 1)
    frame[TARGET] = np.where(churned, "Yes", "No")
    frame[domain.value_target] = value
    frame[domain.second_target] = second

    # Missing values: at random in a few columns, and one column missing far more often in one segment.
    holes = rng.choice([c for c in [*cols, *categories] if c != "signup_date"], size=4, replace=False)
    for c in holes:
        frame.loc[rng.random(n) < params.missing, c] = np.nan
    special = str(rng.choice(list(cols)))
    s_missing = int(rng.integers(k))
    frame.loc[(seg == s_missing) & (rng.random(n) < 0.5), special] = np.nan
    frame.loc[rng.random(n) < params.missing / 2, domain.value_target] = np.nan  # outcome not yet known

    truth = pd.DataFrame({ID_COLUMN: frame[ID_COLUMN], "segment": [f"s{int(s)}" for s in seg],
                          "churn_probability": np.round(p, 6)})
    truth.attrs["mechanism"] = mechanism
    truth.attrs["twins"] = twins
    return Generated(customers=frame, truth=truth, aux_targets=(domain.value_target, domain.second_target),
                     params=params)


def suite(half: str = "all") -> list[SuiteData]:
    """The benchmark suite: a tuning half and a confirming half, drawn with different seeds and parameters
    (the confirming half is never looked at while choosing rules)."""
    tuning = [
        SuiteData("telecom-5", "telecom", rows=6_000, segments=5, seed=101, separation=1.0, twins=1),
        SuiteData("retail-7", "retail", rows=15_000, segments=7, seed=102, separation=0.9, twins=2,
                  smallest_share=0.025),
        SuiteData("banking-4", "banking", rows=3_000, segments=4, seed=103, separation=1.1, twins=1,
                  smallest_share=0.03),
        SuiteData("saas-9", "saas", rows=40_000, segments=9, seed=104, separation=0.9, twins=2,
                  smallest_share=0.015),
        SuiteData("media-6", "media", rows=10_000, segments=6, seed=105, separation=0.8, twins=1),
        SuiteData("insurance-3", "insurance", rows=2_000, segments=3, seed=106, separation=1.2, twins=1,
                  smallest_share=0.03),
    ]
    confirming = [
        SuiteData("media-4", "media", rows=4_000, segments=4, seed=201, separation=1.0, twins=1,
                  smallest_share=0.03, nuisance=1.2),
        SuiteData("insurance-8", "insurance", rows=25_000, segments=8, seed=202, separation=0.85, twins=2,
                  smallest_share=0.02, missing=0.07),
        SuiteData("telecom-10", "telecom", rows=200_000, segments=10, seed=203, separation=0.9, twins=2,
                  smallest_share=0.01),
        SuiteData("retail-3", "retail", rows=2_500, segments=3, seed=204, separation=1.1, twins=1,
                  smallest_share=0.03, nuisance=0.8),
        SuiteData("banking-6", "banking", rows=12_000, segments=6, seed=205, separation=0.95, twins=1,
                  smallest_share=0.02, missing=0.06),
        SuiteData("saas-5", "saas", rows=8_000, segments=5, seed=206, separation=1.0, twins=2,
                  smallest_share=0.025, nuisance=1.3),
    ]
    return {"tuning": tuning, "confirming": confirming, "all": tuning + confirming}[half]
