"""A run's history as tables: its lineage (the runs trained on the same source) and the batches it scored.

The lineage is every run in the runs folder trained on a table of the same name with the same id and target
columns, in order of the date they were trained as of (`insight train --as-of`) or, without one, of creation,
with their held-out test ROC AUC and, for runs trained on snapshots (`--time`), the out-of-time ROC AUC. The
batches are the run's batch records (`insight.monitoring.batches`), oldest first.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pandas as pd

from insight.errors import RunError
from insight.runs.manifest import Manifest

log = logging.getLogger(__name__)

LINEAGE_COLUMNS = ["run_id", "when", "created", "as_of", "test_auc", "out_of_time_auc", "current"]
BATCH_COLUMNS = ["when", "rows", "estimated_auc", "realised_auc", "estimated_churn_rate", "realised_churn_rate",
                 "drifted", "features", "top_drift", "data", "out"]


def _auc(block: Any) -> float | None:
    value = block.get("roc_auc") if isinstance(block, dict) else None
    return float(value) if isinstance(value, (int, float)) else None


def _when(text: Any) -> pd.Timestamp | None:
    """A manifest's or record's date as a UTC timestamp (None when it is not one)."""
    try:
        stamp = pd.Timestamp(str(text))
    except (ValueError, TypeError):
        return None
    if pd.isna(stamp):
        return None
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def same_lineage(a: Manifest, b: Manifest) -> bool:
    """Trained on a table of the same name, with the same id and target columns."""
    return (a.source.name, a.spec.id_column, a.spec.target) == (b.source.name, b.spec.id_column, b.spec.target)


def lineage(runs_dir: Path, manifest: Manifest) -> pd.DataFrame:
    """The runs of `manifest`'s lineage in `runs_dir` (LINEAGE_COLUMNS), oldest first by as-of date (when every
    one has one) or creation; `current` marks the run itself. Runs whose manifest cannot be read are left out."""
    from insight.runs.run import list_runs, read_manifest

    rows = []
    for path in list_runs(runs_dir):
        try:
            other = read_manifest(path)
        except (OSError, RunError) as e:
            log.info("lineage: skipping %s (%s)", path.name, e)
            continue
        if not same_lineage(manifest, other):
            continue
        churn = other.metrics.get("lightgbm", {})
        as_of = other.config.get("as_of")
        rows.append({"run_id": other.run_id or path.name, "created": _when(other.created),
                     "as_of": _when(as_of) if as_of else None, "test_auc": _auc(churn.get("test")),
                     "out_of_time_auc": _auc(churn.get("out_of_time")),
                     "current": (other.run_id or path.name) == manifest.run_id})
    frame = pd.DataFrame(rows, columns=[c for c in LINEAGE_COLUMNS if c != "when"])
    by_as_of = len(frame) > 0 and frame["as_of"].notna().all()
    frame.insert(1, "when", frame["as_of"] if by_as_of else frame["created"])
    return frame.sort_values(["when", "created"], kind="stable").reset_index(drop=True)


def batch_history(runs_dir: Path, run_id: str) -> pd.DataFrame:
    """The batches run `run_id` scored (BATCH_COLUMNS), oldest first: when, rows, estimated and realised ROC AUC
    and churn rate (realised None without labels), drifted features of how many, the worst drifted ones."""
    from insight.monitoring.batches import list_batches

    rows = []
    for record in list_batches(runs_dir, run_id):
        est, real = record.get("estimated") or {}, record.get("realised") or {}
        drift = record.get("drift") or {}
        rows.append({"when": _when(record.get("created")), "rows": record.get("rows"),
                     "estimated_auc": est.get("roc_auc"), "realised_auc": real.get("roc_auc"),
                     "estimated_churn_rate": est.get("churn_rate"), "realised_churn_rate": real.get("churn_rate"),
                     "drifted": drift.get("drifted"), "features": drift.get("features"),
                     "top_drift": ", ".join(t["feature"] for t in drift.get("top", []) if t.get("drifted")),
                     "data": record.get("data"), "out": record.get("out")})
    return pd.DataFrame(rows, columns=BATCH_COLUMNS)
