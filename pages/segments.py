"""Segments: the customer map, what sets a selection or a segment apart, and every segment's profile."""

from __future__ import annotations

import numpy as np
import streamlit as st

from insight.runs.export import describe_selection, selection_csv, selection_method
from insight.figures.mapfigure import rows_from_selection
from insight.runs.store import ColumnFilter, RiskFilter, compare_groups
from insight.ui import filters, loaders, mapview, shell, tables, widgets
from insight.ui import format as fmt

with shell.page("Segments") as active:
    points, id_col, revenue = active.map_frame, active.id_column, active.revenue_column
    widgets.page_header(
        "Segments",
        "Every dot is a customer, placed so that customers who are alike in what matters for churn and value "
        "sit close together. Drag a box or a lasso around dots to see what those customers have in common.")
    if active.segment_awareness:
        st.caption(active.segment_awareness)
    names = {p.id: p.name for p in active.segments}
    left, right = st.columns([3, 1], gap="medium")
    with left:
        color_by = mapview.color_control(active, points)
        bands = mapview.band_control()
        shown = loaders.map_points(active, bands)
        hover = tuple(c for c in (active.spec.revenue_column, "top_reason")
                      if c and c in points.columns)
        event = st.plotly_chart(loaders.map_figure(active.key, color_by, bands, hover, active),
                                key="segment_map", on_select="rerun",
                                selection_mode=("points", "box", "lasso"))
        total = active.store.count()
        if active.map_is_sample:
            st.caption(f"The map shows a random {fmt.count(len(points))} of {fmt.count(total)} customers; "
                       "the shading underneath shows where all of them lie.")
        if bands:
            st.caption(f"Only risk bands {', '.join(bands)}: {fmt.count(len(shown))} customers on the map.")
    with right:
        st.subheader("Segment profiles")
        with st.container(height=760, border=False):
            widgets.segment_grid(active.segments, revenue_column=revenue, columns=1, details=True)

    rows = [r for r in rows_from_selection(event.selection.points) if 0 <= r < len(shown)] if event else []
    if rows:
        mask = np.zeros(len(shown), dtype=bool)
        mask[rows] = True
        picked = shown[id_col].to_numpy()[mask]
        count, ids = int(mask.sum()), tuple(str(i) for i in picked)
        title = f"Your selection of {fmt.count(count)} customers"
        chosen = RiskFilter(conditions=(ColumnFilter(id_col, "in", values=tuple(picked)),))
        how = describe_selection(count, method=selection_method(event.selection))
    else:
        segment = mapview.segment_control(names)
        mask, ids = (shown["segment_id"] == segment).to_numpy(), None
        title = names.get(segment, "Segment")
        chosen = RiskFilter(bands=bands, segments=(int(segment),))
        count = active.store.count(chosen)  # the whole segment, also where the map shows a sample
        how = describe_selection(count, segment=title) + (
            f" in risk bands {', '.join(bands)}" if bands else "")

    st.subheader(f"{title} vs the rest")
    summary = compare_groups(shown, mask, target=active.target,
                             revenue="revenue_at_risk" if revenue else None)
    st.dataframe(tables.group_table(summary, revenue=bool(revenue)), hide_index=True, key="selection_summary")

    def export() -> bytes:
        """The chosen customers, every column, riskiest first; the last columns say where they came from."""
        return selection_csv(active.store.risk_table(chosen, limit=None), id_column=id_col, run_id=active.id,
                             selection=how)

    export_col, open_col = st.columns(2)
    export_col.download_button(
        f"Export as CSV: {how}", data=export, key="selection_export", file_name=f"selection-{active.id}.csv",
        mime="text/csv", icon=":material/download:", on_click="ignore", disabled=count == 0, width="stretch",
        help="Every column of these customers, riskiest first; the last columns record the run, how they "
             "were chosen and when. Cells a spreadsheet could run as a formula get a leading single quote.")
    if open_col.button(f"Open these {fmt.count(count)} customers in the risk table", key="open_in_risk",
                       icon=":material/format_list_numbered:", disabled=count == 0, width="stretch"):
        filters.open_in_risk_table(active, list(ids) if ids is not None else active.store.risk_table(
            chosen, columns=[id_col], limit=None)[id_col].tolist(), how)

    apart_col, drivers_col = st.columns(2, gap="medium")
    with apart_col:
        st.markdown("**What sets them apart**")
        on_map = np.zeros(len(points), dtype=bool)  # the chosen customers among all map points
        on_map[shown.index.to_numpy()[mask]] = True
        contrast = loaders.selection_contrast(active.key, loaders.mask_digest(on_map), active, on_map)
        if contrast.empty:
            st.info("Select at least two customers (and leave at least two out) to compare them.")
        else:
            st.dataframe(tables.contrast_table(contrast), hide_index=True, key="selection_contrast")
            st.caption("The features that differ most between these customers and the rest on the map "
                       "(standardised effect size), keeping only differences unlikely to be chance.")
    with drivers_col:
        st.markdown("**What drives their risk**")
        drivers = loaders.selection_drivers(active.key, repr(chosen) if ids is None else "ids", ids, active,
                                            None if ids is not None else chosen)
        st.dataframe(tables.shap_driver_table(drivers), hide_index=True, key="selection_drivers",
                     column_config={c: st.column_config.NumberColumn(format="%+.3f") for c in
                                    ("Selected (mean SHAP)", "Rest (mean SHAP)", "Difference")})
        st.caption("Mean SHAP value of each feature among these customers and among all other customers of "
                   "the run (log-odds: above 0 raises churn risk); the largest differences first.")
