"""Write a trained run: every file of the run contract (`insight.runs.layout`) from what training produced,
and `customer_table`, the customers.parquet a run stores.

`insight.pipeline.train` hands a `TrainedRun` here; `write_trained_run` lays its tables out in id order,
writes the models as text, JSON and a state_dict, and commits the folder atomically with a manifest that
checksums every file (`insight.runs.run.RunWriter`).
"""

from __future__ import annotations

import hashlib
import logging
import platform
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from insight.config import DataSpec, TrainConfig
from insight.data.schema import Schema
from insight.models.recipe import Models, Scores, Splits
from insight.runs import layout
from insight.runs.manifest import DroppedColumn, Manifest, SegmentProfile, SourceInfo
from insight.runs.run import RunWriter, new_run_id, resolve_runs_dir
from insight.segments.mapsample import map_sample_rows

if TYPE_CHECKING:
    from insight.survival.run_parts import SurvivalParts
    from insight.uplift.run_parts import UpliftParts

log = logging.getLogger(__name__)

VERSIONED_PACKAGES = ("customer-insight", "lightgbm", "torch", "umap-learn", "scikit-learn", "pandas", "numpy", "shap")


@dataclass(frozen=True)
class TrainedRun:
    """Everything a training produced that a run stores. Tables are row for row with the training table."""

    source_name: str
    source: pd.DataFrame | None
    """The table as given (for its fingerprint and size); None when `source_info` describes it."""
    spec: DataSpec
    """The resolved spec: the revenue column and actionable features actually used."""
    config: TrainConfig
    schema: Schema
    models: Models
    ids: pd.Series
    customers: pd.DataFrame
    shap_values: np.ndarray
    base_value: np.ndarray
    shap_groups: pd.DataFrame
    latent: np.ndarray
    fit_rows: np.ndarray
    """The customers UMAP was fitted on (training order)."""
    segment_profiles: list[SegmentProfile]
    segment_report: dict[str, Any]
    metrics: dict[str, Any]
    global_importance: pd.DataFrame
    churn_rate: float
    risk_bands: dict[str, float]
    timings: dict[str, float]
    source_info: SourceInfo | None = None
    """The table's name, size and fingerprint, when no one frame holds it (Dask partitions)."""
    survival: SurvivalParts | None = None
    """With --duration: the survival model and what it derived (its columns are already in `customers`)."""
    uplift: UpliftParts | None = None
    """With --treatment: the uplift model and its report (its columns are already in `customers`)."""


def customer_table(raw: pd.DataFrame, data: pd.DataFrame, spec: DataSpec, table_schema: Schema, scores: Scores,
                   labels: np.ndarray, xy: np.ndarray, splits: Splits, *, thresholds: dict[str, float]) -> pd.DataFrame:
    """customers.parquet, row for row with the training table: id, inputs, targets, scores, reasons, segment,
    map position and split (the columns `insight.runs.layout` names)."""
    from insight.decisions.risk_bands import risk_bands
    from insight.decisions.value import customer_value

    out = data.copy()
    for col in table_schema.dropped:  # keep dropped inputs for filtering and export
        values = raw[col.name]
        out[col.name] = values.to_numpy() if pd.api.types.is_numeric_dtype(values) else values.astype("string").array
    out[layout.CHURN_PROBABILITY] = scores.probability
    out[layout.CHURN_SCORE] = scores.raw_score
    out[layout.RISK_BAND] = risk_bands(scores.probability, thresholds)
    if spec.revenue_column:
        out[layout.REVENUE_AT_RISK] = scores.probability * customer_value(
            data, scores.heads, spec.revenue_column, known=spec.revenue_column in table_schema.features)
    out[layout.MULTITASK_CHURN_PROBABILITY] = scores.heads[spec.target]
    for aux in spec.aux_targets:
        out[layout.predicted(aux)] = scores.heads[aux]
    out = pd.concat([out, scores.reasons], axis=1)
    out[layout.SEGMENT_ID] = labels
    out[layout.SEGMENT_NAME] = ""
    out[layout.MAP_X], out[layout.MAP_Y] = xy[:, 0], xy[:, 1]
    out[layout.SPLIT] = splits.labels(len(out))
    return out


def write_trained_run(runs_dir: Path, trained: TrainedRun) -> Path:
    """Write `trained` as a new run under `runs_dir` and point LATEST at it; return the run's folder."""
    from insight.models.explain import shap_frame

    models = trained.models
    assert models.multitask is not None, "a trained run has its multi-task network"
    runs_dir = resolve_runs_dir(runs_dir)
    run_id = new_run_id(trained.source_name)
    with RunWriter(runs_dir, run_id) as writer:
        writer.write_text(layout.CHURN_MODEL, models.churn.to_text())
        writer.write_json(layout.CALIBRATION, models.churn.calibration.to_dict())
        writer.write_json(layout.FEATURES, {**models.fmap.to_dict(), "schema": trained.schema.to_dict()})
        writer.write_bytes(layout.MULTITASK_WEIGHTS, models.multitask.state_bytes())
        writer.write_json(layout.MULTITASK_SHAPE, models.multitask.describe())
        order = id_order(trained.ids)
        stored = trained.customers.iloc[order].reset_index(drop=True)
        shap_table = shap_frame(trained.ids, trained.shap_values, trained.base_value, models.fmap.names)
        shap_table = shap_table.iloc[order].reset_index(drop=True)
        writer.write_parquet(layout.CUSTOMERS, stored)
        writer.write_parquet(layout.SHAP, shap_table)
        writer.write_parquet(layout.SHAP_GROUPS, trained.shap_groups)
        # latent.parquet keeps the training order (the id column says whose vector each row is)
        writer.write_parquet(layout.LATENT, latent_frame(trained.ids, trained.latent), compress_floats=False)
        writer.write_parquet(layout.MAP_FIT, map_fit_frame(trained), compress_floats=False)
        map_rows = map_sample_rows(len(stored), seed=trained.config.seed)
        if map_rows is not None:  # a large run: the map's sample, ready to read
            writer.write_parquet(layout.MAP, stored.iloc[map_rows].reset_index(drop=True))
            writer.write_parquet(layout.MAP_SHAP, shap_table.iloc[map_rows].reset_index(drop=True))
        writer.write_json(layout.SEGMENTS, {"segments": [p.to_dict() for p in trained.segment_profiles],
                                            **trained.segment_report})
        if trained.survival is not None:
            survival = trained.survival
            writer.write_text(layout.SURVIVAL_MODEL, survival.model.to_json())
            timing = survival.shap.copy()
            timing.insert(0, str(trained.ids.name), trained.ids.to_numpy())
            writer.write_parquet(layout.SURVIVAL_SHAP, timing.iloc[order].reset_index(drop=True))
            writer.write_parquet(layout.SURVIVAL_CURVES, survival.curves, compress_floats=False)
        if trained.uplift is not None:
            writer.write_text(layout.UPLIFT_MODEL, trained.uplift.model.to_json())
        path = writer.commit(manifest_of(trained, run_id).to_dict())
    return path


def manifest_of(trained: TrainedRun, run_id: str) -> Manifest:
    source = trained.source_info
    if source is None:
        assert trained.source is not None, "a trained run has its source table or its description"
        source = SourceInfo(name=trained.source_name, rows=int(len(trained.source)),
                            columns=int(trained.source.shape[1]), fingerprint=fingerprint(trained.source))
    return Manifest(
        schema_version=layout.SCHEMA_VERSION, run_id=run_id,
        created=datetime.now(UTC).isoformat(timespec="seconds"),
        source=source,
        spec=trained.spec, config=trained.config.to_dict(), metrics=trained.metrics,
        features=tuple(trained.models.fmap.names),
        dropped_columns=tuple(DroppedColumn(name=c.name, role=str(c.role), reason=c.reason)
                              for c in trained.schema.dropped),
        global_importance=tuple(trained.global_importance.head(50).to_dict(orient="records")),
        risk_bands=trained.risk_bands, churn_rate=trained.churn_rate, timings_seconds=trained.timings,
        versions=library_versions(),
        survival=None if trained.survival is None else trained.survival.manifest(),
        uplift=None if trained.uplift is None else trained.uplift.setup)


def latent_frame(ids: pd.Series, latent: np.ndarray) -> pd.DataFrame:
    frame = pd.DataFrame(latent, columns=layout.latent_columns(latent.shape[1]))
    frame.insert(0, str(ids.name), ids.to_numpy())
    return frame


def map_fit_frame(trained: TrainedRun) -> pd.DataFrame:
    """map_fit.parquet: the customers UMAP was fitted on, with their latent vector, map position and segment:
    what places new customers on the map and in a segment (`insight.batch`)."""
    rows = trained.fit_rows
    frame = latent_frame(trained.ids.iloc[rows].reset_index(drop=True), trained.latent[rows])
    customers = trained.customers.iloc[rows]
    frame[layout.MAP_X] = customers[layout.MAP_X].to_numpy(dtype=np.float32)
    frame[layout.MAP_Y] = customers[layout.MAP_Y].to_numpy(dtype=np.float32)
    frame[layout.SEGMENT_ID] = customers[layout.SEGMENT_ID].to_numpy(dtype=np.int64)
    return frame


def id_order(ids: pd.Series) -> np.ndarray:
    """The row order a run stores its tables in: by customer id, so that each Parquet row group spans a
    narrow range of ids and a lookup of one customer reads one group."""
    try:
        return np.argsort(ids.to_numpy(), kind="stable")
    except TypeError:  # values of mixed types: order by their text
        return np.argsort(ids.astype(str).to_numpy(), kind="stable")


def fingerprint(frame: pd.DataFrame) -> str:
    """A sha256 of the table's content (values and column names)."""
    h = hashlib.sha256()
    h.update("\x1f".join(map(str, frame.columns)).encode())
    h.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    return h.hexdigest()


def library_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for pkg in VERSIONED_PACKAGES:
        try:
            versions[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            continue
    return versions
