"""insight.survival.run_parts through insight.pipeline.train: a run with --duration, end to end (the session's
demo survival and Telco survival runs), and runs without it unchanged."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from insight.runs import layout
from insight.runs.models import load_models
from insight.runs.run import open_run, verify_run
from insight.data.features import encode
from insight.survival.hazard import HazardModel
from insight.survival.hazard_shap import window_log_odds
from insight.survival.setup import survival_inputs

pytestmark = pytest.mark.slow

SURVIVAL_FILES = {layout.SURVIVAL_MODEL, layout.SURVIVAL_SHAP, layout.SURVIVAL_CURVES}


def _manifest(run: Path) -> dict:
    return json.loads((run / layout.MANIFEST).read_text())


def _columns(horizons: list[float], value: bool) -> set[str]:
    out = {layout.MEDIAN_LIFETIME, layout.EXPECTED_LEAVE_IN, *layout.TIMING_REASONS}
    for h in horizons:
        out |= {layout.churn_within(h), layout.expected_lifetime(h)} | ({layout.value_lost(h)} if value else set())
    return out


@pytest.mark.parametrize("which", ["survival_run", "telco_survival_run"])
def test_a_survival_run_stores_its_model_curves_and_columns(which: str, request: pytest.FixtureRequest) -> None:
    run: Path = request.getfixturevalue(which)
    assert SURVIVAL_FILES <= {p.name for p in run.iterdir()}
    assert verify_run(run) == []  # the new files are checksummed like the others
    manifest = _manifest(run)
    survival = manifest["survival"]
    assert survival["unit"] == "months" and survival["horizons"] == [1.0, 3.0, 12.0]
    assert survival["main_horizon"] == 12.0
    assert survival["duration_column"] not in survival["features"]
    customers = pd.read_parquet(run / layout.CUSTOMERS)
    assert _columns(survival["horizons"], survival["period_value_column"] is not None) <= set(customers.columns)
    p1, p3, p12 = (customers[layout.churn_within(h)] for h in (1, 3, 12))
    assert ((p1 <= p3 + 1e-9) & (p3 <= p12 + 1e-9)).all() and p12.between(0, 1).all()
    life = customers[layout.expected_lifetime(12)]
    assert ((life > 0) & (life <= 12 + 1e-9)).all()
    assert np.corrcoef(life, p12)[0, 1] < -0.9  # a longer expected stay, a lower chance of leaving
    assert customers[layout.TIMING_REASONS[0]].str.contains(" — ").all()
    model = HazardModel.from_json((run / layout.SURVIVAL_MODEL).read_text())
    assert model.report["customers"] == int((customers[layout.SPLIT] != layout.TEST_SPLIT).sum())


def test_telco_leaves_out_total_charges_and_values_by_monthly_charges(telco_survival_run: Path) -> None:
    survival = _manifest(telco_survival_run)["survival"]
    assert "TotalCharges" in survival["left_out"] and "TotalCharges" not in survival["features"]
    assert "tenure" not in survival["left_out"]  # the duration itself is not "a feature measuring it"
    assert survival["period_value_column"] == "MonthlyCharges"
    customers = pd.read_parquet(telco_survival_run / layout.CUSTOMERS)
    lost = customers[layout.value_lost(12)]
    expected = customers["MonthlyCharges"] * (12 - customers[layout.expected_lifetime(12)])
    assert np.allclose(lost, expected, rtol=1e-5)
    assert customers.loc[customers["Contract"] == "Two year", layout.churn_within(12)].mean() < \
        customers.loc[customers["Contract"] == "Month-to-month", layout.churn_within(12)].mean() / 3


def test_the_survival_model_beats_kaplan_meier_on_the_test_customers(telco_survival_run: Path) -> None:
    metrics = _manifest(telco_survival_run)["metrics"]["survival"]
    test = metrics["test"]
    assert set(test) == {"survival", "cox", "kaplan_meier"}
    assert test["survival"]["concordance"] > 0.75 and test["kaplan_meier"]["concordance"] == pytest.approx(0.5)
    assert test["survival"]["integrated_brier"] < test["kaplan_meier"]["integrated_brier"]
    assert metrics["test_customers"] == 400
    for model in test:
        assert set(metrics["calibration"][model]) == {"1", "3", "12"}


def test_timing_shap_is_exact_for_the_window_it_explains(survival_run: Path) -> None:
    run = open_run(survival_run)
    survival = run.manifest.survival
    model = HazardModel.from_json(run.text(layout.SURVIVAL_MODEL))
    customers = pd.read_parquet(run.file(layout.CUSTOMERS))
    shap = pd.read_parquet(run.file(layout.SURVIVAL_SHAP))
    assert shap[run.manifest.spec.id_column].tolist() == customers[run.manifest.spec.id_column].tolist()
    fmap = load_models(run).fmap
    frame = survival_inputs(encode(customers, fmap), fmap, survival["features"])
    target = window_log_odds(model, frame, elapsed=customers[survival["duration_column"]].to_numpy(float),
                             horizon=survival["main_horizon"])
    # the interval feature's share is in the stored base value, so the features' values and it add up
    total = shap[survival["features"]].to_numpy(float).sum(axis=1) + shap[layout.BASE_VALUE].to_numpy(float)
    assert np.abs(total - target).max() < 1e-3  # float32 storage of the values


def test_segment_curves_and_log_rank_tests(survival_run: Path) -> None:
    run = open_run(survival_run)
    curves = pd.read_parquet(run.file(layout.SURVIVAL_CURVES))
    segments = {str(s) for s in pd.read_parquet(run.file(layout.CUSTOMERS))[layout.SEGMENT_ID].unique()}
    assert set(curves["group"]) == segments | {layout.EVERYONE}
    assert set(curves["kind"]) == {"kaplan_meier", "predicted"}
    tests = run.manifest.survival_metrics["segments"]
    assert set(tests) == segments
    assert min(t["log_rank_p"] for t in tests.values()) < 1e-3  # planted segments leave at different times


@pytest.mark.parametrize("which", ["demo_run", "telco_run"])
def test_a_run_without_duration_has_no_survival_parts(which: str, request: pytest.FixtureRequest) -> None:
    run: Path = request.getfixturevalue(which)
    manifest = _manifest(run)
    assert "survival" not in manifest and "survival" not in manifest["metrics"]
    assert not SURVIVAL_FILES & {p.name for p in run.iterdir()}
    for key in ("duration_column", "duration_unit", "horizons", "period_value_column"):
        assert key not in manifest["spec"]
    columns = set(pd.read_parquet(run / layout.CUSTOMERS).columns)
    assert not columns & (_columns([1, 3, 12], True))
