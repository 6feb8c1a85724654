"""The "Time to churn" sections of the Segments and Model pages, for a run trained with --duration (issue 16).

Segments: each segment's Kaplan-Meier curve with its 95 % band (the run's survival curves), the log-rank test
of the segment chosen on the page against all other customers in words, and a table per segment (customers,
churned, Kaplan-Meier median). Model: the survival model against Cox PH and Kaplan-Meier on the held-out test
customers (manifest metrics.survival.test), which one does better, calibration at each horizon, and what the
survival model was given. A run without --duration has no `survival` in its manifest: both sections show
nothing (`show_segments` and `show_model` return at once).

The tables and sentences are plain functions of the manifest's dicts (insight.survival.tables, shared with the
report); `show_*` lay them out.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import streamlit as st

from insight import formatting as fmt
from insight.figures.survival import horizon_calibration_figure, kaplan_meier_figure
from insight.runs import layout
from insight.survival.tables import (comparison_table, km_median, left_out_table, log_rank_sentence,
                                     segment_table, setup_text, verdict)

if TYPE_CHECKING:
    from insight.ui.facade import RunFacade, Selection


def chosen_segment(chosen: Selection | None) -> int | None:
    """The segment the Segments page compares with the rest; None when customers were picked on the map."""
    if chosen is None or chosen.choice.ids is not None or len(chosen.filter.segments) != 1:
        return None
    return int(chosen.filter.segments[0])


# ---------------------------------------------------------------------- Streamlit


def _survival_metrics(run: RunFacade) -> dict[str, Any]:
    return run.manifest.survival_metrics


def show_segments(run: RunFacade, chosen: Selection | None) -> None:
    """The Segments page's "Time to churn" section (nothing for a run without --duration)."""
    survival = run.survival
    if not survival:
        return
    unit = str(survival.get("unit", ""))
    names = run.segment_names
    curves = run.survival_curves()
    segments = _survival_metrics(run).get("segments", {})
    st.subheader("Time to churn")
    column = fmt.markdown_text(survival.get("duration_column"))
    st.caption("How long customers stay: the share of each segment still customers after each time as a "
               f"customer ({column}), estimated by Kaplan-Meier from who churned and when, counting "
               "customers who are still there up to their time so far. Bands: 95 % intervals.")
    segment = chosen_segment(chosen)
    shown = None
    if segment is not None and segment in names:
        if st.toggle("Only the segment compared above, against everyone", key="survival_only_chosen"):
            shown = [segment]
    st.plotly_chart(kaplan_meier_figure(curves, names, unit=unit, shown=shown), key="segments_km")
    everyone_median = km_median(curves, layout.EVERYONE)
    if segment is not None:
        st.markdown(log_rank_sentence(names.get(segment, f"Segment {segment}"), segments.get(str(segment)),
                                      unit=unit, everyone_median=everyone_median))
    else:
        st.caption("Customers picked on the map: the log-rank test compares a whole segment with the rest. "
                   "Clear the selection to pick a segment.")
    everyone = {"customers": sum(int(v.get("customers", 0)) for v in segments.values()),
                "events": sum(int(v.get("events", 0)) for v in segments.values()),
                "median_km": everyone_median}
    st.dataframe(segment_table(segments, names, unit=unit, everyone=everyone), hide_index=True,
                 key="segments_survival_table")
    st.caption("Median time to churn: the time by which half of the segment's customers had left "
               "(Kaplan-Meier); 'not reached' when more than half were still customers at the end of what "
               "was observed. "
               "Log-rank: how likely a difference this large between the segment and all other customers "
               "would be by chance alone.")


def show_model(run: RunFacade) -> None:
    """The Model page's "Time to churn" section (nothing for a run without --duration)."""
    survival = run.survival
    if not survival:
        return
    unit = str(survival.get("unit", ""))
    measured = _survival_metrics(run)
    test = measured.get("test") or {}
    st.subheader("Time to churn")
    st.markdown(setup_text(survival, run.target))
    if not test:
        note = measured.get("note")
        st.info(f"The survival model was not measured: {fmt.markdown_text(note)}." if note else
                "This run has no held-out test customers to measure the survival model on.",
                icon=":material/info:")
    else:
        n = measured.get("test_customers")
        st.caption("The survival model (a discrete-time hazard model on LightGBM) against Cox proportional "
                   "hazards on the same features and Kaplan-Meier (one curve for everyone, no features), on "
                   f"the {fmt.count(n) + ' ' if n is not None else ''}held-out test customers.")
        horizons = [float(h) for h in survival.get("horizons", [])]
        st.dataframe(comparison_table(test, horizons=horizons, unit=unit), hide_index=True,
                     key="model_survival_compare")
        st.markdown(verdict(test))
        st.caption("Concordance: the share of pairs of customers the model orders right by when they "
                   "leave (0.5: a coin toss). Brier score: the squared error of the predicted chance of "
                   "still being a customer, weighted for censoring; integrated over time for the overall "
                   "score. Calibration error: the mean gap between predicted and observed risk of leaving "
                   "within the horizon.")
        calibration = measured.get("calibration") or {}
        if calibration:
            st.plotly_chart(horizon_calibration_figure(calibration, unit=unit),
                            key="model_survival_calibration")
            st.caption("Test customers cut into ten groups by their predicted risk of leaving within each "
                       "horizon: the observed risk (1 − Kaplan-Meier at the horizon) against the "
                       "prediction. On the diagonal, predictions come true.")
    left_out = survival.get("left_out") or {}
    if left_out:
        st.markdown("**Left out of the survival model**")
        st.dataframe(left_out_table(left_out), hide_index=True, key="model_survival_left_out")
