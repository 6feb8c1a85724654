"""The Model page's "Whom the offer moves" section, for a run trained with --treatment (issue 17): the uplift
model against targeting by churn risk and at random on the held-out customers, the Qini curve and the learners
tried. A run without --treatment has no `uplift` in its manifest: the section shows nothing."""

from __future__ import annotations

from typing import TYPE_CHECKING

import streamlit as st

from insight.figures.uplift import qini_figure
from insight.uplift.tables import campaign_text, score_table, validation_table, verdict

if TYPE_CHECKING:
    from insight.ui.facade import RunFacade


def show_model(run: RunFacade) -> None:
    setup = run.manifest.uplift
    if not setup:
        return
    measured = run.manifest.uplift_metrics
    st.subheader("Whom the offer moves")
    st.markdown(campaign_text(setup))
    test = measured.get("test") or {}
    if not test:
        st.info(f"The uplift model was not measured: {measured.get('note', 'no held-out customers')}.",
                icon=":material/info:")
    else:
        st.caption(f"On the {test.get('customers', 0):,} held-out test customers ({test.get('treated', 0):,} offered): "
                   "how much churn each way of choosing whom to offer prevents.")
        st.dataframe(score_table(test["scores"]), hide_index=True, key="model_uplift_scores")
        st.markdown(verdict(test["scores"]))
        st.plotly_chart(qini_figure(test["curves"]), key="model_uplift_qini")
        st.caption("Qini curve: the churners the offer prevents among the customers targeted so far, when they "
                   "are targeted in the order of each ranking. Above the dashed line, a ranking does better "
                   "than offering at random; the dotted line is what a ranking by the true effect would reach.")
    validation = measured.get("validation") or {}
    if validation:
        st.markdown("**Learners tried**")
        st.dataframe(validation_table(validation, str(measured.get("chosen", ""))), hide_index=True,
                     key="model_uplift_learners")
