"""The Targeting page's parts (pages/targeting.py): how to rank the customers, the offer's curves, the list's
column formats. Ranked by the offer's effect (runs trained with --treatment), the page draws the net benefit of
that ranking beside the riskiest first's, both valued by the same estimated uplift."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import streamlit as st

from insight import formatting as fmt
from insight.decisions.targeting import RANK_BY_PROBABILITY, RANK_BY_UPLIFT, RANK_BY_VALUE, OfferEconomics, TargetPlan
from insight.figures import charts
from insight.figures.uplift import offer_benefit_figure
from insight.runs import layout
from insight.ui import widgets
from insight.uplift.tables import targeting_comparison

if TYPE_CHECKING:
    from insight.ui.facade import RunFacade

ORDERS = {RANK_BY_PROBABILITY: "riskiest first", RANK_BY_VALUE: "most value at risk first",
          RANK_BY_UPLIFT: "most moved by the offer first"}
"""How each ranking orders the customers, in words."""


def rank_choice(run: RunFacade) -> str:
    """The ranking the user picks (the first of the run's rankings without a choice to make)."""
    rankings = run.rankings()
    if len(rankings) == 1:
        return rankings[0]
    names = {RANK_BY_UPLIFT: "Offer's effect (uplift)", RANK_BY_PROBABILITY: "Churn risk"}
    if RANK_BY_VALUE in rankings:
        names[RANK_BY_VALUE] = f"Value at risk within {fmt.duration(run.survival_view.main_horizon, run.survival_view.unit)}"
    helps = {RANK_BY_UPLIFT: "those a past campaign shows the offer moves (uplift × value − cost; sleeping dogs, "
                             "whom the offer pushes to leave, never)",
             RANK_BY_PROBABILITY: "the likeliest leavers (churn probability × save rate × value − cost)",
             RANK_BY_VALUE: "those expected to take the most value with them within the horizon (survival model)"}
    return st.segmented_control(
        "Rank by", rankings, format_func=names.get, default=rankings[0], required=True, key="target_rank_by",
        help="Contact first: " + "; or ".join(helps[r] for r in rankings) + ".")


def offer_curves(run: RunFacade, offer: TargetPlan, economics: OfferEconomics) -> None:
    """The benefit curve of the plan; ranked by the offer's effect, beside the riskiest first's."""
    k = offer.contacted
    if offer.rank_by != RANK_BY_UPLIFT:
        st.plotly_chart(charts.benefit_curve_figure(offer.curve, best=k, order=ORDERS[offer.rank_by]),
                        key="target_curve")
        st.caption("Contacting one more customer pays while their expected saving ("
                   + ("save rate × value at risk" if offer.rank_by == RANK_BY_VALUE
                      else "churn probability × save rate × value")
                   + ") exceeds the offer's cost; the curve peaks where it stops paying.")
        return
    by_risk = run.risk_plan_by_uplift(economics)
    st.plotly_chart(offer_benefit_figure(offer.curve, by_risk.curve, best=k, risk_best=by_risk.contacted),
                    key="target_uplift_curves")
    test = run.manifest.uplift_metrics.get("test", {})
    st.markdown(targeting_comparison(offer, by_risk, risk_sleeping_dogs=run.sleeping_dogs_listed(by_risk),
                                     held_out=test.get("scores")))


def list_columns(run: RunFacade, shown: list[str], rank_by: str) -> dict[str, Any]:
    """The target list's column formats."""
    config: dict[str, Any] = {
        layout.CHURN_PROBABILITY: st.column_config.ProgressColumn("Churn probability", format="percent",
                                                                  min_value=0, max_value=1),
        "expected_benefit": st.column_config.NumberColumn("Expected benefit", format="localized")}
    if rank_by == RANK_BY_VALUE:
        config.update(widgets.survival_column_config(run.survival_view, shown))
    if rank_by == RANK_BY_UPLIFT:
        points = "percent"
        config.update({
            layout.UPLIFT: st.column_config.NumberColumn("Offer's effect", format=points,
                                                         help="The estimated fall in churn probability if offered "
                                                              "(negative: it pushes them to leave)."),
            layout.UPLIFT_LOWER: st.column_config.NumberColumn("Effect from", format=points),
            layout.UPLIFT_UPPER: st.column_config.NumberColumn("Effect to", format=points,
                                                               help="The effect's 90 % interval."),
            layout.UPLIFT_GROUP: st.column_config.TextColumn("Group"),
            **{name: st.column_config.TextColumn(f"Responds: reason {i}", width="large")
               for i, name in enumerate(layout.RESPONSE_REASONS, start=1)}})
    return config
