"""insight.survival.groups on simulated customers with known answers: Kaplan-Meier curves by hand and against
lifelines, bands around the estimate, medians against the exponential's closed form, the log-rank test finding a
real difference and not finding one where there is none, and the model's mean curves per group."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from survivalkit import RATES, true_median

from insight.survival.groups import (CURVE_COLUMNS, EVERYONE, kaplan_meier_curves, log_rank_vs_rest,
                                     predicted_mean_curves)

pytestmark = pytest.mark.filterwarnings("ignore:Starting with pandas version 4.0")  # lifelines 0.30


def exponential(n: int, rate: float, rng: np.random.Generator, censor_max: float = 60.0
                ) -> tuple[np.ndarray, np.ndarray]:
    t = rng.exponential(1 / rate, n)
    c = rng.uniform(0, censor_max, n)
    return np.minimum(t, c), t <= c


def test_kaplan_meier_by_hand() -> None:
    # group a: 5 customers leaving at 1, 2 and 3, censored at 2 and 5:
    # S(1) = 4/5, S(2) = 4/5 x 3/4, S(3) = S(2) x 1/2
    d = np.array([1, 2, 2, 3, 5, 4, 6], dtype=float)
    e = np.array([1, 1, 0, 1, 0, 1, 0])
    g = np.array(["a", "a", "a", "a", "a", "b", "b"])
    curves = kaplan_meier_curves(d, e, g)
    assert list(curves.columns) == list(CURVE_COLUMNS)
    assert list(dict.fromkeys(curves["group"])) == [EVERYONE, "a", "b"]
    assert set(curves["kind"]) == {"kaplan_meier"}
    a = curves[curves["group"] == "a"].set_index("time")["survival"]
    expected = {0.0: 1.0, 1.0: 0.8, 2.0: 0.8 * 3 / 4, 3.0: 0.8 * 3 / 4 * 1 / 2, 5.0: 0.3}
    for t, s in expected.items():
        assert a[t] == pytest.approx(s, abs=1e-12)
    b = curves[curves["group"] == "b"].set_index("time")["survival"]
    assert b[4.0] == pytest.approx(0.5) and b[6.0] == pytest.approx(0.5)
    stats = log_rank_vs_rest(d, e, g)
    assert stats["a"]["customers"] == 5 and stats["a"]["events"] == 3
    assert stats["a"]["median_km"] == 3.0  # first time at or below one half
    assert stats["b"]["median_km"] == 4.0


def test_kaplan_meier_matches_lifelines_and_bands_hold_the_estimate() -> None:
    from lifelines import KaplanMeierFitter

    rng = np.random.default_rng(3)
    d1, e1 = exponential(400, 0.1, rng)
    d2, e2 = exponential(300, 0.03, rng)
    d, e = np.r_[d1, d2].round(1), np.r_[e1, e2]
    g = np.r_[np.zeros(400, int), np.full(300, 7)]
    curves = kaplan_meier_curves(d, e, g)
    assert list(dict.fromkeys(curves["group"])) == [EVERYONE, "0", "7"]
    for name, mask in ((EVERYONE, np.ones(len(d), bool)), ("0", g == 0), ("7", g == 7)):
        mine = curves[curves["group"] == name]
        km = KaplanMeierFitter().fit(d[mask], e[mask])
        np.testing.assert_allclose(mine["time"], km.survival_function_.index.to_numpy(float))
        np.testing.assert_allclose(mine["survival"], km.survival_function_.iloc[:, 0], atol=1e-12)
        band = km.confidence_interval_survival_function_
        np.testing.assert_allclose(mine["lower"], band.iloc[:, 0], atol=1e-12)
        np.testing.assert_allclose(mine["upper"], band.iloc[:, 1], atol=1e-12)
        assert (mine["lower"] <= mine["survival"] + 1e-12).all()
        assert (mine["survival"] <= mine["upper"] + 1e-12).all()
        assert (mine["upper"] - mine["lower"]).max() > 0.05  # a real band, not the estimate twice
        assert (np.diff(mine["survival"]) <= 1e-12).all()


def test_median_against_the_closed_form_on_a_large_sample() -> None:
    rng = np.random.default_rng(0)
    d_fast, e_fast = exponential(20_000, 0.1, rng)
    d_slow, e_slow = exponential(20_000, 0.004, rng, censor_max=30.0)  # never falls to one half by 30
    stats = log_rank_vs_rest(np.r_[d_fast, d_slow], np.r_[e_fast, e_slow],
                             np.r_[np.full(20_000, "fast"), np.full(20_000, "slow")])
    assert stats["fast"]["median_km"] == pytest.approx(np.log(2) / 0.1, rel=0.03)
    assert stats["slow"]["median_km"] == float("inf")


def test_log_rank_finds_a_faster_group() -> None:
    rng = np.random.default_rng(1)
    d_fast, e_fast = exponential(300, 1 / 5, rng)
    d_rest, e_rest = exponential(900, 1 / 15, rng)
    g = np.r_[np.full(300, 2), np.full(450, 0), np.full(450, 1)]
    stats = log_rank_vs_rest(np.r_[d_fast, d_rest], np.r_[e_fast, e_rest], g)
    assert set(stats) == {"0", "1", "2"}
    assert stats["2"]["log_rank_p"] < 1e-10 and stats["2"]["log_rank_statistic"] > 40
    assert stats["2"]["median_km"] < stats["0"]["median_km"]
    assert stats["2"]["customers"] == 300 and stats["2"]["events"] == int(e_fast.sum())
    assert stats["2"]["events"] > 1.5 * stats["2"]["events_expected"]  # leaves sooner than the rest
    assert stats["0"]["events"] < stats["0"]["events_expected"]
    assert stats["2"]["median_km_rest"] > stats["2"]["median_km"]


def test_expected_events_agree_with_the_log_rank_statistic_of_lifelines() -> None:
    from lifelines.statistics import logrank_test

    rng = np.random.default_rng(5)
    d1, e1 = exponential(250, 1 / 6, rng)
    d2, e2 = exponential(500, 1 / 9, rng)
    d, e = np.r_[d1, d2].round(), np.r_[e1, e2]  # ties, as with tenure in whole months
    g = np.r_[np.ones(250, bool), np.zeros(500, bool)]
    observed = int(e[g].sum())
    expected = log_rank_vs_rest(d, e, g.astype(int))["1"]["events_expected"]
    # the hypergeometric variance of the group's events at each event time, summed
    variance = 0.0
    for t in np.unique(d[e]):
        n, n_g, k = (d >= t).sum(), ((d >= t) & g).sum(), ((d == t) & e).sum()
        variance += k * (n_g / n) * (1 - n_g / n) * (n - k) / max(n - 1, 1)
    reference = logrank_test(d[g], d[~g], event_observed_A=e[g], event_observed_B=e[~g]).test_statistic
    assert (observed - expected) ** 2 / variance == pytest.approx(reference, rel=1e-9)
    # by hand: one group customer and one other at risk at t=1, where one leaves: E = 1/2
    hand = log_rank_vs_rest(np.array([1.0, 2.0]), np.array([1, 0]), np.array([0, 1]))
    assert hand["0"]["events_expected"] == pytest.approx(0.5) and hand["1"]["events_expected"] == pytest.approx(0.5)


def test_log_rank_does_not_find_a_difference_that_is_not_there() -> None:
    p = []
    for seed in range(20):
        rng = np.random.default_rng(100 + seed)
        d, e = exponential(400, 0.08, rng)
        p.append(log_rank_vs_rest(d, e, rng.integers(0, 2, 400))["0"]["log_rank_p"])
    p = np.array(p)
    assert ((p >= 0) & (p <= 1)).all()
    assert (p < 0.05).sum() <= 4  # about one in twenty by chance
    assert np.median(p) > 0.2


def test_one_group_has_no_rest_and_bad_groups_are_refused() -> None:
    d, e = exponential(50, 0.1, np.random.default_rng(0))
    stats = log_rank_vs_rest(d, e, np.zeros(50, int))
    assert np.isnan(stats["0"]["log_rank_p"])
    assert np.isfinite(stats["0"]["median_km"]) or stats["0"]["median_km"] == float("inf")
    assert kaplan_meier_curves(np.array([]), np.array([]), np.array([])).empty
    with pytest.raises(ValueError, match="one per customer"):
        kaplan_meier_curves(d, e, np.zeros(49))
    with pytest.raises(ValueError, match="everyone"):
        log_rank_vs_rest(d, e, np.full(50, EVERYONE))
    with pytest.raises(ValueError, match="non-negative"):
        kaplan_meier_curves(-d, e, np.zeros(50))
    # whole-number floats (segment ids read back from a frame with missing values elsewhere) stay '3', not '3.0'
    assert set(log_rank_vs_rest(d, e, np.full(50, 3.0))) == {"3"}


def test_predicted_mean_curves_follow_each_group(groups_data, hazard_model) -> None:
    frame, duration, event = groups_data
    times = np.linspace(0, 30, 31)
    curves = predicted_mean_curves(hazard_model, frame, frame["group"], times)
    assert list(curves.columns) == list(CURVE_COLUMNS)
    assert set(curves["kind"]) == {"predicted"}
    assert list(dict.fromkeys(curves["group"])) == [EVERYONE, "long", "mid", "short"]
    assert curves["lower"].isna().all() and curves["upper"].isna().all()
    km = kaplan_meier_curves(duration, event, frame["group"])
    for name, part in curves.groupby("group"):
        s = part["survival"].to_numpy()
        assert s[0] == pytest.approx(1.0) and (np.diff(s) <= 1e-12).all()
        observed = km[km["group"] == name]
        at = np.searchsorted(observed["time"].to_numpy(), times[1:], side="right") - 1
        gap = np.abs(s[1:] - observed["survival"].to_numpy()[at])
        assert gap.max() < 0.06, name  # the model's mean curve tracks the group's Kaplan-Meier curve
    for name in RATES:
        s = curves[curves["group"] == name].set_index("time")["survival"]
        truth = np.exp(-RATES[name] * s.index.to_numpy())
        assert np.abs(s.to_numpy() - truth).max() < 0.07, name
        assert np.interp(0.5, s.to_numpy()[::-1], s.index.to_numpy()[::-1]) == pytest.approx(
            true_median(name), rel=0.15)
    # everyone's curve is every customer's mean, the groups weighted by their size
    sizes = frame["group"].value_counts()
    mix = sum(sizes[n] * curves[curves["group"] == n]["survival"].to_numpy() for n in RATES) / len(frame)
    np.testing.assert_allclose(curves[curves["group"] == EVERYONE]["survival"], mix, atol=1e-12)


def test_predicted_mean_curves_in_chunks_equal_one_pass(groups_data, hazard_model, monkeypatch) -> None:
    import insight.survival.groups as groups

    frame = groups_data[0].iloc[:700]
    whole = predicted_mean_curves(hazard_model, frame, frame["group"])
    monkeypatch.setattr(groups, "CHUNK_ROWS", 64)
    chunked = predicted_mean_curves(hazard_model, frame, frame["group"])
    pd.testing.assert_frame_equal(whole, chunked, atol=1e-12)
    assert whole["time"].max() == pytest.approx(float(hazard_model.grid.edges[-1]))
