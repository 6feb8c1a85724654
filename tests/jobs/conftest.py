"""Fixtures of the job tests: a runs folder holding an existing run, and a small demo table to upload."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.jobs.jobkit import demo_csv


@pytest.fixture(scope="session")
def table_csv() -> bytes:
    return demo_csv()


@pytest.fixture()
def jobs_runs(tmp_path: Path, demo_run: Path) -> Path:
    """A runs folder of the test's own holding a copy of the session's demo run (the run nobody may touch)."""
    runs = tmp_path / "runs"
    runs.mkdir()
    shutil.copytree(demo_run, runs / demo_run.name)
    return runs
