import numpy as np
import pandas as pd
import pytest

from survivalkit import RATES, exponential_groups, true_median

from insight.survival.hazard import HazardModel, fit_hazard_model, horizons_for
from insight.survival.hazard_shap import horizon_log_odds, horizon_shap, interval_shap

FEATURES = ["group", "spend", "noise"]


def _group_medians(model, frame):
    med = model.median_lifetime(frame)
    return {g: float(np.median(med[frame["group"].to_numpy() == g])) for g in RATES}


def test_median_lifetime_per_group_is_recovered(hazard_model, groups_data):
    frame, _, _ = groups_data
    for g, m in _group_medians(hazard_model, frame).items():
        assert m == pytest.approx(true_median(g), rel=0.15), g


def test_dropping_the_censored_customers_does_worse(hazard_model, groups_data):
    frame, d, e = groups_data
    naive = fit_hazard_model(frame[e].reset_index(drop=True), d[e], e[e], features=FEATURES, seed=0, threads=1)
    ours = _group_medians(hazard_model, frame)
    theirs = _group_medians(naive, frame)
    error = np.mean([abs(ours[g] / true_median(g) - 1) for g in RATES])
    naive_error = np.mean([abs(theirs[g] / true_median(g) - 1) for g in RATES])
    assert naive_error > 2 * error and naive_error > 0.2


def test_curves_are_probabilities_that_never_rise(hazard_model, groups_data):
    frame, _, _ = groups_data
    times = np.linspace(0, 80, 161)
    s = hazard_model.survival_at(frame.iloc[:500], times)
    assert s[:, 0] == pytest.approx(1.0)
    assert (s >= 0).all() and (s <= 1).all()
    assert (np.diff(s, axis=1) <= 1e-12).all()
    p = hazard_model.churn_within(frame.iloc[:500], (1.0, 3.0, 12.0))
    assert (np.diff(p, axis=1) >= -1e-12).all()
    assert np.allclose(p, 1 - hazard_model.survival_at(frame.iloc[:500], [1.0, 3.0, 12.0]))


def test_restricted_mean_and_value_lost(hazard_model, groups_data):
    frame, _, _ = groups_data
    sample = frame.iloc[:600]
    rmst = hazard_model.restricted_mean(sample, 12.0)
    assert (rmst > 0).all() and (rmst <= 12.0).all()
    value = np.full(len(sample), 50.0)
    lost = hazard_model.value_lost(sample, value, 12.0)
    assert np.allclose(lost, 50.0 * (12.0 - rmst)) and (lost >= 0).all()
    g = sample["group"].to_numpy()
    by_group = {k: lost[g == k].mean() for k in RATES}
    assert by_group["short"] > by_group["mid"] > by_group["long"]
    # against the true exponential: RMST(12) = (1 - exp(-12 rate)) / rate, within 10 %
    for k, rate in RATES.items():
        assert rmst[g == k].mean() == pytest.approx((1 - np.exp(-12 * rate)) / rate, rel=0.1)


def test_conditioning_on_time_already_stayed(hazard_model, groups_data):
    frame, _, _ = groups_data
    sample = frame.iloc[:50]
    a = np.full(len(sample), 6.0)
    cond = hazard_model.survival_at(sample, [3.0], elapsed=a)[:, 0]
    plain = hazard_model.survival_at(sample, [6.0, 9.0])
    assert np.allclose(cond, plain[:, 1] / plain[:, 0])
    assert np.allclose(hazard_model.churn_within(sample, [3.0], elapsed=a)[:, 0], 1 - cond)


def test_json_round_trip_scores_the_same(hazard_model, groups_data):
    frame, _, _ = groups_data
    back = HazardModel.from_json(hazard_model.to_json())
    assert np.array_equal(back.hazards(frame.iloc[:200]), hazard_model.hazards(frame.iloc[:200]))
    assert back.grid.n_intervals == hazard_model.grid.n_intervals


def test_unseen_category_and_missing_values_still_score(hazard_model):
    odd = pd.DataFrame({"group": ["never seen", None], "spend": [np.nan, 10.0], "noise": [0.0, np.nan]})
    s = hazard_model.survival_at(odd, [1.0, 10.0])
    assert np.isfinite(s).all()


@pytest.mark.parametrize("rows", [300, 5200])  # pred_contrib, then the compiled TreeSHAP
def test_interval_shap_is_exact_and_additive(hazard_model, rows):
    frame, _, _ = exponential_groups(rows, seed=3)
    values, base = interval_shap(hazard_model, frame, interval=2)
    assert values.shape == (rows, len(FEATURES) + 1)
    assert np.abs(base + values.sum(axis=1) - hazard_model.raw_hazard(frame)[:, 2]).max() < 1e-6


def test_horizon_shap_is_exact_additive_and_points_at_the_group(hazard_model):
    frame, _, _ = exponential_groups(400, seed=4)
    values, base = horizon_shap(hazard_model, frame, horizon=12.0)
    assert np.abs(base + values.sum(axis=1) - horizon_log_odds(hazard_model, frame, horizon=12.0)).max() < 1e-6
    g = frame["group"].to_numpy()
    assert values[g == "short", 0].mean() > 0 > values[g == "long", 0].mean()
    assert np.abs(values[:, 0]).mean() > 3 * np.abs(values[:, 2]).mean()  # group matters, noise does not


def test_horizons_per_unit_and_refusals(groups_data):
    assert horizons_for("days") == (30.0, 90.0, 365.0) and horizons_for("months") == (1.0, 3.0, 12.0)
    with pytest.raises(ValueError):
        horizons_for("fortnights")
    frame, d, e = groups_data
    with pytest.raises(ValueError):
        fit_hazard_model(frame.assign(interval=1), d, e, features=["interval"])


def test_platt_scaling_undoes_an_overconfident_score_and_the_model_keeps_it():
    from insight.survival.hazard import platt

    rng = np.random.default_rng(4)
    logit = rng.normal(-2.0, 1.0, 20_000)
    y = rng.random(20_000) < 1 / (1 + np.exp(-logit))
    a, b = platt(3.0 * logit + 1.0, y)  # a score three times too confident, shifted
    assert b == pytest.approx(1 / 3, rel=0.1) and a == pytest.approx(-1 / 3, abs=0.15)
    assert platt(logit, np.zeros(20_000)) == (0.0, 1.0)  # one class: nothing to fit, no change


def test_the_calibration_travels_with_the_model(hazard_model, groups_data):
    frame, _, _ = groups_data
    assert hazard_model.calibration != (0.0, 1.0) and hazard_model.report["calibration"] == list(hazard_model.calibration)
    again = HazardModel.from_json(hazard_model.to_json())
    assert again.calibration == hazard_model.calibration
    assert np.allclose(again.raw_hazard(frame.iloc[:50]), hazard_model.raw_hazard(frame.iloc[:50]))
