"""Targeting: whom to offer a retention deal. Expected net benefit by how many of the top-ranked customers are
contacted, the best cut, and that target list with its reasons as CSV. Customers are ranked by expected saving
(churn probability × save rate × value); runs with survival and a period value can rank by the value at risk
within the main horizon; runs trained with --treatment by the offer's estimated effect (uplift × value − cost,
beside the riskiest first's curve; sleeping dogs never listed)."""

from __future__ import annotations

import streamlit as st

from insight import formatting as fmt
from insight.decisions.targeting import (DEFAULT_COST_SHARE, DEFAULT_SAVE_RATE, RANK_BY_UPLIFT, RANK_BY_VALUE,
                                        OfferEconomics)
from insight.formatting import label
from insight.ui import access, shell, targeting_sections, widgets

PREVIEW = 20

with shell.page("Targeting") as run:
    widgets.page_header(
        "Targeting",
        "Whom to contact with a retention offer: those it is worth most to keep first, as many as the offer pays "
        "for. Set what the offer costs, how many churners it keeps and what a kept customer is worth.")
    value_column, typical, view = run.value_column, run.typical_value(), run.survival_view
    rank_by = targeting_sections.rank_choice(run)
    by_value, by_uplift = rank_by == RANK_BY_VALUE, rank_by == RANK_BY_UPLIFT
    order = targeting_sections.ORDERS[rank_by]
    span = fmt.duration(view.main_horizon, view.unit) if by_value else ""

    cost_col, rate_col, value_col = st.columns(3)
    cost = cost_col.number_input("Cost per offer", min_value=0.0, value=round(typical * DEFAULT_COST_SHARE, 2),
                                 step=1.0, key="target_cost",
                                 help="What one contact costs: the discount, the call, the gift.")
    save_rate = rate_col.slider("Share of contacted churners it saves", min_value=0, max_value=100,
                                value=round(100 * DEFAULT_SAVE_RATE), step=1, format="%d %%", key="target_save_rate",
                                disabled=by_uplift, help="Ranked by the offer's effect, each customer's estimated "
                                                         "uplift says how much the offer keeps them." if by_uplift
                                else None) / 100
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
    elif by_uplift:
        shown = st.toggle("Only customers the offer is shown to move", key="target_shown_to_move",
                          help="Leave out everyone whose effect's 90 % interval holds 0. With each customer's own "
                               "value, a valuable customer with a small effect the model cannot tell from zero "
                               "otherwise passes the bar.")
        st.caption("Ranked by the offer's effect: each customer's expected incremental value is the fall in their "
                   "churn probability the uplift model estimates from the past campaign × their value − the cost. "
                   "Customers the offer pushes to leave (sleeping dogs) are never on the list.")
    elif value_column:
        st.caption(f"The default value is the mean {fmt.markdown_text(label(value_column).lower())} over all "
                   f"customers ({fmt.amount(typical)}); the default cost a tenth of it. Adjust both to your offer.")
    else:
        st.caption("This run has no revenue column: enter what keeping one customer is worth to you.")

    moved = by_uplift and shown
    economics = OfferEconomics(cost_per_contact=float(cost), save_rate=float(save_rate),
                               value_per_customer=None if each or by_value else float(value))
    offer = run.target_plan(economics, rank_by, shown_to_move=moved)
    k, best = offer.contacted, offer.best
    saved = ("Sum of the estimated uplift (fall in churn probability) over the contacted customers." if by_uplift
             else f"Sum of churn probability{f' within {span}' if by_value else ''} × save rate over the "
                  "contacted customers.")
    widgets.metric_row([
        widgets.Metric("Customers to contact", fmt.count(k), f"{fmt.pct(offer.share)} of all customers, {order}."),
        widgets.Metric("Expected customers saved", fmt.count(best["expected_saved"]), saved),
        widgets.Metric("Expected value saved", fmt.amount(best["expected_value_saved"])),
        widgets.Metric("Cost of the offers", fmt.amount(best["cost"])),
        widgets.Metric("Expected net benefit", fmt.amount(best["net_benefit"])),
    ])
    targeting_sections.offer_curves(run, offer, economics)

    if k == 0:
        st.info("At these figures no offer pays for itself: lower the cost or raise the "
                + ("value." if by_uplift else "save rate or value."))
        st.stop()

    st.subheader(f"The {fmt.count(k)} customers to contact")
    preview = run.target_rows(min(k, PREVIEW), economics, rank_by, shown_to_move=moved)
    st.dataframe(preview, hide_index=True, key="target_preview",
                 column_config=targeting_sections.list_columns(run, list(preview.columns), rank_by))
    st.caption(f"The first {fmt.count(min(k, PREVIEW))} of the list, {order}; the export holds all "
               f"{fmt.count(k)} with their reasons.")
    exports = access.can("export")  # asked here: the download itself runs outside this session's script
    st.download_button(f"Export the {fmt.count(k)} customers as CSV",
                       data=lambda: run.target_export(k, economics, rank_by, shown_to_move=moved) if exports else b"",
                       key="target_export", file_name=f"target-list-{run.id}.csv", mime="text/csv",
                       icon=":material/download:", disabled=not exports,
                       help="Cells a spreadsheet could run as a formula are prefixed with a single quote.")
    if not exports:
        st.caption(access.EXPORTS_OFF)
