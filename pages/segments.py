"""Segments: the customer map, what sets a selection or a segment apart, and every segment's profile."""

from __future__ import annotations

import streamlit as st

from insight import formatting as fmt
from insight.ui import access, filters, mapview, shell, survival_sections, tables, widgets

with shell.page("Segments") as run:
    points, revenue = run.map_frame, run.revenue_column
    widgets.page_header(
        "Segments",
        "Every dot is a customer, placed so that customers who are alike in what matters for churn and value "
        "sit close together. Drag a box or a lasso around dots to see what those customers have in common.")
    if run.segment_awareness:
        st.caption(fmt.markdown_text(run.segment_awareness))
    left, right = st.columns([3, 1], gap="medium")
    with left:
        color_by = mapview.color_control(run, points)
        bands = mapview.band_control()
        shown = run.map_points(bands)
        event = st.plotly_chart(run.map_figure(color_by, bands, run.map_hover()), key="segment_map",
                                on_select="rerun", selection_mode=("points", "box", "lasso"))
        if run.map_is_sample:
            st.caption(f"The map shows a random {fmt.count(len(points))} of {fmt.count(run.count())} "
                       "customers; "
                       "the shading underneath shows where all of them lie.")
        if bands:
            st.caption(f"Only risk bands {', '.join(bands)}: {fmt.count(len(shown))} customers on the map.")
    with right:
        st.subheader("Segment profiles")
        new_ids = widgets.segment_identity(run.manifest.segment_report)
        with st.container(height=760, border=False):
            widgets.segment_grid(run.segments, revenue_column=revenue, columns=1, details=True, new_ids=new_ids)

    chosen = run.picked_on_map(shown, event.selection) if event else None
    if chosen is None:  # nothing selected on the map: a segment
        chosen = run.segment_on_map(shown, mapview.segment_control(run.segment_names), bands)

    st.subheader(f"{fmt.markdown_text(chosen.title)} vs the rest")
    st.dataframe(tables.group_table(run.compare(shown, chosen), revenue=bool(revenue)), hide_index=True,
                 key="selection_summary")

    exports = access.can("export")  # asked here: the download itself runs outside this session's script
    export_col, open_col = st.columns(2)
    export_col.download_button(
        f"Export as CSV: {fmt.markdown_text(chosen.how)}",
        data=lambda: run.selection_export(chosen) if exports else b"", key="selection_export",
        file_name=f"selection-{run.id}.csv", mime="text/csv", icon=":material/download:", on_click="ignore",
        disabled=chosen.count == 0 or not exports, width="stretch",
        help="Every column of these customers, riskiest first; the last columns record the run, how they "
             "were chosen and when. Cells a spreadsheet could run as a formula get a leading single quote.")
    if open_col.button(f"Open these {fmt.count(chosen.count)} customers in the risk table",
                       key="open_in_risk", icon=":material/format_list_numbered:", disabled=chosen.count == 0, width="stretch"):
        filters.open_in_risk_table(run, run.selection_ids(chosen), chosen.how)
    if not exports:
        st.caption(access.EXPORTS_OFF)

    apart_col, drivers_col = st.columns(2, gap="medium")
    with apart_col:
        st.markdown("**What sets them apart**")
        contrast = run.selection_contrast(chosen.choice.on_map)
        if contrast.empty:
            st.info("Select at least two customers (and leave at least two out) to compare them.")
        else:
            st.dataframe(tables.contrast_table(contrast), hide_index=True, key="selection_contrast")
            st.caption("The features that differ most between these customers and the rest on the map "
                       "(standardised effect size), keeping only differences unlikely to be chance.")
    with drivers_col:
        st.markdown("**What drives their risk**")
        st.dataframe(tables.shap_driver_table(run.selection_drivers(chosen)), hide_index=True,
                     key="selection_drivers",
                     column_config={c: st.column_config.NumberColumn(format="%+.3f") for c in
                                    ("Selected (mean SHAP)", "Rest (mean SHAP)", "Difference")})
        st.caption("Mean SHAP value of each feature among these customers and among all other customers of "
                   "the run (log-odds: above 0 raises churn risk); the largest differences first.")

    survival_sections.show_segments(run, chosen)  # time to churn per segment; nothing without --duration
