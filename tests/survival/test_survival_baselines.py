import numpy as np
import pandas as pd
import pytest

from survivalkit import RATES, exponential_groups

from insight.survival.baselines import fit_cox, fit_kaplan_meier, kaplan_meier_curve, logrank_against_rest


def test_kaplan_meier_equals_scikit_survival():
    from sksurv.nonparametric import kaplan_meier_estimator

    _, d, e = exponential_groups(1500, seed=5)
    d = np.round(d, 1)  # ties
    times, surv = kaplan_meier_estimator(e, d)
    km = fit_kaplan_meier(d, e)
    got = km.survival_at(pd.DataFrame(index=range(3)), times)
    assert got.shape == (3, len(times))
    assert np.abs(got[0] - surv).max() < 1e-9
    assert (km.risk_score(pd.DataFrame(index=range(3)), 5.0) == 0).all()


def test_kaplan_meier_curve_band_holds_the_estimate():
    _, d, e = exponential_groups(800, seed=6)
    curve = kaplan_meier_curve(d, e)
    assert (curve["low"] <= curve["survival"] + 1e-12).all() and (curve["survival"] <= curve["high"] + 1e-12).all()
    assert (np.diff(curve["survival"]) <= 0).all()


def test_cox_recovers_the_log_hazard_ratios_of_proportional_hazards():
    frame, d, e = exponential_groups(6000, seed=7)
    cox = fit_cox(frame, d, e, features=["group", "spend", "noise"])
    coef = cox.coefficients
    # groups are one-hot against the most frequent level; compare differences, which do not depend on it
    levels = {g: coef.get(f"group={g}", 0.0) for g in RATES}
    true = {g: np.log(r) for g, r in RATES.items()}
    for a, b in (("short", "long"), ("mid", "long"), ("short", "mid")):
        assert levels[a] - levels[b] == pytest.approx(true[a] - true[b], abs=0.1)
    assert abs(coef["noise"]) < 0.06 and abs(coef["spend"]) < 0.06
    s = cox.survival_at(frame.iloc[:300], np.linspace(0, 50, 26))
    assert (s >= 0).all() and (s <= 1).all() and (np.diff(s, axis=1) <= 1e-12).all()
    g = frame["group"].to_numpy()[:300]
    risk = cox.risk_score(frame.iloc[:300])
    assert risk[g == "short"].mean() > risk[g == "mid"].mean() > risk[g == "long"].mean()


def test_logrank_tells_a_different_group_from_a_random_one():
    frame, d, e = exponential_groups(3000, seed=8)
    short = frame["group"].to_numpy() == "short"
    assert logrank_against_rest(d, e, short)["p_value"] < 1e-10
    random = np.random.default_rng(0).random(len(d)) < 0.3
    assert logrank_against_rest(d, e, random)["p_value"] > 0.01
    assert np.isnan(logrank_against_rest(d, e, np.ones(len(d), dtype=bool))["p_value"])
