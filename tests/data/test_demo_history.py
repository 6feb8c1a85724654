"""insight.data.demo_history: monthly demo snapshots with churners leaving, newcomers joining and planted changes."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from typer.testing import CliRunner

from insight.cli import app
from insight.data.demo import ID_COLUMN, TARGET
from insight.data.demo_history import (
    NEW_CHANNEL,
    NEW_SEGMENT,
    PRICE_SEGMENT,
    TIME_COLUMN,
    DemoHistory,
    demo_history,
    snapshot_dates,
)

ROWS, MONTHS = 3000, 6


@pytest.fixture(scope="module")
def history() -> DemoHistory:
    return demo_history(rows=ROWS, months=MONTHS, seed=0)


@pytest.fixture(scope="module")
def frame(history: DemoHistory) -> pd.DataFrame:
    """The snapshots with each customer's planted segment and the fee as a number."""
    out = history.customers.merge(history.truth[[ID_COLUMN, "segment"]], on=ID_COLUMN, how="left")
    out["fee"] = pd.to_numeric(out["monthly_fee"], errors="coerce")
    return out


def change(history: DemoHistory, kind: str) -> dict:
    (found,) = [c for c in history.changes["changes"] if c["kind"] == kind]
    return found


def months_of(history: DemoHistory) -> list[str]:
    return history.changes["snapshots"]


def previous(history: DemoHistory, date: str) -> str:
    dates = months_of(history)
    return dates[dates.index(date) - 1]


def test_one_row_per_customer_per_month_end(history: DemoHistory) -> None:
    c = history.customers
    assert list(c.columns[:2]) == [ID_COLUMN, TIME_COLUMN]
    assert not c.duplicated([ID_COLUMN, TIME_COLUMN]).any()
    dates = months_of(history)
    assert dates == sorted(c[TIME_COLUMN].unique()) and len(dates) == MONTHS
    assert all(pd.Timestamp(d).is_month_end for d in dates)
    assert dates == [d.date().isoformat() for d in snapshot_dates(MONTHS)]
    sizes = c.groupby(TIME_COLUMN).size()
    assert sizes.iloc[0] == ROWS and (sizes >= ROWS).all() and (sizes <= 1.2 * ROWS).all()
    truth = history.truth
    assert truth[ID_COLUMN].is_unique and set(truth[ID_COLUMN]) == set(c[ID_COLUMN])


def test_churners_leave_and_newcomers_join(history: DemoHistory) -> None:
    c = history.customers
    dates = months_of(history)
    by_month = {d: c[c[TIME_COLUMN] == d].set_index(ID_COLUMN) for d in dates}
    for now, later in zip(dates, dates[1:]):
        here, there = by_month[now], by_month[later]
        left = set(here.index[here[TARGET] == "Yes"])
        stayed = set(here.index[here[TARGET] == "No"])
        assert left and not left & set(there.index)  # a churner is absent from the next month ...
        assert stayed <= set(there.index)  # ... and everyone else is still there
        joined = set(there.index) - set(here.index)
        assert len(joined) >= len(left)
        assert (there.loc[sorted(joined), "tenure_months"] <= 1.05).all()
    index = c[TIME_COLUMN].map({d: i for i, d in enumerate(dates)})
    span = index.groupby(c[ID_COLUMN]).agg(["min", "max", "count"])
    assert (span["max"] - span["min"] + 1 == span["count"]).all()  # no customer skips a month or comes back
    last = c[index == c[ID_COLUMN].map(span["max"])].set_index(ID_COLUMN)
    ended_early = span.index[span["max"] < len(dates) - 1]
    assert (last.loc[ended_early, TARGET] == "Yes").all()  # whoever is gone before the end churned


def test_features_evolve_month_to_month(history: DemoHistory) -> None:
    c = history.customers
    d0, d1 = months_of(history)[:2]
    a = c[c[TIME_COLUMN] == d0].set_index(ID_COLUMN)
    b = c[c[TIME_COLUMN] == d1].set_index(ID_COLUMN)
    both = a.index.intersection(b.index)
    assert len(both) > 0.8 * ROWS
    grown = b.loc[both, "tenure_months"] - a.loc[both, "tenure_months"]
    assert grown.between(0.8, 1.2).all()  # a month older
    assert (a.loc[both, "signup_date"] == b.loc[both, "signup_date"]).all()
    assert (a.loc[both, "plan"] == b.loc[both, "plan"]).all()
    logins_a, logins_b = a.loc[both, "logins_30d"], b.loc[both, "logins_30d"]
    known = logins_a.notna() & logins_b.notna()
    assert (logins_a[known] != logins_b[known]).mean() > 0.5  # usage drifts ...
    assert stats.spearmanr(logins_a[known], logins_b[known]).statistic > 0.5  # ... around each one's level


def test_latest_snapshot_is_unlabelled(history: DemoHistory) -> None:
    c = history.customers
    last = c[TIME_COLUMN] == months_of(history)[-1]
    assert c.loc[last, [TARGET, "revenue_next_12m", "seat_change_next_12m"]].isna().all().all()
    assert c.loc[~last, TARGET].isin(["Yes", "No"]).all()
    assert history.changes["unlabelled_snapshot"] == months_of(history)[-1]


def test_changes_are_documented_after_month_three(history: DemoHistory) -> None:
    dates = months_of(history)
    changes = history.changes["changes"]
    assert {c["kind"] for c in changes} >= {"price_change", "new_channel", "data_quality"}
    for c in changes:
        assert {"column", "from", "kind", "description"} <= set(c)
        assert c["column"] in history.customers.columns
        assert c["from"] in dates[3:]  # months 4 to 6: a run as of month 3 has seen none of them


def test_price_change_raises_the_segments_fee_and_churn(history: DemoHistory, frame: pd.DataFrame) -> None:
    planted = change(history, "price_change")
    assert planted["column"] == "monthly_fee" and planted["segment"] == PRICE_SEGMENT
    date, before = planted["from"], previous(history, planted["from"])
    fee = frame.pivot_table(index=ID_COLUMN, columns=TIME_COLUMN, values="fee")
    segment = frame.drop_duplicates(ID_COLUMN).set_index(ID_COLUMN)["segment"]
    ratio = (fee[date] / fee[before]).dropna()
    inside = ratio[segment.loc[ratio.index] == PRICE_SEGMENT]
    outside = ratio[segment.loc[ratio.index].isin(["hobbyist", "frustrated_pro", "student"])]
    assert inside.median() == pytest.approx(planted["factor"], abs=0.02)
    assert outside.median() == pytest.approx(1.0, abs=0.01)
    churn = frame[frame["segment"] == PRICE_SEGMENT].groupby(TIME_COLUMN)[TARGET].agg(
        lambda s: [int((s == "Yes").sum()), len(s)])
    (yes_b, n_b), (yes_a, n_a) = churn[before], churn[date]
    assert yes_a / n_a > 1.4 * yes_b / n_b
    assert stats.fisher_exact([[yes_a, n_a - yes_a], [yes_b, n_b - yes_b]], alternative="greater").pvalue < 1e-3


def test_new_channel_appears_from_its_date_with_a_new_kind(history: DemoHistory, frame: pd.DataFrame) -> None:
    planted = change(history, "new_channel")
    assert planted["column"] == "referral_source" and planted["value"] == NEW_CHANNEL
    channel = frame["referral_source"] == NEW_CHANNEL
    assert frame.loc[channel, TIME_COLUMN].min() == planted["from"]
    per_month = channel.groupby(frame[TIME_COLUMN]).sum()
    assert per_month[per_month.index < planted["from"]].eq(0).all()
    assert per_month.iloc[-1] > per_month[planted["from"]] > 0.02 * ROWS  # it grows
    new_kind = frame["segment"] == NEW_SEGMENT
    assert (channel <= new_kind).all() and channel[new_kind].mean() > 0.9
    labelled = frame[TARGET].notna()
    assert (frame.loc[new_kind & labelled, TARGET] == "Yes").mean() > 2 * (frame.loc[~new_kind & labelled,
                                                                                       TARGET] == "Yes").mean()
    assert (frame.loc[new_kind, "discount_pct"] == 50).all() and (frame.loc[new_kind, "plan"] == "Personal").all()


def test_data_quality_change_halves_the_count(history: DemoHistory) -> None:
    planted = change(history, "data_quality")
    column, date = planted["column"], planted["from"]
    means = history.customers.groupby(TIME_COLUMN)[column].mean()
    dates = months_of(history)
    at = dates.index(date)
    assert means[date] / means[dates[at - 1]] == pytest.approx(planted["factor"], abs=0.05)
    for now, later in zip(dates[:at - 1], dates[1:at]):
        assert means[later] / means[now] == pytest.approx(1.0, abs=0.08)


def test_same_seed_repeats_and_seeds_differ() -> None:
    a, b = demo_history(rows=300, months=3, seed=5), demo_history(rows=300, months=3, seed=5)
    pd.testing.assert_frame_equal(a.customers, b.customers)
    pd.testing.assert_frame_equal(a.truth, b.truth)
    assert a.changes == b.changes
    c = demo_history(rows=300, months=3, seed=6)
    assert not a.customers.equals(c.customers)
    assert (a.truth["segment"].head(300) != c.truth["segment"].head(300)).mean() > 0.3


@pytest.mark.parametrize("months", [1, 37])
def test_months_out_of_range(months: int) -> None:
    with pytest.raises(ValueError, match="between 2 and 36 months"):
        demo_history(rows=200, months=months)


def invoke(*args: object):  # noqa: ANN201
    return CliRunner().invoke(app, [str(a) for a in args], catch_exceptions=False)


def test_cli_months_writes_snapshots_truth_and_changes(tmp_path: Path) -> None:
    result = invoke("demo-data", "--rows", 200, "--months", 3, "--seed", 2, "--out", tmp_path)
    assert result.exit_code == 0, result.output
    customers = pd.read_csv(tmp_path / "customers.csv", low_memory=False)
    expected = demo_history(rows=200, months=3, seed=2)
    assert customers[TIME_COLUMN].nunique() == 3 and len(customers) == len(expected.customers)
    assert len(pd.read_csv(tmp_path / "truth.csv")) == len(expected.truth)
    assert json.loads((tmp_path / "changes.json").read_text()) == expected.changes


@pytest.mark.parametrize("months", ["1", "0", "99"])
def test_cli_rejects_bad_months(tmp_path: Path, months: str) -> None:
    result = invoke("demo-data", "--months", months, "--out", tmp_path / "d")
    assert result.exit_code == 2
    assert result.stderr.strip() == ("error: --months must be between 2 and 36 (one snapshot per month end); "
                                     "leave it out for one snapshot.")
    assert not (tmp_path / "d").exists()


def test_cli_without_months_writes_the_single_snapshot_as_before(tmp_path: Path) -> None:
    """The bytes `insight demo-data --rows 2000 --seed 0` wrote before the generator was split into pieces."""
    result = invoke("demo-data", "--rows", 2000, "--seed", 0, "--out", tmp_path)
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["customers.csv", "truth.csv"]
    digest = {name: hashlib.sha256((tmp_path / name).read_bytes()).hexdigest() for name in ("customers.csv",
                                                                                           "truth.csv")}
    assert digest == {"customers.csv": "f145b0e37ada0763b71295c290adb3d0107d7029d19a48dbd594adbff911a621",
                      "truth.csv": "b8abe470955d8b27bad8f7745b943faa660984417c65d2e81bb01317f13dee43"}
    assert TIME_COLUMN not in pd.read_csv(tmp_path / "customers.csv", nrows=1).columns
    assert np.isfinite(pd.read_csv(tmp_path / "truth.csv")["churn_probability"]).all()
