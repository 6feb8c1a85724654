"""benchmarks/load.py measures what it says: real browser sessions at once against a real Streamlit server on a
real run, every page of the navigation opened, one box selection on the map each, and the server's memory.
Speed itself is never asserted (shared machines are noisy); errors and completeness are."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from benchmarks.load import load_benchmark, page_paths
from insight.runs.run import set_latest

pytestmark = pytest.mark.e2e


def test_every_page_of_the_navigation_is_visited() -> None:
    from insight.ui.shell import PAGES

    paths = page_paths()
    assert paths[0] == "/" and len(paths) == len(PAGES)
    assert "/segments" in paths and "/risk" in paths


def test_two_waves_of_two_sessions_open_every_page_and_select_on_the_map(demo_run: Path, tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    shutil.copytree(demo_run, runs / demo_run.name)
    set_latest(runs, demo_run.name)
    result = load_benchmark(runs_dir=runs, sessions=2, settle=0.5, waves=2,
                            work=tmp_path / "work")
    assert result["errors"] == 0, result["error_examples"]
    assert result["run"] == demo_run.name
    assert result["page"]["n"] == 2 * 2 * len(page_paths())  # every page of every session of both waves
    assert all(q["n"] == 4 for q in result["page_by_path"].values())
    assert result["selection"]["n"] == 4  # every selection reached "Your selection of N customers vs the rest"
    assert result["one_session_alone"]["errors"] == 0
    rss = result["server_rss_mb"]
    assert 50 < rss["start"] <= rss["peak"] and len(rss["after_each_wave"]) == 2 and rss["after"] > 0
    assert 0 < result["server_cpu_seconds"] < (os.cpu_count() or 1) * result["wall_seconds"]  # one process
