"""insight train --time / --as-of: the real command on `insight demo-data --months` snapshots, and its
refusals (exit 2, nothing written)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from insight.cli import app
from insight.data.schema import clean_target

runner = CliRunner()
DEMO = ("--id", "customer_id", "--target", "churned", "--aux", "revenue_next_12m", "--aux", "seat_change_next_12m")


def invoke(*args: object):  # noqa: ANN201
    return runner.invoke(app, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`insight demo-data --months 6`: six monthly snapshots of about 300 customers, the last unlabelled."""
    out = tmp_path_factory.mktemp("history")
    result = invoke("demo-data", "--out", out, "--rows", "300", "--months", "6", "--seed", "0")
    assert result.exit_code == 0, result.output
    return out / "customers.csv"


@pytest.mark.slow
def test_the_demo_history_run_records_out_of_time_beside_test(history: Path, tmp_path: Path) -> None:
    result = invoke("train", history, *DEMO, "--time", "snapshot_date", "--runs-dir", tmp_path)
    assert result.exit_code == 0, result.output
    run = tmp_path / result.stdout.strip().splitlines()[-1]
    manifest = json.loads((run / "manifest.json").read_text())
    table = pd.read_csv(history)
    dates = sorted(table["snapshot_date"].unique())
    labelled = table[table["snapshot_date"] == dates[-2]]
    lightgbm = manifest["metrics"]["lightgbm"]
    assert lightgbm["test"]["roc_auc"] > 0.6 and lightgbm["out_of_time"]["roc_auc"] > 0.6
    late = lightgbm["out_of_time"]
    assert (late["snapshot"], late["trained_through"]) == (dates[-2], dates[-3])
    assert late["rows"] == len(labelled)
    assert late["positive_rate"] == pytest.approx(clean_target(labelled["churned"], "churned")[0].mean())
    assert manifest["spec"]["time_column"] == "snapshot_date"
    customers = pd.read_parquet(run / "customers.parquet", columns=["customer_id", "snapshot_date"])
    latest = table[table["snapshot_date"] == dates[-1]]
    assert sorted(customers["customer_id"]) == sorted(latest["customer_id"])
    assert set(customers["snapshot_date"]) == {dates[-1]}
    listed = invoke("runs", "list", "--runs-dir", tmp_path).stdout
    assert f"ROC AUC {lightgbm['test']['roc_auc']:.3f}, out of time {late['roc_auc']:.3f} ({dates[-2]})" in listed


@pytest.mark.parametrize(("options", "message"), [
    (["--as-of", "2026-03-31"], "error: --as-of needs --time COL (the snapshot date column)."),
    (["--time", "snapshot_date", "--as-of", "soon"], "error: --as-of 'soon' is not a date; give it as YYYY-MM-DD"),
    (["--time", "snapshot_date", "--as-of", "2025-12-31"], "error: --as-of 2025-12-31 is before the first snapshot "
                                                          "(2026-01-31)"),
    (["--time", "snapshot_date", "--as-of", "2026-01-31"], "at least two labelled snapshots"),
    (["--time", "snapshot_date", "--engine", "dask"], "error: --time is not supported yet with --engine dask"),
    (["--time", "snapshot"], "error: --time column 'snapshot' is not in the table (did you mean 'snapshot_date'?)"),
    (["--time", "plan"], "error: time column 'plan' has"),
    (["--time", "churned"], "error: time column 'churned' has"),
    ([], "duplicated values"),  # snapshots without --time: the ids repeat
])
def test_bad_time_options_exit_2_and_write_nothing(history: Path, tmp_path: Path, options: list[str],
                                                   message: str) -> None:
    result = invoke("train", history, *DEMO, *options, "--runs-dir", tmp_path / "runs")
    assert result.exit_code == 2, result.output
    assert message in result.stderr.replace("\n", " ") or message in result.stderr, result.stderr
    assert not any((tmp_path / "runs").glob("2*"))
