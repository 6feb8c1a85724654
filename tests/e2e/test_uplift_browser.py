"""The Model page's uplift section in a real headless Chromium, on the campaign demo run (tests/conftest.py's
uplift_run): the Qini curves are drawn by plotly.js beside the held-out scores, with no error and no
traceback. Its own server on a runs folder holding just that run."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from insight import formatting as fmt
from insight.runs.run import open_run, set_latest
from tests.e2e.conftest import open_tab, serve_runs
from tests.e2e.test_dashboard import FIRST_LOAD_MS, assert_no_error, settled
from tests.e2e.test_survival_pages_browser import chart

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


@pytest.fixture(scope="module")
def uplift_server(uplift_run: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("uplift-browser-runs")
    shutil.copytree(uplift_run, folder / uplift_run.name)
    set_latest(folder, uplift_run.name)
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
