"""The Customer page of a run trained with --duration: when they may leave (churn within each horizon, the
expected time to leaving, the expected stay and value at risk within the main horizon), the timing reasons in
words and the customer's survival curve beside their segment's and everyone's (AppTest on a real survival
run); a run without survival shows none of it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from appkit import array, metric, open_page, plain, plotly_figure

from insight import formatting as fmt
from insight.runs import layout
from insight.runs.run import set_latest
from runkit import runs_folder


@pytest.fixture(scope="module")
def customer_runs(tmp_path_factory: pytest.TempPathFactory, survival_run: Path, demo_run: Path) -> Path:
    return runs_folder(tmp_path_factory.mktemp("customer-survival-runs"), survival_run, demo_run, latest=survival_run)


def _pick(run: Path) -> tuple[pd.Series, dict]:
    """A customer with a finite expected leaving time and some value at risk, and the run's survival facts."""
    frame = pd.read_parquet(run / "customers.parquet")
    survival = json.loads((run / "manifest.json").read_text())["survival"]
    main = layout.value_lost(survival["main_horizon"])
    finite = frame[np.isfinite(frame[layout.EXPECTED_LEAVE_IN]) & (frame[main] > 0)]
    return finite.sort_values("customer_id").iloc[0], survival


def test_when_they_may_leave(monkeypatch: pytest.MonkeyPatch, customer_runs: Path, survival_run: Path) -> None:
    row, survival = _pick(survival_run)
    unit, main = survival["unit"], survival["main_horizon"]
    at = open_page(monkeypatch, customer_runs, survival_run, "pages/customer.py", customer=str(row["customer_id"]))
    assert "When they may leave" in [h.value for h in at.subheader]
    for h in survival["horizons"]:
        assert metric(at, f"Churn within {fmt.duration(h, unit)}") == fmt.pct(row[layout.churn_within(h)])
    last = float(pd.read_parquet(survival_run / layout.SURVIVAL_CURVES)["time"].max())
    leave = float(row[layout.EXPECTED_LEAVE_IN])
    assert metric(at, "Expected to leave in") == (fmt.duration(leave, unit) if leave <= last
                                                  else f"beyond {fmt.duration(last, unit)}")
    assert metric(at, f"Expected stay within {fmt.duration(main, unit)}") == \
        fmt.duration(row[layout.expected_lifetime(main)], unit)
    assert metric(at, f"Value at risk ({fmt.duration(main, unit)})") == fmt.amount(row[layout.value_lost(main)])
    text = plain(" ".join(m.value for m in at.markdown))
    for reason in layout.TIMING_REASONS:
        if isinstance(row[reason], str) and row[reason]:
            assert row[reason] in text


def test_the_customer_curve_beside_their_segment_and_everyone(monkeypatch: pytest.MonkeyPatch,
                                                             customer_runs: Path, survival_run: Path) -> None:
    row, survival = _pick(survival_run)
    at = open_page(monkeypatch, customer_runs, survival_run, "pages/customer.py", customer=str(row["customer_id"]))
    figure = plotly_figure(at, "customer_survival")
    traces = {t["name"]: t for t in figure["data"]}
    assert "This customer" in traces and "Everyone (mean)" in traces
    assert any(name.endswith("(mean)") and name != "Everyone (mean)" for name in traces)  # their segment
    t, s = array(traces["This customer"]["x"]).astype(float), array(traces["This customer"]["y"]).astype(float)
    assert s[0] == pytest.approx(1.0) and np.all(np.diff(s) <= 1e-12)
    # the curve from the start agrees with the stored churn within the main horizon, counted from now
    elapsed, main = float(row[survival["duration_column"]]), float(survival["main_horizon"])
    if elapsed + main <= t.max():
        now, later = np.interp(elapsed, t, s), np.interp(elapsed + main, t, s)
        assert 1 - later / now == pytest.approx(row[layout.churn_within(main)], abs=0.05)
    assert any(name.startswith("Now (") for name in traces)


def test_a_run_without_survival_shows_none_of_it(monkeypatch: pytest.MonkeyPatch, customer_runs: Path,
                                                 demo_run: Path) -> None:
    at = open_page(monkeypatch, customer_runs, demo_run, "pages/customer.py")
    assert "When they may leave" not in [h.value for h in at.subheader]
    assert not any(m.label.startswith(("Churn within", "Expected to leave")) for m in at.metric)
    assert not any(c.proto.id.endswith("customer_survival") for c in at.get("plotly_chart"))
    assert [h.value for h in at.subheader][:2] == ["Why this risk", "Customers most like this one"]


def test_a_telco_customer_when_they_may_leave(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                              telco_survival_run: Path) -> None:
    """The Telco run (tenure in months, MonthlyCharges as the value per period): the riskiest customer's
    tiles and curve, no error."""
    shutil.copytree(telco_survival_run, tmp_path / telco_survival_run.name)
    set_latest(tmp_path, telco_survival_run.name)
    survival = json.loads((telco_survival_run / "manifest.json").read_text())["survival"]
    assert survival["period_value_column"] == "MonthlyCharges"
    at = open_page(monkeypatch, tmp_path, telco_survival_run, "pages/customer.py")
    row = pd.read_parquet(telco_survival_run / "customers.parquet").sort_values(
        ["churn_probability", "customerID"], ascending=[False, True]).iloc[0]
    main = survival["main_horizon"]
    assert metric(at, f"Value at risk ({fmt.duration(main, survival['unit'])})") == \
        fmt.amount(row[layout.value_lost(main)])
    traces = [t["name"] for t in plotly_figure(at, "customer_survival")["data"]]
    assert "This customer" in traces and "Everyone (mean)" in traces
