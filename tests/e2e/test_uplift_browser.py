"""The Model and Targeting pages with uplift in a real headless Chromium, on the campaign demo run
(tests/conftest.py's uplift_run): the Model page's Qini curves are drawn by plotly.js beside the held-out scores;
Targeting ranks by the offer's effect by default, draws its net benefit curve beside the riskiest first's, lists
the most moved customer first with the reasons for responding, and switches to the riskiest first; no error and
no traceback. Its own server on a runs folder holding just that run."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import pandas as pd
from playwright.sync_api import Browser, Page, expect

from insight import formatting as fmt
from insight.runs import layout
from insight.runs.run import open_run
from tests.e2e.conftest import open_tab, serve_runs
from tests.e2e.test_dashboard import FIRST_LOAD_MS, assert_no_error, cell, click_until_shown, grid, settled
from tests.e2e.test_survival_pages_browser import chart
from runkit import runs_folder

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


@pytest.fixture(scope="module")
def uplift_server(uplift_run: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder = runs_folder(tmp_path_factory.mktemp("uplift-browser-runs"), uplift_run, latest=uplift_run)
    with serve_runs(folder, tmp_path_factory.mktemp("uplift-server")) as url:
        yield url


@pytest.fixture()
def tab(browser: Browser, uplift_server: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Page]:
    with open_tab(browser, uplift_server, request, tmp_path) as page:
        yield page


def test_model_page_draws_the_qini_curves(tab: Page, uplift_run: Path) -> None:
    test = open_run(uplift_run).manifest.uplift_metrics["test"]
    tab.goto(f"/model?run={uplift_run.name}")
    expect(tab.get_by_role("heading", name="Model quality", exact=True)).to_be_visible(timeout=FIRST_LOAD_MS)
    settled(tab)
    heading = tab.get_by_role("heading", name="Whom the offer moves", exact=True)
    heading.scroll_into_view_if_needed()
    expect(heading).to_be_visible(timeout=FIRST_LOAD_MS)
    settled(tab)
    assert_no_error(tab, "/model")
    graph = chart(tab, "model_uplift_qini")
    names = graph.evaluate("g => g.data.map(t => t.name)")
    assert names[:3] == ["Uplift model", "By churn risk", "Random"]
    expect(graph.locator(".legendtext")).to_have_count(len(names))
    expect(tab.get_by_text(fmt.score(test["scores"]["model"]["qini"]), exact=True).first).to_be_attached()


def test_targeting_ranks_by_the_offers_effect(tab: Page, uplift_run: Path) -> None:
    frame = pd.read_parquet(uplift_run / layout.CUSTOMERS)
    tab.goto(f"/targeting?run={uplift_run.name}")
    expect(tab.get_by_role("heading", name="Targeting", exact=True)).to_be_visible(timeout=FIRST_LOAD_MS)
    settled(tab)
    assert_no_error(tab, "/targeting")
    graph = chart(tab, "target_uplift_curves")
    names = graph.evaluate("g => g.data.filter(t => t.mode === 'lines').map(t => t.name)")
    assert names == ["By the offer's effect", "By churn risk"]
    expect(tab.get_by_text("The riskiest first would do best at", exact=False).first).to_be_visible()
    moved = frame[frame[layout.UPLIFT_GROUP] != "sleeping dog"].sort_values(
        [layout.UPLIFT, layout.CHURN_PROBABILITY, "customer_id"], ascending=[False, False, True])
    tab.locator('[data-testid="stDataFrame"]').first.scroll_into_view_if_needed()  # drawn once in view
    preview = grid(tab, "Offer's effect")
    expect(cell(preview, 0, 0)).to_have_text(str(moved["customer_id"].iloc[0]))

    riskiest = frame.sort_values(["churn_probability", "customer_id"], ascending=[False, True]).iloc[0]
    by_risk = tab.get_by_role("radio", name="Churn risk")
    note = tab.get_by_text("riskiest first;", exact=False).first
    click_until_shown(tab, by_risk.last, note)
    assert_no_error(tab, "ranked by churn risk")
    tab.locator('[data-testid="stDataFrame"]').first.scroll_into_view_if_needed()
    expect(cell(grid(tab, "Churn probability"), 0, 0)).to_have_text(str(riskiest["customer_id"]))
