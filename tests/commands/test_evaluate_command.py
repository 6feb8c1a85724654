"""insight evaluate --time: rolling-origin evaluation through the real command (the table printed, the JSON)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from insight.cli import app

runner = CliRunner()
DEMO = ("--id", "customer_id", "--target", "churned", "--aux", "revenue_next_12m", "--aux", "seat_change_next_12m")


def invoke(*args: object):  # noqa: ANN201
    return runner.invoke(app, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture(scope="module")
def months(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three monthly demo snapshots of about 300 customers: two labelled, so one origin."""
    out = tmp_path_factory.mktemp("months")
    assert invoke("demo-data", "--out", out, "--rows", "300", "--months", "3").exit_code == 0
    return out / "customers.csv"


@pytest.mark.slow
def test_evaluate_time_writes_each_origin_and_the_mean(months: Path, tmp_path: Path) -> None:
    result = invoke("evaluate", months, *DEMO, "--time", "snapshot_date", "--json", tmp_path / "rolling.json")
    assert result.exit_code == 0, result.output
    assert "Rolling-origin evaluation on 'snapshot_date': 1 origin " in result.stdout and "mean ±" in result.stdout
    out = json.loads((tmp_path / "rolling.json").read_text())
    table = pd.read_csv(months)
    dates = sorted(table["snapshot_date"].unique())
    (origin,) = out["origins"]
    assert (origin["train_through"], origin["test_snapshot"]) == (dates[0], dates[1])
    assert origin["train_rows"] == (table["snapshot_date"] == dates[0]).sum()
    assert origin["rows"] == (table["snapshot_date"] == dates[1]).sum()
    assert set(origin["models"]) == {"lightgbm", "multitask", "logistic"}
    assert origin["models"]["lightgbm"]["roc_auc"] > 0.6
    assert out["models"]["lightgbm"]["roc_auc"]["mean"] == pytest.approx(origin["models"]["lightgbm"]["roc_auc"])
    assert out["time_column"] == "snapshot_date" and out["skipped"] == []


def test_evaluate_as_of_needs_time(months: Path) -> None:
    result = invoke("evaluate", months, *DEMO, "--as-of", "2026-02-28")
    assert result.exit_code == 2 and "error: --as-of needs --time COL" in result.stderr
