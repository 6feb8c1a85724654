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
