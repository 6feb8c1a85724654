"""The Churn risk table of a run trained with --duration: sortable and filterable by churn within each horizon,
the expected time to leaving and the value at risk, with readable headers and times in words (AppTest on a
real survival run); a run without survival shows its table as before."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
from appkit import assert_clean, metric, open_page
from streamlit.testing.v1 import AppTest

from insight import formatting as fmt
from insight.runs import layout
from insight.runs.run import set_latest
from runkit import runs_folder


@pytest.fixture(scope="module")
def risk_runs(tmp_path_factory: pytest.TempPathFactory, survival_run: Path, demo_run: Path) -> Path:
    return runs_folder(tmp_path_factory.mktemp("risk-survival-runs"), survival_run, demo_run, latest=survival_run)


def _customers(run: Path) -> pd.DataFrame:
    return pd.read_parquet(run / "customers.parquet")


def _survival(run: Path) -> dict:
    return json.loads((run / "manifest.json").read_text())["survival"]


def _headers(at: AppTest) -> dict[str, str]:
    """The risk table's column headers by column name (its column configuration)."""
    config = json.loads(at.dataframe[0].proto.columns)
    return {name: c["label"] for name, c in config.items() if isinstance(c, dict) and "label" in c}


def _sort(at: AppTest, header: str) -> AppTest:
    box = at.selectbox(key="risk_sort")
    assert header in box.options, box.options
    return box.select(header).run()


def test_the_table_shows_the_survival_columns_with_readable_headers(monkeypatch: pytest.MonkeyPatch,
                                                                   risk_runs: Path, survival_run: Path) -> None:
    at = open_page(monkeypatch, risk_runs, survival_run, "pages/risk.py")
    main = fmt.duration(_survival(survival_run)["main_horizon"], _survival(survival_run)["unit"])
    headers = _headers(at)
    assert f"Churn within {main}" in headers.values() and "Expected to leave in" in headers.values()
    table = at.dataframe[0].value
    leave = table["expected_leave_in"].astype(str)
    assert not leave.str.contains("inf", case=False).any()
    assert leave.str.match(r"^(beyond )?[\d,.]+ \w+$").all(), leave.tolist()
    options = at.selectbox(key="risk_sort").options
    for h in _survival(survival_run)["horizons"]:
        assert f"Churn within {fmt.duration(h, _survival(survival_run)['unit'])}" in options
    assert not any(o.startswith(("Churn within_", "Value lost", "Timing reason")) for o in options)


def test_sorting_by_a_horizon_orders_every_customer_by_it(monkeypatch: pytest.MonkeyPatch, risk_runs: Path,
                                                          survival_run: Path) -> None:
    survival = _survival(survival_run)
    short = min(survival["horizons"])
    column = layout.churn_within(short)
    at = open_page(monkeypatch, risk_runs, survival_run, "pages/risk.py")
    _sort(at, f"Churn within {fmt.duration(short, survival['unit'])}")
    assert_clean(at, "sorted by the shortest horizon")
    frame = _customers(survival_run)
    expected = frame.sort_values([column, "customer_id"], ascending=[False, True])["customer_id"].head(50)
    shown = at.dataframe[0].value
    assert shown["customer_id"].tolist() == expected.tolist()
    assert shown[column].is_monotonic_decreasing
    at.button_group(key="risk_order").set_value("Lowest first").run()
    lowest = frame.sort_values([column, "customer_id"], ascending=[True, True])["customer_id"].head(50)
    assert at.dataframe[0].value["customer_id"].tolist() == lowest.tolist()


def test_sorting_by_value_at_risk(monkeypatch: pytest.MonkeyPatch, risk_runs: Path, survival_run: Path) -> None:
    survival = _survival(survival_run)
    main = fmt.duration(survival["main_horizon"], survival["unit"])
    column = layout.value_lost(survival["main_horizon"])
    at = open_page(monkeypatch, risk_runs, survival_run, "pages/risk.py")
    _sort(at, f"Value at risk ({main})")
    frame = _customers(survival_run)
    top = frame.sort_values([column, "customer_id"], ascending=[False, True]).head(50)
    shown = at.dataframe[0].value
    assert shown["customer_id"].tolist() == top["customer_id"].tolist()
    assert shown[column].tolist() == pytest.approx(top[column].round(2).tolist())


def test_filtering_by_churn_within_a_horizon(monkeypatch: pytest.MonkeyPatch, risk_runs: Path,
                                             survival_run: Path) -> None:
    survival = _survival(survival_run)
    column = layout.churn_within(survival["main_horizon"])
    at = open_page(monkeypatch, risk_runs, survival_run, "pages/risk.py")
    at.multiselect(key="filter_columns").select(column).run()
    assert_clean(at, "filter column chosen")
    slider = at.slider(key=f"filter_{column}")
    assert slider.label.startswith("Churn within") and tuple(slider.value) == (0, 100)
    slider.set_range(50, 100).run()
    assert_clean(at, "filtered")
    frame = _customers(survival_run)
    assert metric(at, "Customers shown") == fmt.count(int((frame[column] >= 0.5).sum()))


def test_filtering_by_the_time_to_leaving_keeps_those_beyond(monkeypatch: pytest.MonkeyPatch, risk_runs: Path,
                                                             survival_run: Path) -> None:
    """The slider's right end stands for everyone expected to leave later than the data reaches, infinite
    times included; moving it in leaves them out."""
    at = open_page(monkeypatch, risk_runs, survival_run, "pages/risk.py")
    at.multiselect(key="filter_columns").select("expected_leave_in").run()
    slider = at.slider(key="filter_expected_leave_in")
    top = float(slider.max)
    frame = _customers(survival_run)
    leave = frame["expected_leave_in"]
    slider.set_range(1.0, top).run()
    assert_clean(at, "from one unit on")
    assert metric(at, "Customers shown") == fmt.count(int((leave >= 1.0).sum()))
    at.slider(key="filter_expected_leave_in").set_range(0.0, top / 2).run()
    assert metric(at, "Customers shown") == fmt.count(int((leave <= top / 2).sum()))


def test_a_run_without_survival_shows_its_table_as_before(monkeypatch: pytest.MonkeyPatch, risk_runs: Path,
                                                          demo_run: Path) -> None:
    at = open_page(monkeypatch, risk_runs, demo_run, "pages/risk.py")
    table = at.dataframe[0].value
    assert list(table.columns) == ["customer_id", "churn_probability", "risk_band", "revenue_at_risk",
                                   "segment_name", "reason_1", "reason_2", "reason_3"]
    options = at.selectbox(key="risk_sort").options
    assert not any(o.startswith(("Churn within", "Expected to leave", "Value at risk")) for o in options)
    assert "Churn within" not in " ".join(at.multiselect(key="filter_columns").options)


def test_the_telco_table_sorts_by_the_time_to_leaving(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                      telco_survival_run: Path) -> None:
    """The Telco run: sorted by the expected time to leaving, soonest first, with no time shown as inf."""
    shutil.copytree(telco_survival_run, tmp_path / telco_survival_run.name)
    set_latest(tmp_path, telco_survival_run.name)
    at = open_page(monkeypatch, tmp_path, telco_survival_run, "pages/risk.py")
    _sort(at, "Expected to leave in")
    at.button_group(key="risk_order").set_value("Lowest first").run()
    assert_clean(at, "Telco sorted by the time to leaving")
    frame = _customers(telco_survival_run)
    soonest = frame.sort_values([layout.EXPECTED_LEAVE_IN, "customerID"], ascending=[True, True]).head(50)
    shown = at.dataframe[0].value
    assert shown["customerID"].tolist() == soonest["customerID"].tolist()
    assert not shown[layout.EXPECTED_LEAVE_IN].astype(str).str.contains("inf", case=False).any()
    assert _headers(at)[layout.value_lost(_survival(telco_survival_run)["main_horizon"])].startswith(
        "Value at risk (")
