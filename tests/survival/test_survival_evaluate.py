import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from survivalkit import exponential_groups

from insight.survival.evaluate import MODELS, cross_validate_survival
from insight.survival.hazard import horizons_for

TELCO = Path(__file__).resolve().parents[2] / "data" / "telco" / "Telco-Customer-Churn.csv"


def test_cross_validation_reports_every_model_as_mean_and_std():
    frame, d, e = exponential_groups(1500, seed=12)
    frame = frame.assign(months=d, churned=np.where(e, "Yes", "No"))
    out = cross_validate_survival(frame, "months", "churned", ["group", "spend", "noise"], folds=3, seed=0,
                                  horizons=(3.0, 12.0), threads=1)
    assert set(out["models"]) == set(MODELS) and out["folds"] == 3
    for name in MODELS:
        for key in ("concordance", "harrell_concordance", "integrated_brier", "brier_3", "brier_12",
                    "calibration_error_12"):
            assert set(out["models"][name][key]) == {"mean", "std"}, (name, key)
    m = out["models"]
    assert m["kaplan_meier"]["concordance"]["mean"] == pytest.approx(0.5)
    assert m["survival"]["concordance"]["mean"] > 0.65
    assert m["survival"]["integrated_brier"]["mean"] < m["kaplan_meier"]["integrated_brier"]["mean"]
    with pytest.raises(ValueError):
        cross_validate_survival(frame, "months", "churned", ["group", "months"], folds=3)


@pytest.mark.slow
def test_telco_tree_model_beats_cox_on_concordance_and_kaplan_meier_on_brier():
    """Telco with duration = tenure (months), event = Churn. Neither tenure (the time axis) nor TotalCharges
    (about tenure x MonthlyCharges: it gives the duration away) is a feature."""
    frame = pd.read_csv(TELCO)
    features = [c for c in frame.columns if c not in ("customerID", "tenure", "Churn", "TotalCharges")]
    started = time.perf_counter()
    out = cross_validate_survival(frame, "tenure", "Churn", features, folds=5, seed=0,
                                  horizons=horizons_for("months"), threads=1)
    m = out["models"]
    print({name: {k: round(m[name][k]["mean"], 4) for k in ("concordance", "integrated_brier")} for name in m},
          f"{time.perf_counter() - started:.0f} s")
    assert m["survival"]["concordance"]["mean"] > m["cox"]["concordance"]["mean"]
    assert m["survival"]["integrated_brier"]["mean"] < m["kaplan_meier"]["integrated_brier"]["mean"]
    assert m["survival"]["integrated_brier"]["mean"] <= m["cox"]["integrated_brier"]["mean"]
    assert m["survival"]["concordance"]["mean"] > 0.85


def test_a_test_customer_observed_past_the_longest_training_duration_is_scored(hazard_model, groups_data):
    """scikit-survival's IPCW cannot weigh a test time past the training's longest; such a customer counts as
    censored there instead of failing the run (small tables hit it: one long-lived test customer)."""
    from insight.survival import metrics
    from insight.survival.evaluate import fold_metrics

    frame, d, e = groups_data
    train, test = np.arange(0, 4000), np.arange(4000, 4400)
    d_train = np.minimum(d[train], 30.0)  # every training customer followed for at most 30
    e_train = e[train] & (d[train] <= 30.0)
    d_test = d[test].copy()
    d_test[0], d_test[1] = 45.0, 60.0  # observed longer than anyone in training
    times = metrics.evaluation_times(d_train, d_test, e[test])
    out = fold_metrics(hazard_model, frame.iloc[test].reset_index(drop=True), d_test, e[test], d_train=d_train,
                       e_train=e_train, times=times, horizons=(3.0, 12.0))
    assert 0.5 < out["concordance"] <= 1 and 0 < out["integrated_brier"] < 0.25
