"""Churn risk: every customer ranked by churn probability, with filters, paging and CSV export."""

from __future__ import annotations

import math

import streamlit as st

from insight import formatting as fmt
from insight.runs.layout import CHURN_PROBABILITY
from insight.ui import access, filters, shell, widgets

PAGE_SIZES = (25, 50, 100, 250)

with shell.page("Churn risk") as run:
    revenue = run.revenue_column
    widgets.page_header(
        "Churn risk",
        "Customers ranked by their predicted churn probability. Filter by risk band, segment or any column, "
        "then export the list for a retention campaign.")
    with st.expander("Filters", expanded=True, icon=":material/filter_alt:"):
        flt = filters.risk_filter(run)
    flt = filters.with_handover(run, flt)  # customers the Segments page sent here
    filters.remember(run, flt)  # the Drivers page can explain the same customers

    matched, totals = run.count(flt), run.totals(flt)
    widgets.metric_row([
        widgets.Metric("Customers shown", fmt.count(matched), f"of {fmt.count(run.count())} in this run"),
        widgets.Metric("Expected churners", fmt.count(totals["expected_churners"]),
                       "Sum of churn probabilities of the customers shown."),
        widgets.Metric("Mean churn probability", fmt.pct(totals["mean_probability"])),
        widgets.Metric("Revenue at risk", fmt.amount(totals["revenue_at_risk"]) if revenue else fmt.DASH,
                       f"Sum of churn probability × {fmt.markdown_text(revenue)}." if revenue
                       else "No revenue column in this run."),
    ])

    sortable = run.sortable_columns()
    sort_col, order_col, size_col, page_col = st.columns([3, 2, 1, 1])
    sort_by = sort_col.selectbox("Sort by", sortable, index=sortable.index(CHURN_PROBABILITY),
                                 key="risk_sort", format_func=run.survival_view.header)
    descending = order_col.segmented_control("Order", ["Highest first", "Lowest first"], key="risk_order",
                                             default="Highest first", required=True) != "Lowest first"
    page_size = size_col.selectbox("Rows per page", PAGE_SIZES, index=1, key="risk_page_size")
    pages = max(1, math.ceil(matched / page_size))
    view = (flt, sort_by, descending, page_size)
    if st.session_state.get("_risk_view") != view:  # a new question starts on page 1
        st.session_state["_risk_view"] = view
        st.session_state["risk_page"] = 1
    page = page_col.number_input(f"Page (of {fmt.count(pages)})", min_value=1, max_value=pages, step=1,
                                 key="risk_page")

    shown = run.risk_columns(flt, sort_by)  # id, probability, band, revenue at risk, segment, reasons, ...
    first = (int(page) - 1) * page_size
    rows = run.risk_rows(flt, columns=shown, sort_by=sort_by, descending=descending, offset=first,
                         limit=page_size)
    st.dataframe(run.survival_view.cells(widgets.risk_rows(rows)), hide_index=True, key="risk_table",
                 column_config=widgets.risk_columns(run.id_column, shown)
                 | widgets.survival_column_config(run.survival_view, shown))
    st.caption(f"Rows {fmt.count(min(matched, first + 1))}–{fmt.count(min(matched, first + page_size))} of "
               f"{fmt.count(matched)}. Probabilities are calibrated: of customers at 30 %, about 3 in 10 "
               "churn.")

    exports = access.can("export")  # asked here: the download itself runs outside this session's script

    def export(kind: str) -> bytes:
        if not exports:  # a disabled button's data is never built, whatever the browser sends
            return b""
        return run.risk_export(flt, sort_by=sort_by, descending=descending, kind=kind)

    csv_col, parquet_col = st.columns(2)
    csv_col.download_button(f"Export {fmt.count(matched)} customers as CSV", data=lambda: export("csv"),
                            key="risk_export", file_name=f"churn-risk-{run.id}.csv", mime="text/csv",
                            icon=":material/download:", disabled=matched == 0 or not exports,
                            width="stretch",
                            help="All columns of the filtered customers, for spreadsheets. Cells that a "
                                 "spreadsheet could run as a formula are prefixed with a single quote.")
    parquet_col.download_button(
        f"Export {fmt.count(matched)} customers as Parquet", data=lambda: export("parquet"),
        key="risk_export_parquet", file_name=f"churn-risk-{run.id}.parquet",
        mime="application/vnd.apache.parquet", icon=":material/download:",
        disabled=matched == 0 or not exports, width="stretch",
        help="The same rows with exact values and types, for Python, R or a database.")
    if not exports:
        st.caption(access.EXPORTS_OFF)
