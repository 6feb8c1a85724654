"""The run a dashboard session is looking at: the verified run, its store and the small facts pages need.

Plain Python (no Streamlit): `insight.ui.loaders` caches `open_active_run`, app.py picks the run, and pages
ask `insight.ui.loaders.active_run()` for it.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from insight.data.features import FeatureMap
from insight.segments.mapsample import MAP_POINTS, MAP_SAMPLE
from insight.runs.run import Run, open_run
from insight.runs.store import RunStore
from insight.segments.target_awareness import describe as describe_awareness

log = logging.getLogger(__name__)



def run_fingerprint(path: Path) -> str:
    """Changes whenever any file of the run changes (names, sizes, modification times): the cache key."""
    h = hashlib.sha256(str(Path(path).resolve()).encode())
    for p in sorted(Path(path).iterdir()):
        if p.is_file():
            st = p.stat()
            h.update(f"{p.name}:{st.st_size}:{st.st_mtime_ns};".encode())
    return h.hexdigest()[:16]


@dataclass(frozen=True)
class ActiveRun:
    """A verified run with its store. Shared between sessions: treat everything here as read-only."""

    run: Run
    store: RunStore
    key: str

    @property
    def id(self) -> str:
        return self.run.id

    @property
    def manifest(self) -> dict[str, Any]:
        return self.run.manifest

    @property
    def spec(self) -> dict[str, Any]:
        return self.manifest.get("spec", {})

    @property
    def id_column(self) -> str:
        return str(self.spec["id_column"])

    @property
    def target(self) -> str:
        return str(self.spec["target"])

    @property
    def revenue_column(self) -> str | None:
        return self.spec.get("revenue_column") if self.store.has_revenue else None

    @property
    def source_name(self) -> str:
        return str(self.manifest.get("source", {}).get("name", "data"))

    @property
    def rows(self) -> int:
        return int(self.manifest.get("source", {}).get("rows", 0))

    @property
    def test_metrics(self) -> dict[str, float]:
        return self.manifest.get("metrics", {}).get("lightgbm", {}).get("test", {})

    @property
    def features(self) -> list[str]:
        return list(self.manifest.get("features", []))

    @property
    def roles(self) -> dict[str, str]:
        return self.store.roles

    @property
    def actionable(self) -> list[str]:
        """Features the business can change (--actionable, or the demo data's levers), for suggestions."""
        return [f for f in self.spec.get("actionable") or [] if f in self.features]

    @cached_property
    def feature_map(self) -> FeatureMap:
        """The churn model's features with their roles and categories (features.json)."""
        return FeatureMap.from_dict(self.run.json("features.json"))

    @property
    def thresholds(self) -> dict[str, float]:
        return dict(self.manifest.get("risk_bands", {}))

    @cached_property
    def segments(self) -> list[dict[str, Any]]:
        """Segment profiles from segments.json (Unassigned last)."""
        if not self.run.file("segments.json").exists():
            return []
        return list(self.run.json("segments.json").get("segments", []))

    @property
    def segment_awareness(self) -> str:
        """How much the segments tell about churn and value on held-out customers, in words (empty for a run
        written before it was measured)."""
        report = self.manifest.get("metrics", {}).get("segments", {}).get("target_awareness")
        return describe_awareness(report) if report else ""

    @cached_property
    def importance(self) -> pd.DataFrame:
        """Mean |SHAP| per feature, largest first (from the manifest)."""
        frame = pd.DataFrame(self.manifest.get("global_importance", []), columns=["feature", "mean_abs_shap"])
        return frame.sort_values("mean_abs_shap", ascending=False, ignore_index=True)

    @cached_property
    def calibration(self) -> tuple[float, float]:
        """Platt slope and intercept mapping the raw score to a probability."""
        d = self.run.json("calibration.json") if self.run.file("calibration.json").exists() else {}
        return float(d.get("slope", 1.0)), float(d.get("intercept", 0.0))

    def probability(self, raw_score: float) -> float:
        slope, intercept = self.calibration
        return float(1.0 / (1.0 + np.exp(-(slope * raw_score + intercept))))

    @property
    def aux_targets(self) -> list[str]:
        """The auxiliary targets of the multi-task network that customers.parquet holds."""
        return [t for t in self.spec.get("aux_targets") or [] if t in self.store.column_types]

    @cached_property
    def map_is_sample(self) -> bool:
        """Whether the map draws a sample (more than MAP_POINTS customers) rather than everyone."""
        return self.store.count() > MAP_POINTS

    @cached_property
    def map_frame(self) -> pd.DataFrame:
        """Map points (every customer up to MAP_POINTS, else a sample of MAP_SAMPLE) with the targets, every
        feature and the main reason, for the map, its colours, hovers and selections."""
        extra = [c for c in dict.fromkeys([*self.aux_targets, *self.features, "top_reason"])
                 if c in self.store.column_types]
        frame = self.store.map_points(limit=MAP_SAMPLE if self.map_is_sample else MAP_POINTS, extra=extra)
        log.info("map of run %s: %d of %d customers", self.id, len(frame), self.store.count())
        return frame


def open_active_run(path: Path) -> ActiveRun:
    """Verify the run at `path` (RunError when damaged) and open its store."""
    run = open_run(Path(path), verify=True)
    store = RunStore.from_run(run)
    log.info("opened run %s", run.id)
    return ActiveRun(run=run, store=store, key=run_fingerprint(run.path))


def run_label(path: Path) -> str:
    """'run id · data name · 3,000 rows' for a picker, without verifying the run."""
    import json

    try:
        manifest = json.loads((Path(path) / "manifest.json").read_text())
        source = manifest.get("source", {})
        return f"{Path(path).name} · {source.get('name', '?')} · {int(source.get('rows', 0)):,} rows"
    except (OSError, ValueError, TypeError, AttributeError):
        return f"{Path(path).name} · unreadable"
