"""The dashboard, page by page, on real runs (AppTest: no browser, no mocks).

Each test works in a runs folder of its own (copies of the session's demo and Telco runs), so runs that other
tests write into the shared folder cannot change which run is the latest here.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from insight.runs import set_latest
from insight.ui import format as fmt

PROJECT = Path(__file__).resolve().parents[2]
APP = str(PROJECT / "app.py")
PAGES = sorted(f"pages/{p.name}" for p in (PROJECT / "pages").glob("*.py"))
TIMEOUT = 180


@pytest.fixture(scope="module")
def app_runs(tmp_path_factory: pytest.TempPathFactory, demo_run: Path, telco_run: Path) -> Path:
    """A runs folder holding copies of both runs; LATEST points at the Telco run."""
    runs = tmp_path_factory.mktemp("app-runs")
    for run in (demo_run, telco_run):
        shutil.copytree(run, runs / run.name)
    set_latest(runs, telco_run.name)
    return runs


def new_app(monkeypatch: pytest.MonkeyPatch, runs_dir: Path) -> AppTest:
    monkeypatch.setenv("INSIGHT_RUNS_DIR", str(runs_dir))
    return AppTest.from_file(APP, default_timeout=TIMEOUT)


def assert_clean(at: AppTest, where: str) -> None:
    """No uncaught exception and no error box (the page guard turns exceptions into error boxes)."""
    assert not at.exception, f"{where}: {[e.value for e in at.exception]}"
    assert not at.error, f"{where}: {[e.value for e in at.error]}"


def metric(at: AppTest, label: str) -> str:
    values = [m.value for m in at.metric if m.label == label]
    assert values, f"no metric {label!r} among {[m.label for m in at.metric]}"
    return values[0]


def table_with(at: AppTest, column: str) -> pd.DataFrame:
    for df in at.dataframe:
        if column in df.value.columns:
            return df.value
    raise AssertionError(f"no table with a {column!r} column")


def render_every_page(at: AppTest) -> dict[str, AppTest]:
    """The acceptance walk: run the app, then switch to each page file and run it."""
    at.run()
    assert_clean(at, "app.py")
    titles = {}
    for page in PAGES:
        at.switch_page(page)
        at.run()
        assert_clean(at, page)
        assert at.title, f"{page}: no title"
        titles[page] = at.title[0].value
    return titles


def test_there_are_six_pages_and_each_stays_thin() -> None:
    assert len(PAGES) >= 6
    for page in PAGES:
        lines = (PROJECT / page).read_text().count("\n")
        assert lines <= 120, f"{page} has {lines} lines"
        assert "import torch" not in (PROJECT / page).read_text()


def test_every_page_renders_on_the_latest_run_telco(monkeypatch: pytest.MonkeyPatch, app_runs: Path,
                                                     telco_run: Path) -> None:
    at = new_app(monkeypatch, app_runs)
    titles = render_every_page(at)
    assert titles["pages/overview.py"] == "Overview" and titles["pages/model.py"] == "Model quality"
    at.switch_page("pages/overview.py").run()
    frame = pd.read_parquet(telco_run / "customers.parquet")
    assert metric(at, "Customers") == fmt.count(len(frame))
    assert metric(at, "Expected churners") == fmt.count(frame["churn_probability"].sum())
    assert at.query_params["run"] == telco_run.name
    sidebar = " ".join(m.value for m in at.sidebar.markdown)
    assert "telco.csv" in sidebar


def test_every_page_renders_on_the_demo_run_from_a_link(monkeypatch: pytest.MonkeyPatch, app_runs: Path,
                                                        demo_run: Path) -> None:
    at = new_app(monkeypatch, app_runs)
    at.query_params["run"] = demo_run.name
    render_every_page(at)
    at.switch_page("pages/overview.py").run()
    frame = pd.read_parquet(demo_run / "customers.parquet")
    assert metric(at, "Customers") == fmt.count(len(frame))
    assert metric(at, "Revenue at risk") == fmt.amount(frame["revenue_at_risk"].sum())
    assert metric(at, "Churn rate") == fmt.pct(frame["churned"].mean())


def test_the_picker_switches_runs_and_remembers_the_choice(monkeypatch: pytest.MonkeyPatch, app_runs: Path,
                                                           demo_run: Path, telco_run: Path) -> None:
    at = new_app(monkeypatch, app_runs).run()
    assert at.selectbox(key="run_picker").value == telco_run.name  # the latest by default
    at.selectbox(key="run_picker").set_value(demo_run.name).run()
    assert_clean(at, "after switching run")
    assert at.query_params["run"] == demo_run.name
    assert metric(at, "Customers") == fmt.count(len(pd.read_parquet(demo_run / "customers.parquet")))


def test_risk_table_ranks_filters_and_exports(monkeypatch: pytest.MonkeyPatch, app_runs: Path,
                                              demo_run: Path) -> None:
    at = new_app(monkeypatch, app_runs)
    at.query_params["run"] = demo_run.name
    at.run()
    at.switch_page("pages/risk.py").run()
    assert_clean(at, "risk")
    frame = pd.read_parquet(demo_run / "customers.parquet")
    table = table_with(at, "churn_probability")
    assert table["churn_probability"].iloc[0] == pytest.approx(frame["churn_probability"].max())
    assert table["churn_probability"].is_monotonic_decreasing and len(table) == 50

    at.pills(key="filter_bands").set_value(["very high"]).run()
    assert_clean(at, "risk, band filter")
    table = table_with(at, "churn_probability")
    assert set(table["risk_band"]) == {"Very high"}
    expected = int((frame["risk_band"].astype(str) == "very high").sum())
    assert metric(at, "Customers shown") == fmt.count(expected)
    export = at.download_button[0]
    assert export.label == f"Export {fmt.count(expected)} customers as CSV"

    at.multiselect(key="filter_columns").set_value(["plan"]).run()
    at.multiselect(key="filter_plan").set_value(["Personal"]).run()
    assert_clean(at, "risk, column filter")
    table = table_with(at, "plan")
    assert set(table["plan"]) == {"Personal"}

    at.selectbox(key="risk_sort").set_value("seats").run()
    at.segmented_control(key="risk_order").set_value("Lowest first").run()
    assert_clean(at, "risk, sorted")
    assert table_with(at, "seats")["seats"].is_monotonic_increasing


def test_customer_page_explains_one_customer(monkeypatch: pytest.MonkeyPatch, app_runs: Path,
                                             demo_run: Path) -> None:
    frame = pd.read_parquet(demo_run / "customers.parquet")
    chosen = frame.iloc[len(frame) // 2]
    at = new_app(monkeypatch, app_runs)
    at.query_params["run"] = demo_run.name
    at.query_params["customer"] = chosen["customer_id"]
    at.run()
    at.switch_page("pages/customer.py").run()
    assert_clean(at, "customer")
    assert at.selectbox(key="customer_pick").value == chosen["customer_id"]
    assert metric(at, "Churn probability") == fmt.pct(chosen["churn_probability"])
    reasons = " ".join(m.value for m in at.markdown)
    assert chosen["reason_1"] in reasons
    comparison = table_with(at, "Typical customer")
    assert len(comparison) == len(json.loads((demo_run / "manifest.json").read_text())["features"])

    at.text_input(key="customer_search").set_value("C0000").run()
    assert_clean(at, "customer search")
    assert all("C0000" in o for o in at.selectbox(key="customer_pick").options)


def test_segments_page_compares_a_segment_with_the_rest(monkeypatch: pytest.MonkeyPatch, app_runs: Path,
                                                        demo_run: Path) -> None:
    at = new_app(monkeypatch, app_runs)
    at.query_params["run"] = demo_run.name
    at.run()
    at.switch_page("pages/segments.py").run()
    assert_clean(at, "segments")
    segments = json.loads((demo_run / "segments.json").read_text())["segments"]
    biggest = max(segments, key=lambda s: s["size"])
    at.selectbox(key="compare_segment").set_value(biggest["id"]).run()
    assert_clean(at, "segments, compare")
    summary = table_with(at, "Mean churn probability")
    assert summary["Customers"].iloc[0] == fmt.count(biggest["size"])  # every customer is on this small map
    contrast = table_with(at, "What stands out")
    assert len(contrast) > 0
    at.segmented_control(key="map_color").set_value("Churn probability").run()
    assert_clean(at, "segments, coloured by probability")


def test_model_page_shows_both_models(monkeypatch: pytest.MonkeyPatch, app_runs: Path,
                                      telco_run: Path) -> None:
    at = new_app(monkeypatch, app_runs).run()
    at.switch_page("pages/model.py").run()
    assert_clean(at, "model")
    manifest = json.loads((telco_run / "manifest.json").read_text())
    assert metric(at, "ROC AUC") == fmt.score(manifest["metrics"]["lightgbm"]["test"]["roc_auc"])
    table = table_with(at, "ROC AUC")
    assert len(table) == 2
    assert table["ROC AUC"].iloc[1] == pytest.approx(manifest["metrics"]["multitask"]["Churn"]["roc_auc"])


def test_without_runs_the_app_says_how_to_create_one(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    at = new_app(monkeypatch, tmp_path / "no-runs-here")
    at.run()
    assert not at.exception
    commands = " ".join(c.value for c in at.code)
    assert "make demo" in commands
    assert "insight demo-data --out demo-data" in commands
    assert "insight train demo-data/customers.csv --id customer_id --target churned" in commands
    assert any(b.label.startswith("Build the demo run") for b in at.button)
    for page in PAGES:
        at.switch_page(page).run()
        assert not at.exception
        assert "make demo" in " ".join(c.value for c in at.code)


def test_a_tampered_run_is_refused_and_another_can_be_picked(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                             demo_run: Path, telco_run: Path) -> None:
    runs = tmp_path / "runs"
    tampered = runs / demo_run.name
    shutil.copytree(demo_run, tampered)
    shutil.copytree(telco_run, runs / telco_run.name)
    data = bytearray((tampered / "customers.parquet").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (tampered / "customers.parquet").write_bytes(bytes(data))
    set_latest(runs, tampered.name)

    at = new_app(monkeypatch, runs)
    at.run()
    assert not at.exception
    refusal = " ".join(e.value for e in at.error)
    assert f"Run {tampered.name} cannot be shown" in refusal
    assert "customers.parquet" in refusal and "checksum" in refusal
    for page in PAGES:
        at.switch_page(page).run()
        assert not at.exception
        assert "cannot be shown" in " ".join(e.value for e in at.error)

    at.selectbox(key="run_picker").set_value(telco_run.name).run()
    assert_clean(at, "after picking the intact run")
    assert at.title[0].value  # a page renders again


def _failing_page() -> None:
    from insight.ui.guard import page_guard

    with page_guard("a failing page"):
        import streamlit as st

        st.title("Before the failure")
        raise ValueError("internal detail: /secret/path")


def test_an_exception_in_a_page_becomes_a_short_message() -> None:
    at = AppTest.from_function(_failing_page, default_timeout=TIMEOUT).run()
    assert not at.exception
    assert len(at.error) == 1
    message = at.error[0].value
    assert "could not be shown" in message and "server log" in message
    assert "secret" not in message and "Traceback" not in message and "ValueError" not in message


def test_rendering_pages_does_not_import_heavy_libraries(app_runs: Path) -> None:
    script = textwrap.dedent(f"""
        import os, sys
        os.environ["INSIGHT_RUNS_DIR"] = {str(app_runs)!r}
        from streamlit.testing.v1 import AppTest
        at = AppTest.from_file({APP!r}, default_timeout={TIMEOUT})
        at.run()
        for page in {PAGES!r}:
            at.switch_page(page)
            at.run()
            assert not at.exception, page
        print(sorted(m for m in ("torch", "umap", "shap", "lightgbm", "numba") if m in sys.modules))
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=PROJECT,
                         timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.strip().splitlines()[-1] == "[]"


@pytest.mark.slow
def test_the_demo_button_builds_a_run(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Pressing the button trains a real (small) demo run in-process and reloads onto it."""
    monkeypatch.setattr("insight.ui.demo.DEMO_ROWS", 600)
    runs = tmp_path / "fresh"
    at = new_app(monkeypatch, runs)
    at.run()
    # AppTest always starts in Streamlit's pages/-folder mode, where a widget's first run inside app.py and
    # its next run differ in identity; open the page directly first, as later AppTest runs do.
    at.switch_page("pages/overview.py").run()
    next(b for b in at.button if b.label.startswith("Build the demo run")).click()
    at.run(timeout=900)
    assert not at.exception
    built = [p for p in runs.iterdir() if p.is_dir() and not p.name.startswith(".")]
    assert len(built) == 1
    assert (runs / "LATEST").read_text().strip() == built[0].name
    at.run()
    assert_clean(at, "after building the demo run")
    assert metric(at, "Customers") == "600"
