"""Monthly snapshots of the demo customers (insight.data.demo), with changes planted part-way.

`demo_history(rows=N, months=M)` draws N customers as at the first month end and follows them: every month end
the active customers are written down again, one row each, with a `snapshot_date`. Tenure grows, usage drifts
(each customer's activity level wanders around its own level; hobbyists' fades), growing studios add seats; a
customer whose `churned` is Yes leaves before the next snapshot and is absent from it, and a new customer of the
same planted segment joins in its place (a month's tenure at most), so each snapshot holds N customers (and the
new channel's, below) and the planted segments keep their shares. The segments and their churn drivers
are demo.py's, with churn scaled from a year to a month (`MONTHLY_CHURN_SHIFT`).

Labels: `churned`, `revenue_next_12m` and `seat_change_next_12m` are known in every snapshot but the latest,
where they are blank, as in a warehouse whose latest month has not played out yet.

Three changes are planted (`planted_changes`; `changes.json` documents them), all after the first half:

- price_change (`monthly_fee`): the freelancers' seat price rises 20 %; most of them get a price-increase
  notice in that month and the next, which (demo.py's freelancer driver) raises their churn;
- new_channel (`referral_source`): 'creator_bundle' customers join from a later month on, more each month: a new
  kind of customer (segment 'bundle_creator': solo, monthly Personal plans at half price, mostly macOS, heavy
  marketplace buyers) that churns far more than the rest unless it creates projects;
- data_quality (`logins_30d`): from the latest month a logging change records only half of all logins; real use,
  and churn, are unchanged.

With `months=6` they start at months 4, 5 and 6, so a run as of month 3 has seen none of them.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from insight.data import demo
from insight.data.demo import ID_COLUMN, REFERENCE_DATE, SEGMENTS, SHARES, TARGET

log = logging.getLogger(__name__)

TIME_COLUMN = "snapshot_date"
MIN_MONTHS, MAX_MONTHS = 2, 36
MONTHLY_CHURN_SHIFT = -1.2
"""Added to demo.py's churn logit: demo.py's churn is over a year, a snapshot's over the next month."""
DAYS_PER_MONTH = 30.4

PRICE_SEGMENT, PRICE_FACTOR, NOTICE_SHARE = "freelancer", 1.2, 0.9
NEW_CHANNEL, NEW_SEGMENT = "creator_bundle", "bundle_creator"
NEW_CHANNEL_SHARE = 0.04
"""Bundle customers who join in the channel's first month, as a share of `rows`; one more share each month."""
LOGGED_SHARE = 0.5
"""After the data-quality change, the share of logins that `logins_30d` records."""
DYNAMIC = ("logins_30d", "active_days_90d", "last_login_days_ago", "projects_90d", "builds_90d", "tickets",
           "resolution", "csat", "nps", "price_increase")
"""Activity drawn afresh every month from the drifting activity level; the rest of a customer stays."""
HOBBYIST_FADE = 0.08
"""How much a hobbyist's activity level (log-odds) falls each month."""

_BUNDLE = len(SEGMENTS)  # the new kind's index beside demo.SEGMENTS' indices
_HOBBYIST, _FREELANCER = SEGMENTS.index("hobbyist"), SEGMENTS.index(PRICE_SEGMENT)


@dataclass(frozen=True)
class DemoHistory:
    customers: pd.DataFrame
    """One row per active customer per snapshot, `snapshot_date` the second column."""
    truth: pd.DataFrame
    """One row per customer: planted segment, true churn probability at the last snapshot, first and last
    snapshot."""
    changes: dict[str, Any]
    """changes.json: {"changes": [...], "snapshots": [...], ...}."""


def snapshot_dates(months: int) -> list[pd.Timestamp]:
    """The month ends of `months` snapshots, the last one demo.REFERENCE_DATE."""
    return list(pd.date_range(end=REFERENCE_DATE, periods=months, freq="ME"))


def change_months(months: int) -> dict[str, int]:
    """The index of the first snapshot each planted change shows in (6 months: 3, 4, 5, i.e. months 4-6)."""
    check_months(months)
    return {"price_change": max(1, months // 2), "new_channel": max(1, 2 * months // 3),
            "data_quality": months - 1}


def check_months(months: int) -> None:
    if not MIN_MONTHS <= months <= MAX_MONTHS:
        raise ValueError(f"demo history needs between {MIN_MONTHS} and {MAX_MONTHS} months, not {months}")


def planted_changes(months: int) -> list[dict[str, Any]]:
    """changes.json's entries: column, first snapshot date (`from`), kind, description and the details."""
    dates, at = snapshot_dates(months), change_months(months)
    return [
        {"column": "monthly_fee", "from": _iso(dates[at["price_change"]]), "kind": "price_change",
         "segment": PRICE_SEGMENT, "factor": PRICE_FACTOR, "also": ["price_increase_notice"],
         "description": f"The {PRICE_SEGMENT}s' seat price rises {PRICE_FACTOR - 1:.0%} from this snapshot on; "
                        f"{NOTICE_SHARE:.0%} of them get a price-increase notice (price_increase_notice) in this "
                        "snapshot and the next, and their churn rises."},
        {"column": "referral_source", "from": _iso(dates[at["new_channel"]]), "kind": "new_channel",
         "value": NEW_CHANNEL, "segment": NEW_SEGMENT,
         "description": f"A new acquisition channel, '{NEW_CHANNEL}': customers of a creator-app bundle join "
                        "from this snapshot on, more each month, a new kind of customer (solo, monthly "
                        "Personal plans at half price, mostly macOS, heavy marketplace buyers) who churn far "
                        "more than the others unless they create projects."},
        {"column": "logins_30d", "from": _iso(dates[at["data_quality"]]), "kind": "data_quality",
         "factor": LOGGED_SHARE,
         "description": f"A logging change records only {LOGGED_SHARE:.0%} of logins from this snapshot on: "
                        "logins_30d halves while real use, and churn, stay as they were."},
    ]


def demo_history(*, rows: int = 20_000, months: int = 6, seed: int = 0) -> DemoHistory:
    """`months` monthly snapshots of about `rows` customers. The same (rows, months, seed) gives the same data."""
    if rows < 100:
        raise ValueError("demo data needs at least 100 rows")
    check_months(months)
    rng = np.random.default_rng(seed)
    dates, at = snapshot_dates(months), change_months(months)
    pop = _new_customers(rng, rng.choice(len(SEGMENTS), size=rows, p=SHARES / SHARES.sum()), dates[0],
                         first_id=1, joined=False)
    snapshots, seen, next_id = [], [], rows + 1
    for t, date in enumerate(dates):
        if t > 0:
            _evolve(rng, pop)
        pop["tenure_months"] = _tenure(pop, date)
        if t >= at["price_change"]:
            _reprice(rng, pop, notice=t - at["price_change"] < 2)
        probability = _churn_probability(rng, pop)
        churned = rng.random(len(probability)) < probability
        snapshots.append(_snapshot(rng, pop, date, churned, labelled=t < months - 1,
                                   logged_share=LOGGED_SHARE if t >= at["data_quality"] else 1.0))
        seen.append(pd.DataFrame({ID_COLUMN: snapshots[-1][ID_COLUMN].to_numpy(),
                                  "segment": np.array([*SEGMENTS, NEW_SEGMENT])[pop["kind"]],
                                  "p": np.round(probability, 6), "date": _iso(date)}))
        if t + 1 < months:
            left = pop["kind"][churned]
            pop = _take(pop, ~churned)
            joiners = left[left != _BUNDLE]  # each planted segment keeps its size
            if t + 1 >= at["new_channel"]:
                bundles = int(round(NEW_CHANNEL_SHARE * rows * (t + 2 - at["new_channel"])))
                joiners = np.concatenate([joiners, np.full(bundles, _BUNDLE)])
            pop = _concat(pop, _new_customers(rng, joiners, dates[t + 1], first_id=next_id))
            next_id += len(joiners)
    customers = pd.concat(snapshots, ignore_index=True)
    truth_frame = _truth(seen)
    changes = {"changes": planted_changes(months), "snapshot_column": TIME_COLUMN,
               "snapshots": [_iso(d) for d in dates], "unlabelled_snapshot": _iso(dates[-1]),
               "labels": f"{TARGET}, revenue_next_12m and seat_change_next_12m are blank in the latest snapshot "
                         f"({_iso(dates[-1])}): its outcomes are not known yet. In every earlier snapshot "
                         f"{TARGET} = Yes means the customer left before the next snapshot."}
    log.info("demo history: %d snapshots, %d rows, %d customers", months, len(customers), len(truth_frame))
    return DemoHistory(customers=customers, truth=truth_frame, changes=changes)


def write_demo_history(out_dir: Path, *, rows: int = 20_000, months: int = 6,
                       seed: int = 0) -> tuple[Path, Path, Path]:
    """Write `customers.csv`, `truth.csv` and `changes.json` into `out_dir`; return their paths."""
    data = demo_history(rows=rows, months=months, seed=seed)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = out_dir / "customers.csv", out_dir / "truth.csv", out_dir / "changes.json"
    data.customers.to_csv(paths[0], index=False)
    data.truth.to_csv(paths[1], index=False)
    paths[2].write_text(json.dumps(data.changes, indent=2) + "\n")
    return paths


# --- the population: one array per attribute, one element per active customer ------------------------------

Population = dict[str, np.ndarray]


def _new_customers(rng: np.random.Generator, kind: np.ndarray, date: pd.Timestamp, *, first_id: int,
                   joined: bool = True) -> Population:
    """Customers of `kind` (indices into SEGMENTS, or _BUNDLE) as at `date`; `joined`: signed up in the month
    before it (else with demo.py's tenure)."""
    n = len(kind)
    bundle = kind == _BUNDLE
    seg = np.where(bundle, _HOBBYIST, kind)  # demo.py draws a bundle customer as a hobbyist, then ...
    profile = demo.draw_profile(rng, seg)
    level = _logit(np.where(bundle, rng.beta(4, 2.5, n), demo.draw_engagement(rng, seg)))
    activity = demo.draw_activity(rng, seg, _expit(level), profile["seats"])
    account = demo.draw_account(rng, n)
    tenure = rng.uniform(0.05, 1.0, n) if joined else profile["tenure_months"]
    pop: Population = {"id": np.arange(first_id, first_id + n), "kind": kind, "seg": seg,
                       "signup": (date - pd.to_timedelta(np.round(tenure * DAYS_PER_MONTH), unit="D")).to_numpy(),
                       "level": level, "drift": np.zeros(n), "repriced": np.zeros(n, dtype=bool),
                       **profile, **activity, **account}
    if bundle.any():
        _make_bundle(rng, pop, bundle)
    return pop


def _make_bundle(rng: np.random.Generator, pop: Population, rows: np.ndarray) -> None:
    """... and gives it what sets the new kind apart: channel, plan, price, OS, payment, use of the marketplace."""
    k = int(rows.sum())
    pop["referral"][rows] = NEW_CHANNEL
    pop["plan"][rows], pop["billing"][rows], pop["seats"][rows] = "Personal", "monthly", 1
    pop["discount_pct"][rows] = 50.0
    pop["monthly_fee"][rows] = np.round(demo.PRICE_PER_SEAT["Personal"] * 0.5 * rng.normal(1.0, 0.03, k), 2)
    pop["company_size"][rows] = "solo"
    pop["industry"][rows] = rng.choice(["advertising", "film_animation", "none"], k, p=[0.4, 0.3, 0.3])
    pop["primary_os"][rows] = rng.choice(["macOS", "Windows"], k, p=[0.75, 0.25])
    pop["payment_method"][rows] = rng.choice(["paypal", "card"], k, p=[0.7, 0.3])
    pop["marketplace"][rows] = rng.poisson(7.0, k)
    pop["collaborators"][rows] = 0
    pop["version_control"][rows] = rng.random(k) < 0.1
    pop["auto_renew"][rows] = rng.random(k) < 0.3
    pop["trial_converted"][rows] = rng.random(k) < 0.9
    _bundle_activity(rng, pop, rows)


def _bundle_activity(rng: np.random.Generator, pop: Population, rows: np.ndarray) -> None:
    engagement = _expit(pop["level"][rows] + pop["drift"][rows])
    pop["projects_90d"][rows] = rng.poisson(5 * (0.2 + engagement))
    pop["builds_90d"][rows] = rng.poisson(0.5 + engagement)


def _evolve(rng: np.random.Generator, pop: Population) -> None:
    """A month on: activity levels wander (hobbyists' fade), studios add seats, storage grows, this month's
    activity is drawn afresh."""
    n = len(pop["id"])
    pop["level"] = pop["level"] - HOBBYIST_FADE * (pop["kind"] == _HOBBYIST)
    pop["drift"] = 0.85 * pop["drift"] + rng.normal(0, 0.3, n)
    studio = pop["kind"] == SEGMENTS.index("growing_studio")
    added = rng.poisson(0.15, n) * studio
    pop["monthly_fee"] = np.round(pop["monthly_fee"] * (pop["seats"] + added) / np.maximum(pop["seats"], 1), 2)
    pop["seats"] = pop["seats"] + added
    pop["storage_gb"] = np.round(pop["storage_gb"] * rng.lognormal(0.02, 0.05, n), 1)
    fresh = demo.draw_activity(rng, pop["seg"], _expit(pop["level"] + pop["drift"]), pop["seats"])
    for key in DYNAMIC:
        pop[key] = fresh[key]
    bundle = pop["kind"] == _BUNDLE
    if bundle.any():
        _bundle_activity(rng, pop, bundle)


def _reprice(rng: np.random.Generator, pop: Population, *, notice: bool) -> None:
    """The price change: the segment's fee rises once; in the change's first two months most get a notice."""
    segment = pop["kind"] == _FREELANCER
    new = segment & ~pop["repriced"]
    pop["monthly_fee"] = np.where(new, np.round(pop["monthly_fee"] * PRICE_FACTOR, 2), pop["monthly_fee"])
    pop["repriced"] = pop["repriced"] | segment
    if notice:
        pop["price_increase"] = pop["price_increase"] | (segment & (rng.random(len(segment)) < NOTICE_SHARE))


def _tenure(pop: Population, date: pd.Timestamp) -> np.ndarray:
    return ((date.to_datetime64() - pop["signup"]) / np.timedelta64(1, "D")) / DAYS_PER_MONTH


def _churn_probability(rng: np.random.Generator, pop: Population) -> np.ndarray:
    """demo.py's churn over the next month; the bundle customers' own: high unless they create projects."""
    logit = demo.churn_logit(rng, pop["seg"], pop) + MONTHLY_CHURN_SHIFT
    bundle = pop["kind"] == _BUNDLE
    own = (-0.8 + 0.6 * ~pop["auto_renew"] - 0.35 * (pop["projects_90d"] - 3) - 0.1 * pop["tenure_months"]
           + rng.normal(0, 0.25, len(logit)))
    return 1 / (1 + np.exp(-np.where(bundle, own, logit)))


def _snapshot(rng: np.random.Generator, pop: Population, date: pd.Timestamp, churned: np.ndarray, *,
              labelled: bool, logged_share: float) -> pd.DataFrame:
    """One month's rows in customers.csv's columns (demo.py's, with `snapshot_date` and `tenure_months`)."""
    revenue, seat_change = demo.next_year(rng, pop["seg"], pop, churned)
    activity = dict(pop)
    if logged_share < 1.0:
        activity["logins_30d"] = rng.binomial(pop["logins_30d"], logged_share)
    signup = pd.DatetimeIndex(pop["signup"]).strftime("%Y-%m-%d")
    frame = demo.customer_frame([f"C{i:06d}" for i in pop["id"]], signup, pop, activity, pop, churned, revenue,
                                seat_change)
    frame.insert(1, TIME_COLUMN, _iso(date))
    frame.insert(3, "tenure_months", np.round(pop["tenure_months"], 1))
    demo.add_mess(frame, rng)
    if not labelled:
        frame[[TARGET, "revenue_next_12m", "seat_change_next_12m"]] = np.nan
    return frame


def _truth(seen: list[pd.DataFrame]) -> pd.DataFrame:
    """One row per customer from each snapshot's (id, segment, churn probability, date)."""
    rows = pd.concat(seen, ignore_index=True)
    grouped = rows.groupby(ID_COLUMN, sort=True)
    return pd.DataFrame({"segment": grouped["segment"].first(), "churn_probability": grouped["p"].last(),
                         "first_snapshot": grouped["date"].first(),
                         "last_snapshot": grouped["date"].last()}).reset_index()


def _take(pop: Population, keep: np.ndarray) -> Population:
    return {k: v[keep] for k, v in pop.items()}


def _concat(a: Population, b: Population) -> Population:
    return {k: np.concatenate([a[k], b[k]]) for k in a}


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-4, 1 - 1e-4)
    return np.log(p / (1 - p))


def _expit(z: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-z))


def _iso(date: pd.Timestamp) -> str:
    return date.date().isoformat()
