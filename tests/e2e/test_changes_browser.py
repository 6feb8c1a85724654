"""The Changes page in a real headless Chromium: the demo run against the same customers a month later
(tests/conftest.py's changed_demo_run: `logins_30d` halved by a logging change, 100 customers gone). Its own
server on a runs folder holding just those two runs, the later one LATEST."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from playwright.sync_api import Browser, Page, expect

from insight.formatting import label
from insight.runs import layout
from tests.e2e.conftest import open_tab, serve_runs
from tests.e2e.test_dashboard import FIRST_LOAD_MS, assert_no_error, metric, settled

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


@pytest.fixture(scope="module")
def changes_server(month_runs: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with serve_runs(month_runs, tmp_path_factory.mktemp("changes-server")) as url:
        yield url


@pytest.fixture()
def tab(browser: Browser, changes_server: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Page]:
    with open_tab(browser, changes_server, request, tmp_path) as page:
        yield page


def test_a_link_to_a_comparison_keeps_both_runs_through_a_click(tab: Page, demo_run: Path,
                                                                changed_demo_run: Path) -> None:
    """A shared link straight to the page (on a server whose first visitor this may be: Streamlit then runs the
    page file on its own first) keeps both runs when the page reruns for a click."""
    tab.goto(f"/changes?run={changed_demo_run.name}&compare={demo_run.name}")
    expect(tab.get_by_role("heading", name="What changed", exact=True)).to_be_visible(timeout=FIRST_LOAD_MS)
    settled(tab)
    customer = tab.get_by_role("heading", name="Customer", exact=True)
    tab.locator(".st-key-changes_open_customer button").click()
    settled(tab)
    if not customer.is_visible():  # Streamlit drops the first click after it runs a page file on its own
        assert f"compare={demo_run.name}" in tab.url  # ... but the comparison survives that rerun
        assert "Pick two different runs" not in tab.locator('[data-testid="stApp"]').inner_text()
        tab.locator(".st-key-changes_open_customer button").click()
    expect(customer).to_be_visible(timeout=FIRST_LOAD_MS)
    settled(tab)
    assert_no_error(tab, "Customer opened from a link to Changes")
    tab.go_back()
    expect(tab.get_by_role("heading", name="What changed", exact=True)).to_be_visible(timeout=FIRST_LOAD_MS)
    settled(tab)
    assert_no_error(tab, "Changes after going back")
    assert f"compare={demo_run.name}" in tab.url
    expect(tab.locator(".js-plotly-plot")).to_have_count(3, timeout=FIRST_LOAD_MS)


def test_changes_page_shows_the_drift_the_migration_and_opens_a_customer(tab: Page, demo_run: Path,
                                                                          changed_demo_run: Path) -> None:
    tab.goto("/")  # the latest run (the later month) opens; the sidebar leads to the Changes page
    expect(tab.get_by_role("heading", name="Overview", exact=True)).to_be_visible(timeout=FIRST_LOAD_MS)
    settled(tab)
    tab.locator('[data-testid="stSidebarNav"] a').filter(has_text="Changes").click()
    expect(tab.get_by_role("heading", name="What changed", exact=True)).to_be_visible(timeout=FIRST_LOAD_MS)
    settled(tab)
    assert f"run={changed_demo_run.name}" in tab.url and f"compare={demo_run.name}" in tab.url
    assert_no_error(tab, "Changes")

    ids = [set(pd.read_parquet(run / layout.CUSTOMERS)["customer_id"]) for run in (demo_run, changed_demo_run)]
    both = ids[0] & ids[1]
    expect(metric(tab, "Customers in both runs")).to_have_text(f"{len(both):,}")
    assert not metric(tab, "Drifted features").inner_text().startswith("0 ")

    charts = tab.locator(".js-plotly-plot")
    expect(charts).to_have_count(3, timeout=FIRST_LOAD_MS)  # drift bars, risk distributions, migration Sankey
    for i in range(3):
        expect(charts.nth(i).locator("svg.main-svg").first).to_be_visible()
    drift = charts.nth(0)
    ticks = drift.locator(".ytick text").evaluate_all(  # each bar's label, from the top of the chart down
        "els => els.map(e => [e.getBoundingClientRect().top, e.textContent]).sort((a, b) => a[0] - b[0])"
        ".map(p => p[1])")
    assert ticks and ticks[0] == label("logins_30d"), ticks  # the halved count: the worst drift, at the top
    sankey = tab.locator(".js-plotly-plot .sankey")
    expect(sankey).to_have_count(1)
    assert sankey.locator(".sankey-node").count() >= 4  # each run's segments are nodes

    chosen = tab.locator(".st-key-changes_customer [data-testid='stSelectbox']").inner_text().strip()
    assert chosen
    tab.locator(".st-key-changes_open_customer button").click()
    expect(tab.get_by_role("heading", name="Customer", exact=True)).to_be_visible(timeout=FIRST_LOAD_MS)
    settled(tab)
    assert_no_error(tab, "Customer opened from Changes")
    assert f"customer={chosen}" in tab.url or chosen in tab.locator('[data-testid="stApp"]').inner_text()

