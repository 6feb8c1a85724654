"""Model quality and global drivers of two runs side by side."""

from __future__ import annotations

import math
from typing import Any

from insight.runs.manifest import Manifest

SCOPES = {"test": "held-out test (random split)", "out_of_time": "out of time (latest labelled snapshot)"}
METRICS = {"roc_auc": ("ROC AUC", True), "pr_auc": ("PR AUC", True), "log_loss": ("Log loss", False),
           "brier": ("Brier score", False), "ece": ("Calibration error (ECE)", False)}
"""name -> (label, higher is better)."""


def metrics_side_by_side(a: Manifest, b: Manifest) -> dict[str, Any]:
    """The churn model's metrics of both runs: `rows` (scope, metric, label, a, b, change, better: 'a', 'b'
    or None), each scope's test customers and the segment counts."""
    rows = []
    sizes = {}
    for scope, scope_label in SCOPES.items():
        ma, mb = _scope(a, scope), _scope(b, scope)
        if not ma and not mb:
            continue
        sizes[scope] = {"a": _number(ma.get("n")), "b": _number(mb.get("n"))}
        for name, (label, higher) in METRICS.items():
            va, vb = _number(ma.get(name)), _number(mb.get(name))
            if va is None and vb is None:
                continue
            change = None if va is None or vb is None else vb - va
            better = None if not change else ("b" if (change > 0) == higher else "a")
            rows.append({"scope": scope, "scope_label": scope_label, "metric": name, "label": label, "a": va,
                         "b": vb, "change": change, "better": better, "higher_is_better": higher})
    segments = {"a": _number(a.segment_report.get("n_segments")), "b": _number(b.segment_report.get("n_segments"))}
    return {"rows": rows, "customers": sizes, "segments": segments,
            "churn_rate": {"a": _number(a.churn_rate), "b": _number(b.churn_rate)}}


def driver_change(a: Manifest, b: Manifest) -> list[dict[str, Any]]:
    """Global importance (mean |SHAP|, from each manifest) of every feature in either run, with its rank in
    each and the change (B - A), the largest absolute change first."""
    ia, ib = _importance(a), _importance(b)
    ranks_a = {f: i + 1 for i, f in enumerate(sorted(ia, key=lambda f: -ia[f]))}
    ranks_b = {f: i + 1 for i, f in enumerate(sorted(ib, key=lambda f: -ib[f]))}
    rows = []
    for feature in dict.fromkeys([*ib, *ia]):
        va, vb = ia.get(feature), ib.get(feature)
        rows.append({"feature": feature, "a": va, "b": vb, "change": (vb or 0.0) - (va or 0.0),
                     "rank_a": ranks_a.get(feature), "rank_b": ranks_b.get(feature)})
    rows.sort(key=lambda r: (-abs(r["change"]), r["feature"]))
    return rows


def _scope(m: Manifest, scope: str) -> dict[str, Any]:
    found = m.metrics.get("lightgbm", {}).get(scope)
    return found if isinstance(found, dict) else {}


def _importance(m: Manifest) -> dict[str, float]:
    out = {}
    for row in m.global_importance:
        value = _number(row.get("mean_abs_shap"))
        if value is not None and row.get("feature"):
            out[str(row["feature"])] = value
    return out


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None
