"""The report's sections about one run: the overview, the segments and their profiles, and the drivers.

Each is a function of an `insight.ui.context.ActiveRun` (plain Python: the verified run, its store and facts)
that returns a `template.Section`. The numbers and words are those of the dashboard's pages: the same store
queries, the same figure builders (insight.figures) and the same sentence helpers (insight.ui.tables,
insight.formatting); only the layout is HTML instead of Streamlit.
"""

from __future__ import annotations

import logging

from insight import formatting as fmt
from insight.figures import charts
from insight.figures.mapfigure import customer_map
from insight.formatting import label
from insight.report.template import Section, bullets, esc, figure, markdown_html, paragraph, table, tiles
from insight.runs import layout
from insight.runs.manifest import SegmentProfile
from insight.ui import tables
from insight.ui.context import ActiveRun

log = logging.getLogger(__name__)

MAP_POINTS = 5_000
"""The report's map draws at most this many customers (a random sample, the same for the same run), so
that the file stays a few MB."""
SHAP_SAMPLE = 2_000
"""Customers the drivers' sentences are read off (as on the Drivers page)."""
BEESWARM_SAMPLE = 500
"""Customers of that sample the beeswarm draws (one dot per customer and feature)."""
TOP_FEATURES = 15
SENTENCES = 8


def overview(active: ActiveRun) -> Section:
    """Who was scored, the headline numbers (as the Overview page shows them), how risk is spread and the
    risk bands."""
    totals = active.store.totals()
    revenue = active.revenue_column
    facts: list[tuple[str, str, str | None]] = [
        ("Customers", fmt.count(totals["customers"]), None),
        ("Expected churners", fmt.count(totals["expected_churners"]),
         "The sum of every customer's churn probability: how many customers the model expects to lose."),
    ]
    if revenue:
        facts.append(("Revenue at risk", fmt.amount(totals["revenue_at_risk"]),
                      f"The sum of churn probability × {revenue}."))
    facts += [
        ("Churn rate", fmt.pct(totals["churn_rate"]),
         f"Observed share of churners among the {fmt.count(totals['labelled'])} customers with a known "
         "outcome."),
        ("Model ROC AUC", fmt.score(active.test_metrics.get("roc_auc")),
         "How well the model ranks churners above stayers on held-out test customers (0.5 = a coin toss, "
         "1 = perfect)."),
    ]
    intro = (f"{active.source_name}: {fmt.count(totals['customers'])} customers scored by run {active.id}, "
             f"trained {active.created} UTC. Probabilities come from the calibrated churn model; churn rates "
             "are observed outcomes.")
    histogram = charts.risk_histogram(active.store.risk_histogram(), thresholds=active.thresholds)
    bands = tables.band_table(active.store.band_summary(), revenue=bool(revenue))
    cuts = {band: fmt.pct(cut, 0) for band, cut in active.thresholds.items()}
    cut_text = (f"Medium from {cuts.get('medium')}, high from {cuts.get('high')}, very high from "
                f"{cuts.get('very high')} churn probability." if cuts else "")
    body = (paragraph(intro) + tiles(facts)
            + figure(histogram, "fig-risk-histogram",
                     "Each bar counts the customers whose predicted churn probability falls in that range, "
                     "coloured by risk band. Bands are set relative to the average churn rate.")
            + "<h3>Risk bands</h3>" + table(bands) + (paragraph(cut_text, note=True) if cut_text else ""))
    return Section("overview", "Overview", body, figures=1)


def segments(active: ActiveRun) -> Section:
    """Every segment's profile (size, churn, what sets it apart, what drives its risk) and the customer map
    on a sample."""
    profiles = active.segments_by_loss
    if not profiles:
        return Section("segments", "Segments", paragraph("This run has no segments."))
    colors = charts.segment_colors(p.id for p in profiles)
    revenue = active.revenue_column
    intro = ("Groups of customers who are alike in what matters for churn and value, largest expected loss "
             "first.")
    awareness = paragraph(active.segment_awareness, note=True) if active.segment_awareness else ""
    cards = "".join(segment_card(p, color=colors[p.id], revenue=bool(revenue)) for p in profiles)
    points = active.store.map_points(limit=MAP_POINTS, extra=[
        c for c in (active.spec.revenue_column, layout.TOP_REASON) if c and c in active.store.column_types])
    total = active.store.count()
    if points.empty:
        return Section("segments", "Segments",
                       paragraph(intro) + awareness + f'<div class="cards">{cards}</div>')
    hover = [c for c in (active.spec.revenue_column, layout.TOP_REASON) if c and c in points.columns]
    density = active.store.map_density() if len(points) < total else None
    fig = customer_map(points, id_column=active.id_column, color_by="segment", roles=active.roles,
                       hover=hover, density=density)
    fig.update_layout(dragmode="zoom")
    shown = (f"The map shows a random {fmt.count(len(points))} of {fmt.count(total)} customers; the shading "
             "underneath shows where all of them lie." if len(points) < total
             else f"The map shows all {fmt.count(total)} customers.")
    body = (paragraph(intro) + awareness + f'<div class="cards">{cards}</div>'
            + "<h3>The customer map</h3>"
            + figure(fig, "fig-customer-map",
                     "Every dot is a customer, placed so that customers who are alike in what matters for "
                     "churn and value sit close together, coloured by segment. " + shown))
    return Section("segments", "Segments", body, figures=1)


def segment_card(profile: SegmentProfile, *, color: str, revenue: bool) -> str:
    """One segment as the Segments page's card shows it: name, size, churn rate (with its interval), revenue
    at risk, what sets it apart and its main risk drivers."""
    facts = [f"<strong>{fmt.count(profile.size)}</strong> customers ({fmt.pct(profile.share)} of all)",
             f"churn rate <strong>{fmt.pct(profile.churn_rate)}</strong>"]
    low, high = profile.churn_rate_ci
    if low == low and high == high:
        facts[-1] += f" (95 % interval {fmt.pct(low)} – {fmt.pct(high)})"
    if revenue:
        facts.append(f"revenue at risk <strong>{fmt.amount(profile.revenue_at_risk)}</strong>")
    traits = [esc(t[:1].upper() + t[1:]) for t in (d["description"] for d in profile.distinctive[:4])]
    drivers = [f"{esc(label(d['feature']).lower())} ({'raises' if d['mean_shap'] > 0 else 'lowers'} risk)"
               for d in profile.shap_drivers[:3]]
    apart = bullets(traits) if traits else '<p class="note">No feature sets this group clearly apart.</p>'
    driven = f'<p class="note">Main risk drivers here: {", ".join(drivers)}.</p>' if drivers else ""
    return (f'<div class="card" style="border-left-color: {esc(color)}">'
            f'<div class="name">{esc(profile.name)}</div>'
            f"<div>{' · '.join(facts)}</div>{apart}{driven}</div>")


def drivers(active: ActiveRun) -> Section:
    """What drives churn risk overall (global SHAP importance), how each feature's values push it, and the
    Drivers page's sentences in words."""
    importance = active.importance
    ranked = [f for f in importance["feature"] if f in active.shap_features]
    if importance.empty or not ranked:
        return Section("drivers", "Drivers of churn", paragraph("This run has no feature importance."))
    shap, values = active.store.shap_sample(ranked, SHAP_SAMPLE)
    top = min(TOP_FEATURES, len(importance))
    features = ranked[:top]
    bar = charts.importance_bar(importance, top=top)
    swarm = charts.beeswarm(shap.head(BEESWARM_SAMPLE), values.head(BEESWARM_SAMPLE), features[:10],
                            roles=active.roles)
    sentences = tables.driver_directions(shap, values, features[:SENTENCES], active.roles)
    words = "<ol>" + "".join(f"<li>{markdown_html(s)}</li>" for s in sentences) + "</ol>" if sentences else ""
    dropped = active.dropped_columns
    body = (paragraph("Which customer facts the churn model relies on most, and in which direction they move "
                      "risk. Computed with exact SHAP values of the model for every customer.")
            + '<div class="grid2">'
            + figure(bar, "fig-importance",
                     "How much each feature moves the risk score on average, whichever way it pushes. Longer "
                     "bars matter more.")
            + figure(swarm, "fig-beeswarm",
                     f"Each dot is one of {fmt.count(min(len(shap), BEESWARM_SAMPLE))} randomly chosen "
                     "customers. Dots right of the line raise that customer's risk, dots left of it lower "
                     "it; the colour shows whether the customer's value is low (blue) or high (red). Grey: "
                     "categories and missing values.")
            + "</div><h3>In words</h3>" + words
            + paragraph(f"Read off {fmt.count(len(shap))} randomly chosen customers, most important feature "
                        "first.", note=True))
    if dropped:
        body += (f"<h3>{len(dropped)} columns were not used by the model</h3>"
                 + table(tables.dropped_table(dropped)))
    return Section("drivers", "Drivers of churn", body, figures=2)
