"""The survival figures of a run as tables and sentences: plain functions of the manifest's dicts and the
run's survival curves (no Streamlit), shared by the Segments and Model pages (insight.ui.survival_sections)
and the report (insight.report.survival).

Segments: the log-rank test of a segment against the rest in words, a table per segment (customers, churned,
Kaplan-Meier median). Model: the survival model against Cox PH and Kaplan-Meier on the held-out customers,
which one does better, and what was left out of the survival model.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import pandas as pd

from insight import formatting as fmt
from insight.figures.survival import MODEL_NAMES
from insight.runs import layout
from insight.survival.groups import KAPLAN_MEIER

SIGNIFICANT = 0.05
CONCORDANCE_TIE = 0.005
"""Concordances closer than this are called about equal (a few test customers' worth of ordered pairs)."""
BRIER_TIE = 0.002
MODELS = ("survival", "cox", "kaplan_meier")


# ---------------------------------------------------------------------- pure: segments


def p_text(p: Any) -> str:
    """A p-value as a reader takes it: 'p < 0.001', 'p = 0.012', 'p = 0.31'."""
    if p is None or (isinstance(p, float) and math.isnan(p)):
        return "p not defined"
    p = float(p)
    if p < 0.001:
        return "p < 0.001"
    return f"p = {p:.3f}" if p < 0.01 else f"p = {p:.2f}"


def km_median(curves: pd.DataFrame, group: str) -> float:
    """The first time a group's Kaplan-Meier curve is at or below one half (inf when never; NaN without
    it)."""
    part = curves[(curves["group"].astype(str) == group) & (curves["kind"] == KAPLAN_MEIER)]
    if part.empty:
        return float("nan")
    below = part.sort_values("time")
    below = below[below["survival"] <= 0.5]
    return float(below["time"].iloc[0]) if len(below) else float("inf")


def median(stats: Mapping[str, Any], key: str = "median_km", default: float = float("nan")) -> float:
    """A Kaplan-Meier median of the manifest: inf when the curve never fell to one half (the manifest's JSON
    writes inf as null), `default` when the key is missing."""
    if key not in stats:
        return default
    value = stats[key]
    return float("inf") if value is None else float(value)


def sooner(stats: Mapping[str, Any], rest_median: float) -> bool | None:
    """Whether the group leaves sooner than the rest: its events against the log-rank's expected events, or
    (older manifests) its median against the rest's; None when neither tells."""
    observed, expected = stats.get("events"), stats.get("events_expected")
    if observed is not None and expected is not None and float(expected) > 0 and observed != expected:
        return float(observed) > float(expected)
    own = median(stats)
    if math.isnan(own) or math.isnan(rest_median) or own == rest_median:
        return None
    return own < rest_median


def log_rank_sentence(name: str, stats: Mapping[str, Any] | None, *, unit: str,
                      everyone_median: float) -> str:
    """'Customers of <name> leave sooner than the rest: median 7 months vs 24 months, log-rank p < 0.001.'
    (Markdown-safe: the name is escaped.)"""
    who = fmt.markdown_text(name)
    if not stats:
        return f"The run has no survival figures for {who}."
    p = stats.get("log_rank_p")
    rest = median(stats, "median_km_rest", everyone_median)
    rest_word = "the rest" if "median_km_rest" in stats else "everyone"
    medians = (f"median {fmt.duration(median(stats), unit)} vs "
               f"{fmt.duration(rest, unit)} for {rest_word}")
    if p is None or math.isnan(float(p)):
        return f"{who} holds every customer with a known outcome: there is no rest to compare it with."
    faster = sooner(stats, rest)
    if float(p) < SIGNIFICANT and faster is not None:
        how = "leave sooner than" if faster else "stay longer than"
        return f"Customers of {who} {how} the rest: {medians}, log-rank {p_text(p)}."
    return (f"Customers of {who} do not leave clearly sooner or later than the rest: {medians}, log-rank "
            f"{p_text(p)}.")


def segment_table(segments: Mapping[str, Mapping[str, Any]], names: Mapping[int, str], *, unit: str,
                  everyone: Mapping[str, Any] | None = None) -> pd.DataFrame:
    """One row per segment (in `names` order) with survival figures: customers, churned, the Kaplan-Meier
    median time to churn and the log-rank p against the rest; `everyone` ({customers, events, median_km})
    adds a last row."""
    rows = []
    for s, name in names.items():
        stats = segments.get(str(s))
        if not stats:
            continue
        rows.append({"Segment": str(name), "Customers": fmt.count(stats.get("customers")),
                     "Churned": fmt.count(stats.get("events")),
                     "Median time to churn": fmt.duration(median(stats), unit),
                     "Log-rank vs the rest": p_text(stats.get("log_rank_p"))})
    if everyone and rows:
        rows.append({"Segment": "Everyone", "Customers": fmt.count(everyone.get("customers")),
                     "Churned": fmt.count(everyone.get("events")),
                     "Median time to churn": fmt.duration(everyone.get("median_km"), unit),
                     "Log-rank vs the rest": fmt.DASH})
    return pd.DataFrame(rows, columns=["Segment", "Customers", "Churned", "Median time to churn",
                                       "Log-rank vs the rest"])


# ---------------------------------------------------------------------- pure: model


def _rows(horizons: list[float], unit: str) -> list[tuple[str, str, bool, str]]:
    """(metric key, label, higher is better, kind) of the comparison table."""
    rows = [("concordance", "Concordance (Uno's C)", True, "score"),
            ("harrell_concordance", "Concordance (Harrell's C)", True, "score"),
            ("integrated_brier", "Integrated Brier score", False, "score")]
    for h in horizons:
        rows.append((f"brier_{layout.horizon_label(h)}", f"Brier score at {fmt.duration(h, unit)}", False,
                     "score"))
    for h in horizons:
        rows.append((f"calibration_error_{layout.horizon_label(h)}",
                     f"Calibration error within {fmt.duration(h, unit)}", False, "pct"))
    return rows


def _known(value: Any) -> bool:
    try:
        return value is not None and math.isfinite(float(value))
    except (TypeError, ValueError):
        return False


def comparison_table(test: Mapping[str, Mapping[str, Any]], *, horizons: list[float],
                     unit: str) -> pd.DataFrame:
    """Measures (rows) of each model (columns, formatted), with which is better and the best model per row.
    Rows no model has (a horizon beyond the test customers' follow-up) are left out."""
    models = [m for m in MODELS if m in test]
    out = []
    for key, name, higher, kind in _rows(horizons, unit):
        values = {m: test[m].get(key) for m in models}
        known = {m: float(v) for m, v in values.items() if _known(v)}
        if not known:
            continue
        show = fmt.pct if kind == "pct" else fmt.score
        row = {"Measure": name, **{MODEL_NAMES[m]: show(values[m]) if _known(values[m]) else fmt.DASH
                                   for m in models},
               "Better": "higher" if higher else "lower"}
        pick = max if higher else min
        best = pick(known, key=known.get)
        ties = [m for m, v in known.items() if m != best and show(v) == show(known[best])]
        row["Best"] = "tie" if ties else MODEL_NAMES[best]
        out.append(row)
    return pd.DataFrame(out, columns=["Measure", *(MODEL_NAMES[m] for m in models), "Better", "Best"])


def verdict(test: Mapping[str, Mapping[str, Any]]) -> str:
    """Which model does better on the test customers, in two honest clauses: ranking (concordance, the
    survival model against Cox PH) and accuracy of the curves (integrated Brier score, all three)."""
    s, c, k = (test.get(m, {}) for m in MODELS)
    parts = []
    cs, cc = s.get("concordance"), c.get("concordance")
    if _known(cs) and _known(cc):
        figures = f"Uno's C {fmt.score(cs)} vs {fmt.score(cc)}"
        if float(cs) > float(cc) + CONCORDANCE_TIE:
            parts.append(f"The survival model ranks customers by when they leave better than Cox PH "
                         f"({figures}).")
        elif float(cc) > float(cs) + CONCORDANCE_TIE:
            parts.append(f"Cox PH ranks customers by when they leave better than the survival model "
                         f"({figures}).")
        else:
            parts.append(f"The survival model and Cox PH rank customers by when they leave about equally "
                         f"well ({figures}).")
    briers = {m: float(test[m]["integrated_brier"]) for m in MODELS
              if m in test and _known(test[m].get("integrated_brier"))}
    if len(briers) > 1:
        best = min(briers, key=briers.get)
        others = ", ".join(f"{MODEL_NAMES[m]} {fmt.score(v)}" for m, v in briers.items() if m != best)
        close = [m for m, v in briers.items() if m != best and v - briers[best] < BRIER_TIE]
        subject = "The survival model's" if best == "survival" else f"{MODEL_NAMES[best]}'s"
        if close:
            parts.append(f"{subject} predicted curves are about as close to what happened as "
                         f"{' and '.join(MODEL_NAMES[m] for m in close)}'s (integrated Brier score "
                         f"{fmt.score(briers[best])}; {others}; lower is better).")
        else:
            parts.append(f"{subject} predicted curves are the closest to what happened (integrated Brier "
                         f"score {fmt.score(briers[best])} against {others}; lower is better).")
    return " ".join(parts)


def left_out_table(left_out: Mapping[str, str]) -> pd.DataFrame:
    return pd.DataFrame([{"Column": str(c), "Why it was left out": str(r)} for c, r in left_out.items()],
                        columns=["Column", "Why it was left out"])


def setup_text(survival: Mapping[str, Any], target: str) -> str:
    """What the survival model was given, in words (Markdown-safe)."""
    unit = str(survival.get("unit", ""))
    horizons = [fmt.duration(h, unit) for h in survival.get("horizons", [])]
    column = fmt.markdown_text(survival.get("duration_column"))
    text = (f"Duration: **{column}**, in {fmt.markdown_text(unit)}; "
            f"the event is **{fmt.markdown_text(target)}** (customers still there are censored at their "
            f"duration). {fmt.count(len(survival.get('features', [])))} features")
    if horizons:
        text += f"; horizons {', '.join(horizons[:-1]) + ' and ' if len(horizons) > 1 else ''}{horizons[-1]}"
    value = survival.get("period_value_column")
    if value:
        text += f"; value per {fmt.markdown_text(unit.rstrip('s'))}: **{fmt.markdown_text(value)}**"
    return text + "."
