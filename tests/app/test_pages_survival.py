"""Every page on runs trained with --duration (the demo survival and Telco survival runs) or --treatment (the
campaign demo run): none fails, and the Overview still counts the run's customers."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest
from appkit import assert_clean, metric, new_app

from insight import formatting as fmt
from insight.runs.run import set_latest

PROJECT = Path(__file__).resolve().parents[2]
PAGES = sorted(f"pages/{p.name}" for p in (PROJECT / "pages").glob("*.py"))

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("which", ["survival_run", "telco_survival_run", "uplift_run"])
def test_every_page_renders_on_a_survival_run(which: str, request: pytest.FixtureRequest,
                                              monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    run: Path = request.getfixturevalue(which)
    runs = tmp_path / "runs"
    shutil.copytree(run, runs / run.name)
    set_latest(runs, run.name)
    at = new_app(monkeypatch, runs)
    at.run()
    assert_clean(at, "app.py")
    for page in PAGES:
        at.switch_page(page).run()
        assert_clean(at, page)
        assert at.title, page
    at.switch_page("pages/overview.py").run()
    frame = pd.read_parquet(run / "customers.parquet")
    assert metric(at, "Customers") == fmt.count(len(frame))
