"""The Model page's figures of a run trained on snapshots (`insight train --time`): the random-split test
beside the out-of-time test on the latest labelled snapshot, with the snapshot dates. A run trained without
--time has neither (`out_of_time` returns None and the page is as before)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import streamlit as st

from insight import formatting as fmt
from insight.runs.manifest import Manifest
from insight.ui.widgets import Metric, metric_row

MODELS = {"lightgbm": "LightGBM (the model of record)", "logistic": "Logistic regression (baseline)"}
COLUMNS = {"roc_auc": "ROC AUC", "pr_auc": "PR AUC", "log_loss": "Log loss", "brier": "Brier", "ece": "ECE"}


@dataclass(frozen=True)
class OutOfTime:
    """What a time-aware run's manifest says about its two tests."""

    trained_through: str
    snapshot: str
    """L: the snapshot tested out of time."""
    latest: str
    """S: the snapshot whose customers the run shows."""
    rows: list[dict[str, Any]]
    """One row per model and test: Model, Test, Snapshots, Customers and the metrics (COLUMNS' names)."""
    test_auc: float
    out_of_time_auc: float
    churn_rate: float | None = None
    """The observed churn rate of the out-of-time snapshot."""


def out_of_time(manifest: Manifest) -> OutOfTime | None:
    """The random-split and out-of-time figures of a run trained with --time; None for any other run."""
    metrics = manifest.metrics
    late = metrics.get("lightgbm", {}).get("out_of_time")
    if not late:
        return None
    time = metrics.get("time", {})
    through = str(late.get("trained_through", time.get("trained_through", "")))
    first = (time.get("training_snapshots") or [through])[0]
    rows = []
    for model, name in MODELS.items():
        tests = metrics.get(model, {})
        for key, test, when in (("test", "Random split", f"{first} to {through}"),
                                ("out_of_time", "Out of time", str(late["snapshot"]))):
            figures = tests.get(key)
            if figures:
                rows.append({"Model": name, "Test": test, "Snapshots": when, "Customers": int(figures["n"]),
                             **{label: figures.get(k) for k, label in COLUMNS.items()}})
    return OutOfTime(trained_through=through, snapshot=str(late["snapshot"]),
                     latest=str(time.get("latest_snapshot", late["snapshot"])), rows=rows,
                     test_auc=float(metrics["lightgbm"]["test"]["roc_auc"]),
                     out_of_time_auc=float(late["roc_auc"]), churn_rate=late.get("positive_rate"))


def caption(found: OutOfTime) -> str:
    """The page's lead for a time-aware run: what each test is, and which customers the rest shows."""
    shown = ("the out-of-time customers of that snapshot" if found.latest == found.snapshot
             else f"the test customers among the latest snapshot's ({found.latest}), whose outcomes are not "
                  "known yet")
    return (f"Trained on the snapshots up to {found.trained_through}. Random split: customers of those "
            f"snapshots set aside before training. Out of time: the next snapshot, {found.snapshot}, which the "
            "models never saw; the better guide to how they will do on next month's customers. The curves "
            f"below use {shown}.")


def show(found: OutOfTime, number_columns: dict[str, Any]) -> None:
    """Both ROC AUCs in tiles, then every metric of both tests and both models in one table."""
    st.subheader("Random split and out of time")
    drop = found.out_of_time_auc - found.test_auc
    metric_row([
        Metric("ROC AUC, random split", fmt.score(found.test_auc),
               f"Customers of the training snapshots (up to {found.trained_through}) held out at random."),
        Metric(f"ROC AUC, out of time ({found.snapshot})", fmt.score(found.out_of_time_auc),
               f"Every labelled customer of {found.snapshot}, a snapshot after training "
               f"({'+' if drop >= 0 else '−'}{fmt.score(abs(drop))} against the random split)."),
    ])
    st.dataframe(found.rows, hide_index=True, key="model_out_of_time",
                 column_config={**number_columns, "Customers": st.column_config.NumberColumn(format="%d")})


def no_test_customers(found: OutOfTime) -> str:
    """Why the curves are missing for a run whose shown snapshot has no outcomes yet."""
    return (f"The curves need test customers with a known outcome among this run's customers (the snapshot of "
            f"{found.latest}), and their outcomes are not known yet. The figures above are measured on "
            "earlier snapshots.")
