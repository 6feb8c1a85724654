from __future__ import annotations

import json

import numpy as np
import pytest

from insight.uplift.evaluate import evaluate_uplift
from insight.uplift.metrics import qini_coefficient


def test_held_out_figures_and_curves(learners, test_data):
    d = test_data
    model = learners["x"]
    out = evaluate_uplift(model, d["X"], d["treatment"], d["churn"], risk=d["p0"], points=21)
    json.dumps(out)  # JSON-ready
    assert out["customers"] == 4000 and out["treated"] == int(d["treatment"].sum())
    assert out["scores"]["model"]["qini"] == pytest.approx(qini_coefficient(d["churn"], model.predict(d["X"]), d["treatment"]), abs=1e-6)
    assert out["scores"]["model"]["qini"] > out["scores"]["risk"]["qini"] + 0.05 > 0.05
    for name in ("uplift", "qini"):
        c = out["curves"][name]
        assert set(c) == {"customers", "model", "risk", "perfect", "random"} and len(c["model"]) == 21
        assert c["customers"][0] == 0 and c["customers"][-1] == 4000
        assert c["model"][-1] == pytest.approx(c["random"][-1], abs=1e-6)  # everyone targeted: the same point
        assert np.mean(c["model"]) > np.mean(c["random"])  # the model's curve runs above random's
        assert max(c["perfect"]) >= max(c["model"])
