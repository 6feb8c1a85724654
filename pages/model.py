"""Model quality: how well the churn model ranks and how far its probabilities can be trusted, measured on
held-out test customers the model never saw."""

from __future__ import annotations

import streamlit as st

from insight import figures
from insight.ui import format as fmt
from insight.ui import loaders, shell, tables, widgets
from insight.ui.widgets import Metric

SCORES = ("ROC AUC", "PR AUC", "Log loss", "Brier", "ECE", "Churn rate", "R² (model)", "R² (training mean)")

with shell.page("Model quality") as active:
    metrics, test = active.manifest.get("metrics", {}), active.test_metrics
    widgets.page_header(
        "Model quality",
        "Measured on held-out test customers: they were set aside before training, so these figures show how "
        "the model does on customers it has not seen.")
    widgets.metric_row([
        Metric("ROC AUC", fmt.score(test.get("roc_auc")),
               "Chance that a random churner ranks above a random stayer (0.5: a coin toss, 1: perfect)."),
        Metric("PR AUC", fmt.score(test.get("pr_auc")),
               "Average precision; random targeting would score the churn rate, "
               f"{fmt.pct(test.get('positive_rate'))}."),
        Metric("Calibration error (ECE)", fmt.pct(test.get("ece")),
               "Average gap between the predicted probability and the observed churn rate; lower is better."),
        Metric("Brier score", fmt.score(test.get("brier")),
               "Mean squared error of the probabilities; lower is better."),
        Metric("Test customers", fmt.count(test.get("n"))),
    ])

    rows = loaders.test_rows(active.key, active)
    if rows.empty or rows["y"].nunique() < 2:
        st.warning("The test set has too few churners and stayers to draw curves.")
        st.stop()
    y, p = rows["y"].to_numpy(), rows["churn_probability"].to_numpy()
    left, right = st.columns(2, gap="large")
    left.plotly_chart(figures.roc_figure(y, p), key="model_roc")
    left.caption("Churners caught (up) against stayers flagged by mistake (right), at every threshold. The "
                 "further above the diagonal, the better.")
    right.plotly_chart(figures.pr_figure(y, p), key="model_pr")
    right.caption("Of the customers flagged, the share who really churn (precision), against the share of "
                  "all churners caught (recall).")
    left.plotly_chart(figures.calibration_figure(y, p), key="model_calibration")
    left.caption("Customers grouped by predicted probability: on the diagonal, a predicted 30 % churns 30 % "
                 f"of the time. Bars: 95 % intervals. ECE {fmt.pct(test.get('ece'))}, Brier "
                 f"{fmt.score(test.get('brier'))}.")
    right.plotly_chart(figures.lift_figure(y, p), key="model_lift")
    right.caption("Test customers ranked by risk and cut into ten equal groups: how often each group churns "
                  "compared with the average.")
    st.plotly_chart(figures.gains_figure(y, p), key="model_gains")
    st.caption("Contacting the riskiest customers first: the share of all churners reached for each share of "
               "customers contacted.")

    st.subheader("Both models side by side")
    heads = metrics.get("multitask", {})
    number = {c: st.column_config.NumberColumn(format="%.3f") for c in SCORES}
    st.dataframe(tables.model_table(test, heads, target=active.target), hide_index=True, key="model_metrics",
                 column_config=number)
    aux = tables.regression_table(heads)
    if not aux.empty:
        st.markdown("**Other targets of the multi-task network** (an R² above the training mean's shows a "
                    "real signal)")
        st.dataframe(aux, hide_index=True, key="model_aux", column_config=number)
