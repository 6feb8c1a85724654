"""The Changes page on real runs (AppTest): the latest run against the one before by default, the comparison's
figures and tables, the drill to the Customer page, and short messages (never a traceback) with one run,
runs of different tables and a damaged run."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from appkit import assert_clean, metric, new_app, plain, plotly_figure, table_with
from streamlit.testing.v1 import AppTest

from insight import formatting as fmt
from insight.changes.compare import compare_runs
from insight.runs import layout
from insight.runs.run import set_latest

PAGE = "pages/changes.py"


@pytest.fixture(scope="module")
def expected(demo_run: Path, changed_demo_run: Path) -> dict:
    return compare_runs(demo_run, changed_demo_run)


def picker(at: AppTest, label: str):  # noqa: ANN201 - AppTest's Selectbox
    """The Changes page's run picker whose label starts with `label` (its key names the run it follows)."""
    found = [s for s in at.selectbox if s.label.startswith(label)]
    assert len(found) == 1, [s.label for s in at.selectbox]
    return found[0]


def open_changes(monkeypatch: pytest.MonkeyPatch, runs: Path) -> AppTest:
    at = new_app(monkeypatch, runs)
    at.run()
    at.switch_page(PAGE).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_the_latest_run_against_the_one_before(monkeypatch: pytest.MonkeyPatch, month_runs: Path, demo_run: Path,
                                               changed_demo_run: Path, expected: dict):
    at = open_changes(monkeypatch, month_runs)
    assert_clean(at, "changes")
    assert picker(at, "Newer run").value == changed_demo_run.name
    assert picker(at, "Earlier run").value == demo_run.name
    assert at.query_params["compare"] == demo_run.name
    assert metric(at, "Customers in both runs") == fmt.count(1400)
    assert metric(at, "Became high-risk") == fmt.count(expected["became_high_risk"]["count"])
    drift = table_with(at, "PSI")
    assert drift["Feature"].iloc[0] == "Logins 30d" and drift["Drifted"].iloc[0].endswith("yes")
    assert len(drift) == len(expected["feature_drift"])
    sankey = plotly_figure(at, "changes_sankey")["data"][0]
    assert sankey["type"] == "sankey" and sum(sankey["link"]["value"]) == 1400
    bars = plotly_figure(at, "changes_drift_chart")["data"][0]
    assert bars["y"][-1] == "Logins 30d"  # worst at the top
    assert plotly_figure(at, "changes_risk_chart")["data"][1]["name"] == "B (newer)"
    high = table_with(at, "Probability A → B")
    assert len(high) == expected["became_high_risk"]["listed"] > 0
    assert high["Customer"].tolist() == [str(c["id"]) for c in expected["became_high_risk"]["customers"]]
    assert {s.value for s in at.subheader} >= {"Model quality", "Feature drift", "Predicted risk", "Drivers",
                                               "Segment migration", "Customers who became high-risk"}


def test_a_customer_who_became_high_risk_opens_in_the_customer_page(monkeypatch: pytest.MonkeyPatch,
                                                                   month_runs: Path, changed_demo_run: Path,
                                                                   expected: dict):
    at = open_changes(monkeypatch, month_runs)
    wanted = str(expected["became_high_risk"]["customers"][1]["id"])
    at.selectbox(key="changes_customer").set_value(wanted).run()
    at.button(key="changes_open_customer").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.query_params["customer"] == wanted and at.query_params["run"] == changed_demo_run.name
    assert at.selectbox(key="customer_pick").value == wanted


def test_the_reference_can_be_swapped_for_a_later_run(monkeypatch: pytest.MonkeyPatch, month_runs: Path,
                                                      demo_run: Path, changed_demo_run: Path):
    at = open_changes(monkeypatch, month_runs)
    picker(at, "Newer run").set_value(demo_run.name).run()
    picker(at, "Earlier run").set_value(changed_demo_run.name).run()
    assert_clean(at, "changes, swapped")
    assert metric(at, "Customers in both runs") == fmt.count(1400)
    picker(at, "Earlier run").set_value(demo_run.name).run()
    assert_clean(at, "changes, the same run twice")
    assert "Pick two different runs" in " ".join(i.value for i in at.info)


def test_the_newer_run_follows_the_sidebar(monkeypatch: pytest.MonkeyPatch, month_runs: Path, demo_run: Path,
                                           changed_demo_run: Path):
    at = open_changes(monkeypatch, month_runs)
    at.selectbox(key="run_picker").set_value(demo_run.name).run()
    assert_clean(at, "changes, another sidebar run")
    assert picker(at, "Newer run").value == demo_run.name
    assert picker(at, "Earlier run").value == changed_demo_run.name  # the only other run
    assert metric(at, "Customers in both runs") == fmt.count(1400)


def test_with_one_run_the_page_says_what_to_do(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, demo_run: Path):
    runs = tmp_path / "runs"
    shutil.copytree(demo_run, runs / demo_run.name)
    at = open_changes(monkeypatch, runs)
    assert_clean(at, "changes, one run")
    info = plain(" ".join(i.value for i in at.info))
    assert "only one run" in info and "insight compare RUN_A RUN_B" in info
    assert not at.dataframe


def test_runs_of_different_tables_get_a_message(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, demo_run: Path,
                                                telco_run: Path):
    runs = tmp_path / "runs"
    for run in (demo_run, telco_run):
        shutil.copytree(run, runs / run.name)
    set_latest(runs, telco_run.name)
    at = open_changes(monkeypatch, runs)
    assert_clean(at, "changes, different tables")
    warning = plain(" ".join(w.value for w in at.warning))
    assert "cannot be compared" in warning and "different columns" in warning
    assert not at.dataframe


def test_a_damaged_reference_run_gets_a_message(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, demo_run: Path,
                                                changed_demo_run: Path):
    runs = tmp_path / "runs"
    for run in (demo_run, changed_demo_run):
        shutil.copytree(run, runs / run.name)
    set_latest(runs, changed_demo_run.name)
    (runs / demo_run.name / layout.SEGMENTS).write_text("{}")
    at = open_changes(monkeypatch, runs)
    errors = plain(" ".join(e.value for e in at.error))
    assert len(at.error) == 1 and "cannot be compared" in errors and "damaged or was modified" in errors
    assert not at.dataframe
