import numpy as np
import pytest

from insight.survival.person_period import (IntervalGrid, all_intervals, at_risk_intervals, interval_grid,
                                            person_period)


def test_quantile_grid_is_capped_increasing_and_ends_at_the_longest_duration():
    rng = np.random.default_rng(0)
    d = rng.exponential(10, size=2000)
    e = rng.random(2000) < 0.7
    grid = interval_grid(d, e, max_intervals=12)
    assert grid.n_intervals <= 12
    assert np.all(np.diff(grid.edges) > 0)
    assert grid.edges[-1] == pytest.approx(d.max())
    # about as many events per interval (the last one takes the tail)
    counts = np.bincount(grid.interval_of(d[e]), minlength=grid.n_intervals)[:-1]
    assert counts.min() > 0.5 * counts.mean()


def test_whole_number_durations_give_whole_number_edges():
    d = np.array([1, 1, 2, 3, 3, 5, 8, 8, 10, 12], dtype=float)
    e = np.ones(10, dtype=bool)
    grid = interval_grid(d, e, max_intervals=40)
    assert set(grid.edges) <= set(d)
    assert grid.edges[-1] == 12


def test_width_grid_grows_its_width_to_respect_the_cap():
    d = np.linspace(0.5, 100, 50)
    e = np.ones(50, dtype=bool)
    fine = interval_grid(d, e, method="width", width=10)
    assert np.allclose(fine.widths, 10) and fine.n_intervals == 10
    capped = interval_grid(d, e, method="width", width=1, max_intervals=20)
    assert capped.n_intervals == 20 and capped.edges[-1] >= 100 - 1e-9
    with pytest.raises(ValueError):
        interval_grid(d, e, method="width")


def test_rows_labels_and_censoring():
    grid = IntervalGrid(edges=np.array([1.0, 2.0, 3.0, 4.0]), method="width")
    X = np.array([[10.0], [20.0], [30.0], [40.0], [50.0]])
    d = np.array([2.5, 3.0, 0.0, 2.2, 9.0])
    e = np.array([True, False, False, False, True])
    pp = person_period(X, d, e, grid)
    assert list(at_risk_intervals(grid, d, e)) == [3, 3, 0, 2, 4]
    # churned at 2.5: intervals 0, 1, 2 with the event in the last
    rows = pp.customer == 0
    assert list(pp.interval[rows]) == [0, 1, 2] and list(pp.y[rows]) == [0, 0, 1]
    # censored exactly at an edge: every interval up to it, no event
    assert list(pp.interval[pp.customer == 1]) == [0, 1, 2] and pp.y[pp.customer == 1].sum() == 0
    # censored at 0 contributes nothing; at 2.2 (less than half of (2, 3]) two intervals
    assert (pp.customer == 2).sum() == 0 and list(pp.interval[pp.customer == 3]) == [0, 1]
    # beyond the last edge: the open last interval holds the event
    assert list(pp.y[pp.customer == 4]) == [0, 0, 0, 1]
    assert pp.y.sum() == e.sum()
    # features repeated per row, the interval index appended last
    assert np.array_equal(pp.X[:, 0], X[pp.customer, 0]) and np.array_equal(pp.X[:, 1], pp.interval)


def test_censored_customer_observed_half_an_interval_counts_it():
    grid = IntervalGrid(edges=np.array([10.0, 20.0]), method="width")
    assert list(at_risk_intervals(grid, np.array([14.9, 15.0]), np.array([False, False]))) == [1, 2]


def test_all_intervals_is_customer_major():
    grid = IntervalGrid(edges=np.array([1.0, 2.0, 3.0]), method="width")
    rows = all_intervals(np.array([[1.0], [2.0]]), grid)
    assert rows.tolist() == [[1, 0], [1, 1], [1, 2], [2, 0], [2, 1], [2, 2]]


def test_bad_input_is_refused():
    with pytest.raises(ValueError):
        interval_grid(np.array([1.0, -1.0]), np.array([True, True]))
    with pytest.raises(ValueError):
        interval_grid(np.array([1.0]), np.array([True]), method="nope")
