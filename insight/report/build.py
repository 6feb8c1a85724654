"""`build_report`: one self-contained HTML file about a run, for people who will not open the dashboard.

The file holds the overview, the segments and their profiles, the drivers and model quality of the run (with
--duration, its time to churn; given a second run, what changed), with plotly.js, the CSS and the logo inline: it opens in a browser with
no network. `insight report` writes it (insight.commands.report); the dashboard offers it as a download
(insight.ui.report_download).
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

from insight.report import quality, sections, survival
from insight.report.template import Section, document
from insight.ui.context import ActiveRun, open_active_run

log = logging.getLogger(__name__)


def build_report(run: Path, *, compare: Path | None = None) -> str:
    """The report of the run folder `run` as one HTML document; with `compare`, an earlier run, also what
    changed from it to `run`. Both runs are verified first (RunError when one is damaged)."""
    active = open_active_run(Path(run))
    earlier = open_active_run(Path(compare)) if compare is not None else None
    return report_html(active, compare=earlier)


def report_html(active: ActiveRun, *, compare: ActiveRun | None = None) -> str:
    """`build_report` of runs already opened (the dashboard passes the run it shows)."""
    started = time.perf_counter()
    parts: list[Section] = [sections.overview(active), sections.segments(active), sections.drivers(active),
                            quality.quality(active)]
    timing = survival.survival(active)  # runs trained with --duration
    if timing is not None:
        parts.append(timing)
    if compare is not None:
        from insight.report.changes import changes

        parts.append(changes(compare, active))
    title = f"Churn report: {active.source_name}"
    subtitle = f"Run {active.id} · trained {active.created} UTC · {active.rows:,} rows"
    if compare is not None:
        subtitle += f" · compared with run {compare.id}"
    footer = f"Written by insight report from run {active.id}."
    text = document(title, subtitle, parts, footer=footer)
    log.info("report of run %s: %d figures, %.1f MB in %.1f s", active.id, sum(p.figures for p in parts),
             len(text.encode()) / 1e6, time.perf_counter() - started)
    return text
