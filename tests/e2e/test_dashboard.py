"""The dashboard in a real headless Chromium against a real Streamlit server on real runs, used the way a new
user would: clicking the sidebar, picking a run, dragging a lasso on the map, downloading CSV files.

Streamlit reruns asynchronously, so every step waits on concrete page content (a heading, a metric value,
the script-state marker), never on a fixed sleep.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import math
import re
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from playwright.sync_api import Locator, Page, expect

from benchmarks.load import CENTRAL_POINT
from insight.runs.export import SELECTION_METADATA
from insight import formatting as fmt
from insight.ui.guard import FRIENDLY_PREFIX

pytestmark = pytest.mark.e2e

NAV = '[data-testid="stSidebarNav"] a'
IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"]'
FIRST_LOAD_MS = 90_000
PAGES = {  # sidebar link -> the page's title
    "Overview": "Overview", "Churn risk": "Churn risk", "Customer": "Customer", "Drivers": "Drivers of churn",
    "Segments": "Segments", "Model quality": "Model quality",
}


# ---------------------------------------------------------------------- helpers


def customers_of(run: Path) -> pd.DataFrame:
    return pd.read_parquet(run / "customers.parquet")


def manifest_of(run: Path) -> dict[str, Any]:
    return json.loads((run / "manifest.json").read_text())


def riskiest(frame: pd.DataFrame, id_column: str) -> pd.Series:
    """The customer the risk table and the customer picker list first (ties broken by id)."""
    return frame.sort_values(["churn_probability", id_column], ascending=[False, True]).iloc[0]


def settled(page: Page) -> None:
    """Wait until the script run the last action started has finished and nothing on the page is stale."""
    page.wait_for_selector(IDLE, timeout=FIRST_LOAD_MS)
    expect(page.locator('[data-stale="true"]')).to_have_count(0, timeout=FIRST_LOAD_MS)


def click_until_shown(page: Page, target: Locator, shown: Locator) -> None:
    """Click `target` until `shown` is visible: Streamlit drops the first click after it runs a page file on its
    own (a link straight to the page), as test_changes_browser notes; a second click takes."""
    target.click()
    settled(page)
    if not shown.is_visible():
        target.click()
        settled(page)
    expect(shown).to_be_visible(timeout=FIRST_LOAD_MS)


def assert_no_error(page: Page, where: str) -> None:
    """No Streamlit exception box, no error box (the page guard's short message) and no traceback text."""
    expect(page.locator('[data-testid="stException"]'), f"{where}: exception box").to_have_count(0)
    expect(page.locator('[data-testid="stAlertContentError"]'), f"{where}: error box").to_have_count(0)
    text = page.locator('[data-testid="stApp"]').inner_text()
    for bad in ("Traceback", FRIENDLY_PREFIX, "This app has encountered an error"):
        assert bad not in text, f"{where}: {bad!r} on the page:\n{text[:2000]}"


def open_app(page: Page) -> None:
    page.goto("/")
    expect(page.get_by_role("heading", name="Overview", exact=True)).to_be_visible(timeout=FIRST_LOAD_MS)
    settled(page)


def go_to(page: Page, link: str) -> None:
    """Click a page's link in the sidebar, as a person would, and wait for that page to render."""
    page.locator(NAV).filter(has_text=re.compile(rf"{re.escape(link)}$")).click()
    expect(page.get_by_role("heading", name=PAGES[link], exact=True)).to_be_visible(timeout=FIRST_LOAD_MS)
    settled(page)


def pick_run(page: Page, run_id: str) -> None:
    """Choose a run in the sidebar's run picker."""
    page.locator('[data-testid="stSidebar"] .st-key-run_picker [data-testid="stSelectbox"]').click()
    page.get_by_role("option").filter(has_text=run_id).click()
    expect(page).to_have_url(re.compile(rf"run={re.escape(run_id)}"))
    settled(page)


def metric(page: Page, label: str) -> Locator:
    """The value of the metric tile called `label`."""
    tile = page.locator('[data-testid="stMetric"]').filter(
        has=page.locator('[data-testid="stMetricLabel"]', has_text=re.compile(rf"^{re.escape(label)}$")))
    return tile.locator('[data-testid="stMetricValue"]')


def grid(page: Page, column: str) -> Locator:
    """The data grid (st.dataframe) that has a column headed `column`."""
    return page.locator('[data-testid="stDataFrame"]').filter(
        has=page.locator('th[role="columnheader"]', has_text=re.compile(rf"^{re.escape(column)}$")))


def cell(table: Locator, col: int, row: int) -> Locator:
    return table.locator(f'[data-testid="glide-cell-{col}-{row}"]')


def csv_header(path: Path) -> list[str]:
    """The first line of a downloaded CSV file, parsed."""
    with path.open(encoding="utf-8-sig", newline="") as f:
        return next(csv.reader(f))


def plots(page: Page) -> Locator:
    return page.locator('[data-testid="stMain"] .js-plotly-plot')


def plotted_points(page: Page) -> int:
    """How many customers the segment map draws (every trace together)."""
    return int(plots(page).first.evaluate("gd => gd._fullData.reduce((n, t) => n + t.x.length, 0)"))


def test_chromium_is_installed(missing_chromium: str | None) -> None:
    """Without /usr/bin/chromium this fails saying what to do (the other tests error in setup with the same
    message); never skipped."""
    assert missing_chromium is None, missing_chromium


# ---------------------------------------------------------------------- every page, both runs


def check_every_page(page: Page, run: Path, *, source: str) -> None:
    frame, manifest = customers_of(run), manifest_of(run)
    id_column, total = manifest["spec"]["id_column"], len(frame)
    sidebar = page.locator('[data-testid="stSidebar"]')
    expect(sidebar).to_contain_text(f"Data: {source}")
    top = riskiest(frame, id_column)

    go_to(page, "Overview")
    expect(metric(page, "Customers")).to_have_text(fmt.count(total))
    expect(metric(page, "Expected churners")).to_have_text(fmt.count(frame["churn_probability"].sum()))
    expect(plots(page)).to_have_count(1)
    expect(grid(page, "Risk band")).to_be_visible()
    expect(page.get_by_text(f"{fmt.count(total)} customers scored by run {run.name}")).to_be_visible()
    assert_no_error(page, f"{run.name} Overview")

    go_to(page, "Churn risk")
    expect(metric(page, "Customers shown")).to_have_text(fmt.count(total))
    table = grid(page, "Churn probability")
    expect(cell(table, 0, 0)).to_have_text(str(top[id_column]))  # the riskiest customer first
    expect(page.get_by_role("button", name=f"Export {fmt.count(total)} customers as CSV")).to_be_enabled()
    assert_no_error(page, f"{run.name} Churn risk")

    go_to(page, "Customer")
    expect(metric(page, "Churn probability")).to_have_text(fmt.pct(top["churn_probability"]))
    expect(page.get_by_role("heading", name="Why this risk")).to_be_visible()
    expect(page.locator('[data-testid="stMain"]')).to_contain_text(str(top["reason_1"]))
    expect(plots(page)).to_have_count(1)  # the SHAP waterfall
    expect(grid(page, "All customers")).to_be_visible()  # the customer against their segment and everyone
    assert_no_error(page, f"{run.name} Customer")

    go_to(page, "Drivers")
    expect(plots(page)).to_have_count(3)  # importance bars, the beeswarm and one feature's dependence
    expect(page.get_by_role("heading", name="In words")).to_be_visible()
    assert_no_error(page, f"{run.name} Drivers")

    go_to(page, "Segments")
    expect(plots(page)).to_have_count(1)
    assert plotted_points(page) == total  # these runs are small: every customer is on the map
    expect(page.get_by_role("heading", name=re.compile(r" vs the rest$"))).to_be_visible()
    expect(grid(page, "Mean churn probability")).to_be_visible()
    assert_no_error(page, f"{run.name} Segments")

    go_to(page, "Model quality")
    test = manifest["metrics"]["lightgbm"]["test"]
    expect(metric(page, "ROC AUC")).to_have_text(fmt.score(test["roc_auc"]))
    expect(metric(page, "Test customers")).to_have_text(fmt.count(test["n"]))
    expect(plots(page).nth(4)).to_be_visible()  # ROC, PR, calibration, lift, gains (and more views)
    expect(grid(page, "ROC AUC")).to_be_visible()
    assert_no_error(page, f"{run.name} Model quality")
    expect(page).to_have_url(re.compile(rf"/model\?(.*&)?run={re.escape(run.name)}"))


def test_every_page_through_the_sidebar_on_both_runs(page: Page, telco_run: Path, demo_run: Path) -> None:
    """The Telco run opens by default; the run picker switches to the demo run and the pages follow it."""
    open_app(page)
    expect(page).to_have_url(re.compile(rf"run={re.escape(telco_run.name)}"))
    check_every_page(page, telco_run, source="telco.csv")

    pick_run(page, demo_run.name)
    check_every_page(page, demo_run, source="demo.csv")
    frame = customers_of(demo_run)
    go_to(page, "Overview")  # the demo run has revenue: revenue at risk is shown
    expect(metric(page, "Revenue at risk")).to_have_text(fmt.amount(frame["revenue_at_risk"].sum()))


# ---------------------------------------------------------------------- selections on the map

_POINTS_IN = """(gd, polygon) => {
  // Which plotted customers lie inside `polygon` (viewport pixels), from the figure's data: those surely
  // inside (more than 2 px from the edge) and those possibly inside (inside, or within 2 px of the edge).
  const svg = gd.querySelector('.main-svg').getBoundingClientRect();
  const xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis;
  const inside = (x, y) => {
    let hit = false;
    for (let i = 0, j = polygon.length - 1; i < polygon.length; j = i++) {
      const [xi, yi] = polygon[i], [xj, yj] = polygon[j];
      if ((yi > y) !== (yj > y) && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) hit = !hit;
    }
    return hit;
  };
  const edge = (x, y) => {
    let best = Infinity;
    for (let i = 0, j = polygon.length - 1; i < polygon.length; j = i++) {
      const [ax, ay] = polygon[j], [bx, by] = polygon[i];
      const len = (bx - ax) ** 2 + (by - ay) ** 2;
      const t = len ? Math.max(0, Math.min(1, ((x - ax) * (bx - ax) + (y - ay) * (by - ay)) / len)) : 0;
      best = Math.min(best, Math.hypot(x - ax - t * (bx - ax), y - ay - t * (by - ay)));
    }
    return best;
  };
  const sure = [], maybe = [];
  for (const t of gd._fullData) {
    for (let i = 0; i < t.x.length; i++) {
      const x = svg.left + xa._offset + xa.l2p(t.x[i]), y = svg.top + ya._offset + ya.l2p(t.y[i]);
      const d = edge(x, y), ins = inside(x, y);
      const id = String(t.text[i]);  // each point's text is its customer id
      if (ins && d > 2) sure.push(id);
      if (ins || d <= 2) maybe.push(id);
    }
  }
  return {sure, maybe};
}"""

_PLOTLY_SELECTED = """gd => gd._fullData.flatMap(
  t => (t.selectedpoints || []).map(i => String(t.text[i])))"""


def choose_tool(page: Page, title: str) -> None:
    """Activate a tool of the map's plotly modebar ('Box Select', 'Lasso Select')."""
    chart = page.locator('[data-testid="stPlotlyChart"]').first
    chart.scroll_into_view_if_needed()
    chart.hover()
    chart.locator(f'.modebar-btn[data-title="{title}"]').click()
    dragmode = {"Box Select": "select", "Lasso Select": "lasso"}[title]
    page.wait_for_function(f"() => document.querySelector('[data-testid=\"stPlotlyChart\"] .js-plotly-plot')"
                           f"._fullLayout.dragmode === '{dragmode}'")


def drag(page: Page, path: list[tuple[float, float]], *, steps: int = 8, close: bool = False) -> None:
    """Press the mouse at the path's first point, move through the others (with `close`, back to the first
    too), release."""
    page.mouse.move(*path[0])
    page.mouse.down()
    for (x0, y0), (x1, y1) in zip(path, [*path[1:], path[0]][: len(path) - 1 + close], strict=False):
        for k in range(1, steps + 1):
            page.mouse.move(x0 + (x1 - x0) * k / steps, y0 + (y1 - y0) * k / steps)
    page.mouse.up()


def selection_made(page: Page, polygon: list[tuple[float, float]], total: int) -> tuple[int, list[str]]:
    """After a drag: the selected count the page reports, checked against the figure's geometry and against
    plotly's own selection; returns the count and plotly's selected ids."""
    title = re.compile(r"^Your selection of [\d,]+ customers vs the rest$")
    heading = page.get_by_role("heading", name=title)
    expect(heading).to_be_visible(timeout=60_000)
    settled(page)
    count = int(re.search(r"of ([\d,]+) customers", heading.inner_text()).group(1).replace(",", ""))
    plot = plots(page).first
    where = plot.evaluate(_POINTS_IN, [list(p) for p in polygon])
    chosen = plot.evaluate(_PLOTLY_SELECTED)
    assert 0 < count < total, f"{count} of {total} customers selected"
    assert count == len(set(chosen)), "the page and plotly disagree on the selection"
    assert set(where["sure"]) <= set(chosen) <= set(where["maybe"]), "the selection is not what was dragged"
    summary = grid(page, "Mean churn probability")
    expect(cell(summary, 0, 0)).to_have_text("Selected")
    expect(cell(summary, 1, 0)).to_have_text(fmt.count(count))
    expect(cell(summary, 1, 1)).to_have_text(fmt.count(total - count))
    assert_no_error(page, "after the selection")
    return count, chosen


def shap_means(page: Page) -> list[str]:
    """The selection's mean SHAP values in the drivers table (its third column), top to bottom."""
    table = grid(page, "Selected (mean SHAP)")
    expect(cell(table, 2, 0)).not_to_have_text("")
    return table.locator('[data-testid^="glide-cell-2-"]').all_inner_texts()


def download(page: Page, button: Locator, folder: Path) -> Path:
    """Click a download button and save what the browser downloads into `folder`."""
    with page.expect_download() as info:
        button.click()
    path = folder / info.value.suggested_filename
    info.value.save_as(path)
    return path


def test_box_selection_on_the_map_compares_the_selection_with_the_rest(page: Page, telco_run: Path,
                                                                      tmp_path: Path) -> None:
    """Before any selection a segment is compared with the rest and its export holds that segment; a box
    dragged with plotly's Box Select tool then replaces it with 'Your selection of N customers'."""
    frame = customers_of(telco_run)
    total = len(frame)
    open_app(page)
    go_to(page, "Segments")
    before = page.get_by_role("heading", name=re.compile(r" vs the rest$")).inner_text()
    assert not before.startswith("Your selection")  # a segment is compared until something is selected
    segment = before.removesuffix(" vs the rest")
    size = int((frame["segment_name"].astype(str) == segment).sum())
    method = f"segment '{segment}' ({fmt.count(size)} customers)"
    button = page.get_by_role("button", name=f"Export as CSV: {method}")
    export = pd.read_csv(download(page, button, tmp_path), encoding="utf-8-sig")
    assert len(export) == size and export["segment_name"].eq(segment).all()
    assert export["export_selection"].eq(method).all()

    choose_tool(page, "Box Select")
    c = plots(page).first.evaluate(CENTRAL_POINT)
    x0, x1 = max(c["left"] + 2, c["x"] - 0.2 * c["w"]), min(c["left"] + c["w"] - 2, c["x"] + 0.2 * c["w"])
    y0, y1 = max(c["top"] + 2, c["y"] - 0.25 * c["h"]), min(c["top"] + c["h"] - 2, c["y"] + 0.25 * c["h"])
    box = [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]
    drag(page, [box[0], box[2]], steps=12)

    count, _ = selection_made(page, box, total)
    expect(page.get_by_role("button", name=f"Export as CSV: box selection of {fmt.count(count)} customers "
                                           "on the segment map")).to_be_enabled()


def test_lasso_selection_exports_the_selected_customers(page: Page, demo_run: Path, tmp_path: Path) -> None:
    """A lasso on the demo run's map; the export holds exactly the lassoed customers, riskiest first, with
    the run id, the selection method and the time in its last columns."""
    frame = customers_of(demo_run)
    open_app(page)
    pick_run(page, demo_run.name)
    go_to(page, "Segments")

    before = page.get_by_role("heading", name=re.compile(r" vs the rest$")).inner_text()
    assert not before.startswith("Your selection")  # a segment's profile until something is selected
    drivers_before = shap_means(page)
    assert drivers_before

    choose_tool(page, "Lasso Select")
    c = plots(page).first.evaluate(CENTRAL_POINT)
    r = 0.15 * min(c["w"], c["h"])
    lasso = [(c["x"] + r * math.cos(2 * math.pi * k / 24), c["y"] + r * math.sin(2 * math.pi * k / 24))
             for k in range(24)]
    drag(page, lasso, steps=3, close=True)
    count, chosen = selection_made(page, lasso, len(frame))

    method = f"lasso of {fmt.count(count)} customers on the segment map"
    button = page.get_by_role("button", name=f"Export as CSV: {method}")
    started = dt.datetime.now(dt.UTC).replace(microsecond=0)
    path = download(page, button, tmp_path)
    assert path.name == f"selection-{demo_run.name}.csv"

    header = csv_header(path)
    assert header[:7] == ["customer_id", "churn_probability", "risk_band", "segment_name", "reason_1",
                          "reason_2", "reason_3"]
    assert header[-3:] == list(SELECTION_METADATA)
    export = pd.read_csv(path, encoding="utf-8-sig")
    assert len(export) == count and set(export["customer_id"]) == set(chosen)
    assert export["export_run_id"].eq(demo_run.name).all()
    assert export["export_selection"].eq(method).all()
    stamp = dt.datetime.strptime(export["exported_at"].iloc[0], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC)
    assert started <= stamp <= dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1)
    truth = frame.set_index("customer_id").loc[export["customer_id"]]
    assert export["churn_probability"].to_numpy() == pytest.approx(truth["churn_probability"].to_numpy())
    assert export["churn_probability"].is_monotonic_decreasing
    assert export["reason_1"].notna().all()

    # the profile is the lassoed customers': their SHAP drivers replace the segment's
    assert shap_means(page) != drivers_before
    # and the risk table opens on exactly them
    page.get_by_role("button", name=f"Open these {fmt.count(count)} customers in the risk table").click()
    expect(page.get_by_role("heading", name="Churn risk", exact=True)).to_be_visible(timeout=FIRST_LOAD_MS)
    settled(page)
    expect(metric(page, "Customers shown")).to_have_text(fmt.count(count))
    expect(page.get_by_text(f"Showing only the {method}")).to_be_visible()
    assert_no_error(page, "risk table opened from the lasso")


# ---------------------------------------------------------------------- the risk table's export


def test_churn_risk_export_downloads_the_filtered_customers(page: Page, telco_run: Path,
                                                           tmp_path: Path) -> None:
    """Filter the risk table to the 'very high' band and download it: every such customer, and only them."""
    frame = customers_of(telco_run)
    very_high = frame[frame["risk_band"].astype(str) == "very high"]
    assert 0 < len(very_high) < len(frame)
    open_app(page)
    go_to(page, "Churn risk")
    page.locator(".st-key-filter_bands").get_by_role("button", name="Very high").click()
    expect(metric(page, "Customers shown")).to_have_text(fmt.count(len(very_high)))
    settled(page)
    assert_no_error(page, "Churn risk, filtered")

    button = page.get_by_role("button", name=f"Export {fmt.count(len(very_high))} customers as CSV")
    path = download(page, button, tmp_path)
    assert path.name == f"churn-risk-{telco_run.name}.csv"

    header = csv_header(path)
    assert header[0] == "customerID" and "churn_probability" in header and "reason_1" in header
    export = pd.read_csv(path, encoding="utf-8-sig")
    assert len(export) == len(very_high)
    assert set(export["customerID"]) == set(very_high["customerID"])
    assert set(export["risk_band"]) == {"very high"}
    assert export["churn_probability"].is_monotonic_decreasing
