"""Customer: one customer's churn risk, the reasons behind it, and how they compare with everyone else."""

from __future__ import annotations

import streamlit as st

from insight import figures
from insight.ui import format as fmt
from insight.ui import loaders, shell, tables, widgets
from insight.ui.pickers import customer_picker

with shell.page("Customer") as active:
    store, revenue = active.store, active.revenue_column
    widgets.page_header("Customer", "Look up one customer: how likely they are to churn, and why.")
    customer_id = customer_picker(store)
    row = store.customer(customer_id) if customer_id else None
    if row is None:
        st.stop()

    outcome = row.get(active.target)
    known = fmt.DASH if outcome is None else ("Churned" if outcome >= 0.5 else "Stayed")
    widgets.metric_row([
        widgets.Metric("Churn probability", fmt.pct(row["churn_probability"])),
        widgets.Metric("Risk band", str(row["risk_band"]).capitalize()),
        widgets.Metric("Revenue at risk", fmt.amount(row.get("revenue_at_risk")) if revenue else fmt.DASH,
                       f"Churn probability × {revenue}" if revenue else "No revenue column in this run."),
        widgets.Metric("Known outcome", known,
                       f"Used for: {row.get('split', 'unknown')}. Test customers were not seen in training."),
    ])
    st.markdown(f"**Segment:** {row.get('segment_name') or 'Unassigned'}")

    st.subheader("Why this risk")
    st.markdown("\n".join(f"- {row[f'reason_{i}']}" for i in (1, 2, 3) if row.get(f"reason_{i}")))
    st.caption("Points are percentage points of churn probability that each factor adds or removes for this "
               "customer.")

    shap = store.customer_shap(customer_id)
    left, right = st.columns([5, 6], gap="large")
    with left:
        if shap is None:
            st.info("This run has no SHAP values.")
        else:
            st.plotly_chart(figures.shap_waterfall(shap, row, base_value=float(shap["base_value"]),
                                                   roles=active.roles, to_probability=active.probability),
                            key="customer_waterfall")
            st.caption("Starts from the average customer's risk score; each bar adds what one feature "
                       "contributes (red raises risk, green lowers it) and ends at this customer's score. "
                       "Percentages in brackets are the matching churn probabilities.")
    with right:
        features = [f for f in active.features if f in store.column_types]
        comparison = tables.customer_comparison(
            features, row, loaders.feature_reference(active.key, active),
            store.percentiles(customer_id, features), shap, active.roles)
        st.dataframe(comparison, hide_index=True, key="customer_comparison", height=560, column_config={
            "Feature": st.column_config.TextColumn("Feature", width="medium"),
            "This customer": st.column_config.TextColumn("This customer", width="small"),
            "Typical customer": st.column_config.TextColumn("Typical", width="small"),
            "Percentile": st.column_config.ProgressColumn(
                "Percentile", min_value=0, max_value=100, format="%.0f", width="small",
                help="Share of customers with a lower value (for dates: an earlier date)."),
            "Effect on risk": st.column_config.NumberColumn(
                "Effect on risk", format="%+.3f", width="small",
                help="SHAP value on the log-odds risk score; positive raises risk."),
        })
        st.caption("The customer's values beside the typical customer (median, or most common value for "
                   "categories), strongest effect on this customer's risk first.")
