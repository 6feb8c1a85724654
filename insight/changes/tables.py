"""The Changes page's tables, built from a `compare_runs` result (plain pandas, no Streamlit): the page
(insight.ui.changes, pages/changes.py) and the HTML report (insight.report.changes) show the same ones."""

from __future__ import annotations

from typing import Any

import pandas as pd

from insight import formatting as fmt
from insight.formatting import label
from insight.monitoring.drift import as_date


def metrics_table(result: dict[str, Any]) -> pd.DataFrame:
    rows = result["metrics"]["rows"]
    return pd.DataFrame({
        "Measured on": [r["scope_label"] for r in rows], "Metric": [r["label"] for r in rows],
        "A": [fmt.score(r["a"]) for r in rows], "B": [fmt.score(r["b"]) for r in rows],
        "Change": [_signed(r["change"], ".3f") for r in rows],
        "Better": ["B" if r["better"] == "b" else "A" if r["better"] == "a" else fmt.DASH for r in rows]})


def drift_table(result: dict[str, Any]) -> pd.DataFrame:
    rows = result["feature_drift"]
    return pd.DataFrame({
        "Feature": [label(d["feature"]) for d in rows], "PSI": [d["psi"] for d in rows],
        "Level": [d["level"] for d in rows],
        "Drifted": ["⚠ yes" if d["drifted"] else "" for d in rows],
        "Test": [d["test"] for d in rows], "p (adjusted)": [_p(d["p_adjusted"]) for d in rows],
        "A": [_typical(d, "reference") for d in rows], "B": [_typical(d, "current") for d in rows],
        "Missing A → B": [f"{fmt.pct(d['reference_missing'])} → {fmt.pct(d['current_missing'])}" for d in rows],
        "New categories": [", ".join(d.get("new_categories") or []) for d in rows]})


def band_table(result: dict[str, Any]) -> pd.DataFrame:
    bands = result["risk_shift"]["bands"]
    return pd.DataFrame({
        "Risk band": [b["band"].capitalize() for b in bands],
        "A": [f"{fmt.count(b['a'])} ({fmt.pct(b['share_a'])})" for b in bands],
        "B": [f"{fmt.count(b['b'])} ({fmt.pct(b['share_b'])})" for b in bands],
        "Change in share": [_signed(b["share_change"] * 100, ".1f", " pts") for b in bands]})


def drivers_table(result: dict[str, Any], *, limit: int = 15) -> pd.DataFrame:
    rows = result["drivers"][:limit]
    return pd.DataFrame({
        "Feature": [label(d["feature"]) for d in rows],
        "A (mean |SHAP|)": [d["a"] for d in rows], "B (mean |SHAP|)": [d["b"] for d in rows],
        "Change": [d["change"] for d in rows],
        "Rank A → B": [f"{d['rank_a'] or fmt.DASH} → {d['rank_b'] or fmt.DASH}" for d in rows]})


def transitions_table(result: dict[str, Any]) -> pd.DataFrame:
    moves = result["segment_transitions"]
    total = max(1, moves["customers"])
    rows = moves["transitions"]
    return pd.DataFrame({
        "From (A)": [f"{t['from_id']} · {t['from_name'] or ''}" for t in rows],
        "To (B)": [f"{t['to_id']} · {t['to_name'] or ''}" for t in rows],
        "Customers": [t["customers"] for t in rows],
        "Share": [fmt.pct(t["customers"] / total) for t in rows]})


def identity_note(moves: dict[str, Any]) -> str:
    """' New in B: ...; vanished from A: ...' when B's segments were matched to A's, else ''."""
    identity = moves.get("identity") or {}
    if not moves.get("identity_against_a"):
        return ""
    parts = []
    for key, words in (("new", "New in B"), ("vanished", "Vanished since A")):
        names = [fmt.markdown_text(s.get("name") or f"Segment {s.get('id')}") for s in identity.get(key, [])]
        if names:
            parts.append(f"{words}: {', '.join(names)}.")
    return (" " + " ".join(parts)) if parts else ""


def high_risk_table(result: dict[str, Any]) -> pd.DataFrame:
    customers = result["became_high_risk"]["customers"]
    return pd.DataFrame({
        "Customer": [str(c["id"]) for c in customers],
        "Probability A → B": [f"{fmt.pct(c['probability_a'])} → {fmt.pct(c['probability_b'])}" for c in customers],
        "Band A → B": [f"{c['band_a']} → {c['band_b']}" for c in customers],
        "Segment in B": [(c.get("segment_b") or {}).get("name") or fmt.DASH for c in customers],
        "What moved (SHAP change; value A → B)": ["; ".join(_moved(m) for m in c["moved"]) for c in customers]})


def _moved(m: dict[str, Any]) -> str:
    return (f"{label(m['feature'])} {m['change']:+.2f} ({fmt.display_value(m['value_a'])} → "
            f"{fmt.display_value(m['value_b'])})")


def _typical(d: dict[str, Any], side: str) -> str:
    """The mean (numbers; dates as a date) or the most common value with its share (categories, flags)."""
    if d.get(f"{side}_mean") is not None:
        return as_date(d[f"{side}_mean"]) if d.get("value_type") == "date" else fmt.number(d[f"{side}_mean"])
    top = d.get(f"{side}_top")
    return fmt.DASH if top is None else f"{top} ({fmt.pct(d.get(f'{side}_top_share'))})"


def _signed(value: float | None, spec: str, unit: str = "") -> str:
    return fmt.DASH if value is None else f"{value:+{spec}}{unit}"


def _p(value: float | None) -> str:
    return fmt.DASH if value is None else f"{value:.2g}"
