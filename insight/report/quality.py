"""The report's model-quality section: the held-out metrics, the out-of-time ones when the run was trained
with `--time`, the three models at the churn-rate threshold, and the ROC, calibration and lift figures.

Measured as the Model quality page measures them (insight.models.quality on the run's test frame).
"""

from __future__ import annotations

import logging
from typing import Any

import pandas as pd

from insight import formatting as fmt
from insight.figures import charts
from insight.models.quality import at_threshold, scope_quality
from insight.report.template import Section, figure, paragraph, table, tiles
from insight.ui import tables
from insight.ui.context import ActiveRun

log = logging.getLogger(__name__)

MEASURES = (("roc_auc", "ROC AUC", fmt.score), ("pr_auc", "PR AUC", fmt.score),
            ("ece", "Calibration error (ECE)", fmt.pct), ("brier", "Brier score", fmt.score),
            ("log_loss", "Log loss", fmt.score), ("n", "Customers", fmt.count),
            ("positive_rate", "Churn rate", fmt.pct))
"""The held-out metrics in the order shown, with their names and formats."""
SHARES = ("ECE", "Precision", "Recall", "Share flagged")


def out_of_time_metrics(manifest_metrics: dict[str, Any]) -> dict[str, Any] | None:
    """`metrics.lightgbm.out_of_time` of a run trained with `--time` (None for any other run)."""
    found = manifest_metrics.get("lightgbm", {}).get("out_of_time")
    return found if isinstance(found, dict) and found else None


def measured(metrics: dict[str, Any]) -> dict[str, float]:
    """The numbers of a metrics dict, also where they sit one level down (e.g. under 'test' or 'metrics')."""
    flat = {k: v for k, v in metrics.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
    for value in metrics.values():
        if isinstance(value, dict):
            flat.update({k: v for k, v in value.items() if isinstance(v, (int, float)) and k not in flat
                         and not isinstance(v, bool)})
    return flat


def split_table(random_split: dict[str, Any], out_of_time: dict[str, Any]) -> pd.DataFrame:
    """The random-split and out-of-time metrics side by side, one row per measure either has."""
    oot = measured(out_of_time)
    rows = [{"Measure": name, "Random split (held-out customers)": show(random_split.get(key)),
             "Out of time (the latest labelled snapshot)": show(oot.get(key))}
            for key, name, show in MEASURES if key in random_split or key in oot]
    return pd.DataFrame(rows)


def out_of_time_note(out_of_time: dict[str, Any]) -> str:
    """What the out-of-time test was, from its text entries (e.g. the snapshot tested on)."""
    facts = [f"{fmt.label(k).lower()} {v}" for k, v in out_of_time.items() if isinstance(v, str)]
    base = ("Out of time: trained on earlier snapshots and tested on the latest labelled one, as the model "
            "will be used next month: the better guide to how it will do on next month's customers.")
    return base + (f" ({'; '.join(facts)})" if facts else "")


def quality(active: ActiveRun) -> Section:
    """How well the churn model ranks and how far its probabilities can be trusted, on held-out customers."""
    kinds = active.head_kinds
    frame = active.store.test_frame(aux=list(kinds))
    means = active.store.train_means([k for k, v in kinds.items() if v == "regression"])
    measured_scope = scope_quality(frame, kinds=kinds, train_means=means)
    intro = paragraph("Measured on held-out test customers: they were set aside before training, so these "
                      "figures show how the models do on customers they have not seen.")
    oot = out_of_time_metrics(active.manifest.metrics)
    if oot is not None:
        intro += ("<h3>Random split and out of time</h3>" + table(split_table(active.test_metrics, oot))
                  + paragraph(out_of_time_note(oot), note=True))
    if measured_scope is None:
        return Section("quality", "Model quality", intro + paragraph(
            "The run's customers include no held-out test customers with a known outcome (their outcomes are "
            "not known yet), so no curve can be drawn for them"
            + (": the table above was measured when the run was trained." if oot is not None else ".")))
    test = measured_scope.metrics
    body = intro + tiles([
        ("ROC AUC", fmt.score(test.get("roc_auc")),
         "Chance that a random churner ranks above a random stayer (0.5: a coin toss, 1: perfect)."),
        ("PR AUC", fmt.score(test.get("pr_auc")),
         "Average precision; random targeting would score the churn rate, "
         f"{fmt.pct(test.get('positive_rate'))}."),
        ("Calibration error (ECE)", fmt.pct(test.get("ece")),
         "Average gap between the predicted probability and the observed churn rate; lower is better."),
        ("Brier score", fmt.score(test.get("brier")),
         "Mean squared error of the probabilities; lower is better."),
        ("Test customers", fmt.count(test.get("n")), None),
    ])
    threshold = active.churn_rate
    flagged = at_threshold(measured_scope, threshold)
    compared = tables.comparison_table(flagged.comparison)
    shown = compared.copy()
    for column in shown.columns:
        if column in SHARES:
            shown[column] = shown[column].map(fmt.pct)
        elif column == "Customers":
            shown[column] = shown[column].map(fmt.count)
    body += (f"<h3>Three models on the same customers, flagging at {fmt.pct(threshold)}</h3>"
             + table(shown, numbers=[c for c in shown.columns if c != "Model"])
             + paragraph("Precision, recall and share flagged when every customer with a churn probability "
                         f"of at least {fmt.pct(threshold)} (the overall churn rate) is flagged.", note=True))
    figures = 0
    if measured_scope.both_outcomes:
        y, p = measured_scope.y, measured_scope.p
        body += ('<div class="grid2">'
                 + figure(charts.roc_figure(y, p), "fig-roc",
                          "Churners caught (up) against stayers flagged by mistake (right), at every "
                          "threshold. The further above the diagonal, the better.")
                 + figure(charts.calibration_figure(y, p), "fig-calibration",
                          "Customers grouped by predicted probability: on the diagonal, a predicted 30 % "
                          f"churns 30 % of the time. Bars: 95 % intervals. ECE {fmt.pct(test.get('ece'))}, "
                          f"Brier {fmt.score(test.get('brier'))}.")
                 + figure(charts.lift_figure(y, p), "fig-lift",
                          "Test customers ranked by risk and cut into ten equal groups: how often each group "
                          "churns compared with the average.")
                 + figure(charts.gains_figure(y, p), "fig-gains",
                          "Contacting the riskiest customers first: the share of all churners reached for "
                          "each share of customers contacted.")
                 + "</div>")
        figures = 4
    else:
        outcome = "churned" if measured_scope.churners else "stayed"
        body += paragraph(f"All {fmt.count(measured_scope.customers)} test customers {outcome}: ranking "
                          "curves need churners and stayers.", note=True)
    heads = measured_scope.heads
    if not heads.empty:
        body += ("<h3>Other targets of the multi-task network</h3>"
                 + table(tables.head_table(heads), numbers=("Head", "Training mean", "Customers"))
                 + paragraph("Each head against predicting the training customers' mean: R² for amounts "
                             "(the mean scores about 0), ROC AUC for yes/no targets (any constant scores "
                             "0.5).", note=True))
    return Section("quality", "Model quality", body, figures=figures)
