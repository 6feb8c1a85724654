"""Changes: what changed from an earlier run to a newer one (by default the run before the sidebar's): model
quality, feature drift, the shift in predicted risk, drivers, segment migration, and who became high-risk."""

from __future__ import annotations

import streamlit as st

from insight import formatting as fmt
from insight.changes import tables as change_tables
from insight.figures import changes as figures
from insight.ui import changes, shell, widgets
from insight.ui.pickers import CUSTOMER_PARAM
from insight.ui.sidebar import RUN_PARAM

with shell.page("Changes") as run:
    widgets.page_header(
        "What changed",
        "Two runs side by side, typically last month's and this month's: how the model and the customers moved, "
        "which customer facts drifted, and who became high-risk.")
    pair = changes.pick_runs(run.run.path.parent, run.id)
    result = changes.comparison(*pair) if pair else None
    if result is None:
        st.stop()
    a, b = result["runs"]["a"], result["runs"]["b"]
    shift, moves, high = result["risk_shift"], result["segment_transitions"], result["became_high_risk"]
    both, mean = shift["both"], shift["mean_probability"]
    widgets.metric_row([
        widgets.Metric("Customers in both runs", fmt.count(both["customers"]),
                       f"{fmt.count(moves['only_a'])} only in A (left), {fmt.count(moves['only_b'])} only in B "
                       "(new)."),
        widgets.Metric("Mean churn probability", f"{fmt.pct(mean['a'])} → {fmt.pct(mean['b'])}",
                       "Over each run's own customers."),
        widgets.Metric("Drifted features", f"{result['drift_method']['flagged']} of {len(result['feature_drift'])}",
                       "Significant after the Benjamini–Hochberg correction and a PSI of at least "
                       f"{result['drift_method']['min_psi']}."),
        widgets.Metric("Became high-risk", fmt.count(high["count"]),
                       "Customers in both runs whose risk band rose into high or very high."),
    ])
    for note in result["notes"]:
        st.info(fmt.markdown_text(note), icon=":material/info:")

    st.subheader("Model quality")
    st.dataframe(change_tables.metrics_table(result), hide_index=True, key="changes_metrics")
    segments = result["metrics"]["segments"]
    st.caption(f"A: {fmt.markdown_text(a['id'])} ({fmt.markdown_text(a['source'])}, "
               f"{fmt.count(a['customers'])} customers, {fmt.count(segments['a'])} segments). "
               f"B: {fmt.markdown_text(b['id'])} ({fmt.markdown_text(b['source'])}, "
               f"{fmt.count(b['customers'])} customers, {fmt.count(segments['b'])} segments)."
               + (f" Snapshots: {a.get('snapshot') or fmt.DASH} → {b.get('snapshot') or fmt.DASH}."
                  if a.get("snapshot") or b.get("snapshot") else ""))

    st.subheader("Feature drift")
    if result["feature_drift"]:
        st.plotly_chart(figures.drift_bars(result["feature_drift"]), key="changes_drift_chart")
    st.dataframe(change_tables.drift_table(result), hide_index=True, key="changes_drift",
                 column_config={"PSI": st.column_config.NumberColumn(format="%.3f")})
    st.caption("Population stability index of each feature from A's customers to B's (below 0.1 stable, above "
               "0.25 a major shift), worst first. Each feature is also tested (Kolmogorov–Smirnov for numbers and "
               "dates, chi-squared for categories) and the p-values corrected for testing every feature at once "
               "(Benjamini–Hochberg); ⚠ marks a significant drift.")

    st.subheader("Predicted risk")
    risk_col, band_col = st.columns([3, 2], gap="medium")
    risk_col.plotly_chart(figures.risk_shift_figure(shift["histogram"]), key="changes_risk_chart")
    with band_col:
        st.dataframe(change_tables.band_table(result), hide_index=True, key="changes_bands")
        if both["customers"]:
            st.markdown(f"Of the **{fmt.count(both['customers'])}** customers in both runs, "
                        f"**{fmt.count(both['moved_up'])}** moved up a risk band and "
                        f"**{fmt.count(both['moved_down'])}** down; their churn probability changed by "
                        f"{fmt.pct(both['mean_change'])} on average.")
        st.caption("Each run's bands start at multiples of its own average churn rate.")

    st.subheader("Drivers")
    st.dataframe(change_tables.drivers_table(result), hide_index=True, key="changes_drivers",
                 column_config={c: st.column_config.NumberColumn(format="%.3f") for c in
                                ("A (mean |SHAP|)", "B (mean |SHAP|)", "Change")})
    st.caption("How much each feature moves the risk score on average in each run; the largest changes first.")

    st.subheader("Segment migration")
    if moves["transitions"]:
        st.plotly_chart(figures.migration_sankey(moves), key="changes_sankey")
        st.dataframe(change_tables.transitions_table(result), hide_index=True, key="changes_transitions")
        st.caption(f"{fmt.count(moves['stayed'])} of {fmt.count(moves['customers'])} customers kept their "
                   "segment number. Segments matched to an earlier run's keep its number, name and colour."
                   + change_tables.identity_note(moves))
    else:
        st.info("No customer is in both runs, so there is no migration to show.")

    st.subheader("Customers who became high-risk")
    if not high["customers"]:
        st.info("No customer in both runs moved into the high or very high risk band.")
    else:
        st.dataframe(change_tables.high_risk_table(result), hide_index=True, key="changes_high_risk")
        st.caption(f"{fmt.count(high['count'])} customers" + (f", the {fmt.count(high['listed'])} with the "
                   "largest rise listed" if high["listed"] < high["count"] else "") + ". What moved: the three "
                   "features whose contribution to the risk score (SHAP, log-odds) changed most.")
        pick_col, open_col = st.columns([2, 1], vertical_alignment="bottom")
        chosen = pick_col.selectbox("Customer", [str(c["id"]) for c in high["customers"]], key="changes_customer")
        if open_col.button("Open in the Customer page", key="changes_open_customer",
                           icon=":material/person_search:", width="stretch"):
            st.switch_page("pages/customer.py", query_params={RUN_PARAM: b["id"], CUSTOMER_PARAM: chosen})
