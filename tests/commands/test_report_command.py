"""`insight report`: the real command (typer's CliRunner, and once as a subprocess) writes the report of a run
named as the other commands name runs, refuses bad paths (exit 2) and damaged runs (exit 1), and replaces
only a previous report."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from insight import formatting as fmt
from insight.cli import app
from insight.runs.run import open_run, set_latest

runner = CliRunner()


def invoke(*args: object):  # noqa: ANN201
    return runner.invoke(app, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory, demo_run: Path) -> Path:
    """A runs folder of this module's own holding a copy of the demo run (LATEST on it)."""
    folder = tmp_path_factory.mktemp("report-runs")
    shutil.copytree(demo_run, folder / demo_run.name)
    set_latest(folder, demo_run.name)
    return folder


def test_writes_the_report_of_the_latest_run(runs: Path, tmp_path: Path, demo_run: Path) -> None:
    out = tmp_path / "report.html"
    result = invoke("report", "latest", "--runs-dir", runs, "--out", out)
    assert result.exit_code == 0, result.output
    text = out.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>") and text.rstrip().endswith("</html>")
    assert fmt.score(open_run(demo_run).manifest.test_metrics["roc_auc"]) in text
    assert f"wrote {out}" in result.output and " MB" in result.output
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]  # no temporary file left beside it


def test_an_existing_file_is_replaced_only_when_it_is_a_report_and_with_overwrite(runs: Path,
                                                                                  tmp_path: Path) -> None:
    run_id = next(p.name for p in runs.iterdir() if p.is_dir())
    out = tmp_path / "report.html"
    assert invoke("report", run_id[:15], "--runs-dir", runs, "--out", out).exit_code == 0  # an id prefix
    first = out.stat().st_mtime_ns
    again = invoke("report", "latest", "--runs-dir", runs, "--out", out)
    assert again.exit_code == 2 and "--overwrite" in again.output and out.stat().st_mtime_ns == first
    assert invoke("report", "latest", "--runs-dir", runs, "--out", out, "--overwrite").exit_code == 0
    notes = tmp_path / "notes.html"
    notes.write_text("<html>my own notes</html>")
    refused = invoke("report", "latest", "--runs-dir", runs, "--out", notes, "--overwrite")
    assert refused.exit_code == 2 and "not a report written by `insight report`" in refused.output
    assert notes.read_text() == "<html>my own notes</html>"


@pytest.mark.parametrize("where", ["missing folder", "a folder", "inside the run"])
def test_bad_out_paths_exit_2_and_write_nothing(runs: Path, tmp_path: Path, where: str) -> None:
    run = next(p for p in runs.iterdir() if p.is_dir())
    out = {"missing folder": tmp_path / "no" / "such" / "report.html", "a folder": tmp_path,
           "inside the run": run / "report.html"}[where]
    before = sorted(p.name for p in run.iterdir())
    result = invoke("report", "latest", "--runs-dir", runs, "--out", out)
    assert result.exit_code == 2, result.output
    assert result.output.startswith("error: --out ")
    assert not (tmp_path / "no").exists() and sorted(p.name for p in run.iterdir()) == before
    assert invoke("runs", "verify", run.name, "--runs-dir", runs).exit_code == 0


def test_an_unknown_or_damaged_run_exits_1(runs: Path, tmp_path: Path, demo_run: Path) -> None:
    unknown = invoke("report", "no-such-run", "--runs-dir", runs, "--out", tmp_path / "r.html")
    assert unknown.exit_code == 1 and "no run 'no-such-run'" in unknown.output
    damaged = tmp_path / "damaged-runs"
    shutil.copytree(demo_run, damaged / demo_run.name)
    with (damaged / demo_run.name / "segments.json").open("a") as f:
        f.write(" ")
    result = invoke("report", "latest", "--runs-dir", damaged, "--out", tmp_path / "r.html")
    assert result.exit_code == 1 and "damaged or was modified" in result.output
    assert not (tmp_path / "r.html").exists()


def test_the_console_script_as_a_real_process(runs: Path, tmp_path: Path) -> None:
    """Exit statuses and stderr as a shell or CI sees them."""
    beside = Path(sys.executable).parent / "insight"
    insight = str(beside) if beside.exists() else shutil.which("insight")
    assert insight, "the `insight` console script is not installed (pip install -e .)"
    out = tmp_path / "report.html"
    command = [insight, "report", "latest", "--runs-dir", str(runs), "--out", str(out)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=180, check=False)
    assert done.returncode == 0, done.stderr
    assert '<meta name="generator" content="insight report">' in out.read_text(encoding="utf-8")[:4096]
    again = subprocess.run(command, capture_output=True, text=True, timeout=180, check=False)
    assert again.returncode == 2
    assert again.stderr.strip() == (f"error: --out {out} exists; pass --overwrite to replace a previous "
                                    "report, or choose another file.")


def test_compare_adds_what_changed_and_refuses_the_same_run(tmp_path: Path, demo_run: Path,
                                                            changed_demo_run: Path) -> None:
    runs = tmp_path / "runs"
    for run in (demo_run, changed_demo_run):
        shutil.copytree(run, runs / run.name)
    set_latest(runs, changed_demo_run.name)
    out = tmp_path / "report.html"
    result = invoke("report", "latest", "--compare", demo_run.name, "--runs-dir", runs, "--out", out)
    assert result.exit_code == 0, result.output
    assert f"against {demo_run.name}" in result.output
    text = out.read_text(encoding="utf-8")
    assert '<section id="changes"><h2>What changed</h2>' in text and "fig-changes-migration" in text
    same = invoke("report", "latest", "--compare", "latest", "--runs-dir", runs,
                  "--out", tmp_path / "same.html")
    assert same.exit_code == 2 and "the same run" in same.output
    missing = invoke("report", "latest", "--compare", "nope", "--runs-dir", runs,
                     "--out", tmp_path / "x.html")
    assert missing.exit_code == 1 and "no run 'nope'" in missing.output
