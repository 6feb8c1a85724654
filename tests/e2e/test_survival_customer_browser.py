"""Time to churn on the Customer, Churn risk and Targeting pages in a real headless Chromium, on a run trained
with --duration and a period value (the lead's survival_run): the customer's survival curve renders beside
their segment's and everyone's, the risk table sorts by a horizon's column, and the Targeting page's "Rank by"
switch changes the list. Its own server on a runs folder holding that run (LATEST) and the demo run."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from playwright.sync_api import Browser, Page, expect

from insight import formatting as fmt
from insight.decisions.targeting import DEFAULT_SAVE_RATE
from insight.runs import layout
from tests.e2e.conftest import open_tab, serve_runs
from tests.e2e.test_dashboard import (FIRST_LOAD_MS, assert_no_error, cell, click_until_shown, grid, metric, plots,
                                     settled)
from runkit import runs_folder

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


@pytest.fixture(scope="module")
def survival_server(survival_run: Path, demo_run: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    runs = runs_folder(tmp_path_factory.mktemp("survival-browser-runs"), survival_run, demo_run, latest=survival_run)
    with serve_runs(runs, tmp_path_factory.mktemp("survival-browser-server")) as url:
        yield url


@pytest.fixture()
def tab(browser: Browser, survival_server: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Page]:
    with open_tab(browser, survival_server, request, tmp_path) as page:
        yield page


@pytest.fixture(scope="module")
def telco_server(telco_survival_run: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    runs = runs_folder(tmp_path_factory.mktemp("telco-survival-browser-runs"), telco_survival_run, latest=telco_survival_run)
    with serve_runs(runs, tmp_path_factory.mktemp("telco-survival-browser-server")) as url:
        yield url


def _facts(run: Path) -> tuple[pd.DataFrame, dict]:
    frame = pd.read_parquet(run / layout.CUSTOMERS)
    return frame, json.loads((run / "manifest.json").read_text())["survival"]


def _open(tab: Page, path: str, heading: str) -> None:
    tab.goto(path)
    expect(tab.get_by_role("heading", name=heading, exact=True)).to_be_visible(timeout=FIRST_LOAD_MS)
    settled(tab)
    assert_no_error(tab, path)


def test_the_customer_survival_curve_renders(tab: Page, survival_run: Path) -> None:
    _customer_curve(tab, survival_run, "customer_id")


def test_a_telco_customer_survival_curve_renders(browser: Browser, telco_server: str, telco_survival_run: Path,
                                                 request: pytest.FixtureRequest, tmp_path: Path) -> None:
    with open_tab(browser, telco_server, request, tmp_path) as telco_tab:
        _customer_curve(telco_tab, telco_survival_run, "customerID")


def _customer_curve(tab: Page, run: Path, id_column: str) -> None:
    """The Customer page of a customer with a finite expected leaving time: the tiles and the curves drawn."""
    frame, survival = _facts(run)
    row = frame[np.isfinite(frame[layout.EXPECTED_LEAVE_IN])].sort_values(id_column).iloc[0]
    _open(tab, f"/customer?run={run.name}&customer={row[id_column]}", "Customer")
    expect(tab.get_by_role("heading", name="When they may leave")).to_be_visible()
    main = fmt.duration(survival["main_horizon"], survival["unit"])
    expect(metric(tab, f"Churn within {main}")).to_have_text(
        fmt.pct(row[layout.churn_within(survival["main_horizon"])]))
    expect(plots(tab)).to_have_count(2)  # the SHAP waterfall and the survival curves
    curves = plots(tab).nth(1)
    curves.scroll_into_view_if_needed()
    expect(curves.locator("svg.main-svg").first).to_be_visible()
    names = curves.evaluate("gd => gd._fullData.map(t => t.name)")
    assert "This customer" in names and "Everyone (mean)" in names, names
    drawn = curves.evaluate("gd => gd._fullData.find(t => t.name === 'This customer').y.length")
    assert drawn > 10
    expect(curves.locator(".legendtext").filter(has_text="This customer")).to_be_visible()


def test_the_risk_table_sorts_by_a_horizon(tab: Page, survival_run: Path) -> None:
    frame, survival = _facts(survival_run)
    short = min(survival["horizons"])
    header = f"Churn within {fmt.duration(short, survival['unit'])}"
    column = layout.churn_within(short)
    _open(tab, f"/risk?run={survival_run.name}", "Churn risk")
    riskiest = frame.sort_values(["churn_probability", "customer_id"], ascending=[False, True]).iloc[0]
    table = grid(tab, "Churn probability")
    expect(cell(table, 0, 0)).to_have_text(str(riskiest["customer_id"]))
    tab.locator(".st-key-risk_sort [data-testid='stSelectbox']").click()
    tab.keyboard.type(header)  # the list is long and drawn only in part: narrow it as a person would
    tab.get_by_role("option", name=header, exact=True).click()
    settled(tab)
    assert_no_error(tab, "sorted by a horizon")
    first = frame.sort_values([column, "customer_id"], ascending=[False, True]).iloc[0]
    expect(cell(grid(tab, "Churn probability"), 0, 0)).to_have_text(str(first["customer_id"]))
    text = tab.locator('[data-testid="stDataFrame"]').first.inner_text()
    assert not re.search(r"\binf\b", text, flags=re.IGNORECASE)


def test_the_rank_by_switch_changes_the_target_list(tab: Page, survival_run: Path) -> None:
    frame, survival = _facts(survival_run)
    at_risk = layout.value_lost(survival["main_horizon"])
    _open(tab, f"/targeting?run={survival_run.name}", "Targeting")
    riskiest = frame.sort_values(["churn_probability", "customer_id"], ascending=[False, True]).iloc[0]
    tab.locator('[data-testid="stDataFrame"]').first.scroll_into_view_if_needed()  # drawn once in view
    preview = grid(tab, "Churn probability")
    expect(cell(preview, 0, 0)).to_have_text(str(riskiest["customer_id"]))
    span = fmt.duration(survival["main_horizon"], survival["unit"])
    by_value = tab.get_by_role("radio", name=f"Value at risk within {span}")
    ranked_note = tab.get_by_text("most value at risk first").first
    click_until_shown(tab, by_value.last, ranked_note)
    assert_no_error(tab, "ranked by value at risk")
    worth = frame[at_risk].fillna(0).clip(lower=0)
    ranked = frame.assign(_worth=worth).sort_values(["_worth", "customer_id"], ascending=[False, True])
    tab.locator('[data-testid="stDataFrame"]').first.scroll_into_view_if_needed()
    expect(cell(grid(tab, "Churn probability"), 0, 0)).to_have_text(str(ranked["customer_id"].iloc[0]))
    cost = float(tab.locator(".st-key-target_cost input").input_value())
    save = DEFAULT_SAVE_RATE  # the page's default, untouched here
    expect(metric(tab, "Customers to contact")).to_have_text(fmt.count(int((save * worth > cost).sum())))
