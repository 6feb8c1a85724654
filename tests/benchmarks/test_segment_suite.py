"""benchmarks.segment_suite: the suite's figures for a trained run, and its baseline."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import adjusted_rand_score

from benchmarks.segment_suite import evaluate_run, kmeans_labels, raw_feature_matrix, recluster, summary


def test_raw_features_are_standardised_with_one_hot_categories() -> None:
    frame = pd.DataFrame({"n": [1.0, 2.0, np.nan, 4.0], "c": ["a", "b", "a", None], "f": [True, False, True, True]})
    X = raw_feature_matrix(frame, {"n": "numeric", "c": "categorical", "f": "boolean"})
    assert X.shape == (4, 1 + 1 + 3 + 1)  # number, its missing flag, three levels, flag
    np.testing.assert_allclose(X.mean(axis=0), 0, atol=1e-12)
    assert np.isfinite(X).all()


def test_kmeans_baseline_finds_separated_groups() -> None:
    rng = np.random.default_rng(0)
    truth = rng.integers(0, 3, 600)
    X = rng.normal(0, 1, (600, 4)) + 8 * np.eye(3, 4)[truth]
    assert adjusted_rand_score(truth, kmeans_labels(X, 3, seed=0)) > 0.95


def test_evaluate_run_reports_every_figure(demo_run: Path, demo_small: tuple) -> None:
    _, truth = demo_small
    result = evaluate_run(demo_run, truth, ("revenue_next_12m", "seat_change_next_12m"))
    assert result["planted"] == 6 and result["found"] >= 1
    assert 0 < result["ari"] <= 1 and 0 <= result["unassigned"] <= 1
    assert result["kmeans_true_k_ari"] > 0.3
    for key in ("target_awareness", "kmeans_same_k_awareness", "planted_awareness"):
        assert set(result[key]) == {"churn_log_loss_gain", "value_variance_share"}
    # the planted segments carry the demo's churn: they explain part of its log loss on held-out customers
    assert result["planted_awareness"]["churn_log_loss_gain"] > 0.05
    s = summary([{**result, "half": "tuning"}, {**result, "half": "tuning", "ari": 0.1}])
    assert s["ari"]["min"] == 0.1 and s["data_sets"] == 2


def test_recluster_finds_the_runs_own_segments_again(demo_run: Path) -> None:
    # the clustering stage run again on the run's latent space and map gives the segments training stored
    again = recluster(demo_run).set_index("customer_id")["segment_id"]
    stored = pd.read_parquet(demo_run / "customers.parquet").set_index("customer_id")["segment_id"]
    assert len(again) == len(stored)
    assert (again.loc[stored.index] == stored).all()
