"""insight.pipeline.train with a time column (--time, --as-of): trained on the snapshots before the latest
labelled one, tested out of time on it, showing the latest snapshot's customers (runs from tests/conftest.py's
snapshot_runs)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from insight.data.schema import clean_target
from insight.runs.run import verify_run


def _manifest(run: Path) -> dict:
    return json.loads((run / "manifest.json").read_text())


def _month(table: pd.DataFrame, date: str) -> pd.DataFrame:
    return table[table["snapshot_date"] == date]


@pytest.mark.slow
def test_the_customers_are_the_latest_snapshots_one_row_per_id(snapshot_runs: dict[str, Path],
                                                                snapshot_table: pd.DataFrame) -> None:
    run = snapshot_runs["all"]
    assert verify_run(run) == []
    customers = pd.read_parquet(run / "customers.parquet")
    april = _month(snapshot_table, "2026-04-30")
    assert customers["customer_id"].tolist() == sorted(april["customer_id"])
    assert set(customers["snapshot_date"]) == {"2026-04-30"}
    assert customers["churned"].isna().all() and set(customers["split"]) == {"unlabelled"}
    merged = customers.merge(april, on="customer_id", suffixes=("", "_in"))
    pd.testing.assert_series_equal(merged["logins_30d"], merged["logins_30d_in"], check_names=False,
                                   check_dtype=False)  # April's values, not another month's
    for name in ("shap.parquet", "latent.parquet"):
        assert sorted(pd.read_parquet(run / name)["customer_id"]) == sorted(april["customer_id"]), name
    # April's outcomes are unknown: segments are levelled by the model's risk, not an observed churn rate
    segments = json.loads((run / "segments.json").read_text())["segments"]
    assert {s["churn_level"] for s in segments} <= {"high risk", "average risk", "low risk"}
    assert all(s["churn_rate"] is None and s["name"].endswith(s["churn_level"]) for s in segments)
    by_risk = sorted(segments, key=lambda s: s["mean_churn_probability"])
    assert by_risk[-1]["churn_level"] != "low risk" and by_risk[0]["churn_level"] != "high risk"
    manifest = _manifest(run)
    assert "snapshot_date" not in manifest["features"]
    assert manifest["spec"]["time_column"] == "snapshot_date" and "as_of" not in manifest["config"]
    assert manifest["source"]["rows"] == len(snapshot_table)  # the table as given


@pytest.mark.slow
def test_out_of_time_metrics_sit_beside_the_random_split(snapshot_runs: dict[str, Path],
                                                         snapshot_table: pd.DataFrame) -> None:
    metrics = _manifest(snapshot_runs["all"])["metrics"]
    march = _month(snapshot_table, "2026-03-31")
    for model in ("lightgbm", "logistic"):
        late = metrics[model]["out_of_time"]
        assert late["snapshot"] == "2026-03-31" and late["trained_through"] == "2026-02-28", model
        assert late["rows"] == late["n"] == len(march)
        assert late["positive_rate"] == pytest.approx(clean_target(march["churned"], "churned")[0].mean())
        assert set(metrics[model]["test"]) <= set(late)
    assert metrics["lightgbm"]["out_of_time"]["roc_auc"] > 0.65 and metrics["lightgbm"]["test"]["roc_auc"] > 0.65
    # every random-split row (train, valid, test) is a labelled row of January or February: none is March's
    sizes = metrics["split_sizes"]
    training = snapshot_table[snapshot_table["snapshot_date"] < "2026-03-31"]["churned"].notna().sum()
    assert sizes["train"] + sizes["valid"] + sizes["test"] == training
    assert metrics["lightgbm"]["test"]["n"] == sizes["test"] < len(march)
    time = metrics["time"]
    assert time["training_snapshots"] == ["2026-01-31", "2026-02-28"]
    assert (time["out_of_time_snapshot"], time["latest_snapshot"]) == ("2026-03-31", "2026-04-30")


@pytest.mark.slow
def test_as_of_shows_that_snapshot_and_its_customers_are_the_out_of_time_test(
        snapshot_runs: dict[str, Path], snapshot_table: pd.DataFrame) -> None:
    run = snapshot_runs["as_of_march"]
    manifest = _manifest(run)
    assert manifest["config"]["as_of"] == "2026-03-31"
    assert manifest["metrics"]["time"]["latest_snapshot"] == "2026-03-31"
    customers = pd.read_parquet(run / "customers.parquet")
    march = _month(snapshot_table, "2026-03-31")
    assert customers["customer_id"].tolist() == sorted(march["customer_id"])
    assert (customers["split"] == "test").all()  # every March customer is an out-of-time test customer
    segments = json.loads((run / "segments.json").read_text())["segments"]
    assert all(s["churn_level"].endswith(" churn") for s in segments)  # March's outcomes are known
    late = manifest["metrics"]["lightgbm"]["out_of_time"]
    assert late["rows"] == len(customers)
    assert not manifest["metrics"]["segments"].get("target_awareness", {}).get("churn_nmi")  # outcomes unseen


def test_a_run_without_time_has_no_out_of_time_figures(demo_run: Path) -> None:
    manifest = _manifest(demo_run)
    assert "out_of_time" not in manifest["metrics"]["lightgbm"]
    assert "out_of_time" not in manifest["metrics"]["logistic"] and "time" not in manifest["metrics"]
    assert "time_column" not in manifest["spec"] and "as_of" not in manifest["config"]
