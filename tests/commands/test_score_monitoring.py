"""`insight score` reports on each batch: _monitoring.json beside the scores (drift of every feature, the
performance estimated without labels, with --labels the realised figures beside it) and a batch record in the
runs folder; on both engines, with a real run."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import precision_score, recall_score, roc_auc_score
from typer.testing import CliRunner

from insight.cli import app
from insight.data.demo import demo_data
from insight.monitoring.batches import list_batches
from insight.runs.run import list_runs, open_run

runner = CliRunner()
ROWS = 800


@pytest.fixture(scope="module")
def run(demo_run: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The session's demo run, copied into a runs folder of its own (its batch records stay here)."""
    runs = tmp_path_factory.mktemp("monitoring-runs")
    return Path(shutil.copytree(demo_run, runs / demo_run.name))


@pytest.fixture(scope="module")
def batch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """800 new demo customers (another seed), as two Parquet parts."""
    folder = tmp_path_factory.mktemp("batch")
    customers = demo_data(rows=ROWS, seed=1).customers
    customers.iloc[:500].to_parquet(folder / "part-0.parquet", index=False)
    customers.iloc[500:].to_parquet(folder / "part-1.parquet", index=False)
    return folder


def _score(run: Path, data: Path, out: Path, *extra: str) -> object:
    return runner.invoke(app, ["score", str(run), str(data), "--out", str(out), "--runs-dir", str(run.parent),
                               *extra], catch_exceptions=False)


def _report(out: Path) -> dict:
    return json.loads((out / "_monitoring.json").read_text())


def test_without_labels_drift_of_every_feature_and_the_estimate(run: Path, batch: Path, tmp_path: Path) -> None:
    result = _score(run, batch, tmp_path / "scores")
    assert result.exit_code == 0, result.output
    assert "monitoring: estimated AUC" in result.output
    report = _report(tmp_path / "scores")
    features = set(open_run(run).manifest.features)
    assert {c["feature"] for c in report["drift"]["columns"]} == features
    assert report["drift"]["features"] == len(features)
    assert report["rows"] == ROWS and report["run_id"] == run.name
    assert report["reference"]["splits"] == ["train", "valid"]
    est = report["estimated"]
    p = pd.read_parquet(tmp_path / "scores")["churn_probability"].to_numpy()
    assert est["churn_rate"] == pytest.approx(p.mean()) and 0.6 < est["roc_auc"] < 1
    assert est["threshold"] == pytest.approx(1 / 3)
    assert report["realised"] is None and report["labels"] is None
    marker = json.loads((tmp_path / "scores" / "_insight_scores.json").read_text())
    assert marker["monitoring"] == "_monitoring.json"
    # the same generator, another seed: no column has moved
    assert report["drift"]["drifted"] <= 1

    records = list_batches(run.parent, run.name)
    assert records and records[-1]["out"] == str((tmp_path / "scores").resolve())
    assert records[-1]["estimated"]["roc_auc"] == est["roc_auc"] and records[-1]["rows"] == ROWS
    assert (run.parent / ".batches" / run.name).is_dir()
    assert list_runs(run.parent) == [run]  # the records are not a run
    listed = runner.invoke(app, ["runs", "list", "--runs-dir", str(run.parent)], catch_exceptions=False)
    assert ".batches" not in listed.output and run.name in listed.output

    again = _score(run, batch, tmp_path / "scores", "--overwrite")  # the report is part of a score output
    assert again.exit_code == 0, again.output


def test_labels_put_realised_performance_beside_the_estimate_on_dask(run: Path, batch: Path, tmp_path: Path,
                                                                      dask_scheduler: str) -> None:
    local = _score(run, batch, tmp_path / "local", "--labels", "churned")
    assert local.exit_code == 0, local.output
    dask = _score(run, batch, tmp_path / "dask", "--labels", "churned", "--engine", "dask", "--scheduler",
                  dask_scheduler)
    assert dask.exit_code == 0, dask.output
    report, other = _report(tmp_path / "local"), _report(tmp_path / "dask")
    for key in ("estimated", "realised", "difference", "drift", "rows"):
        assert report[key] == other[key]
    assert (report["engine"], other["engine"]) == ("local", "dask")

    scores = pd.read_parquet(tmp_path / "local")
    truth = pd.concat([pd.read_parquet(p) for p in sorted(batch.glob("*.parquet"))])
    y = (truth["churned"].astype(str).str.lower() == "yes").to_numpy().astype(int)
    assert (scores["customer_id"].to_numpy() == truth["customer_id"].to_numpy()).all()
    p = scores["churn_probability"].to_numpy()
    real = report["realised"]
    assert real["roc_auc"] == pytest.approx(roc_auc_score(y, p))
    assert real["precision"] == pytest.approx(precision_score(y, p >= 1 / 3))
    assert real["recall"] == pytest.approx(recall_score(y, p >= 1 / 3))
    assert real["churn_rate"] == pytest.approx(y.mean())
    assert report["labels"] == {"column": "churned", "known": ROWS}
    assert report["difference"]["roc_auc"] == pytest.approx(report["estimated"]["roc_auc"] - real["roc_auc"])
    assert abs(report["difference"]["roc_auc"]) < 0.05  # a calibrated run on data like its own
    assert "realised AUC" in local.output
    assert list_batches(run.parent, run.name)[-1]["realised"] == other["realised"]


@pytest.mark.parametrize("column, values, message", [
    ("outcome", None, "--labels 'outcome' is not a column of"),
    ("churned", ["maybe", "perhaps"], "--labels 'churned' must hold the run's churn values"),
])
def test_bad_labels_exit_2_and_write_nothing(run: Path, tmp_path: Path, column: str, values: list | None,
                                             message: str) -> None:
    customers = demo_data(rows=200, seed=2).customers
    if values is not None:
        customers["churned"] = np.resize(values, len(customers))
    customers.to_csv(tmp_path / "batch.csv", index=False)
    before = len(list_batches(run.parent, run.name))
    result = runner.invoke(app, ["score", str(run), str(tmp_path / "batch.csv"), "--out", str(tmp_path / "out"),
                                 "--labels", column])
    assert result.exit_code == 2
    assert message in result.output.replace("\n", " ")
    assert not (tmp_path / "out").exists()
    assert len(list_batches(run.parent, run.name)) == before


def test_a_shifted_column_is_flagged_first(run: Path, tmp_path: Path) -> None:
    customers = demo_data(rows=ROWS, seed=3).customers
    customers["monthly_fee"] = pd.to_numeric(customers["monthly_fee"], errors="coerce") * 1.8
    customers.to_parquet(tmp_path / "shifted.parquet", index=False)
    result = _score(run, tmp_path / "shifted.parquet", tmp_path / "out")
    assert result.exit_code == 0, result.output
    drift = _report(tmp_path / "out")["drift"]
    assert drift["columns"][0]["feature"] == "monthly_fee" and drift["columns"][0]["drifted"]
    assert "monthly_fee" in result.output
    assert list_batches(run.parent, run.name)[-1]["drift"]["top"][0]["feature"] == "monthly_fee"


def test_blank_outcomes_are_left_out_of_the_comparison(run: Path, tmp_path: Path) -> None:
    """Customers whose outcome is not known yet: the realised figures and the difference use the others, and
    the estimate on those same customers is kept beside the estimate on everyone."""
    customers = demo_data(rows=400, seed=4).customers
    customers.loc[customers.index[::4], "churned"] = None
    customers.to_csv(tmp_path / "partly.csv", index=False)
    result = _score(run, tmp_path / "partly.csv", tmp_path / "out", "--labels", "churned")
    assert result.exit_code == 0, result.output
    report = _report(tmp_path / "out")
    assert report["labels"]["known"] == 300 and report["estimated"]["rows"] == 400
    same = report["estimated_labelled"]
    assert same["rows"] == 300
    assert report["difference"]["roc_auc"] == pytest.approx(same["roc_auc"] - report["realised"]["roc_auc"])
