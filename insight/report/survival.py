"""The report's "Time to churn" section, for a run trained with --duration: the survival model against Cox PH
and Kaplan-Meier on the held-out customers, which one does better, calibration at each horizon, each
segment's Kaplan-Meier curve and log-rank test. The same tables and sentences as the Model and Segments pages
(insight.survival.tables) and the same figures (insight.figures.survival)."""

from __future__ import annotations

import logging

from insight.figures.survival import horizon_calibration_figure, kaplan_meier_figure
from insight.report.template import Section, figure, markdown_html, paragraph, table
from insight.runs import layout
from insight.survival.tables import comparison_table, km_median, left_out_table, segment_table, setup_text, verdict
from insight.ui.context import ActiveRun

log = logging.getLogger(__name__)


def survival(active: ActiveRun) -> Section | None:
    """The section, or None for a run trained without --duration."""
    setup = active.survival
    if not setup:
        return None
    unit = str(setup.get("unit", ""))
    measured = active.manifest.survival_metrics
    test = measured.get("test") or {}
    body = f"<p>{markdown_html(setup_text(setup, active.target))}</p>"
    figures = 0
    if test:
        horizons = [float(h) for h in setup.get("horizons", [])]
        compared = comparison_table(test, horizons=horizons, unit=unit)
        body += (f"<h3>On {measured.get('test_customers', 0):,} held-out customers</h3>"
                 + table(compared, numbers=[c for c in compared.columns if c not in ("Measure", "Better", "Best")])
                 + paragraph(verdict(test)))
        calibration = measured.get("calibration") or {}
        if calibration:
            body += figure(horizon_calibration_figure(calibration, unit=unit), "fig-survival-calibration",
                           "Held-out customers in ten groups by predicted risk of leaving within each horizon: "
                           "observed risk (1 − Kaplan-Meier) against the prediction.")
            figures += 1
    else:
        body += paragraph(f"The survival model was not measured: {measured.get('note', 'no held-out customers')}.",
                          note=True)
    curves = active.survival_curves()
    if curves is not None and not curves.empty:
        names = active.segment_names
        segments = measured.get("segments", {})
        body += ("<h3>How long each segment stays</h3>"
                 + figure(kaplan_meier_figure(curves, names, unit=unit), "fig-survival-segments",
                          "The share of each segment still customers after each time as a customer "
                          "(Kaplan-Meier, 95 % bands); everyone dashed.")
                 + table(segment_table(segments, names, unit=unit, everyone={
                     "customers": sum(int(v.get("customers", 0)) for v in segments.values()),
                     "events": sum(int(v.get("events", 0)) for v in segments.values()),
                     "median_km": km_median(curves, layout.EVERYONE)}), numbers=("Customers", "Churned")))
        figures += 1
    left_out = setup.get("left_out") or {}
    if left_out:
        body += "<h3>Left out of the survival model</h3>" + table(left_out_table(left_out))
    return Section("survival", "Time to churn", body, figures=figures)
