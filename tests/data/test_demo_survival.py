"""insight.data.demo_survival: current and former demo customers with a planted time to churn per segment,
censored at the snapshot; and `insight demo-data --survival`."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from lifelines import KaplanMeierFitter
from scipy.optimize import brentq
from typer.testing import CliRunner

from insight.cli import app
from insight.data.demo import AUX_TARGETS, ID_COLUMN, REFERENCE_DATE, SEGMENTS, TARGET, demo_data, write_demo_data
from insight.data.demo_survival import (DAYS_PER_MONTH, DURATION, SCALE, SHAPE, WINDOW_MONTHS, demo_survival_data,
                                        true_survival, write_demo_survival_data)

ROWS = 10_000
TRUTH_COLUMNS = [ID_COLUMN, "segment", "weibull_shape", "weibull_scale", "true_median_lifetime", "time_to_churn",
                 "months_since_signup"]
DEFAULT_DEMO_SHA256 = {  # write_demo_data(rows=300, seed=0), frozen before demo_survival existed
    "customers.csv": "2783ddddd4a884e35c0916b154139977ad97df6fac1bb40848bac611fb7f3635",
    "truth.csv": "7cfae09c2334b6958d6ced961d6503d1cb27c9854eb52365ed3267ef7689eede",
}


@pytest.fixture(scope="module")
def data() -> tuple[pd.DataFrame, pd.DataFrame]:
    d = demo_survival_data(rows=ROWS, seed=0)
    return d.customers, d.truth


def _left(customers: pd.DataFrame) -> np.ndarray:
    return (customers[TARGET] == "Yes").to_numpy()


def test_same_seed_same_data_and_another_seed_other_data() -> None:
    a, b, c = (demo_survival_data(rows=400, seed=s) for s in (3, 3, 4))
    pd.testing.assert_frame_equal(a.customers, b.customers)
    pd.testing.assert_frame_equal(a.truth, b.truth)
    assert not np.allclose(a.truth["time_to_churn"], c.truth["time_to_churn"])


def test_too_few_rows() -> None:
    with pytest.raises(ValueError, match="at least 100"):
        demo_survival_data(rows=50)


def test_the_default_demos_columns_plus_the_duration(data: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    customers, truth = data
    default = list(demo_data(rows=100, seed=0).customers.columns)
    columns = list(customers.columns)
    assert columns[: columns.index("signup_date") + 1] + columns[columns.index(DURATION) + 1:] == default
    assert columns[columns.index("signup_date") + 1] == DURATION
    assert list(truth.columns) == TRUTH_COLUMNS
    assert len(customers) == len(truth) == ROWS
    assert customers[ID_COLUMN].is_unique and customers[ID_COLUMN].tolist() == truth[ID_COLUMN].tolist()
    assert set(customers[TARGET]) == {"Yes", "No"}
    assert set(truth["segment"]) == set(SEGMENTS)


def test_censored_at_the_snapshot(data: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    customers, truth = data
    tenure = customers[DURATION].to_numpy()
    since = truth["months_since_signup"].to_numpy()
    t = truth["time_to_churn"].to_numpy()
    left = _left(customers)
    assert (tenure >= 0).all() and (since > 0).all() and (since <= WINDOW_MONTHS + 1e-9).all()
    assert (tenure <= since + 0.005).all()  # tenure to 0.01 month
    np.testing.assert_array_equal(left, t <= since)
    np.testing.assert_allclose(tenure, np.minimum(t, since), atol=0.005 + 1e-6)
    # signup_date is the snapshot less the months since signup, in whole days
    days = (REFERENCE_DATE - pd.to_datetime(customers["signup_date"])).dt.days.to_numpy()
    np.testing.assert_allclose(days / DAYS_PER_MONTH, since, atol=1e-5)
    assert 0.40 <= 1 - left.mean() <= 0.75


def test_next_year_follows_the_true_time_to_churn(data: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    customers, truth = data
    left = _left(customers)
    assert all(a in customers.columns for a in AUX_TARGETS)
    assert (customers.loc[left, "revenue_next_12m"] == 0).all()
    np.testing.assert_array_equal(customers.loc[left, "seat_change_next_12m"], -customers.loc[left, "seats"])
    stays = (truth["time_to_churn"] > truth["months_since_signup"] + 12).to_numpy()
    assert (customers.loc[stays, "revenue_next_12m"] > 0).all()
    leaves_next_year = ~left & ~stays
    np.testing.assert_array_equal(customers.loc[leaves_next_year, "seat_change_next_12m"],
                                  -customers.loc[leaves_next_year, "seats"])


def test_truth_is_each_customers_weibull_law(data: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    _, truth = data
    for segment, group in truth.groupby("segment"):
        assert (group["weibull_shape"] == SHAPE[str(segment)]).all()
    median = truth["weibull_scale"] * np.log(2) ** (1 / truth["weibull_shape"])
    np.testing.assert_allclose(truth["true_median_lifetime"], median, rtol=1e-5)
    s = true_survival(truth, truth["true_median_lifetime"].to_numpy())
    np.testing.assert_allclose(np.diag(s), 0.5, atol=1e-5)
    # the drawn times follow the laws: about half of each segment's members outlive their own median
    outlived = truth["time_to_churn"] > truth["true_median_lifetime"]
    assert outlived.groupby(truth["segment"]).mean().between(0.45, 0.55).all()


def _marginal_median(truth: pd.DataFrame) -> float:
    return brentq(lambda t: true_survival(truth, np.array([t])).mean() - 0.5, 0.0, 4 * WINDOW_MONTHS)


def test_kaplan_meier_on_the_censored_table_recovers_each_segments_median(
        data: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    customers, truth = data
    left = _left(customers)
    medians = {}
    for segment in SEGMENTS:
        members = (truth["segment"] == segment).to_numpy()
        km = KaplanMeierFitter().fit(customers.loc[members, DURATION], left[members])
        true = _marginal_median(truth[members])
        assert np.isfinite(km.median_survival_time_), segment  # the curve reaches 0.5 within the window
        assert km.median_survival_time_ == pytest.approx(true, rel=0.12), segment
        medians[segment] = true
    # clearly different medians: months for hobbyists, years for enterprises
    order = sorted(medians, key=medians.get)
    assert order[0] == "hobbyist" and order[-1] == "enterprise"
    assert medians["hobbyist"] < 7 and medians["enterprise"] > 36
    assert max(medians.values()) / min(medians.values()) > 6
    assert max(SCALE, key=SCALE.get) == "enterprise"


def test_the_default_demo_is_unchanged(tmp_path: Path) -> None:
    customers, truth = write_demo_data(tmp_path, rows=300, seed=0)
    assert {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in (customers, truth)} == DEFAULT_DEMO_SHA256


def test_write_demo_survival_data_round_trips(tmp_path: Path) -> None:
    customers, truth = write_demo_survival_data(tmp_path / "d", rows=300, seed=2)
    d = demo_survival_data(rows=300, seed=2)
    back = pd.read_csv(truth)
    assert list(back.columns) == TRUTH_COLUMNS
    np.testing.assert_allclose(back["time_to_churn"], d.truth["time_to_churn"])
    assert pd.read_csv(customers)[DURATION].tolist() == d.customers[DURATION].tolist()


def test_cli_demo_data_survival(tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["demo-data", "--survival", "--rows", "250", "--seed", "5", "--out",
                                 str(tmp_path / "s")], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    customers = pd.read_csv(tmp_path / "s" / "customers.csv")
    truth = pd.read_csv(tmp_path / "s" / "truth.csv")
    expected = demo_survival_data(rows=250, seed=5)
    assert customers[DURATION].tolist() == expected.customers[DURATION].tolist()
    assert list(truth.columns) == TRUTH_COLUMNS and len(truth) == 250
    assert "250 current and former customers" in result.stdout


def test_cli_survival_and_months_conflict(tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["demo-data", "--survival", "--months", "3", "--out", str(tmp_path / "x")],
                           catch_exceptions=False)
    assert result.exit_code == 2
    assert "--survival and --months cannot be combined" in result.stderr
    assert not (tmp_path / "x").exists()
