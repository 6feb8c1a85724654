"""The run a dashboard session is looking at: the verified run, its store and the small facts pages need.

Plain Python (no Streamlit): `insight.ui.facade.RunFacade` adds the cached queries to these facts and is what
pages are given (`insight.ui.shell.page`).
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from insight.config import DataSpec
from insight.data.features import FeatureMap
from insight.errors import RunError
from insight.models.churn import Calibration
from insight.runs import layout
from insight.models.metrics import head_kinds
from insight.runs.manifest import DroppedColumn, Manifest, SegmentProfile, segment_profiles
from insight.segments.mapsample import MAP_POINTS, MAP_SAMPLE
from insight.runs.run import Run, open_run, read_manifest
from insight.runs.store import RunStore
from insight.segments.target_awareness import describe as describe_awareness

if TYPE_CHECKING:
    from insight.survival.hazard import HazardModel

log = logging.getLogger(__name__)


def run_fingerprint(path: Path) -> str:
    """Changes whenever any entry of the run folder changes (names, sizes, modification and status-change
    times, inodes; ctime cannot be set back by `touch`): the cache key, taken on every page run, so that a
    changed run is verified again before it is shown."""
    h = hashlib.sha256(str(Path(path).resolve()).encode())
    for p in sorted(Path(path).iterdir()):
        st = p.lstat()
        h.update(f"{p.name}:{st.st_mode}:{st.st_size}:{st.st_mtime_ns}:{st.st_ctime_ns}:{st.st_ino};".encode())
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
    def manifest(self) -> Manifest:
        return self.run.manifest

    @property
    def spec(self) -> DataSpec:
        return self.manifest.spec

    @property
    def id_column(self) -> str:
        return self.spec.id_column

    @property
    def target(self) -> str:
        return self.spec.target

    @property
    def revenue_column(self) -> str | None:
        return self.spec.revenue_column if self.store.has_revenue else None

    @property
    def source_name(self) -> str:
        return self.manifest.source.name

    @property
    def rows(self) -> int:
        return self.manifest.source.rows

    @property
    def test_metrics(self) -> dict[str, float]:
        return self.manifest.test_metrics

    @property
    def features(self) -> list[str]:
        return list(self.manifest.features)

    @property
    def roles(self) -> dict[str, str]:
        return self.store.roles

    @property
    def actionable(self) -> list[str]:
        """Features the business can change (--actionable, or the demo data's levers), for suggestions."""
        return [f for f in self.spec.actionable if f in self.features]

    @cached_property
    def feature_map(self) -> FeatureMap:
        """The churn model's features with their roles and categories (features.json)."""
        return FeatureMap.from_dict(self.run.json(layout.FEATURES))

    @property
    def thresholds(self) -> dict[str, float]:
        return dict(self.manifest.risk_bands)

    @cached_property
    def segments(self) -> list[SegmentProfile]:
        """Segment profiles from segments.json (Unassigned last)."""
        if not self.run.file(layout.SEGMENTS).exists():
            return []
        return segment_profiles(self.run.json(layout.SEGMENTS))

    @property
    def segment_awareness(self) -> str:
        """How much the segments tell about churn and value on held-out customers, in words (empty for a run
        written before it was measured)."""
        report = self.manifest.segment_report.get("target_awareness")
        return describe_awareness(report) if report else ""

    @cached_property
    def importance(self) -> pd.DataFrame:
        """Mean |SHAP| per feature, largest first (from the manifest)."""
        frame = pd.DataFrame(list(self.manifest.global_importance), columns=["feature", "mean_abs_shap"])
        return frame.sort_values("mean_abs_shap", ascending=False, ignore_index=True)

    @cached_property
    def calibration(self) -> Calibration:
        """The map from the churn model's raw score to a probability (calibration.json)."""
        return Calibration.from_dict(self.run.json(layout.CALIBRATION))

    def probability(self, raw_score: float) -> float:
        return float(self.calibration(raw_score))

    @property
    def aux_targets(self) -> list[str]:
        """The auxiliary targets of the multi-task network that customers.parquet holds."""
        return [t for t in self.spec.aux_targets if t in self.store.column_types]

    @cached_property
    def map_is_sample(self) -> bool:
        """Whether the map draws a sample (more than MAP_POINTS customers) rather than everyone."""
        return self.store.count() > MAP_POINTS

    @cached_property
    def map_frame(self) -> pd.DataFrame:
        """Map points (every customer up to MAP_POINTS, else a sample of MAP_SAMPLE) with the targets, every
        feature and the main reason, for the map, its colours, hovers and selections."""
        extra = [c for c in dict.fromkeys([*self.aux_targets, *self.features, layout.TOP_REASON])
                 if c in self.store.column_types]
        frame = self.store.map_points(limit=MAP_SAMPLE if self.map_is_sample else MAP_POINTS, extra=extra)
        log.info("map of run %s: %d of %d customers", self.id, len(frame), self.store.count())
        return frame

    # ------------------------------------------------------------------ more facts: the manifest, the store

    @property
    def created(self) -> str:
        """When the run was trained, 'YYYY-MM-DD HH:MM' (UTC)."""
        return self.manifest.created[:16].replace("T", " ")

    @property
    def churn_rate(self) -> float:
        """The training data's churn rate (0.2 for a run that does not record it)."""
        return float(self.manifest.churn_rate or 0.2)

    @property
    def dropped_columns(self) -> tuple[DroppedColumn, ...]:
        return self.manifest.dropped_columns

    @cached_property
    def head_kinds(self) -> dict[str, str]:
        """The multi-task network's auxiliary heads and their kind (insight.models.metrics.head_kinds)."""
        return head_kinds(self.manifest.multitask_metrics, target=self.target)

    @property
    def segment_names(self) -> dict[int, str]:
        return {p.id: p.name for p in self.segments}

    @property
    def segments_by_loss(self) -> list[SegmentProfile]:
        """The segments, the largest expected churn first (Unassigned last)."""
        return sorted(self.segments, key=lambda p: (p.id < 0, -p.expected_churners))

    @property
    def stored_features(self) -> list[str]:
        """The model's features that customers.parquet holds."""
        return [f for f in self.features if f in self.store.column_types]

    @property
    def column_kinds(self) -> dict[str, str]:
        return dict(self.store.column_kinds)

    @property
    def value_column(self) -> str | None:
        """The column revenue at risk counts a customer's value by (None without revenue)."""
        return self.store.value_column

    @property
    def has_map_sample(self) -> bool:
        """Whether the run stores a random sample for the map (and the typical values and percentiles)."""
        return self.store.has_map_sample

    @property
    def map_sample_size(self) -> int:
        return MAP_SAMPLE

    @property
    def shap_features(self) -> list[str]:
        return self.store.shap_features

    def filterable_columns(self) -> list[str]:
        return self.store.filterable_columns()

    def lead_columns(self) -> list[str]:
        """The risk table's first columns: id, probability, band, revenue at risk, segment, reasons."""
        return self.store.lead_columns()

    # ------------------------------------------------------------------ time to churn (runs with --duration)

    @property
    def survival(self) -> dict[str, Any] | None:
        """The manifest's survival section (insight.survival.setup.SurvivalSetup.to_dict and the model's
        report); None for a run trained without --duration."""
        return self.manifest.survival

    def survival_model(self) -> HazardModel | None:
        """The run's survival model (survival_model.json, loaded once); None without --duration."""
        return self._survival_model

    def survival_curves(self) -> pd.DataFrame | None:
        """survival_curves.parquet (per segment and everyone: Kaplan-Meier with bands, mean predicted; read
        once); None without --duration."""
        return self._survival_curves

    def customer_survival_curve(self, customer_id: Any) -> pd.DataFrame | None:
        """One customer's predicted survival curve from the start (`time`, `survival`, at the times of the
        stored curves), from their stored row; None without --duration or for an unknown id."""
        model = self._survival_model
        row = self.store.customer(customer_id) if model is not None else None
        if model is None or row is None:
            return None
        from insight.survival.stored import customer_curve

        return customer_curve(model, self.feature_map, row)

    @cached_property
    def _survival_model(self) -> HazardModel | None:
        if self.survival is None:
            return None
        from insight.survival.hazard import HazardModel

        return HazardModel.from_json(self.run.text(layout.SURVIVAL_MODEL))

    @cached_property
    def _survival_curves(self) -> pd.DataFrame | None:
        if self.survival is None:
            return None
        return pd.read_parquet(self.run.file(layout.SURVIVAL_CURVES))


def open_active_run(path: Path) -> ActiveRun:
    """Verify the run at `path` (RunError when damaged) and open its store."""
    run = open_run(Path(path), verify=True)
    store = RunStore.from_run(run)
    log.info("opened run %s", run.id)
    return ActiveRun(run=run, store=store, key=run_fingerprint(run.path))


def run_label(path: Path) -> str:
    """'run id · data name · 3,000 rows' for a picker, without verifying the run."""
    try:
        source = read_manifest(Path(path)).source
        return f"{Path(path).name} · {source.name} · {source.rows:,} rows"
    except (OSError, ValueError, TypeError, AttributeError, RunError):
        return f"{Path(path).name} · unreadable"
