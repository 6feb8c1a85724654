import numpy as np
import pytest
from sklearn.metrics import normalized_mutual_info_score

from insight.segments.target_awareness import describe, normalised_mutual_information, target_awareness


def _population(n: int = 6_000, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Three segments with churn rates 5 %, 30 %, 70 % and values 100, 300, 50 (+ noise)."""
    rng = np.random.default_rng(seed)
    seg = rng.integers(0, 3, n)
    churn = (rng.random(n) < np.array([0.05, 0.3, 0.7])[seg]).astype(float)
    value = np.array([100.0, 300.0, 50.0])[seg] + rng.normal(0, 30, n)
    return seg, churn, value


def _split(n: int) -> tuple[np.ndarray, np.ndarray]:
    rows = np.random.default_rng(1).permutation(n)
    return np.sort(rows[: n * 3 // 4]), np.sort(rows[n * 3 // 4:])


def test_segments_that_carry_the_targets_score_high_and_random_ones_near_zero() -> None:
    seg, churn, value = _population()
    train, test = _split(len(seg))
    good = target_awareness(seg, churn, {"value": value}, train_rows=train, test_rows=test)
    random = target_awareness(np.random.default_rng(2).integers(0, 3, len(seg)), churn, {"value": value},
                              train_rows=train, test_rows=test)
    assert good["churn_log_loss_gain"] > 0.2
    assert good["value_variance_share"]["value"] > 0.9
    assert abs(random["churn_log_loss_gain"]) < 0.01
    assert abs(random["value_variance_share"]["value"]) < 0.01


def test_memorising_segments_gain_nothing_on_held_out_customers() -> None:
    seg, churn, value = _population()
    train, test = _split(len(seg))
    one_each = np.arange(len(seg))  # a segment per customer: perfect on the training rows, unseen in the test
    report = target_awareness(one_each, churn, {"value": value}, train_rows=train, test_rows=test)
    assert report["churn_log_loss_gain"] == pytest.approx(0.0, abs=1e-9)
    assert report["value_variance_share"]["value"] == pytest.approx(0.0, abs=1e-9)


def test_unknown_outcomes_are_left_out() -> None:
    seg, churn, value = _population()
    churn[::3] = np.nan
    value[::5] = np.nan
    train, test = _split(len(seg))
    report = target_awareness(seg, churn, {"value": value}, train_rows=train, test_rows=test)
    assert np.isfinite(report["churn_log_loss_gain"]) and np.isfinite(report["value_variance_share"]["value"])


def test_nmi_equals_scikit_learn() -> None:
    rng = np.random.default_rng(3)
    a, b = rng.integers(0, 5, 2_000), rng.integers(0, 2, 2_000)
    b[a == 4] = 1
    assert normalised_mutual_information(a, b) == pytest.approx(normalized_mutual_info_score(a, b), abs=1e-12)


def test_described_in_words() -> None:
    text = describe({"churn_log_loss_gain": 0.14, "value_variance_share": {"revenue_next_12m": 0.38}})
    assert text == ("Segments explain 14% of churn's log loss and 38% of the variance of revenue next 12m "
                    "on held-out customers.")
    assert describe({"value_variance_share": {}}) == ""
