from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from upliftkit import campaign

from insight.uplift import metrics

REFERENCE = json.loads((Path(__file__).parents[1] / "fixtures" / "uplift_reference.json").read_text())
CASES = sorted(REFERENCE["datasets"])


@pytest.mark.parametrize("name", CASES)
def test_curves_and_scores_match_scikit_uplift(name):
    case = REFERENCE["datasets"][name]
    churn, t, score = (np.asarray(case[k], dtype=float) for k in ("churn", "treatment", "score"))
    ours = {"uplift_curve": metrics.uplift_curve(churn, score, t), "qini_curve": metrics.qini_curve(churn, score, t),
            "perfect_uplift_curve": metrics.perfect_uplift_curve(churn, t),
            "perfect_qini_curve": metrics.perfect_qini_curve(churn, t)}
    for key, (x, y) in ours.items():
        assert np.allclose(x, case[key]["x"], rtol=0, atol=1e-9), key
        assert np.allclose(y, case[key]["y"], rtol=0, atol=1e-9), key
    assert metrics.auuc(churn, score, t) == pytest.approx(case["uplift_auc_score"], abs=1e-9)
    assert metrics.qini_coefficient(churn, score, t) == pytest.approx(case["qini_auc_score"], abs=1e-9)
    # a constant propensity weighs every customer alike: the same figures
    e = np.full(len(t), 0.37)
    assert metrics.qini_coefficient(churn, score, t, propensity=e) == pytest.approx(case["qini_auc_score"], abs=1e-9)


def test_the_reference_was_frozen_from_scikit_uplift_0_5_1():
    assert REFERENCE["scikit-uplift"] == "0.5.1" and len(CASES) == 4


def test_perfect_beats_true_uplift_which_beats_risk_and_random():
    d = campaign(4000, seed=5)
    rng = np.random.default_rng(0)
    q = {name: metrics.qini_coefficient(d["churn"], s, d["treatment"])
         for name, s in {"true": d["tau"], "risk": d["p0"], "random": rng.random(4000),
                         "perfect": (1 - d["churn"]) * (2 * d["treatment"] - 1)}.items()}
    assert q["perfect"] == pytest.approx(1.0)  # the ranking that knows the outcomes scores 1
    assert q["true"] > q["risk"] + 0.03 and q["true"] > 0.05
    assert abs(q["random"]) < 0.06
    x, y = metrics.uplift_curve(d["churn"], d["tau"], d["treatment"])
    assert x[0] == 0 and y[0] == 0 and x[-1] == 4000
    # the whole population treated: the control churn rate minus the treated one, times everyone
    t, c = d["treatment"] == 1, d["churn"]
    assert y[-1] == pytest.approx((c[~t].mean() - c[t].mean()) * 4000)


def test_propensity_weights_remove_the_bias_of_a_targeted_offer():
    """Offered mostly to short-tenure customers, who churn more: the unweighted whole-population difference
    mixes who was picked with the offer's effect; the weighted one estimates the mean true uplift."""
    rng = np.random.default_rng(11)
    base = campaign(20000, seed=11)
    e = np.clip(0.85 - base["X"][:, 1] / 60 * 0.7, 0.1, 0.9)  # 0.85 at tenure 0, 0.15 at 60
    d = campaign(20000, seed=11, propensity=e)
    truth = d["tau"].mean() * 20000
    score = rng.random(20000)
    _, unweighted = metrics.uplift_curve(d["churn"], score, d["treatment"])
    _, weighted = metrics.uplift_curve(d["churn"], score, d["treatment"], propensity=e)
    assert abs(weighted[-1] - truth) < 0.5 * abs(unweighted[-1] - truth)
    assert abs(weighted[-1] - truth) < 0.02 * 20000


def test_ranking_scores_and_curve_points():
    d = campaign(2000, seed=6)
    scores = metrics.ranking_scores(d["churn"], d["treatment"], {"true": d["tau"], "risk": d["p0"]})
    assert set(scores) == {"true", "risk"} and set(scores["true"]) == {"qini", "auuc"}
    x, y = metrics.qini_curve(d["churn"], d["tau"], d["treatment"])
    gx, gy = metrics.curve_points(x, y, points=11)
    assert len(gx) == 11 and gx[-1] == x[-1] and gy[-1] == pytest.approx(y[-1])
    with pytest.raises(ValueError, match="0/1"):
        metrics.qini_coefficient(d["churn"] * 2, d["tau"], d["treatment"])


def test_true_gain_share_by_hand():
    tau = np.array([0.3, 0.0, -0.1, 0.1])
    # true order 0.3, 0.1, 0, -0.1: cumulative 0.3, 0.4, 0.4, 0.3 against random's 0.075 k: gain 0.65;
    # the reverse of the input order: cumulative 0.1, 0, 0, 0.3: gain -0.35
    assert metrics.true_gain_share(np.array([1.0, 2.0, 3.0, 4.0]), tau) == pytest.approx(-0.35 / 0.65)
    assert metrics.true_gain_share(tau, tau) == pytest.approx(1.0)
    d = campaign(20000, seed=4)
    assert abs(metrics.true_gain_share(np.random.default_rng(0).random(20000), d["tau"])) < 0.1
