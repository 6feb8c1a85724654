"""The survival sections of the Segments and Model pages in a real headless Chromium, on the demo survival run
and the Telco survival run (tests/conftest.py's survival_run and telco_survival_run): the Kaplan-Meier figure
with its bands and the calibration-at-horizons figure are drawn by plotly.js, with no error and no traceback.
Its own server on a runs folder holding just those two runs."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from playwright.sync_api import Browser, Page, expect

from insight.runs import layout
from insight.runs.run import open_run
from tests.e2e.conftest import open_tab, serve_runs
from tests.e2e.test_dashboard import FIRST_LOAD_MS, assert_no_error, settled
from runkit import runs_folder

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


@pytest.fixture(scope="module")
def survival_runs(tmp_path_factory: pytest.TempPathFactory, survival_run: Path,
                  telco_survival_run: Path) -> Path:
    return runs_folder(tmp_path_factory.mktemp("survival-browser-runs"), telco_survival_run, survival_run, latest=survival_run)


@pytest.fixture(scope="module")
def survival_server(survival_runs: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with serve_runs(survival_runs, tmp_path_factory.mktemp("survival-server")) as url:
        yield url


@pytest.fixture()
def tab(browser: Browser, survival_server: str, request: pytest.FixtureRequest,
        tmp_path: Path) -> Iterator[Page]:
    with open_tab(browser, survival_server, request, tmp_path) as page:
        yield page


def open_section(tab: Page, path: str, title: str) -> None:
    tab.goto(path)
    expect(tab.get_by_role("heading", name=title, exact=True)).to_be_visible(timeout=FIRST_LOAD_MS)
    settled(tab)
    heading = tab.get_by_role("heading", name="Time to churn", exact=True)
    heading.scroll_into_view_if_needed()
    expect(heading).to_be_visible(timeout=FIRST_LOAD_MS)
    settled(tab)
    assert_no_error(tab, path)


def chart(tab: Page, key: str):
    """The plotly.js graph of the chart with widget key `key`, once drawn."""
    graph = tab.locator(f".st-key-{key} .js-plotly-plot")
    graph.scroll_into_view_if_needed()
    expect(graph.locator("svg.main-svg").first).to_be_visible(timeout=FIRST_LOAD_MS)
    return graph


@pytest.mark.parametrize("which", ["demo", "telco"])
def test_segments_page_draws_the_kaplan_meier_curves(tab: Page, which: str, survival_run: Path,
                                                      telco_survival_run: Path) -> None:
    run = survival_run if which == "demo" else telco_survival_run
    segments = pd.read_parquet(run / layout.CUSTOMERS)[layout.SEGMENT_ID].nunique()
    open_section(tab, f"/segments?run={run.name}", "Segments")
    graph = chart(tab, "segments_km")
    traces = graph.evaluate("g => g.data.map(t => [t.name, t.fill || '', t.showlegend !== false])")
    lines = [name for name, _, shown in traces if shown]
    assert lines[-1] == "Everyone" and len(lines) == segments + 1
    assert sum(fill == "tonexty" for _, fill, _ in traces) == segments  # one band per segment
    expect(graph.locator("path.js-fill")).to_have_count(segments)  # the bands are drawn
    expect(graph.locator(".legendtext")).to_have_count(segments + 1)
    expect(tab.get_by_text("log-rank", exact=False).first).to_be_visible()
    toggle = tab.locator(".st-key-survival_only_chosen")
    legend = tab.locator(".st-key-segments_km .legendtext")
    toggle.get_by_text("Only the segment compared above").click()
    settled(tab)
    try:
        expect(legend).to_have_count(2, timeout=15_000)
    except AssertionError:  # Streamlit drops the first click after it runs a page file on its own (a
        # link straight to the page): the switch is back off, and a second click takes
        expect(toggle.get_by_role("switch")).not_to_be_checked()
        toggle.get_by_text("Only the segment compared above").click()
        settled(tab)
    assert_no_error(tab, "one segment against everyone")
    expect(tab.locator(".st-key-segments_km .legendtext")).to_have_count(2, timeout=FIRST_LOAD_MS)
    expect(tab.locator(".st-key-segments_km path.js-fill")).to_have_count(1)


@pytest.mark.parametrize("which", ["demo", "telco"])
def test_model_page_draws_calibration_at_each_horizon(tab: Page, which: str, survival_run: Path,
                                                      telco_survival_run: Path) -> None:
    run = survival_run if which == "demo" else telco_survival_run
    horizons = len(open_run(run).manifest.survival["horizons"])
    open_section(tab, f"/model?run={run.name}", "Model quality")
    graph = chart(tab, "model_survival_calibration")
    names = graph.evaluate("g => g.data.map(t => t.name)")
    assert names.count("Survival model") == horizons and names.count("Perfect") == horizons
    expect(graph.locator(".subplot")).to_have_count(horizons)
    expect(tab.get_by_text("customers by when they leave", exact=False)).to_be_visible()
    if which == "telco":
        expect(tab.get_by_text("Left out of the survival model")).to_be_visible()
