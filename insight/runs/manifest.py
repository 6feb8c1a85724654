"""Typed views of a run's descriptions: the manifest (`Manifest`) and the segment profiles (`SegmentProfile`).

Every reader of a run uses these instead of nested dicts; `from_dict` accepts what any readable schema
version wrote (`insight.runs.layout.READABLE_SCHEMA_VERSIONS`) and `to_dict` gives back the stored form.
Fields that a reader may want but that are reports rather than contracts (the metrics, the segment choice)
stay plain dicts, reached through named properties.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from insight.config import DataSpec, TrainConfig
from insight.errors import RunError
from insight.runs import layout


@dataclass(frozen=True)
class SourceInfo:
    """The table a run was trained on."""

    name: str
    rows: int
    columns: int
    fingerprint: str

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> SourceInfo:
        return cls(name=str(d.get("name", "data")), rows=int(d.get("rows", 0)), columns=int(d.get("columns", 0)),
                   fingerprint=str(d.get("fingerprint", "")))

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "rows": self.rows, "columns": self.columns, "fingerprint": self.fingerprint}


@dataclass(frozen=True)
class DroppedColumn:
    """A column the schema guards left out of the features, and why."""

    name: str
    role: str
    reason: str

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> DroppedColumn:
        return cls(name=str(d["name"]), role=str(d.get("role", "")), reason=str(d.get("reason", "")))

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "role": self.role, "reason": self.reason}


@dataclass(frozen=True)
class Manifest:
    """manifest.json: what a run was trained on, how, what it measured, and the checksum of every file.

    `spec` holds the resolved choices (the revenue column and the actionable features actually used).
    """

    schema_version: int
    run_id: str
    created: str
    source: SourceInfo
    spec: DataSpec
    config: dict[str, Any]
    metrics: dict[str, Any]
    features: tuple[str, ...]
    risk_bands: dict[str, float]
    churn_rate: float
    dropped_columns: tuple[DroppedColumn, ...] = ()
    global_importance: tuple[dict[str, Any], ...] = ()
    timings_seconds: dict[str, float] = field(default_factory=dict)
    versions: dict[str, str] = field(default_factory=dict)
    files: dict[str, dict[str, Any]] = field(default_factory=dict)
    survival: dict[str, Any] | None = None
    uplift: dict[str, Any] | None = None
    """With --treatment: the campaign's columns, the learner chosen, the treatment check and the selection."""
    """With --duration: the survival model's duration column, unit, horizons, main horizon, features, the
    features left out (and why), the value per period column and the model's report (insight.survival.setup)."""
    extra: dict[str, Any] = field(default_factory=dict)
    """Keys this version does not know (a later writer's additions), kept so that to_dict loses nothing."""

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Manifest:
        """The typed manifest; RunError when it lacks what every run has (the spec's id and target)."""
        spec = d.get("spec")
        if not isinstance(spec, dict) or not spec.get("id_column") or not spec.get("target"):
            raise RunError(f"run {d.get('run_id', '?')}: its manifest names no id column and target (not a run "
                           "written by `insight train`); retrain with this version")
        known = {f for f in cls.__dataclass_fields__ if f != "extra"} | {layout.MANIFEST_DIGEST,
                                                                          layout.MANIFEST_SIGNATURE}
        return cls(
            schema_version=int(d.get("schema_version", 0)),
            run_id=str(d.get("run_id", "")),
            created=str(d.get("created", "")),
            source=SourceInfo.from_dict(d.get("source", {})),
            spec=DataSpec.from_dict(spec),
            config=dict(d.get("config", {})),
            metrics=dict(d.get("metrics", {})),
            features=tuple(d.get("features", [])),
            risk_bands={k: float(v) for k, v in d.get("risk_bands", {}).items()},
            churn_rate=float(d.get("churn_rate") or 0.0),
            dropped_columns=tuple(DroppedColumn.from_dict(c) for c in d.get("dropped_columns", [])),
            global_importance=tuple(d.get("global_importance", [])),
            timings_seconds=dict(d.get("timings_seconds", {})),
            versions=dict(d.get("versions", {})),
            files=dict(d.get("files", {})),
            survival=dict(d["survival"]) if isinstance(d.get("survival"), dict) else None,
            uplift=dict(d["uplift"]) if isinstance(d.get("uplift"), dict) else None,
            extra={k: v for k, v in d.items() if k not in known},
        )

    def to_dict(self) -> dict[str, Any]:
        """The stored form, without the digest and signature (the run writer adds those and the file list)."""
        out = {
            "schema_version": self.schema_version, "run_id": self.run_id, "created": self.created,
            "source": self.source.to_dict(), "spec": self.spec.to_dict(), "config": self.config,
            "metrics": self.metrics, "features": list(self.features),
            "dropped_columns": [c.to_dict() for c in self.dropped_columns],
            "global_importance": list(self.global_importance), "risk_bands": self.risk_bands,
            "churn_rate": self.churn_rate, "timings_seconds": self.timings_seconds, "versions": self.versions,
            **self.extra,
        }
        if self.survival is not None:
            out["survival"] = self.survival
        if self.uplift is not None:
            out["uplift"] = self.uplift
        if self.files:
            out["files"] = self.files
        return out

    @property
    def train_config(self) -> TrainConfig:
        return TrainConfig.from_dict(self.config)

    @property
    def test_metrics(self) -> dict[str, float]:
        """The model of record's held-out metrics (ROC AUC, PR AUC, log loss, Brier, ECE)."""
        return dict(self.metrics.get("lightgbm", {}).get("test", {}))

    @property
    def multitask_metrics(self) -> dict[str, Any]:
        return dict(self.metrics.get("multitask", {}))

    @property
    def segment_report(self) -> dict[str, Any]:
        """How the segments were chosen, their projection, target awareness and recovery of planted truth."""
        return dict(self.metrics.get("segments", {}))

    @property
    def survival_metrics(self) -> dict[str, Any]:
        """With --duration: the survival model against Cox PH and Kaplan-Meier on the test customers, the
        calibration at each horizon and each segment's log-rank test (insight.survival.run_parts)."""
        return dict(self.metrics.get("survival", {}))

    @property
    def uplift_metrics(self) -> dict[str, Any]:
        """With --treatment: the learners' validation Qini and the chosen one's held-out Qini and AUUC against
        the risk ranking and random targeting, with the curves (insight.uplift.run_parts)."""
        return dict(self.metrics.get("uplift", {}))

    @property
    def latent_dim(self) -> int:
        return int(self.config.get("multitask", {}).get("latent_dim", 0))


@dataclass(frozen=True)
class SegmentProfile:
    """One segment of segments.json: size, churn with its interval, targets, distinctive facts and name."""

    id: int
    name: str
    size: int
    share: float
    churn_rate: float | None
    churn_rate_ci: tuple[float, float]
    mean_churn_probability: float
    expected_churners: float
    churn_level: str
    targets: dict[str, float | None] = field(default_factory=dict)
    revenue_at_risk: float | None = None
    distinctive: tuple[dict[str, Any], ...] = ()
    """The strongest significant differences from the rest: feature, description, effect, p_adjusted, value,
    role."""
    shap_drivers: tuple[dict[str, Any], ...] = ()
    """feature, mean_shap: what drives this segment's risk most."""

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> SegmentProfile:
        low, high = (float("nan") if v is None else v for v in d.get("churn_rate_ci") or (None, None))
        return cls(id=int(d["id"]), name=str(d.get("name", f"Segment {d['id']}")), size=int(d["size"]),
                   share=float(d["share"]), churn_rate=None if d.get("churn_rate") is None else float(d["churn_rate"]),
                   churn_rate_ci=(float(low), float(high)),
                   mean_churn_probability=float(d.get("mean_churn_probability", float("nan"))),
                   expected_churners=float(d.get("expected_churners", 0.0)),
                   churn_level=str(d.get("churn_level", "unknown churn")), targets=dict(d.get("targets", {})),
                   revenue_at_risk=None if d.get("revenue_at_risk") is None else float(d["revenue_at_risk"]),
                   distinctive=tuple(d.get("distinctive", [])), shap_drivers=tuple(d.get("shap_drivers", [])))

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id, "size": self.size, "share": self.share, "churn_rate": self.churn_rate,
            "churn_rate_ci": list(self.churn_rate_ci), "mean_churn_probability": self.mean_churn_probability,
            "expected_churners": self.expected_churners, "targets": self.targets,
        }
        if self.revenue_at_risk is not None:
            out["revenue_at_risk"] = self.revenue_at_risk
        out.update({"distinctive": list(self.distinctive), "shap_drivers": list(self.shap_drivers),
                    "churn_level": self.churn_level, "name": self.name})
        return out


def segment_profiles(segments_json: dict[str, Any]) -> list[SegmentProfile]:
    """The profiles of a run's segments.json, in stored order (Unassigned last)."""
    return [SegmentProfile.from_dict(s) for s in segments_json.get("segments", [])]
