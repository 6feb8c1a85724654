"""insight.models.metrics: calibration error, curves, lift and gains, intervals."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sklearn.metrics import confusion_matrix, f1_score, precision_score, recall_score

from insight.models.metrics import (
    aux_head_metrics,
    binary_metrics,
    calibration_frame,
    compare_models,
    confusion_at,
    expected_calibration_error,
    head_baselines,
    head_kinds,
    lift_frame,
    pr_curve_frame,
    regression_metrics,
    roc_curve_frame,
    threshold_report,
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


# ---------------------------------------------------------------------- threshold, comparison, heads


@pytest.mark.parametrize("threshold", [0.0, 0.05, 0.2, 0.37, 0.5, 0.8, 0.99, 1.0])
def test_threshold_report_matches_sklearn(calibrated: tuple[np.ndarray, np.ndarray],
                                         threshold: float) -> None:
    y, p = calibrated
    y, p = y[:3000], p[:3000]
    r = threshold_report(y, p, threshold)
    flagged = (p >= threshold).astype(int)
    tn, fp, fn, tp = confusion_matrix(y, flagged, labels=[0, 1]).ravel()
    assert (r["tp"], r["fp"], r["fn"], r["tn"]) == (tp, fp, fn, tn)
    assert r["n"] == len(y) and r["churners"] == y.sum() and r["stayers"] == len(y) - y.sum()
    assert r["flagged"] == flagged.sum() and r["share_flagged"] == pytest.approx(flagged.mean())
    nan = np.nan
    np.testing.assert_allclose(
        [r["precision"], r["recall"], r["f1"]],
        [precision_score(y, flagged, zero_division=nan), recall_score(y, flagged, zero_division=nan),
         f1_score(y, flagged, zero_division=nan)])
    assert r["tpr"] == r["recall"] and r["fnr"] == pytest.approx(1 - r["recall"])
    assert r["fpr"] == pytest.approx(fp / (fp + tn)) and r["tnr"] == pytest.approx(1 - r["fpr"])
    assert r["accuracy"] == pytest.approx(np.mean(flagged == y))


def test_threshold_report_flags_at_or_above_the_threshold() -> None:
    y = np.array([1, 0, 1, 0])
    p = np.array([0.3, 0.3, 0.29999, 0.9])
    r = threshold_report(y, p, 0.3)
    assert (r["tp"], r["fp"], r["fn"], r["tn"]) == (1, 2, 1, 0)
    assert r["share_flagged"] == 0.75


def test_threshold_report_with_undefined_rates() -> None:
    nobody = threshold_report(np.array([1, 0, 0]), np.array([0.1, 0.2, 0.3]), 0.5)
    assert nobody["flagged"] == 0 and nobody["share_flagged"] == 0
    assert np.isnan(nobody["precision"]) and nobody["recall"] == 0 and nobody["f1"] == 0
    no_churners = threshold_report(np.zeros(4), np.array([0.1, 0.6, 0.7, 0.2]), 0.5)
    assert np.isnan(no_churners["recall"]) and np.isnan(no_churners["fnr"])
    assert no_churners["precision"] == 0 and no_churners["fpr"] == 0.5
    empty = threshold_report(np.array([]), np.array([]), 0.5)
    assert empty["n"] == 0 and np.isnan(empty["share_flagged"]) and np.isnan(empty["accuracy"])


def test_compare_models_scores_each_model_on_the_same_customers(
        calibrated: tuple[np.ndarray, np.ndarray]) -> None:
    from sklearn.metrics import brier_score_loss, roc_auc_score

    y, p = calibrated
    noisy = np.clip(p + np.random.default_rng(3).normal(0, 0.2, p.size), 0, 1)
    table = compare_models(y, {"good": p, "noisy": noisy, "constant": np.full(p.size, y.mean())},
                           threshold=0.4)
    assert table["model"].tolist() == ["good", "noisy", "constant"]
    assert table["roc_auc"].tolist() == pytest.approx([roc_auc_score(y, p), roc_auc_score(y, noisy), 0.5])
    assert table.loc[1, "brier"] == pytest.approx(brier_score_loss(y, noisy))
    assert table.loc[0, "roc_auc"] > table.loc[1, "roc_auc"] > table.loc[2, "roc_auc"]
    assert table.loc[0, "ece"] < 0.01 and table.loc[0, "log_loss"] < table.loc[2, "log_loss"]
    assert table.loc[0, "recall"] == pytest.approx(recall_score(y, p >= 0.4))
    assert table.loc[2, "share_flagged"] == 0  # the churn rate is below 0.4: nobody is flagged
    assert "precision" not in compare_models(y, {"good": p})


def test_aux_head_metrics_against_the_training_mean() -> None:
    rng = np.random.default_rng(4)
    y = rng.normal(50, 10, 2000)
    good = aux_head_metrics(y, y + rng.normal(0, 5, y.size), kind="regression", train_mean=50.0)
    assert good["r2"] == pytest.approx(0.75, abs=0.05) and good["beats_train_mean"] is True
    assert abs(good["r2_of_train_mean"]) < 0.01
    useless = aux_head_metrics(y, np.full(y.size, 70.0), kind="regression", train_mean=50.0)
    assert useless["beats_train_mean"] is False
    unknown = aux_head_metrics(y, y, kind="regression", train_mean=None)
    assert unknown["r2"] == pytest.approx(1.0) and unknown["beats_train_mean"] is None

    labels = (rng.random(2000) < 0.3).astype(float)
    ranked = aux_head_metrics(labels, np.clip(labels * 0.4 + rng.random(2000) * 0.6, 0, 1), kind="binary",
                              train_mean=0.3)
    assert ranked["roc_auc"] > 0.8 and ranked["roc_auc_of_train_mean"] == 0.5 and ranked["beats_train_mean"]
    assert ranked["brier_of_train_mean"] == pytest.approx(np.mean((labels - 0.3) ** 2))
    backwards = aux_head_metrics(labels, 1 - labels, kind="binary", train_mean=0.3)
    assert backwards["beats_train_mean"] is False
    one_class = aux_head_metrics(np.ones(5), np.full(5, 0.5), kind="binary", train_mean=0.3)
    assert one_class["beats_train_mean"] is None
    with pytest.raises(ValueError, match="kind"):
        aux_head_metrics(y, y, kind="count", train_mean=0.0)


def test_head_kinds_reads_the_manifest() -> None:
    multitask = {"churned": {"roc_auc": 0.8}, "revenue": {"r2": 0.4, "r2_of_train_mean": -0.01},
                 "upgraded": {"roc_auc": 0.7}, "broken": {}}
    assert head_kinds(multitask, target="churned") == {"revenue": "regression", "upgraded": "binary"}


def test_head_baselines_per_head() -> None:
    rng = np.random.default_rng(5)
    n = 400
    revenue = rng.normal(100, 20, n)
    upgraded = (rng.random(n) < 0.4).astype(float)
    frame = pd.DataFrame({
        "revenue": revenue, "predicted_revenue": revenue + rng.normal(0, 10, n),
        "seats": rng.normal(0, 1, n), "predicted_seats": rng.normal(3, 1, n),  # worse than the mean
        "upgraded": upgraded, "predicted_upgraded": upgraded * 0.5 + rng.random(n) * 0.5,
    })
    frame.loc[:9, "revenue"] = np.nan  # unknown outcomes are left out
    kinds = {"revenue": "regression", "seats": "regression", "upgraded": "binary", "absent": "regression"}
    table = head_baselines(frame, kinds, {"revenue": 100.0, "seats": 0.0, "upgraded": 0.4})
    assert table["target"].tolist() == ["revenue", "seats", "upgraded"]
    row = table.set_index("target")
    expected = regression_metrics(revenue[10:], frame["predicted_revenue"].to_numpy()[10:], 100.0)
    assert row.loc["revenue", "model"] == pytest.approx(expected["r2"])
    assert row.loc["revenue", "baseline"] == pytest.approx(expected["r2_of_train_mean"])
    assert row.loc["revenue", "n"] == n - 10 and row.loc["revenue", "beats"]
    assert row.loc["seats", "beats"] == False  # noqa: E712 (numpy bool)
    assert row.loc["upgraded", "measure"] == "ROC AUC" and row.loc["upgraded", "baseline"] == 0.5
    assert row.loc["upgraded", "beats"]
    no_mean = head_baselines(frame, {"seats": "regression"}, {"seats": None})
    assert no_mean["beats"].tolist() == [None] and np.isnan(no_mean["baseline"].iloc[0])
    none = head_baselines(frame.iloc[:0], kinds, {})  # no customers: nothing can be told
    assert none["beats"].tolist() == [None] * 3 and none["n"].tolist() == [0] * 3


def test_own_ranking_metrics_equal_scikit_learns_with_ties_and_imbalance() -> None:
    """roc_auc and average_precision are computed without scikit-learn (the dashboard never imports it);
    they must give scikit-learn's figures, ties included."""
    from sklearn.metrics import average_precision_score, brier_score_loss, log_loss, roc_auc_score

    from insight.models.metrics import average_precision, binary_metrics, roc_auc

    rng = np.random.default_rng(3)
    for n, rate, decimals in ((50, 0.5, 1), (2_000, 0.07, 2), (20_000, 0.3, 6)):
        y = (rng.random(n) < rate).astype(float)
        p = np.round(np.clip(0.3 * y + rng.random(n) * 0.8, 0, 1), decimals)  # rounding makes ties
        assert roc_auc(y, p) == pytest.approx(roc_auc_score(y, p), abs=1e-12)
        assert average_precision(y, p) == pytest.approx(average_precision_score(y, p), abs=1e-12)
        m = binary_metrics(y, p)
        clipped = np.clip(p, 1e-7, 1 - 1e-7)
        assert m["log_loss"] == pytest.approx(log_loss(y, clipped), abs=1e-9)
        assert m["brier"] == pytest.approx(brier_score_loss(y, clipped), abs=1e-12)
