"""The issue's must-show, small: on the demo history (six monthly snapshots with changes planted part-way), a
run trained as of month 3 compared with one trained on all six months ranks a planted column first."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from insight.changes.compare import compare_runs
from insight.config import TrainConfig
from insight.data.demo import demo_spec
from insight.data.demo_history import TIME_COLUMN, demo_history
from insight.pipeline import train


def test_month_3_against_month_6_ranks_a_planted_change_first(tmp_path: Path, train_config: TrainConfig):
    history = demo_history(rows=600, months=6, seed=0)
    dates = history.changes["snapshots"]
    spec = dataclasses.replace(demo_spec(), time_column=TIME_COLUMN)
    month_3 = train(history.customers, spec, dataclasses.replace(train_config, as_of=dates[2]),
                    runs_dir=tmp_path, source_name="history.csv")
    month_6 = train(history.customers, spec, train_config, runs_dir=tmp_path, source_name="history.csv")

    result = compare_runs(month_3, month_6)
    planted = {c["column"] for c in history.changes["changes"]}
    top = result["feature_drift"][0]
    assert top["feature"] in planted and top["drifted"], [(d["feature"], d["psi"]) for d in result["feature_drift"][:5]]
    assert (result["runs"]["a"]["snapshot"], result["runs"]["b"]["snapshot"]) == (dates[2], dates[5])
    assert result["runs"]["a"]["as_of"] == dates[2]
    out_of_time = [r for r in result["metrics"]["rows"] if r["scope"] == "out_of_time" and r["metric"] == "roc_auc"]
    assert out_of_time and out_of_time[0]["a"] is not None and out_of_time[0]["b"] is not None
    moves = result["segment_transitions"]
    assert moves["customers"] == result["risk_shift"]["both"]["customers"] > 0
    assert sum(t["customers"] for t in moves["transitions"]) == moves["customers"]
    assert moves["identity_against_a"] and moves["identity"]["previous_run"] == month_3.name
    matched = {m["id"] for m in moves["identity"]["matched"]}
    assert {t["to_id"] for t in moves["transitions"]} <= matched | set(moves["new_ids"]) | {-1}
