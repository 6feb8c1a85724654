"""compare_runs on two real runs: the demo run and one trained on the same customers a month later (100 gone,
one column halved for everyone, a tenth of them less active)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from insight.changes.compare import compare_runs, compare_sides
from insight.changes.risk import HIGH_BANDS
from insight.changes.sides import KEY, RunSide, load_side
from insight.errors import InputError, RunError
from insight.runs import layout

KEYS = ("runs", "metrics", "feature_drift", "drift_method", "risk_shift", "drivers", "segment_transitions",
        "became_high_risk", "notes")


@pytest.fixture(scope="module")
def result(demo_run: Path, changed_demo_run: Path) -> dict:
    return compare_runs(demo_run, changed_demo_run)


def test_the_halved_column_drifts_most(result: dict, demo_run: Path):
    drift = result["feature_drift"]
    top = drift[0]
    assert top["feature"] == "logins_30d" and top["drifted"] and top["psi"] > 0.5
    assert top["current_mean"] == pytest.approx(top["reference_mean"] / 2, rel=0.1)
    assert [d["psi"] for d in drift] == sorted((d["psi"] for d in drift), reverse=True)
    assert {d["feature"] for d in drift} == set(json.loads((demo_run / layout.MANIFEST).read_text())["features"])
    assert result["drift_method"]["flagged"] == sum(d["drifted"] for d in drift)
    assert result["drift_method"]["flagged"] <= 4  # the halved column and the two changed for a tenth, at most


def test_json_has_every_key_and_is_standard_json(result: dict, demo_run: Path, changed_demo_run: Path):
    assert set(KEYS) <= set(result)
    text = json.dumps(result, allow_nan=False)
    assert json.loads(text) == result
    assert result["runs"]["a"]["id"] == demo_run.name and result["runs"]["b"]["id"] == changed_demo_run.name
    assert (result["runs"]["a"]["customers"], result["runs"]["b"]["customers"]) == (1500, 1400)
    scopes = {(r["scope"], r["metric"]) for r in result["metrics"]["rows"]}
    assert {("test", "roc_auc"), ("test", "log_loss"), ("test", "ece"), ("test", "brier")} <= scopes
    auc = next(r for r in result["metrics"]["rows"] if r["metric"] == "roc_auc")
    assert 0.6 < auc["a"] < 1 and 0.6 < auc["b"] < 1 and auc["change"] == pytest.approx(auc["b"] - auc["a"])
    assert result["metrics"]["segments"]["a"] >= 1


def test_segment_transitions_sum_to_the_customers_in_both(result: dict, demo_run: Path, changed_demo_run: Path):
    moves = result["segment_transitions"]
    ids_a = set(pd.read_parquet(demo_run / layout.CUSTOMERS, columns=["customer_id"])["customer_id"])
    ids_b = set(pd.read_parquet(changed_demo_run / layout.CUSTOMERS, columns=["customer_id"])["customer_id"])
    both = len(ids_a & ids_b)
    assert both == 1400
    assert moves["customers"] == both == sum(t["customers"] for t in moves["transitions"])
    assert sum(t["customers"] for t in moves["from_totals"]) == both == sum(t["customers"] for t in moves["to_totals"])
    assert (moves["only_a"], moves["only_b"]) == (100, 0)
    a = pd.read_parquet(demo_run / layout.CUSTOMERS, columns=["customer_id", "segment_id"])
    b = pd.read_parquet(changed_demo_run / layout.CUSTOMERS, columns=["customer_id", "segment_id"])
    crossed = a.merge(b, on="customer_id").groupby(["segment_id_x", "segment_id_y"]).size()
    listed = {(t["from_id"], t["to_id"]): t["customers"] for t in moves["transitions"]}
    assert listed == {k: int(v) for k, v in crossed.items()}


def test_risk_shift_matches_the_stored_probabilities(result: dict, demo_run: Path, changed_demo_run: Path):
    shift = result["risk_shift"]
    pa = pd.read_parquet(demo_run / layout.CUSTOMERS, columns=["customer_id", "churn_probability", "risk_band"])
    pb = pd.read_parquet(changed_demo_run / layout.CUSTOMERS, columns=["customer_id", "churn_probability",
                                                                        "risk_band"])
    assert shift["mean_probability"]["a"] == pytest.approx(pa["churn_probability"].mean())
    assert shift["mean_probability"]["change"] == pytest.approx(pb["churn_probability"].mean()
                                                                - pa["churn_probability"].mean())
    assert sum(r["a"] for r in shift["bands"]) == 1500 and sum(r["b"] for r in shift["bands"]) == 1400
    assert sum(shift["histogram"]["a"]) == 1500 and sum(shift["histogram"]["b"]) == 1400
    joined = pa.merge(pb, on="customer_id", suffixes=("_a", "_b"))
    assert shift["both"]["mean_change"] == pytest.approx((joined["churn_probability_b"]
                                                          - joined["churn_probability_a"]).mean())
    order = {b: i for i, b in enumerate(layout.RISK_BANDS)}
    up = (joined["risk_band_b"].astype(str).map(order) > joined["risk_band_a"].astype(str).map(order)).sum()
    assert shift["both"]["moved_up"] == up
    assert shift["both"]["moved_up"] + shift["both"]["moved_down"] + shift["both"]["same_band"] == 1400


def test_customers_who_became_high_risk_with_their_moved_features(result: dict, demo_run: Path,
                                                                   changed_demo_run: Path):
    high = result["became_high_risk"]
    assert high["count"] > 0 and high["listed"] == len(high["customers"]) <= high["count"]
    shap_a = pd.read_parquet(demo_run / layout.SHAP).set_index("customer_id")
    shap_b = pd.read_parquet(changed_demo_run / layout.SHAP).set_index("customer_id")
    rises = [c["probability_b"] - c["probability_a"] for c in high["customers"]]
    assert rises == sorted(rises, reverse=True)
    for c in high["customers"]:
        assert c["band_a"] not in HIGH_BANDS and c["band_b"] in HIGH_BANDS
        moved = (shap_b.loc[c["id"]] - shap_a.loc[c["id"]]).drop("base_value").abs().sort_values(ascending=False)
        assert [m["feature"] for m in c["moved"]] == moved.index[:3].tolist()
        assert all(m["shap_b"] - m["shap_a"] == pytest.approx(m["change"]) for m in c["moved"])


def test_driver_change_is_sorted_by_absolute_change(result: dict):
    drivers = result["drivers"]
    changes = [abs(d["change"]) for d in drivers]
    assert changes == sorted(changes, reverse=True)
    logins = next(d for d in drivers if d["feature"] == "logins_30d")
    assert logins["a"] > 0 and logins["b"] > 0 and logins["rank_a"] >= 1


def test_runs_on_different_tables_are_refused_with_a_message(demo_run: Path, telco_run: Path):
    with pytest.raises(InputError, match="different columns"):
        compare_runs(demo_run, telco_run)


def test_runs_without_a_feature_in_common_are_refused(demo_run: Path, changed_demo_run: Path):
    """A run whose stored customers hold none of the other's features (here: the later run's customers cut
    to their ids) cannot be compared: InputError saying so."""
    a, b = load_side(demo_run), load_side(changed_demo_run)
    bare = RunSide(run=b.run, roles=b.roles, customers=b.customers[[b.id_column, KEY]])
    with pytest.raises(InputError, match="no feature in common"):
        compare_sides(a, bare)


def test_a_damaged_run_is_refused(demo_run: Path, changed_demo_run: Path, tmp_path: Path):
    damaged = tmp_path / changed_demo_run.name
    shutil.copytree(changed_demo_run, damaged)
    with open(damaged / layout.CUSTOMERS, "ab") as f:
        f.write(b"x")
    with pytest.raises(RunError, match="damaged or was modified"):
        compare_runs(demo_run, damaged)
