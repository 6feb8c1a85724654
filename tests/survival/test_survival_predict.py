import numpy as np
import pytest

from insight.survival import curves
from insight.survival.person_period import IntervalGrid
from insight.runs.layout import horizon_label
from insight.survival.predict import conditional_median, survival_table

GRID = IntervalGrid(edges=np.array([1.0, 3.0, 4.0, 10.0]), method="quantile")


def test_conditional_median_halves_the_conditional_curve():
    rng = np.random.default_rng(2)
    rates = curves.hazard_rates(rng.uniform(0.02, 0.4, size=(6, GRID.n_intervals)), GRID)
    a = np.array([0.0, 0.5, 1.0, 3.5, 9.0, 20.0])
    u = conditional_median(rates, GRID, a)
    assert np.isfinite(u).all()
    s = np.array([curves.survival_at(rates[i:i + 1], GRID, [u[i]], a[i:i + 1])[0, 0] for i in range(6)])
    assert np.allclose(s, 0.5)
    assert np.allclose(conditional_median(rates, GRID, np.zeros(6)), curves.median_time(rates, GRID))
    lam = np.full((2, GRID.n_intervals), 0.2)  # memoryless: the same from any elapsed time
    assert np.allclose(conditional_median(lam, GRID, np.array([0.0, 7.0])), np.log(2) / 0.2)


def test_survival_table_columns(hazard_model, groups_data):
    frame, d, _ = groups_data
    sample = frame.iloc[:300]
    elapsed = np.minimum(d[:300], 6.0)
    value = sample["spend"].to_numpy()
    table = survival_table(hazard_model, sample, horizons=(1.0, 3.0, 12.0), elapsed=elapsed, value_per_period=value)
    assert list(table.columns) == ["churn_within_1", "expected_lifetime_1", "value_lost_1", "churn_within_3",
                                   "expected_lifetime_3", "value_lost_3", "churn_within_12", "expected_lifetime_12",
                                   "value_lost_12", "median_lifetime", "expected_leave_in"]
    assert np.allclose(table["churn_within_12"], hazard_model.churn_within(sample, [12.0], elapsed=elapsed)[:, 0])
    assert np.allclose(table["value_lost_12"], value * (12.0 - table["expected_lifetime_12"]))
    assert (table["churn_within_1"] <= table["churn_within_3"] + 1e-12).all()
    assert (table["expected_lifetime_3"] <= 3.0 + 1e-12).all()
    assert horizon_label(0.25) == "0_25" and horizon_label(30.0) == "30"
    with pytest.raises(ValueError):
        survival_table(hazard_model, sample, horizons=(1.0,), elapsed=np.full(len(sample), -1.0))


def test_medians_past_the_longest_duration_fitted_are_not_reached(hazard_model, groups_data):
    """The 'long' group's median (ln 2 x 30, about 21) lies inside the data's follow-up (40); from 35 months
    already stayed, the conditional median of anyone would lie past it: inf, never an extrapolated number."""
    from insight.runs import layout
    from survivalkit import true_median

    frame, _, _ = groups_data
    last = float(hazard_model.grid.edges[-1])
    sample = frame.iloc[:400]
    table = survival_table(hazard_model, sample, horizons=(3.0,), elapsed=np.full(len(sample), last - 5.0))
    assert np.isinf(table[layout.EXPECTED_LEAVE_IN]).mean() > 0.5
    finite = table[layout.EXPECTED_LEAVE_IN][np.isfinite(table[layout.EXPECTED_LEAVE_IN])]
    assert (finite <= 5.0 + 1e-9).all()
    fresh = survival_table(hazard_model, sample, horizons=(3.0,))
    medians = fresh[layout.MEDIAN_LIFETIME]
    assert (medians[np.isfinite(medians)] <= last + 1e-9).all()
    long = (sample["group"] == "long").to_numpy()
    assert np.median(medians[long]) == pytest.approx(true_median("long"), rel=0.2)
