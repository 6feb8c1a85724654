"""`insight compare`: runs named as the other commands name them, a readable summary, --json, and clear
refusals (a run that does not exist or is damaged: 1; runs that cannot be compared: 2)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from insight.cli import app
from insight.runs import layout
from insight.runs.run import set_latest

runner = CliRunner()


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory: pytest.TempPathFactory, demo_run: Path, changed_demo_run: Path,
             telco_run: Path) -> Path:
    """A runs folder with the demo run, the run a month later (LATEST) and the Telco run."""
    runs = tmp_path_factory.mktemp("compare-runs")
    for run in (demo_run, changed_demo_run, telco_run):
        shutil.copytree(run, runs / run.name)
    set_latest(runs, changed_demo_run.name)
    return runs


def test_compare_by_prefix_and_latest_writes_the_json(two_runs: Path, demo_run: Path, changed_demo_run: Path,
                                                      tmp_path: Path):
    out = tmp_path / "c.json"
    result = runner.invoke(app, ["compare", demo_run.name[:-3], "latest", "--runs-dir", str(two_runs),
                                 "--json", str(out)])
    assert result.exit_code == 0, result.output
    written = json.loads(out.read_text())
    assert written["runs"]["a"]["id"] == demo_run.name and written["runs"]["b"]["id"] == changed_demo_run.name
    assert written["feature_drift"][0]["feature"] == "logins_30d"
    assert "Feature drift, worst first" in result.output and "logins_30d" in result.output
    assert "Segment migration" in result.output
    assert f"{written['became_high_risk']['count']:,} customers in both runs became high-risk" in result.output


def test_compare_as_a_real_process_by_folder(two_runs: Path, demo_run: Path, changed_demo_run: Path):
    insight = Path(sys.executable).parent / "insight"  # the console script of this environment
    proc = subprocess.run([str(insight), "compare", str(two_runs / demo_run.name),
                           str(two_runs / changed_demo_run.name)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "Churn model (LightGBM)" in proc.stdout and "ROC AUC" in proc.stdout


def test_unknown_run_exits_1_with_a_message(two_runs: Path):
    result = runner.invoke(app, ["compare", "no-such-run", "latest", "--runs-dir", str(two_runs)])
    assert result.exit_code == 1
    assert "error: no run 'no-such-run'" in result.output


def test_runs_of_different_tables_exit_2_with_a_message(two_runs: Path, demo_run: Path, telco_run: Path,
                                                        tmp_path: Path):
    out = tmp_path / "c.json"
    result = runner.invoke(app, ["compare", demo_run.name, telco_run.name, "--runs-dir", str(two_runs),
                                 "--json", str(out)])
    assert result.exit_code == 2
    assert "different columns ('customer_id' in A, 'customerID' in B)" in result.output
    assert not out.exists()


def test_a_damaged_run_exits_1(two_runs: Path, demo_run: Path, changed_demo_run: Path, tmp_path: Path):
    runs = tmp_path / "runs"
    for run in (demo_run, changed_demo_run):
        shutil.copytree(two_runs / run.name, runs / run.name)
    (runs / changed_demo_run.name / layout.SEGMENTS).write_text("{}")
    result = runner.invoke(app, ["compare", demo_run.name, changed_demo_run.name, "--runs-dir", str(runs)])
    assert result.exit_code == 1
    assert "is damaged or was modified" in result.output
