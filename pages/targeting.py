"""Targeting: whom to offer a retention deal. Expected net benefit by how many of the riskiest customers are
contacted, the best cut, and that target list with its reasons as CSV. Runs with survival and a period value
can rank by the value at risk within the main horizon instead of by churn probability."""

from __future__ import annotations

import streamlit as st

from insight import formatting as fmt
from insight.decisions.targeting import (DEFAULT_COST_SHARE, DEFAULT_SAVE_RATE, RANK_BY_PROBABILITY, RANK_BY_VALUE,
                                        OfferEconomics)
from insight.figures import charts
from insight.formatting import label
from insight.runs.layout import CHURN_PROBABILITY
from insight.ui import access, shell, widgets

PREVIEW = 20

with shell.page("Targeting") as run:
    widgets.page_header(
        "Targeting",
        "Whom to contact with a retention offer: the riskiest customers first, as many as the offer pays for. "
        "Set what the offer costs, how many churners it keeps and what a kept customer is worth.")
    value_column, typical = run.value_column, run.typical_value()
    view, rankings, rank_by = run.survival_view, run.rankings(), RANK_BY_PROBABILITY
    if len(rankings) > 1:
        span = fmt.duration(view.main_horizon, view.unit)
        names = {RANK_BY_PROBABILITY: "Churn probability", RANK_BY_VALUE: f"Value at risk within {span}"}
        rank_by = st.segmented_control(
            "Rank by", rankings, format_func=names.get, default=RANK_BY_PROBABILITY, required=True,
            key="target_rank_by", help="Contact the likeliest leavers first, or those expected to take the most "
                                       f"value with them within the next {span} (survival model).")
    by_value = rank_by == RANK_BY_VALUE
    order = "most value at risk first" if by_value else "riskiest first"

    cost_col, rate_col, value_col = st.columns(3)
    cost = cost_col.number_input("Cost per offer", min_value=0.0, value=round(typical * DEFAULT_COST_SHARE, 2),
                                 step=1.0, key="target_cost",
                                 help="What one contact costs: the discount, the call, the gift.")
    save_rate = rate_col.slider("Share of contacted churners it saves", min_value=0, max_value=100,
                                value=round(100 * DEFAULT_SAVE_RATE),
                                step=1, format="%d %%", key="target_save_rate") / 100
    each = value_column is not None and value_col.toggle(
        f"Each customer's own {fmt.markdown_text(label(value_column).lower())}", key="target_own_value",
        help="Value every customer by their own predicted revenue instead of one amount for all.",
        disabled=by_value)
    value = value_col.number_input("Value of a saved customer", min_value=0.0, value=round(typical, 2),
                                   step=10.0, key="target_value", disabled=each or by_value)
    if by_value:
        st.caption(f"Ranked by value at risk: each customer is worth what they are expected to take away within "
                   f"the next {span} ({fmt.markdown_text(view.header(view.value_at_risk).lower())}: value per "
                   f"period × the time they are expected to be gone), already weighed by how likely and how "
                   f"soon they leave; the offer keeps the save rate's share of it.")
    elif value_column:
        st.caption(f"The default value is the mean {fmt.markdown_text(label(value_column).lower())} over all "
                   f"customers ({fmt.amount(typical)}); the default cost a tenth of it. Adjust both to your offer.")
    else:
        st.caption("This run has no revenue column: enter what keeping one customer is worth to you.")

    economics = OfferEconomics(cost_per_contact=float(cost), save_rate=float(save_rate),
                               value_per_customer=None if each or by_value else float(value))
    offer = run.target_plan(economics, rank_by)
    k, best = offer.contacted, offer.best
    chance = f"churn probability within {span}" if by_value else "churn probability"
    widgets.metric_row([
        widgets.Metric("Customers to contact", fmt.count(k), f"{fmt.pct(offer.share)} of all "
                                                             f"customers, {order}."),
        widgets.Metric("Expected customers saved", fmt.count(best["expected_saved"]),
                       f"Sum of {chance} × save rate over the contacted customers."),
        widgets.Metric("Expected value saved", fmt.amount(best["expected_value_saved"])),
        widgets.Metric("Cost of the offers", fmt.amount(best["cost"])),
        widgets.Metric("Expected net benefit", fmt.amount(best["net_benefit"])),
    ])
    st.plotly_chart(charts.benefit_curve_figure(offer.curve, best=k, order=order), key="target_curve")
    st.caption("Contacting one more customer pays while their expected saving ("
               + ("save rate × value at risk" if by_value else "churn probability × save rate × value")
               + ") exceeds the offer's cost; the curve peaks where it stops paying.")

    if k == 0:
        st.info("At these figures no offer pays for itself: lower the cost or raise the save rate or value.")
        st.stop()

    st.subheader(f"The {fmt.count(k)} customers to contact")
    preview = run.target_rows(min(k, PREVIEW), economics, rank_by)
    st.dataframe(preview, hide_index=True, key="target_preview", column_config={
        CHURN_PROBABILITY: st.column_config.ProgressColumn("Churn probability", format="percent",
                                                           min_value=0, max_value=1),
        "expected_benefit": st.column_config.NumberColumn("Expected benefit", format="localized"),
        **widgets.survival_column_config(view, list(preview.columns) if by_value else [])})
    st.caption(f"The first {fmt.count(min(k, PREVIEW))} of the list, {order}; the export holds all "
               f"{fmt.count(k)} with their reasons.")
    exports = access.can("export")  # asked here: the download itself runs outside this session's script
    st.download_button(f"Export the {fmt.count(k)} customers as CSV",
                       data=lambda: run.target_export(k, economics, rank_by) if exports else b"",
                       key="target_export", file_name=f"target-list-{run.id}.csv", mime="text/csv",
                       icon=":material/download:", disabled=not exports,
                       help="Cells a spreadsheet could run as a formula are prefixed with a single quote.")
    if not exports:
        st.caption(access.EXPORTS_OFF)
