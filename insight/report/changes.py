"""The report's "What changed" section (`insight report RUN --compare EARLIER`): the comparison
`insight compare EARLIER RUN` makes (insight.changes.compare.compare_runs, the earlier run as A), in the
Changes page's tables (insight.changes.tables) and figures (insight.figures.changes)."""

from __future__ import annotations

import logging
from typing import Any

from insight import formatting as fmt
from insight.changes import tables
from insight.figures import changes as figures
from insight.report.template import Section, bullets, esc, figure, markdown_html, paragraph, table
from insight.ui.context import ActiveRun

log = logging.getLogger(__name__)

DRIFT_ROWS = 10
DRIVER_ROWS = 10
HIGH_RISK_ROWS = 10


def changes(earlier: ActiveRun, later: ActiveRun) -> Section:
    """What changed from `earlier` (A) to `later` (B, the run the report is about)."""
    from insight.changes.compare import compare_runs

    result = compare_runs(earlier.run.path, later.run.path)
    return changes_section(result, earlier=earlier.id, later=later.id)


def changes_section(result: dict[str, Any], *, earlier: str, later: str) -> Section:
    """The section of a `compare_runs` result."""
    moves = result["segment_transitions"]
    shift = result["risk_shift"]
    both = shift.get("both", {})
    mean = shift["mean_probability"]
    intro = (f"From run {earlier} (A, earlier) to run {later} (B, this report's run): "
             f"{fmt.count(both.get('customers', 0))} customers are in both runs.")
    body = paragraph(intro)
    if result.get("notes"):
        body += bullets(esc(n) for n in result["notes"])
    body += "<h3>Model quality side by side</h3>" + table(tables.metrics_table(result))
    parts = 0

    drift = result["feature_drift"]
    method = result.get("drift_method", {})
    body += "<h3>Feature drift</h3>"
    if drift:
        flagged = int(method.get("flagged", sum(bool(d.get("drifted")) for d in drift)))
        tests_used = method.get("tests", "a test per column")
        correction = method.get("correction", "a multiple-comparison correction")
        body += paragraph(f"{flagged} of {len(drift)} features drifted significantly (population stability "
                          f"index, {tests_used}, corrected with {correction}); the worst first.")
        body += figure(figures.drift_bars(drift), "fig-changes-drift")
        body += table(tables.drift_table(result).head(DRIFT_ROWS), numbers=("PSI",))
        parts += 1
    else:
        body += paragraph("The runs have no feature in common to compare.", note=True)

    body += "<h3>Predicted risk</h3>"
    risk = (f"Mean predicted churn probability {fmt.pct(mean.get('a'))} in A, {fmt.pct(mean.get('b'))} in B"
            + (f" ({fmt.points(mean['change'])})." if mean.get("change") is not None else "."))
    if both.get("customers"):
        risk += (f" Of the customers in both runs, {fmt.count(both.get('moved_up'))} moved up a risk band "
                 f"and {fmt.count(both.get('moved_down'))} moved down.")
    body += paragraph(risk) + figure(figures.risk_shift_figure(shift["histogram"]), "fig-changes-risk")
    body += table(tables.band_table(result))
    parts += 1

    body += ("<h3>Drivers</h3>"
             + table(tables.drivers_table(result, limit=DRIVER_ROWS),
                     numbers=("A (mean |SHAP|)", "B (mean |SHAP|)", "Change"))
             + paragraph("Global mean |SHAP| of each feature in both runs, the largest change first.",
                         note=True))

    body += "<h3>Segment migration</h3>"
    if moves.get("transitions"):
        note = tables.identity_note(moves)
        body += (figure(figures.migration_sankey(moves), "fig-changes-migration")
                 + table(tables.transitions_table(result))
                 + (f'<p class="note">{markdown_html(note.strip())}</p>' if note else ""))
        parts += 1
    else:
        body += paragraph("No customer is in both runs, so nobody can be followed from one segment to "
                          "another.", note=True)

    rose = result["became_high_risk"]
    body += "<h3>Customers who became high-risk</h3>"
    bands = " or ".join(rose.get("bands", []))
    body += paragraph(f"{fmt.count(rose.get('count', 0))} customers in both runs rose into the {bands} band "
                      "between A and B" + (f"; the {min(HIGH_RISK_ROWS, rose['listed'])} with the largest "
                                           "rise, with the features whose SHAP value moved most:"
                                           if rose.get("listed") else "."))
    if rose.get("listed"):
        body += table(tables.high_risk_table(result).head(HIGH_RISK_ROWS))
    return Section("changes", "What changed", body, figures=parts)
