"""The report opened in a real browser with no network (issue 15's must-show): Debian's Chromium, a context
that is offline and whose every request but the file itself is aborted and counted, opens `insight report`'s
file and draws every figure it says it holds, with no console error and nothing fetched."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, Route

from insight import formatting as fmt
from insight.config import SegmentConfig, TrainConfig
from insight.data.demo import demo_data, demo_spec
from insight.pipeline import train
from insight.report.build import build_report
from insight.report.template import FIGURES_META
from insight.runs.run import open_run

VIEWPORT = {"width": 1400, "height": 1000}
EVIL = "<script>alert(1)</script>"
DRAWN = """() => Array.from(document.querySelectorAll('.js-plotly-plot')).map(gd => {
    const svg = gd.querySelector('svg.main-svg');
    const box = svg ? svg.getBoundingClientRect() : {width: 0, height: 0};
    return {id: gd.id, svgs: gd.querySelectorAll('svg.main-svg').length, width: box.width, height: box.height,
            traces: (gd._fullData || []).length,
            drawn: gd.querySelectorAll('g.trace path, .sankey path').length,
            gl: Array.from(gd.querySelectorAll('canvas')).filter(c => c.width > 200 && c.height > 200)
                .length};
})"""


@dataclass
class Offline:
    """A tab of an offline context whose requests (other than file:// ones) are aborted and recorded."""

    page: Page
    aborted: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)


@pytest.fixture()
def offline(browser: Browser) -> Iterator[Offline]:
    context = browser.new_context(viewport=VIEWPORT, offline=True)
    tab = Offline(context.new_page())

    def cut(route: Route) -> None:
        if route.request.url.startswith("file://"):
            route.continue_()
        else:
            tab.aborted.append(route.request.url)
            route.abort("internetdisconnected")

    context.route("**/*", cut)
    tab.page.on("console", lambda m: tab.errors.append(m.text) if m.type == "error" else None)
    tab.page.on("pageerror", lambda e: tab.errors.append(str(e)))
    tab.page.on("dialog", lambda d: (tab.dialogs.append(d.message), d.dismiss()))
    tab.page.set_default_timeout(60_000)
    try:
        yield tab
    finally:
        context.close()


def open_report(tab: Offline, html: str, folder: Path) -> int:
    """Write the report, open it, wait until every figure is drawn; the number of figures it says it holds."""
    path = folder / "report.html"
    path.write_text(html, encoding="utf-8")
    figures = int(re.search(rf'<meta name="{FIGURES_META}" content="(\d+)">', html).group(1))
    tab.page.goto(path.as_uri(), wait_until="load")
    tab.page.wait_for_function(
        "n => document.querySelectorAll('.js-plotly-plot').length === n && Array.from("
        "document.querySelectorAll('.js-plotly-plot')).every(gd => gd.querySelector('svg.main-svg'))",
        arg=figures)
    return figures


def assert_all_drawn(tab: Offline, figures: int) -> None:
    plots = tab.page.evaluate(DRAWN)
    assert len(plots) == figures
    for plot in plots:
        assert plot["svgs"] >= 1 and plot["width"] > 200 and plot["height"] > 200, plot
        assert plot["traces"] > 0 and (plot["drawn"] > 0 or plot["gl"] > 0), plot  # WebGL dots draw on canvas
    assert not tab.errors, f"console errors: {tab.errors}"
    assert not tab.aborted, f"the report asked the network for: {tab.aborted[:5]}"


def test_the_report_opens_offline_and_draws_every_figure(offline: Offline, demo_run: Path,
                                                         tmp_path: Path) -> None:
    figures = open_report(offline, build_report(demo_run), tmp_path)
    assert figures == 8
    assert_all_drawn(offline, figures)
    text = offline.page.inner_text("body")
    auc = fmt.score(open_run(demo_run).manifest.test_metrics["roc_auc"])
    assert f"ROC AUC\n{auc}" in text or f"ROC AUC {auc}" in text, "the run's AUC is not on the page"
    ids = offline.page.evaluate(
        "() => Array.from(document.querySelectorAll('.js-plotly-plot')).map(g => g.id)")
    assert ids == ["fig-risk-histogram", "fig-customer-map", "fig-importance", "fig-beeswarm", "fig-roc",
                   "fig-calibration", "fig-lift", "fig-gains"]


@pytest.fixture(scope="module")
def crafted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real run on demo customers whose billing cycle 'monthly' is a script tag."""
    customers = demo_data(rows=800, seed=3).customers
    customers["billing_cycle"] = customers["billing_cycle"].replace({"monthly": EVIL})
    config = TrainConfig(seed=0, threads=1,
                         segments=SegmentConfig(fit_sample=800, trustworthiness_sample=800))
    return train(customers, demo_spec(), config, runs_dir=tmp_path_factory.mktemp("crafted-runs"),
                 source_name="<img src=x onerror=alert(2)>.csv")


def test_a_crafted_category_shows_as_text_and_runs_nothing(offline: Offline, crafted: Path,
                                                           tmp_path: Path) -> None:
    figures = open_report(offline, build_report(crafted), tmp_path)
    assert_all_drawn(offline, figures)
    text = offline.page.inner_text("body")
    assert EVIL in text and "<img src=x onerror=alert(2)>.csv" in text
    offline.page.hover("#fig-customer-map .nsewdrag", position={"x": 300, "y": 300})  # a hover label, if any
    offline.page.wait_for_timeout(300)
    assert not offline.dialogs, f"a crafted value ran: {offline.dialogs}"
    assert offline.page.evaluate("() => document.querySelectorAll('main img').length") == 0
    assert offline.page.evaluate("() => document.scripts.length") == 1 + figures  # plotly.js and the figures'


def test_a_report_with_what_changed_opens_offline(offline: Offline, demo_run: Path, changed_demo_run: Path,
                                                  tmp_path: Path) -> None:
    figures = open_report(offline, build_report(changed_demo_run, compare=demo_run), tmp_path)
    assert figures == 11  # the run's 8 and the drift, the risk shift and the segment migration
    assert_all_drawn(offline, figures)
    assert offline.page.locator("#fig-changes-migration .sankey path").count() > 0
    assert "What changed" in offline.page.inner_text("#changes")
