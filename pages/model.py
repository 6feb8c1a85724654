"""Model quality: how well the churn model ranks and how far its probabilities can be trusted, measured on
held-out test customers the models never saw: overall or in one segment, at a threshold the user picks, next
to the multi-task network's churn head and the logistic baseline."""

from __future__ import annotations

import streamlit as st

from insight import formatting as fmt
from insight.figures import charts
from insight.ui import outoftime, shell, survival_sections, tables, timeline, uplift_section, widgets
from insight.ui.widgets import Metric

NUMBER = {**{c: st.column_config.NumberColumn(format="%.3f")
             for c in ("ROC AUC", "PR AUC", "Log loss", "Brier", "Head", "Training mean")},
          **{c: st.column_config.NumberColumn(format="percent")
             for c in ("ECE", "Precision", "Recall", "Share flagged")}}

with shell.page("Model quality") as run:
    late = outoftime.out_of_time(run.manifest)  # a run trained on snapshots (--time); None otherwise
    widgets.page_header(
        "Model quality",
        "Measured on held-out test customers: they were set aside before training, so these figures show how "
        "the models do on customers they have not seen." if late is None else outoftime.caption(late))
    if late is not None:
        outoftime.show(late, NUMBER)
    tested, sizes = run.test_sizes()
    names = run.segment_names
    scope = st.selectbox(
        "Test customers", [None, *names], key="model_scope",
        format_func=lambda s: f"All test customers ({fmt.count(tested)})" if s is None
        else f"{names[s]} ({fmt.count(sizes.get(s, 0))} test customers)",
        help="Restrict every curve, score and the confusion matrix to the test customers of one segment.")
    quality = run.quality(scope)  # measured once per run and scope
    if quality is None:
        st.info(("This run has no held-out test customers with a known outcome to measure the models on."
                 if late is None else outoftime.no_test_customers(late))
                if scope is None else f"No held-out test customer belongs to the segment "
                f"{fmt.markdown_text(names[scope])}: it is too small to be measured on its own. Pick another "
                "segment or all test customers.",
                icon=":material/info:")
        st.stop()
    y, p, test = quality.y, quality.p, quality.metrics
    widgets.metric_row([
        Metric("ROC AUC", fmt.score(test["roc_auc"]),
               "Chance that a random churner ranks above a random stayer (0.5: a coin toss, 1: perfect)."),
        Metric("PR AUC", fmt.score(test["pr_auc"]), "Average precision; random targeting would score the "
               f"churn rate, {fmt.pct(test['positive_rate'])}."),
        Metric("Calibration error (ECE)", fmt.pct(test["ece"]),
               "Average gap between the predicted probability and the observed churn rate; lower is better."),
        Metric("Brier score", fmt.score(test["brier"]),
               "Mean squared error of the probabilities; lower is better."),
        Metric("Test customers", fmt.count(test["n"])),
    ])
    both = quality.both_outcomes
    if not both:
        st.info(f"All {fmt.count(quality.customers)} test customers here "
                f"{'churned' if quality.churners else 'stayed'}: ranking "
                "curves, lift and the model comparison need churners and stayers. The confusion matrix below "
                "still shows whom the model would flag.", icon=":material/info:")

    st.subheader("Who gets flagged at a threshold")
    rate = run.churn_rate
    cut = st.slider("Flag customers whose churn probability is at least", 1, 99,
                    min(99, max(1, round(100 * rate))), format="%d%%", key="model_threshold")
    threshold = cut / 100
    flagged = run.quality_at(scope, threshold)
    at = flagged.report
    st.caption(f"It starts at the overall churn rate ({fmt.pct(rate)}): with calibrated probabilities that "
               "flags everyone at above-average risk. Higher thresholds flag fewer customers, more of whom "
               "churn.")
    left, right = st.columns([3, 2], gap="large")
    left.dataframe(tables.confusion_table(at), hide_index=True, key="model_confusion")
    with right:
        widgets.metric_row([
            Metric("Precision", fmt.pct(at["precision"]), "Of the customers flagged, the share who churned."),
            Metric("Recall", fmt.pct(at["recall"]), "Of the customers who churned, the share flagged."),
            Metric("Share flagged", fmt.pct(at["share_flagged"]), "Share of these test customers flagged."),
        ])

    if both:
        left, right = st.columns(2, gap="large")
        left.plotly_chart(charts.roc_figure(y, p), key="model_roc")
        left.caption("Churners caught (up) against stayers flagged by mistake (right), at every threshold. "
                     "The further above the diagonal, the better.")
        right.plotly_chart(charts.pr_figure(y, p), key="model_pr")
        right.caption("Of the customers flagged, the share who really churn (precision), against the share "
                      "of all churners caught (recall).")
        left.plotly_chart(charts.calibration_figure(y, p), key="model_calibration")
        left.caption("Customers grouped by predicted probability: on the diagonal, a predicted 30 % churns "
                     f"30 % of the time. Bars: 95 % intervals. ECE {fmt.pct(test['ece'])}, Brier "
                     f"{fmt.score(test['brier'])}.")
        right.plotly_chart(charts.lift_figure(y, p), key="model_lift")
        right.caption("Test customers ranked by risk and cut into ten equal groups: how often each group "
                      "churns compared with the average.")
        st.plotly_chart(charts.gains_figure(y, p), key="model_gains")
        st.caption("Contacting the riskiest customers first: the share of all churners reached for each "
                   "share of customers contacted.")

    st.subheader("Three models on the same customers")
    scores = quality.scores
    st.dataframe(tables.comparison_table(flagged.comparison), hide_index=True, key="model_compare",
                 column_config=NUMBER)
    st.caption("Precision, recall and share flagged at the threshold above. "
               + (f"This run does not store the test probabilities of: {', '.join(quality.missing)} (an "
                  "older run; retrain to compare them)." if quality.missing else ""))
    if both and len(scores) > 1:
        st.plotly_chart(charts.roc_comparison_figure(y, scores, threshold=threshold), key="model_roc_compare")

    heads = quality.heads
    if not heads.empty:
        st.subheader("Other targets of the multi-task network")
        st.caption("Each head against predicting the training customers' mean: R² for amounts (the mean "
                   "scores about 0), ROC AUC for yes/no targets (any constant scores 0.5).")
        st.dataframe(tables.head_table(heads), hide_index=True, key="model_heads", column_config=NUMBER)

    survival_sections.show_model(run)  # survival model vs Cox PH and Kaplan-Meier; nothing without --duration
    uplift_section.show_model(run)  # uplift model vs risk and random targeting; nothing without --treatment

    timeline.show(run)  # the runs of this data and the batches this run scored, over time
