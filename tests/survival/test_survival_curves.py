import numpy as np
import pytest

from insight.survival import curves
from insight.survival.person_period import IntervalGrid

GRID = IntervalGrid(edges=np.array([1.0, 3.0, 4.0, 10.0]), method="quantile")


def test_constant_rate_is_the_exponential_distribution():
    lam = np.array([0.1, 0.5])
    h = 1 - np.exp(-lam[:, None] * GRID.widths[None, :])
    rates = curves.hazard_rates(h, GRID)
    assert np.allclose(rates, lam[:, None])
    t = np.array([0.0, 0.5, 2.0, 7.0, 25.0])  # 25: beyond the last edge, the last rate goes on
    assert np.allclose(curves.survival_at(rates, GRID, t), np.exp(-lam[:, None] * t))
    for horizon in (0.7, 4.0, 30.0):
        assert np.allclose(curves.restricted_mean(rates, GRID, horizon), (1 - np.exp(-lam * horizon)) / lam)
    assert np.allclose(curves.median_time(rates, GRID), np.log(2) / lam)
    # memoryless: having stayed changes nothing
    elapsed = np.array([2.5, 6.0])
    assert np.allclose(curves.survival_at(rates, GRID, t, elapsed), np.exp(-lam[:, None] * t))
    assert np.allclose(curves.restricted_mean(rates, GRID, 4.0, elapsed), (1 - np.exp(-lam * 4.0)) / lam)


def test_edges_hold_the_product_of_the_discrete_hazards_and_conditioning_divides():
    rng = np.random.default_rng(1)
    h = rng.uniform(0.01, 0.6, size=(5, GRID.n_intervals))
    rates = curves.hazard_rates(h, GRID)
    s = curves.survival_at(rates, GRID, GRID.edges)
    assert np.allclose(s, np.cumprod(1 - h, axis=1))
    a = np.array([0.0, 0.5, 1.0, 3.5, 12.0])
    u = np.array([0.3, 2.0, 9.0])
    cond = curves.survival_at(rates, GRID, u, a)
    plain = np.array([curves.survival_at(rates[i:i + 1], GRID, a[i] + u)[0] /
                      curves.survival_at(rates[i:i + 1], GRID, [a[i]])[0, 0] for i in range(5)])
    assert np.allclose(cond, plain)
    # RMST is the area under the conditional curve (checked by a fine Riemann sum)
    fine = np.linspace(0, 6.0, 6001)
    area = np.trapezoid(curves.survival_at(rates, GRID, fine, a), fine, axis=1)
    assert np.allclose(curves.restricted_mean(rates, GRID, 6.0, a), area, atol=1e-5)
    med = curves.median_time(rates, GRID)
    finite = np.isfinite(med)
    assert np.allclose(curves.survival_at(rates[finite], GRID, med[finite]).diagonal(), 0.5)


def test_zero_hazard_never_leaves():
    rates = curves.hazard_rates(np.zeros((1, GRID.n_intervals)), GRID)
    assert curves.survival_at(rates, GRID, [100.0])[0, 0] == 1.0
    assert curves.restricted_mean(rates, GRID, 7.0)[0] == pytest.approx(7.0)
    assert np.isinf(curves.median_time(rates, GRID)[0])
