"""Confidence-based performance estimation against NannyML's own figures, against labels drawn from the
probabilities (Monte Carlo), and with miscalibrated probabilities (the estimate goes wrong the expected way)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from insight.decisions.targeting import OfferEconomics, benefit_curve, best_cut, default_threshold
from insight.errors import InputError
from insight.models.metrics import roc_auc, threshold_report
from insight.monitoring.performance import (
    batch_labels,
    estimate_performance,
    expected_roc_auc,
    realised_performance,
)

REFERENCE = Path(__file__).resolve().parent.parent / "fixtures" / "nannyml_reference.json"


def _reference() -> dict:
    return json.loads(REFERENCE.read_text())["datasets"]


@pytest.mark.parametrize("name", sorted(_reference()))
def test_matches_nannyml(name: str) -> None:
    """NannyML 0.13.1's CBPE (tests/fixtures/nannyml_reference.py): its estimators and a whole CBPE with the
    probabilities taken as calibrated. NannyML rounds its cumulative counts to 5 decimals: 1e-6."""
    case = _reference()[name]
    got = estimate_performance(np.array(case["probabilities"]), case["threshold"])
    for source in ("functions", "cbpe"):
        want = case[source]
        assert got.roc_auc == pytest.approx(want["roc_auc"], abs=1e-6)
        assert got.precision == pytest.approx(want["precision"], abs=1e-9)
        assert got.recall == pytest.approx(want["recall"], abs=1e-9)


def _draws(p: np.ndarray, threshold: float, n: int, seed: int) -> dict[str, float]:
    """Mean realised AUC, precision and recall over `n` label sets drawn y ~ Bernoulli(p)."""
    rng = np.random.default_rng(seed)
    aucs, precisions, recalls = [], [], []
    for _ in range(n):
        y = (rng.random(len(p)) < p).astype(float)
        aucs.append(roc_auc(y, p))
        at = threshold_report(y, p, threshold)
        precisions.append(at["precision"])
        recalls.append(at["recall"])
    return {"roc_auc": float(np.mean(aucs)), "precision": float(np.mean(precisions)),
            "recall": float(np.mean(recalls)), "auc_sd": float(np.std(aucs))}


def test_estimate_is_the_mean_of_realised_performance_when_calibrated() -> None:
    """Labels drawn from the probabilities themselves (perfect calibration): the estimate is the mean of the
    realised figures over 400 draws within 0.004 (the mean's standard error is about 0.001; the estimate's
    ratio-of-expectations bias at 2,000 customers is smaller)."""
    rng = np.random.default_rng(7)
    p = rng.beta(1.2, 4.0, 2000)
    threshold = default_threshold()
    est = estimate_performance(p, threshold)
    mc = _draws(p, threshold, 400, seed=1)
    assert est.roc_auc == pytest.approx(mc["roc_auc"], abs=0.004)
    assert est.precision == pytest.approx(mc["precision"], abs=0.004)
    assert est.recall == pytest.approx(mc["recall"], abs=0.004)
    assert est.churn_rate == pytest.approx(p.mean())
    assert 0.01 < mc["auc_sd"] < 0.03  # one batch's realised AUC scatters this much around the estimate


def _logit(p: np.ndarray) -> np.ndarray:
    return np.log(p / (1 - p))


@pytest.mark.parametrize("slope, direction", [(0.5, "over"), (2.0, "under")])
def test_miscalibrated_probabilities_mislead_the_estimate(slope: float, direction: str) -> None:
    """The model reports q, but customers churn with sigmoid(slope x logit(q)). Overconfident (slope 0.5: the
    truth is flatter than q) the estimate promises more AUC than the labels give; underconfident, less. The
    estimate depends on calibration, as CBPE's assumption says."""
    rng = np.random.default_rng(3)
    q = np.clip(rng.beta(1.0, 3.0, 3000), 1e-4, 1 - 1e-4)
    truth = 1 / (1 + np.exp(-slope * _logit(q)))
    est = expected_roc_auc(q)
    realised = np.mean([roc_auc((rng.random(len(q)) < truth).astype(float), q) for _ in range(100)])
    gap = est - realised
    assert (gap > 0.03) if direction == "over" else (gap < -0.03), (est, realised)
    assert abs(expected_roc_auc(truth) - realised) < 0.01  # the true probabilities estimate it right


def test_default_threshold_is_the_targeting_pages_cut() -> None:
    """The Targeting page's default offer (a tenth of the value, 30 % saved) contacts exactly the customers
    at or above the threshold, whatever the customer value."""
    assert default_threshold() == pytest.approx(1 / 3)
    p = np.random.default_rng(0).random(500)
    for value in (80.0, 1234.5):
        economics = OfferEconomics(cost_per_contact=value / 10, save_rate=0.3, value_per_customer=value)
        assert best_cut(benefit_curve(p, None, economics)) == int((p >= default_threshold()).sum())


def test_realised_performance_ignores_unknown_labels() -> None:
    p = np.array([0.9, 0.8, 0.2, 0.1, 0.6, 0.4])
    y = np.array([1, np.nan, 0, 0, 0, 1])
    got = realised_performance(y, p, 0.5)
    assert got.rows == 5
    assert got.roc_auc == pytest.approx(roc_auc(np.array([1, 0, 0, 0, 1.0]), np.array([0.9, 0.2, 0.1, 0.6, 0.4])))
    assert (got.precision, got.recall, got.churn_rate) == (0.5, 0.5, 0.4)


def test_undefined_figures_are_none_in_json() -> None:
    one_class = realised_performance(np.zeros(4), np.array([0.1, 0.2, 0.3, 0.9]), 0.5).to_dict()
    assert one_class["roc_auc"] is None and one_class["recall"] is None and one_class["precision"] == 0.0
    assert estimate_performance(np.array([]), 0.5).to_dict()["roc_auc"] is None
    assert np.isnan(expected_roc_auc(np.array([0.0, 0.0])))


def test_ties_form_one_step() -> None:
    """Tied probabilities: the area does not depend on their order (as the realised AUC counts ties half)."""
    p = np.array([0.7, 0.3, 0.7, 0.3, 0.5])
    assert expected_roc_auc(p) == pytest.approx(expected_roc_auc(p[[2, 1, 0, 4, 3]]))


def test_batch_labels_read_as_the_run_read_its_target() -> None:
    assert np.array_equal(batch_labels(pd.Series(["Yes", "no", " yes", None]), "churned", "yes")[:3], [1, 0, 1])
    assert np.isnan(batch_labels(pd.Series(["Yes", None]), "churned", "yes")[1])
    assert np.array_equal(batch_labels(pd.Series([0, 1, 1]), "churned", "1"), [0, 1, 1])
    assert np.array_equal(batch_labels(pd.Series([True, False]), "churned", "1"), [1, 0])
    assert np.array_equal(batch_labels(pd.Series(["stayed", "stayed"]), "status", "left"), [0, 0])
    assert np.array_equal(batch_labels(pd.Series([2, 5]), "code", "5"), [0, 1])


@pytest.mark.parametrize("values, positive", [([0, 1, 2], "1"), (["a", "b", "c"], "a"), (["x", "y"], "yes"),
                                              ([0.5, 1.0], "1")])
def test_batch_labels_refuse_other_values(values: list, positive: str) -> None:
    with pytest.raises(InputError, match="--labels 'col' must hold the run's churn values"):
        batch_labels(pd.Series(values), "col", positive)
