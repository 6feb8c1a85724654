"""The Overview page of runs trained with --time (AppTest on tests/conftest.py's snapshot_runs): when the
customers shown have no known outcome yet, the churn rate is the latest labelled snapshot's, named as such,
and the ROC AUC's help gives the out-of-time figure."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from appkit import assert_clean, metric, open_page

from insight import formatting as fmt

PAGE = "pages/overview.py"


def _tile(at, label: str):  # noqa: ANN001, ANN202 - AppTest's Metric
    found = [m for m in at.metric if m.label == label]
    assert len(found) == 1, [m.label for m in at.metric]
    return found[0]


@pytest.mark.slow
def test_unlabelled_latest_snapshot_shows_the_labelled_snapshots_churn_rate(
        monkeypatch: pytest.MonkeyPatch, snapshot_runs: dict[str, Path]) -> None:
    run = snapshot_runs["all"]  # shows April's customers, whose outcomes are blank; tested out of time on March
    at = open_page(monkeypatch, run.parent, run, PAGE)
    assert_clean(at, "overview, snapshots")
    late = json.loads((run / "manifest.json").read_text())["metrics"]["lightgbm"]["out_of_time"]
    assert late["snapshot"] == "2026-03-31"
    assert metric(at, "Churn rate, 2026-03-31") == fmt.pct(late["positive_rate"])
    assert "Churn rate" not in [m.label for m in at.metric]
    assert fmt.score(late["roc_auc"]) in _tile(at, "Model ROC AUC").help


@pytest.mark.slow
def test_labelled_customers_keep_their_own_churn_rate(monkeypatch: pytest.MonkeyPatch,
                                                      snapshot_runs: dict[str, Path]) -> None:
    run = snapshot_runs["as_of_march"]  # shows March's customers, whose outcomes are known
    at = open_page(monkeypatch, run.parent, run, PAGE)
    assert_clean(at, "overview, as of March")
    labelled = pd.read_parquet(run / "customers.parquet")["churned"].dropna()
    assert metric(at, "Churn rate") == fmt.pct(labelled.mean())
