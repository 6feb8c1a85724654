"""Segments: the customer map, what sets a selection or a segment apart, and every segment's profile."""

from __future__ import annotations

import streamlit as st

from insight import figures
from insight.export import describe_selection, selection_csv, selection_method
from insight.store import ColumnFilter, RiskFilter, compare_groups
from insight.ui import format as fmt
from insight.ui import loaders, shell, tables, widgets

with shell.page("Segments") as active:
    points, id_col, revenue = active.map_frame, active.id_column, active.revenue_column
    widgets.page_header(
        "Segments",
        "Every dot is a customer, placed so that customers who are alike in what matters for churn and value "
        "sit close together. Drag a box or a lasso around dots to see what those customers have in common.")

    color_by = st.segmented_control("Colour by", ["Segment", "Churn probability"], default="Segment",
                                    key="map_color", required=True)
    figure = figures.segment_map(points, id_column=id_col,
                                 color_by="probability" if color_by == "Churn probability" else "segment")
    event = st.plotly_chart(figure, key="segment_map", on_select="rerun",
                            selection_mode=("points", "box", "lasso"))
    total = active.store.count()
    if len(points) < total:
        st.caption(f"The map shows a random {fmt.count(len(points))} of {fmt.count(total)} customers.")

    selected_ids = figures.ids_from_selection(event.selection.points) if event else []
    names = {int(p["id"]): p["name"] for p in active.segments}
    if selected_ids:
        mask = points[id_col].astype(str).isin(set(selected_ids)).to_numpy()
        count = int(mask.sum())
        title = f"Your selection of {fmt.count(count)} customers"
        chosen = RiskFilter(conditions=(ColumnFilter(id_col, "in", values=tuple(points.loc[mask, id_col])),))
        how = describe_selection(count, method=selection_method(event.selection))
    else:
        segment = st.selectbox("Nothing is selected on the map; compare a segment with everyone else instead",
                               list(names), format_func=lambda s: names[s], key="compare_segment")
        mask = (points["segment_id"] == segment).to_numpy()
        title = names.get(segment, "Segment")
        chosen = RiskFilter(segments=(int(segment),))
        count = active.store.count(chosen)  # the whole segment, also where the map shows a sample
        how = describe_selection(count, segment=title)

    st.subheader(f"{title} vs the rest")
    summary = compare_groups(points, mask, target=active.target,
                             revenue="revenue_at_risk" if revenue else None)
    st.dataframe(tables.group_table(summary, revenue=bool(revenue)), hide_index=True, key="selection_summary")

    def export() -> bytes:
        """The chosen customers, every column, riskiest first; the last columns say where they came from."""
        return selection_csv(active.store.risk_table(chosen, limit=None), id_column=id_col, run_id=active.id,
                             selection=how)

    st.download_button(f"Export as CSV: {how}", data=export, key="selection_export",
                       file_name=f"selection-{active.id}.csv", mime="text/csv", icon=":material/download:",
                       on_click="ignore", disabled=count == 0,
                       help="Every column of these customers, riskiest first; the last columns record the "
                            "run, how they were chosen and when. Cells a spreadsheet could run as a formula "
                            "get a leading single quote.")
    contrast = loaders.selection_contrast(active.key, tuple(sorted(points[id_col].astype(str)[mask])), active)
    if contrast.empty:
        st.info("Select at least two customers (and leave at least two out) to compare them.")
    else:
        st.dataframe(tables.contrast_table(contrast), hide_index=True, key="selection_contrast")
        st.caption("The features that differ most between these customers and the rest (standardised effect "
                   "size), keeping only differences unlikely to be chance after correcting for the number of "
                   "features tested.")

    st.subheader("Segment profiles")
    widgets.segment_grid(active.segments, revenue_column=revenue, columns=2, details=True)
