"""The run of `insight train --engine dask`: the scored partitions assembled into the tables every run has, with
the profiles, metrics and reports `insight.pipeline.train` computes, written by `insight.runs.writer`.

Segments were found on the sample; here they are numbered by their size among every customer (0 the largest),
as training numbers them, and profiled on every customer. The held-out metrics are measured on every test
customer of the table; recovery of planted segments (`--truth`) on the sample, whose model matrix the driver
holds.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from insight.batch import train_parts as tp
from insight.config import DataSpec, TrainConfig
from insight.runs import layout

if TYPE_CHECKING:
    from insight.batch.dask_train import FittedTable, Sample, SampleSegments, TableInfo
    from insight.pipeline import StageClock
    from insight.models.recipe import Fit

log = logging.getLogger(__name__)


def write_dask_run(runs_dir: Path, scored: list[tp.ScoredPart], *, fit: Fit, fitted: FittedTable,
                   segments: SampleSegments, sample: Sample, table_info: TableInfo, spec: DataSpec,
                   config: TrainConfig, truth: pd.DataFrame | None, engine: dict[str, Any], source_name: str,
                   clock: StageClock) -> Path:
    """Assemble and write the run; return its folder. `scored` is emptied once its tables are joined."""
    from insight.data.spec import resolved_spec, revenue_column
    from insight.decisions.risk_bands import risk_band_thresholds
    from insight.models import explain
    from insight.models.evaluate import held_out_metrics
    from insight.models.metrics import binary_metrics
    from insight.models.recipe import Splits
    from insight.models.shap_groups import shap_group_sums
    from insight.runs.manifest import SourceInfo
    from insight.runs.writer import TrainedRun, write_trained_run
    from insight.segments import profiles
    from insight.segments.identity import keep_identity
    from insight.segments.clustering import UNASSIGNED
    from insight.segments.recovery import recovery_report
    from insight.segments.target_awareness import target_awareness

    models = fit.models
    assert models.multitask is not None
    customers = pd.concat([p.customers for p in scored], ignore_index=True)
    shap_values = np.concatenate([p.shap_values for p in scored])
    base_value = np.concatenate([p.base_value for p in scored])
    latent = np.concatenate([p.latent for p in scored])
    scored.clear()  # the partitions' copies of the tables
    revenue = revenue_column(spec, fitted.table.frame.columns)
    spec = resolved_spec(spec, revenue=revenue, features=models.feature_names)
    labels = order_by_size(customers[layout.SEGMENT_ID].to_numpy(dtype=np.int64))
    customers[layout.SEGMENT_ID] = labels
    y = customers[spec.target].to_numpy(dtype=np.float64)
    split = customers[layout.SPLIT].to_numpy()
    splits = Splits(train=np.flatnonzero(split == tp.TRAIN), valid=np.flatnonzero(split == tp.VALID),
                    test=np.flatnonzero(split == layout.TEST_SPLIT))
    raw = customers[layout.CHURN_SCORE].to_numpy(dtype=np.float64)
    additivity_error = float(np.max(np.abs(shap_values.sum(axis=1) + base_value - raw))) if len(raw) else 0.0
    if additivity_error > 1e-6:
        log.warning("SHAP values miss the raw score by up to %.2g", additivity_error)
    with clock("profiling segments"):
        role_of = {f.name: str(f.role) for f in models.fmap.features}
        segment_profiles = profiles.segment_profiles(
            customers, labels, features=role_of, target=spec.target, aux_targets=spec.aux_targets,
            revenue_column=revenue, shap_values=shap_values, feature_names=models.feature_names, seed=config.seed)
        names = {p.id: p.name for p in segment_profiles}
        customers[layout.SEGMENT_NAME] = customers[layout.SEGMENT_ID].map(names)
        # the ids, names and colours of the segments of an earlier run they match, as insight.pipeline does
        segment_profiles, identity = keep_identity(customers, segment_profiles, runs_dir=runs_dir,
                                                   id_column=spec.id_column)
        labels = customers[layout.SEGMENT_ID].to_numpy(dtype=np.int64)
    heads = {spec.target: customers[layout.MULTITASK_CHURN_PROBABILITY].to_numpy(dtype=np.float64),
             **{a: customers[layout.predicted(a)].to_numpy(dtype=np.float64) for a in spec.aux_targets}}
    metrics = held_out_metrics(y, customers[layout.CHURN_PROBABILITY].to_numpy(dtype=np.float64), heads, customers,
                               spec, splits, models.multitask.tasks)
    metrics["lightgbm"]["search"] = models.churn.search
    metrics["lightgbm"]["shap_additivity_max_error"] = additivity_error
    logistic = customers[layout.LOGISTIC_CHURN_PROBABILITY].to_numpy(dtype=np.float64)
    metrics["logistic"] = {"test": binary_metrics(y[splits.test], logistic[splits.test])}
    found, projection = segments.found, segments.projection
    sample_labels = labels[sample.rows]
    segment_report = {
        **found.info, "n_segments": int(len(np.unique(labels[labels >= 0]))),
        "unassigned_share": round(float((labels == UNASSIGNED).mean()), 4),
        "projection": {**projection.info, "rows": int(len(labels)), "sample_rows": int(len(sample.rows))},
        "target_awareness": target_awareness(labels, y, {a: customers[a].to_numpy(dtype=np.float64)
                                                         for a in spec.aux_targets},
                                             train_rows=splits.fit, test_rows=splits.test),
        **recovery_report(fitted.table.frame[spec.id_column], truth, fit.X, sample_labels, config.seed)}
    if identity:
        segment_report["identity"] = identity
    metrics["segments"] = segment_report
    metrics["engine"] = engine
    churn_rate = float(np.nanmean(y))
    ids = customers[spec.id_column]
    with clock("writing the run"):
        path = write_trained_run(runs_dir, TrainedRun(
            source_name=source_name, source=None, spec=spec, config=config, schema=fitted.plan.schema,
            models=models, ids=ids, customers=customers, shap_values=shap_values, base_value=base_value,
            shap_groups=shap_group_sums(shap_values, models.feature_names, labels,
                                        customers[layout.RISK_BAND].to_numpy()),
            latent=latent, fit_rows=sample.rows[projection.fit_rows], segment_profiles=segment_profiles,
            segment_report=segment_report, metrics=metrics,
            global_importance=explain.global_importance(shap_values, models.feature_names),
            churn_rate=churn_rate, risk_bands=risk_band_thresholds(fitted.churn_rate), timings=clock.timings,
            source_info=SourceInfo(name=source_name, rows=table_info.rows, columns=table_info.columns,
                                   fingerprint=table_info.fingerprint)))
    log.info("run %s complete (dask, %d partitions): test ROC AUC %.3f", path.name, engine["partitions"],
             metrics["lightgbm"]["test"]["roc_auc"])
    return path


def order_by_size(labels: np.ndarray) -> np.ndarray:
    """Segments renumbered 0..k-1 from the largest down (ties by the old number), -1 kept: the numbering
    `insight.segments.clustering.cluster` gives, over every customer rather than the sample."""
    from insight.segments.clustering import UNASSIGNED

    ids, counts = np.unique(labels[labels != UNASSIGNED], return_counts=True)
    mapping = np.full(int(labels.max(initial=0)) + 2, UNASSIGNED, dtype=np.int64)
    mapping[ids[np.lexsort((ids, -counts))]] = np.arange(len(ids))
    return np.where(labels == UNASSIGNED, UNASSIGNED, mapping[np.maximum(labels, 0)])
