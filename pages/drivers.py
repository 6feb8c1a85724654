"""Drivers: what pushes churn risk up or down (SHAP), for every customer, one segment or the risk table's
current filter: importance, a beeswarm and dependence plots coloured by the strongest interaction."""

from __future__ import annotations

import streamlit as st

from insight.figures import charts
from insight import formatting as fmt
from insight.formatting import label
from insight.ui import filters, shell, tables, widgets

SAMPLE = 2_000

with shell.page("Drivers") as run:
    widgets.page_header(
        "Drivers of churn",
        "Which customer facts the churn model relies on most, and in which direction they move risk. "
        "Computed with exact SHAP values of the model for every customer.")
    if run.importance.empty:
        st.info("This run has no feature importance.")
        st.stop()
    scope, flt = filters.scope_picker(run)
    scope = fmt.markdown_text(scope)  # a segment name or a filter, shown in Markdown below
    importance = run.importance_in(flt)
    if importance.empty:
        st.info(f"No customer in {scope}: nothing to explain.")
        st.stop()
    ranked = tuple(run.explained(importance))
    shap, values = run.shap_sample(ranked, SAMPLE, flt)

    left, right = st.columns([2, 3], gap="large")
    with left:
        n = len(importance)
        top = st.slider("Features to show", min_value=min(5, n), max_value=min(30, n), value=min(15, n),
                        key="drivers_top")
        st.plotly_chart(charts.importance_bar(importance, top=top), key="drivers_importance")
        st.caption(f"How much each feature moves the risk score on average for {scope}, whichever way it "
                   "pushes. Longer bars matter more.")
    with right:
        features = ranked[:top]
        st.plotly_chart(charts.beeswarm(shap, values, features, roles=run.roles), key="drivers_beeswarm")
        st.caption(f"Each dot is one of {fmt.count(len(shap))} randomly chosen customers of {scope}. Dots right "
                   "of the line raise that customer's risk, dots left of it lower it; the colour shows whether "
                   "the customer's value is low (blue) or high (red). Grey: categories and missing values.")

    st.subheader("One feature up close")
    feature = st.selectbox("Feature", ranked, key="drivers_feature", format_func=label)
    partner = run.interaction_partner(feature, ranked, SAMPLE, flt)
    st.plotly_chart(charts.dependence_plot(shap, values, feature, color_by=partner, roles=run.roles),
                    key="drivers_dependence")
    st.caption(f"Each dot is a sampled customer of {scope}: their {fmt.markdown_text(label(feature).lower())} and "
               "how much it moves their risk score. "
               + (f"The colour is {fmt.markdown_text(label(partner).lower())}, the feature that best explains why "
                  "customers with the same value are affected differently." if partner else ""))

    st.subheader("In words")
    sentences = tables.driver_directions(shap, values, features[:8], run.roles)
    st.markdown("\n".join(f"{i}. {s}" for i, s in enumerate(sentences, start=1)))
    st.caption(f"Read off the sampled customers of {scope} above, most important feature first.")
    dropped = run.dropped_columns
    if dropped:
        with st.expander(f"{len(dropped)} columns were not used by the model"):
            st.dataframe(tables.dropped_table(dropped), hide_index=True, key="drivers_dropped")
