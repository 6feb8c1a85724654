"""Drivers: what pushes churn risk up or down across all customers (SHAP)."""

from __future__ import annotations

import streamlit as st

from insight import figures
from insight.ui import format as fmt
from insight.ui import loaders, shell, tables, widgets

SAMPLE = 2_000

with shell.page("Drivers") as active:
    widgets.page_header(
        "Drivers of churn",
        "Which customer facts the churn model relies on most, and in which direction they move risk. "
        "Computed with exact SHAP values of the model for every customer.")
    importance = active.importance
    if importance.empty:
        st.info("This run has no feature importance.")
        st.stop()

    left, right = st.columns([2, 3], gap="large")
    with left:
        n = len(importance)
        top = st.slider("Features to show", min_value=min(5, n), max_value=min(30, n), value=min(15, n),
                        key="drivers_top")
        st.plotly_chart(figures.importance_bar(importance, top=top), key="drivers_importance")
        st.caption("How much each feature moves the risk score on average, whichever way it pushes. "
                   "Longer bars matter more.")
    with right:
        features = [f for f in importance["feature"].head(top) if f in active.store.shap_features]
        shap, values = loaders.shap_sample(active.key, tuple(features), SAMPLE, active)
        st.plotly_chart(figures.beeswarm(shap, values, features, roles=active.roles), key="drivers_beeswarm")
        st.caption(f"Each dot is one of {fmt.count(len(shap))} randomly chosen customers. Dots right of the "
                   "line raise that customer's risk, dots left of it lower it; the colour shows whether the "
                   "customer's value is low (blue) or high (red). Grey: categories and missing values.")

    st.subheader("In words")
    sentences = tables.driver_directions(shap, values, features[:8], active.roles)
    st.markdown("\n".join(f"{i}. {s}" for i, s in enumerate(sentences, start=1)))
    st.caption("Read off the sampled customers above, most important feature first.")
    dropped = active.manifest.get("dropped_columns", [])
    if dropped:
        with st.expander(f"{len(dropped)} columns were not used by the model"):
            st.dataframe([{"Column": d["name"], "Why": d.get("reason") or d.get("role")} for d in dropped],
                         hide_index=True, key="drivers_dropped")
