"""The grids' own toolbar offers no raw "Download as CSV" (client.disableDataExport): the only exports are the
pages' formula-safe ones (insight.runs.export), in a real Chromium against the real server."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect
from test_dashboard import go_to, open_app

pytestmark = pytest.mark.e2e


def test_the_risk_table_toolbar_has_search_but_no_raw_csv_download(page: Page) -> None:
    open_app(page)
    go_to(page, "Churn risk")
    grid = page.locator('[data-testid="stDataFrame"]').first
    grid.hover()
    toolbar = page.locator('[data-testid="stElementToolbar"]').filter(has=page.get_by_role("button", name="Search"))
    expect(toolbar.first).to_be_visible()  # the toolbar is shown: its absent button is a real absence
    expect(page.get_by_role("button", name="Download as CSV")).to_have_count(0)
    expect(page.get_by_role("button", name=r"Export")).not_to_have_count(0)  # the page's own, formula-safe ones
