"""The dashboard, page by page, on real runs (AppTest: no browser, no mocks).

Each test works in a runs folder of its own (copies of the session's demo and Telco runs), so runs that other
tests write into the shared folder cannot change which run is the latest here.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest
from appkit import (APP, TIMEOUT, array, assert_clean, metric, new_app, open_page, plain, plotly_figure,
                    table_with)
from streamlit.testing.v1 import AppTest

from insight.formatting import label
from insight.runs.run import set_latest
from insight import formatting as fmt

PROJECT = Path(__file__).resolve().parents[2]
PAGES = sorted(f"pages/{p.name}" for p in (PROJECT / "pages").glob("*.py"))
RUN_PAGES = [p for p in PAGES if p != "pages/upload.py"]
"""The pages that show a run (the upload page needs none: shell.runless_page)."""


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
    """Pages lay out what the run facade gives them: no computing with pandas or numpy, no store, no torch."""
    assert len(PAGES) >= 6
    for page in PAGES:
        text = (PROJECT / page).read_text()
        assert text.count("\n") <= 120, f"{page} has {text.count(chr(10))} lines"
        for banned in ("import torch", "import pandas", "import numpy", "insight.runs.store", "loaders",
                       ".store."):
            assert banned not in text, f"{page}: {banned}"


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
    sidebar = plain(" ".join(m.value for m in at.sidebar.markdown))
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
    reasons = plain(" ".join(m.value for m in at.markdown))
    assert chosen["reason_1"] in reasons
    comparison = table_with(at, "All customers")
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


def test_model_page_shows_all_three_models(monkeypatch: pytest.MonkeyPatch, app_runs: Path,
                                      telco_run: Path) -> None:
    at = new_app(monkeypatch, app_runs).run()
    at.switch_page("pages/model.py").run()
    assert_clean(at, "model")
    manifest = json.loads((telco_run / "manifest.json").read_text())
    assert metric(at, "ROC AUC") == fmt.score(manifest["metrics"]["lightgbm"]["test"]["roc_auc"])
    table = table_with(at, "ROC AUC")
    assert len(table) == 3  # LightGBM, the multi-task churn head, the logistic baseline
    assert table["ROC AUC"].iloc[0] == pytest.approx(manifest["metrics"]["lightgbm"]["test"]["roc_auc"], abs=1e-9)


def test_without_runs_the_app_says_how_to_create_one(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    at = new_app(monkeypatch, tmp_path / "no-runs-here")
    at.run()
    assert not at.exception
    commands = " ".join(c.value for c in at.code)
    assert "make demo" in commands
    assert "insight demo-data --out demo-data" in commands
    assert "insight train demo-data/customers.csv --id customer_id --target churned" in commands
    assert any(b.label.startswith("Build the demo run") for b in at.button)
    for page in RUN_PAGES:
        at.switch_page(page).run()
        assert not at.exception
        assert "make demo" in " ".join(c.value for c in at.code)


def test_a_failing_run_picker_is_one_short_message(monkeypatch: pytest.MonkeyPatch, app_runs: Path) -> None:
    """When the sidebar's picker fails, its error shows once and the page shows nothing more: no second
    picker is built (that raised a duplicate-widget exception on top of the real error)."""
    def failing_picker(runs_dir: Path) -> None:
        raise OSError(f"cannot list {runs_dir}")

    monkeypatch.setattr("insight.ui.sidebar.run_picker", failing_picker)
    at = new_app(monkeypatch, app_runs)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert len(at.error) == 1
    at.switch_page(PAGES[1]).run()
    assert not at.exception, [e.value for e in at.exception]
    assert len(at.error) == 1


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
    refusal = plain(" ".join(e.value for e in at.error))
    assert f"Run {tampered.name} cannot be shown" in refusal
    assert "customers.parquet" in refusal and "checksum" in refusal
    for page in RUN_PAGES:
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


# ---------------------------------------------------------------------- explanations that lead to action


def resign(run: Path, changed: str) -> None:
    """Update a copied run's manifest after changing one of its files, as a new training would have written
    it (the checksums then match again)."""
    from insight.runs.run import MANIFEST_DIGEST, manifest_digest, sha256_of

    manifest = json.loads((run / "manifest.json").read_text())
    manifest["files"][changed] = {"sha256": sha256_of(run / changed), "bytes": (run / changed).stat().st_size}
    manifest[MANIFEST_DIGEST] = manifest_digest(manifest)
    (run / "manifest.json").write_text(json.dumps(manifest, indent=2))


def test_risk_table_filters_by_main_reason_and_exports_parquet(monkeypatch: pytest.MonkeyPatch,
                                                               app_runs: Path, demo_run: Path,
                                                               downloads: dict) -> None:
    frame = pd.read_parquet(demo_run / "customers.parquet")
    reason = frame["top_reason"].value_counts().index[1]
    at = open_page(monkeypatch, app_runs, demo_run, "pages/risk.py")
    control = at.multiselect(key="filter_top_reason")
    assert f"{label(reason)} ({(frame['top_reason'] == reason).sum():,})" in control.options  # readable
    control.set_value([reason]).run()
    assert_clean(at, "risk, main reason")
    expected = frame[frame["top_reason"] == reason].sort_values(["churn_probability", "customer_id"],
                                                                ascending=[False, True])
    assert metric(at, "Customers shown") == fmt.count(len(expected))
    table = table_with(at, "top_reason")
    assert list(table.columns[:8]) == ["customer_id", "churn_probability", "risk_band", "revenue_at_risk",
                                       "segment_name", "reason_1", "reason_2", "reason_3"]
    assert set(table["top_reason"]) == {reason}

    labels = [b.label for b in at.download_button]
    assert f"Export {fmt.count(len(expected))} customers as Parquet" in labels
    exported = pd.read_parquet(io.BytesIO(downloads[f"churn-risk-{demo_run.name}.parquet"]()))
    assert list(exported.columns[:8]) == list(table.columns[:8])
    assert sorted(exported.columns) == sorted(frame.columns)  # every column
    pd.testing.assert_frame_equal(exported[list(frame.columns)].astype({"risk_band": str}),
                                  expected.reset_index(drop=True).astype({"risk_band": str}),
                                  check_dtype=False)
    csv_rows = pd.read_csv(io.BytesIO(downloads[f"churn-risk-{demo_run.name}.csv"]()), encoding="utf-8-sig")
    assert csv_rows["customer_id"].tolist() == expected["customer_id"].tolist()


def test_csv_exports_neutralise_formulas(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, demo_run: Path,
                                         downloads: dict) -> None:
    """A customer id '=HYPERLINK("http://x","y")' reaches the CSV of the risk table and of the target list as
    text: the cell starts with a single quote, so a spreadsheet does not run it."""
    hostile = '=HYPERLINK("http://x","y")'
    run = tmp_path / "runs" / demo_run.name
    shutil.copytree(demo_run, run)
    frame = pd.read_parquet(run / "customers.parquet")
    riskiest = frame["churn_probability"].idxmax()
    frame.loc[riskiest, "customer_id"] = hostile
    frame.to_parquet(run / "customers.parquet", index=False)
    resign(run, "customers.parquet")
    set_latest(run.parent, run.name)

    at = open_page(monkeypatch, run.parent, run, "pages/risk.py")
    for name in (f"churn-risk-{run.name}.csv", f"target-list-{run.name}.csv"):
        if name.startswith("target"):
            at.switch_page("pages/targeting.py").run()
            assert_clean(at, "targeting")
        text = downloads[name]().decode("utf-8-sig")
        cells = list(csv.reader(io.StringIO(text)))
        assert cells[1][0] == "'" + hostile, name  # the riskiest customer, first
        assert not any(c.startswith(("=", "+", "@", "\t", "\r")) for row in cells for c in row), name
        assert pd.read_csv(io.StringIO(text))["customer_id"].iloc[0] == "'" + hostile


def test_drivers_dependence_for_a_chosen_feature_and_segment(monkeypatch: pytest.MonkeyPatch, app_runs: Path,
                                                             demo_run: Path) -> None:
    frame = pd.read_parquet(demo_run / "customers.parquet")
    shap = pd.read_parquet(demo_run / "shap.parquet")
    segment = int(frame["segment_id"].value_counts().index[-1])
    members = frame[frame["segment_id"] == segment]
    at = open_page(monkeypatch, app_runs, demo_run, "pages/drivers.py")
    assert at.segmented_control(key="drivers_scope").options == ["All customers", "One segment"]
    at.segmented_control(key="drivers_scope").set_value("One segment").run()
    at.selectbox(key="drivers_segment").set_value(segment).run()
    at.selectbox(key="drivers_feature").set_value("monthly_fee").run()
    assert_clean(at, "drivers, segment scope")

    importance = plotly_figure(at, "drivers_importance")["data"][0]
    in_segment = shap[shap["customer_id"].isin(members["customer_id"])]
    top = in_segment.drop(columns=["customer_id", "base_value"]).abs().mean().sort_values().tail(len(array(importance["x"])))
    assert array(importance["x"]) == pytest.approx(top.to_numpy())  # the segment's own importance
    dependence = plotly_figure(at, "drivers_dependence")
    assert "monthly fee" in dependence["layout"]["title"]["text"]
    points = sum(len(array(t["x"])) for t in dependence["data"])
    assert points == int(members["monthly_fee"].notna().sum())  # every customer of the small segment


def test_drivers_can_explain_the_risk_tables_filter(monkeypatch: pytest.MonkeyPatch, app_runs: Path,
                                                    demo_run: Path) -> None:
    frame = pd.read_parquet(demo_run / "customers.parquet")
    at = open_page(monkeypatch, app_runs, demo_run, "pages/risk.py")
    at.pills(key="filter_bands").set_value(["very high"]).run()
    at.switch_page("pages/drivers.py").run()
    at.segmented_control(key="drivers_scope").set_value("Risk-table filter").run()
    assert_clean(at, "drivers, risk filter scope")
    beeswarm = plotly_figure(at, "drivers_beeswarm")
    dots = sum(len(array(t["x"])) for t in beeswarm["data"])
    features = len(array(beeswarm["layout"]["yaxis"]["tickvals"]))
    assert dots == features * int((frame["risk_band"].astype(str) == "very high").sum())


def test_targeting_recommends_the_best_cut(monkeypatch: pytest.MonkeyPatch, app_runs: Path, demo_run: Path,
                                           downloads: dict) -> None:
    from insight.decisions.targeting import OfferEconomics, benefit_curve, best_cut

    frame = pd.read_parquet(demo_run / "customers.parquet").sort_values(
        ["churn_probability", "customer_id"], ascending=[False, True])
    at = open_page(monkeypatch, app_runs, demo_run, "pages/targeting.py")
    value = frame["predicted_revenue_next_12m"].clip(lower=0)
    assert at.number_input(key="target_value").value == pytest.approx(round(value.mean(), 2))
    at.number_input(key="target_cost").set_value(40.0)
    at.slider(key="target_save_rate").set_value(25)
    at.number_input(key="target_value").set_value(300.0).run()
    assert_clean(at, "targeting")
    p = frame["churn_probability"].to_numpy()
    k = best_cut(benefit_curve(p, None, OfferEconomics(cost_per_contact=40, save_rate=0.25,
                                                       value_per_customer=300)))
    assert 0 < k < len(frame)
    assert metric(at, "Customers to contact") == fmt.count(k)
    export = pd.read_csv(io.BytesIO(downloads[f"target-list-{demo_run.name}.csv"]()), encoding="utf-8-sig")
    assert export["customer_id"].tolist() == frame["customer_id"].head(k).tolist()
    assert list(export.columns) == ["customer_id", "churn_probability", "risk_band", "value", "expected_benefit",
                                    "reason_1", "reason_2", "reason_3"]
    assert (export["value"] == 300).all() and export["reason_1"].notna().all()

    at.toggle(key="target_own_value").set_value(True).run()
    assert_clean(at, "targeting, own values")
    own = best_cut(benefit_curve(p, value.to_numpy(), OfferEconomics(cost_per_contact=40, save_rate=0.25)))
    assert metric(at, "Customers to contact") == fmt.count(own)
