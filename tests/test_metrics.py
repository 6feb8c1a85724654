"""insight.metrics: calibration error, curves, lift and gains, intervals."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from insight.metrics import (
    binary_metrics,
    calibration_frame,
    confusion_at,
    expected_calibration_error,
    lift_frame,
    pr_curve_frame,
    regression_metrics,
    roc_curve_frame,
    wilson_interval,
)


@pytest.fixture(scope="module")
def calibrated() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    p = rng.beta(1.5, 4.0, 50_000)
    y = (rng.random(p.size) < p).astype(float)
    return y, p


def test_ece_small_when_calibrated(calibrated: tuple[np.ndarray, np.ndarray]) -> None:
    y, p = calibrated
    assert expected_calibration_error(y, p) < 0.01


def test_ece_large_when_miscalibrated(calibrated: tuple[np.ndarray, np.ndarray]) -> None:
    y, p = calibrated
    overconfident = np.clip(0.5 + 1.8 * (p - 0.5), 0, 1)  # same ranking, wrong scale
    assert expected_calibration_error(y, p ** 0.4) > 0.2
    assert expected_calibration_error(y, overconfident) > expected_calibration_error(y, p) + 0.05


def test_ece_of_a_constant_prediction() -> None:
    y = np.array([1, 0, 0, 0] * 100, dtype=float)
    assert expected_calibration_error(y, np.full(y.size, 0.25)) == pytest.approx(0.0)
    assert expected_calibration_error(y, np.full(y.size, 0.75)) == pytest.approx(0.5)
    # p = 1 falls in the last bin
    assert expected_calibration_error(y, np.ones(y.size)) == pytest.approx(0.75)


def test_binary_metrics(calibrated: tuple[np.ndarray, np.ndarray]) -> None:
    y, p = calibrated
    m = binary_metrics(y, p)
    assert 0.7 < m["roc_auc"] < 1.0
    assert m["pr_auc"] > y.mean()
    assert m["n"] == y.size and m["positive_rate"] == pytest.approx(y.mean())
    assert m["log_loss"] < binary_metrics(y, np.full(y.size, y.mean()))["log_loss"]
    assert binary_metrics(y, 1 - p)["roc_auc"] == pytest.approx(1 - m["roc_auc"])
    assert np.isfinite(binary_metrics(y, np.where(y == 1, 1.0, 0.0))["log_loss"])  # clipped, not inf


def test_binary_metrics_with_one_class() -> None:
    m = binary_metrics(np.zeros(20), np.linspace(0, 1, 20))
    assert np.isnan(m["roc_auc"]) and np.isnan(m["pr_auc"])
    assert m["n"] == 20 and m["positive_rate"] == 0


def test_regression_metrics() -> None:
    rng = np.random.default_rng(1)
    y = rng.normal(10, 3, 1000)
    perfect = regression_metrics(y, y, train_mean=10.0)
    assert perfect["r2"] == pytest.approx(1.0) and perfect["mae"] == 0
    noisy = regression_metrics(y, y + rng.normal(0, 1, 1000), train_mean=10.0)
    assert noisy["r2_of_train_mean"] < noisy["r2"] < 1.0
    assert regression_metrics(y, np.full(1000, y.mean()), train_mean=y.mean())["r2"] == pytest.approx(0.0)


def test_roc_and_pr_curves(calibrated: tuple[np.ndarray, np.ndarray]) -> None:
    y, p = calibrated
    roc = roc_curve_frame(y, p)
    assert roc["fpr"].is_monotonic_increasing and roc["tpr"].is_monotonic_increasing
    assert np.trapezoid(roc["tpr"], roc["fpr"]) == pytest.approx(binary_metrics(y, p)["roc_auc"], abs=1e-6)
    pr = pr_curve_frame(y, p)
    assert pr["recall"].between(0, 1).all() and pr["precision"].between(0, 1).all()
    assert len(pr) == len(pr["threshold"])


def test_calibration_frame(calibrated: tuple[np.ndarray, np.ndarray]) -> None:
    y, p = calibrated
    cal = calibration_frame(y, p)
    assert cal["count"].sum() == y.size
    assert (cal["low"] <= cal["observed"]).all() and (cal["observed"] <= cal["high"]).all()
    big = cal[cal["count"] > 500]
    assert (np.abs(big["predicted"] - big["observed"]) < 0.03).all()
    assert cal["predicted"].is_monotonic_increasing


def test_lift_and_gains_are_monotone(calibrated: tuple[np.ndarray, np.ndarray]) -> None:
    y, p = calibrated
    lift = lift_frame(y, p)
    assert len(lift) == 10 and lift["customers"].sum() == y.size
    assert lift["cumulative_gain"].is_monotonic_increasing
    assert lift["cumulative_gain"].iloc[-1] == pytest.approx(1.0)
    assert lift["cumulative_share"].iloc[-1] == pytest.approx(1.0)
    assert lift["churn_rate"].is_monotonic_decreasing  # a good ranking on 50k customers
    assert lift["lift"].iloc[0] > 2 and lift["lift"].iloc[-1] < 0.5
    assert (lift["cumulative_gain"] >= lift["cumulative_share"] - 1e-9).all()  # better than random
    # the customers-weighted mean lift is 1
    assert np.average(lift["lift"], weights=lift["customers"]) == pytest.approx(1.0)


def test_lift_of_a_random_score_is_flat() -> None:
    rng = np.random.default_rng(2)
    y = (rng.random(100_000) < 0.2).astype(float)
    lift = lift_frame(y, rng.random(y.size))
    assert (np.abs(lift["lift"] - 1) < 0.1).all()


def test_confusion_at() -> None:
    y = np.array([1, 1, 0, 0, 1])
    p = np.array([0.9, 0.4, 0.6, 0.1, 0.5])
    c = confusion_at(y, p, 0.5)
    assert (c["tp"], c["fp"], c["fn"], c["tn"]) == (2, 1, 1, 1)
    assert c["precision"] == pytest.approx(2 / 3) and c["recall"] == pytest.approx(2 / 3)
    assert np.isnan(confusion_at(y, p, 0.99)["precision"])


@pytest.mark.parametrize("k,n", [(0, 10), (3, 10), (10, 10), (1, 1), (37, 1000), (500, 1000)])
def test_wilson_interval_contains_the_proportion(k: int, n: int) -> None:
    low, high = wilson_interval(k, n)
    assert 0 <= low <= k / n <= high <= 1
    assert high - low > 0


def test_wilson_interval_shrinks_with_n_and_covers() -> None:
    assert np.diff(wilson_interval(30, 100)) > np.diff(wilson_interval(300, 1000))
    assert wilson_interval(0, 10)[0] == 0 and wilson_interval(10, 10)[1] == 1
    assert all(np.isnan(wilson_interval(0, 0)))
    rng = np.random.default_rng(0)
    k = rng.binomial(200, 0.1, 2000)
    covered = np.mean([lo <= 0.1 <= hi for lo, hi in (wilson_interval(int(v), 200) for v in k)])
    assert 0.92 < covered < 0.98  # a 95 % interval


def test_frames_are_frames(calibrated: tuple[np.ndarray, np.ndarray]) -> None:
    y, p = calibrated
    for frame in (roc_curve_frame(y, p), pr_curve_frame(y, p), calibration_frame(y, p), lift_frame(y, p)):
        assert isinstance(frame, pd.DataFrame) and not frame.empty
