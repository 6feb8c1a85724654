"""Overview: the headline numbers, how churn risk is spread, and the segments at a glance."""

from __future__ import annotations

import streamlit as st

from insight.figures import charts
from insight import formatting as fmt
from insight.ui import outoftime, report_download, shell, tables, widgets
from insight.ui.widgets import Metric

with shell.page("Overview") as run:
    totals = run.totals()
    revenue = run.revenue_column
    widgets.page_header(
        "Overview",
        f"{fmt.markdown_text(run.source_name)}: {fmt.count(totals['customers'])} customers scored by run "
        f"{fmt.markdown_text(run.id)}. "
        "Probabilities come from the calibrated churn model; churn rates are observed outcomes.")

    late = outoftime.out_of_time(run.manifest)  # a run trained on snapshots (--time); None otherwise
    if totals["labelled"] or late is None or late.churn_rate is None:
        churn_rate = Metric("Churn rate", fmt.pct(totals["churn_rate"]),
                            f"Observed share of churners among the {fmt.count(totals['labelled'])} customers "
                            "with a known outcome.")
    else:  # the latest snapshot's outcomes are not known yet: the latest snapshot that has them
        churn_rate = Metric(f"Churn rate, {late.snapshot}", fmt.pct(late.churn_rate),
                            f"This run's customers (the snapshot of {late.latest}) have no known outcome yet; "
                            f"this is the observed churn rate of {late.snapshot}, the latest snapshot with "
                            "outcomes.")
    widgets.metric_row([
        Metric("Customers", fmt.count(totals["customers"])),
        Metric("Expected churners", fmt.count(totals["expected_churners"]),
               "The sum of every customer's churn probability: how many customers the model expects to "
               "lose."),
        Metric("Revenue at risk", fmt.amount(totals["revenue_at_risk"]) if revenue else fmt.DASH,
               f"The sum of churn probability × {fmt.markdown_text(revenue)}." if revenue
               else "This run has no revenue column, so revenue at risk is not available."),
        churn_rate,
        Metric("Model ROC AUC", fmt.score(run.test_metrics.get("roc_auc")),
               "How well the model ranks churners above stayers on held-out test customers "
               "(0.5 = a coin toss, 1 = perfect)." + ("" if late is None else
               f" Out of time, on {late.snapshot} (a snapshot the model never saw): "
               f"{fmt.score(late.out_of_time_auc)}.")),
    ])

    left, right = st.columns([4, 3], gap="large")
    with left:
        histogram = run.risk_histogram()
        st.plotly_chart(charts.risk_histogram(histogram, thresholds=run.thresholds), key="risk_histogram")
        st.caption("Each bar counts the customers whose predicted churn probability falls in that range, "
                   "coloured by risk band. Bands are set relative to the average churn rate.")
    with right:
        st.subheader("Risk bands")
        bands = run.band_summary()
        st.dataframe(tables.band_table(bands, revenue=bool(revenue)), hide_index=True, key="band_table")
        cuts = {band: fmt.pct(cut, 0) for band, cut in run.thresholds.items()}
        if cuts:
            st.caption(f"Medium from {cuts.get('medium')}, high from {cuts.get('high')}, very high from "
                       f"{cuts.get('very high')} churn probability.")

    st.subheader("Segments")
    st.caption("Groups of customers who are alike in what matters for churn and value, largest expected loss "
               "first. The Segments page shows them on the customer map.")
    profiles = run.segments_by_loss
    if not profiles:
        st.info("This run has no segments.")
    widgets.segment_grid(profiles, revenue_column=revenue, columns=3)

    report_download.report_download(run)
