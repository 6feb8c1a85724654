"""Customer: one customer's churn risk and its reasons, how they compare with their segment and everyone, the
customers most like them, what-if edits and the change most likely to keep them."""

from __future__ import annotations

import streamlit as st

from insight import formatting as fmt
from insight.figures import charts
from insight.runs import layout
from insight.ui import shell, tables, whatif, widgets
from insight.ui.pickers import customer_picker

SIMILAR = 10

with shell.page("Customer") as run:
    revenue = run.revenue_column
    widgets.page_header("Customer", "Look up one customer: how likely they are to churn, why, and what could "
                                    "change it.")
    customer_id = customer_picker(run)
    row = run.customer(customer_id) if customer_id else None
    if row is None:
        st.stop()

    widgets.metric_row([
        widgets.Metric("Churn probability", fmt.pct(row[layout.CHURN_PROBABILITY])),
        widgets.Metric("Risk band", str(row[layout.RISK_BAND]).capitalize()),
        widgets.Metric("Revenue at risk",
                       fmt.amount(row.get(layout.REVENUE_AT_RISK)) if revenue else fmt.DASH,
                       f"Churn probability × {fmt.markdown_text(revenue)}" if revenue
                       else "No revenue column in this run."),
        widgets.Metric("Known outcome", tables.outcome(row.get(run.target)),
                       f"Used for: {fmt.markdown_text(row.get(layout.SPLIT, 'unknown'))}. Test customers were not "
                       "seen in training."),
    ])
    st.markdown(f"**Segment:** {fmt.markdown_text(row.get(layout.SEGMENT_NAME) or 'Unassigned')}")

    st.subheader("Why this risk")
    st.markdown("\n".join(f"- {fmt.markdown_text(row[r])}" for r in layout.REASONS if row.get(r)))
    st.caption("Points are percentage points of churn probability that each factor adds or removes for this "
               "customer.")

    shap = run.customer_shap(customer_id)
    left, right = st.columns([5, 6], gap="large")
    with left:
        if shap is None:
            st.info("This run has no SHAP values.")
        else:
            st.plotly_chart(charts.shap_waterfall(shap, row, base_value=float(shap["base_value"]),
                                                   roles=run.roles, to_probability=run.probability),
                            key="customer_waterfall")
            st.caption("Starts from the average customer's risk score; each bar adds what one feature "
                       "contributes (red raises risk, green lowers it) and ends at this customer's score. "
                       "Percentages in brackets are the matching churn probabilities.")
    with right:
        profile = run.customer_profile(row, shap)
        st.dataframe(profile, hide_index=True, key="customer_comparison", height=560, column_config={
            "Feature": st.column_config.TextColumn("Feature", width="medium"),
            "Percentile": st.column_config.ProgressColumn(
                "Percentile", min_value=0, max_value=100, format="%.0f", width="small",
                help="Share of all customers with a lower value (for dates: an earlier date)."),
            "Effect on risk": st.column_config.NumberColumn(
                "Effect on risk", format="%+.3f", width="small",
                help="SHAP value on the log-odds risk score; positive raises risk."),
        })
        st.caption("The customer's values beside the typical member of their segment and the typical customer "
                   "overall (median, or most common value for categories), strongest effect first."
                   + (f" Percentiles and typical values are estimated on a random "
                      f"{fmt.count(run.map_sample_size)} of the {fmt.count(run.count())} customers."
                      if run.has_map_sample else ""))

    view = run.survival_view
    if view.columns:  # runs trained with --duration
        st.subheader("When they may leave")
        tiles = widgets.survival_tiles(view, row)
        for start in range(0, len(tiles), 4):
            widgets.metric_row(tiles[start:start + 4])
        timing = [row[r] for r in layout.TIMING_REASONS if row.get(r)]
        if timing:
            st.markdown("**What sets the timing**\n" + "\n".join(f"- {fmt.markdown_text(r)}" for r in timing))
        figure = run.customer_survival_figure(customer_id, row)
        if figure is not None:
            st.plotly_chart(figure, key="customer_survival")
            st.caption("This customer's predicted chance of still being a customer over time as a customer, "
                       "from the survival model, beside the mean predicted curve of their segment and of "
                       "everyone. Churn within each horizon and the expected leaving time count from now, given "
                       "how long they have stayed.")

    st.subheader("Customers most like this one")
    similar = run.similar_customers(customer_id, SIMILAR)
    if similar is None:
        st.info("This run has no latent space to compare customers in.")
    else:
        st.dataframe(similar, hide_index=True, key="customer_similar", column_config={
            "Churn probability": st.column_config.ProgressColumn(format="percent", min_value=0, max_value=1),
            "Main reason": st.column_config.TextColumn(width="large"),
            "Distance": st.column_config.NumberColumn(format="%.2f", help="In the multi-task latent space.")})
        happened = tables.outcome_counts(similar)
        st.caption(f"Nearest in the multi-task network's latent space, which places customers close together "
                   f"when they look alike in what predicts churn and value. Of these {len(similar)}: "
                   f"{happened['Churned']} churned, {happened['Stayed']} stayed, "
                   f"{happened['Not known yet']} without a known outcome.")

    st.subheader("What if…")
    st.caption("Change any of the customer's facts and score them again with the saved churn model.")
    edits = whatif.whatif_form(run, row)
    if edits is not None:
        whatif.whatif_result(run, row, edits)

    st.subheader("Suggested action")
    st.caption("The single change to features the business can act on that lowers this customer's risk the "
               "most, scored by the churn model. A model's what-if is a prediction, not a promise: the change "
               "shows what the model has learnt, not what an intervention is certain to do.")
    whatif.suggestion_panel(run, row)
