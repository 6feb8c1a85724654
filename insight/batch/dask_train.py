"""`insight train --engine dask`: train on a table read as Dask partitions and write one ordinary run.

    scan every partition (ids, row hashes) -> a seeded sample of up to SAMPLE_ROWS rows across partitions
    -> clean_table on the sample (schema, guards) -> fit_models on the sample (insight.models.recipe, the one
       recipe) with DaskChurnFitter: the feature map, tree-size search, calibration, logistic baseline and the
       multi-task network on the sample, the final LightGBM model by lightgbm.dask over every labelled
       training and validation row of every partition
    -> UMAP and segments on the sample's latent vectors -> every customer scored on the workers
       (insight.batch.train_parts.score_partition: SHAP, reasons, heads, latent, map position, segment)
    -> profiles, metrics and the run (insight.runs.writer), as `insight.pipeline.train` writes them

Which customers are sampled, and which are test rows, follows from a seeded hash of their id, so the sample,
the Dask fit and the metrics agree on it whatever the partitioning; held-out metrics are measured on every test
customer of the whole table. For the same seed and data everything is reproducible but the final LightGBM
booster, which lightgbm.dask does not fit bit for bit alike twice (insight.models.churn_dask says why): the
probabilities, SHAP values and reasons then differ slightly between two runs, the segments do not. The driver
assembles the scored partitions into the run's tables (one customers.parquet and shap.parquet, as every run
has), so it holds the run's tables in memory once; the workers hold one partition at a time while scoring
and their share of the encoded training rows while LightGBM fits. Workers must read DATA at the same path.
"""

from __future__ import annotations

import hashlib
import logging
import operator
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from insight.batch import train_parts as tp
from insight.config import DataSpec, TrainConfig
from insight.data.sources import Source
from insight.errors import InputError
from insight.pipeline import Progress, StageClock
from insight.runs import layout
from insight.runs.run import prepare_runs_dir

if TYPE_CHECKING:
    from distributed import Client

    from insight.data.features import FeatureMap
    from insight.models.churn_dask import DaskTrainingRows

log = logging.getLogger(__name__)

SAMPLE_ROWS = 200_000
"""Rows (at most) the schema, the feature map, the tree-size search, the multi-task network and the map are
fitted on."""

STAGES = {  # stage -> (start, end) share of the whole job, for progress bars
    "reading partitions (dask)": (0.00, 0.05),
    "checking the table": (0.05, 0.08),
    "encoding features": (0.08, 0.10),
    "fitting the churn model": (0.10, 0.30),
    "training the multi-task network": (0.30, 0.45),
    "projecting with UMAP": (0.45, 0.52),
    "finding segments": (0.52, 0.55),
    "scoring every customer (dask)": (0.55, 0.88),
    "profiling segments": (0.88, 0.94),
    "writing the run": (0.94, 1.00),
}


def train_on_dask(data: str | Path, spec: DataSpec, config: TrainConfig | None = None, *, runs_dir: Path,
                  table: str | None = None, query: str | None = None, source_name: str = "data",
                  truth: pd.DataFrame | None = None, scheduler: str | None = None, workers: int = 2,
                  sample_rows: int = SAMPLE_ROWS, progress: Progress | None = None) -> Path:
    """Train every model on the partitions of `data` (see `insight.batch.scoring.input_parts`) on a Dask
    cluster (the one at `scheduler`, else a LocalCluster of `workers` processes) and write one run under
    `runs_dir`; return the run's folder. InputError for bad input, before anything is written."""
    from insight.batch.dask_engine import dask_client
    from insight.batch.scoring import input_parts
    from insight.models.churn_dask import DaskChurnFitter
    from insight.models.recipe import fit_models

    config = config or TrainConfig()
    if sample_rows < 100:
        raise InputError("--sample-rows must be at least 100.")
    prepare_runs_dir(runs_dir)  # a runs folder that is a file fails now; killed trainings' leftovers go
    clock = StageClock(progress, stages=STAGES)
    parts = input_parts(data, table=table, query=query)
    _check_columns(parts, spec)
    with dask_client(scheduler, workers=workers) as client:
        with clock("reading partitions (dask)"):
            table_info = _scan(client, parts, spec, config.seed)
            sample = _sample(client, parts, table_info, spec, sample_rows)
        with clock("checking the table"):
            fitted = _fitted_table(sample, spec, config)
        fitter = DaskChurnFitter(client, training_rows=lambda fmap: _training_rows(client, parts, fitted.plan, fmap))
        fit = fit_models(fitted.table, spec, config, splits=fitted.splits, progress=clock.report, churn_fitter=fitter)
        clock.timings.update(fit.seconds)
        segments = _segments(fit, fitted, spec, config, clock)
        with clock("scoring every customer (dask)"):
            scored = _score_all(client, parts, fitted, fit.models, segments, spec, progress=clock.within)
        engine = {"name": "dask", "scheduler": scheduler or f"LocalCluster({workers} workers)",
                  "workers": len(client.scheduler_info()["workers"]), "partitions": len(parts),
                  "rows": table_info.rows, "sample_rows": int(len(sample.frame))}
    from insight.batch.dask_run import write_dask_run

    return write_dask_run(runs_dir, scored, fit=fit, fitted=fitted, segments=segments, sample=sample,
                          table_info=table_info, spec=spec, config=config, truth=truth, engine=engine,
                          source_name=source_name, clock=clock)


# ------------------------------------------------------------------------------------- reading the table


@dataclass(frozen=True)
class TableInfo:
    rows: int
    columns: int
    offsets: np.ndarray
    """The first row of each partition in the whole table."""
    keys: np.ndarray
    fingerprint: str


def _check_columns(parts: list[Source], spec: DataSpec) -> None:
    """InputError unless every partition has the same columns, among them the spec's."""
    columns = parts[0].columns()
    for part in parts[1:]:
        if set(part.columns()) != set(columns):
            diff = sorted(set(part.columns()) ^ set(columns))
            raise InputError(f"{part.name}: its columns differ from {parts[0].name}'s ({', '.join(diff[:5])}); "
                             "every partition needs the same columns.")
    for role, name in [("id", spec.id_column), ("target", spec.target), *[("aux target", a) for a in spec.aux_targets],
                       *[("--keep", k) for k in spec.keep], *[("--actionable", a) for a in spec.actionable]]:
        if name not in columns:
            shown = ", ".join(columns[:30]) + (", …" if len(columns) > 30 else "")
            raise InputError(f"{role} column {name!r} is not in the table. Columns are: {shown}.")


def _scan(client: Client, parts: list[Source], spec: DataSpec, seed: int) -> TableInfo:
    """Row counts, ids (none missing, none twice) and the fingerprint of the whole table."""
    scans: list[tp.PartitionScan] = client.gather([client.submit(tp.scan_partition, p, spec.id_column, seed,
                                                                 pure=False) for p in parts])
    rows = np.array([s.rows for s in scans], dtype=np.int64)
    if rows.sum() == 0:
        raise InputError("the table is empty (no rows); give a table with one row per customer.")
    missing = sum(s.missing_ids for s in scans)
    if missing:
        raise InputError(f"id column {spec.id_column!r} has {missing} empty values; every customer needs an id.")
    keys = np.concatenate([s.keys for s in scans])
    values, first, counts = np.unique(keys, return_index=True, return_counts=True)
    if (counts > 1).any():
        repeated = keys == values[counts > 1][0]
        where = int(np.flatnonzero(repeated)[1])
        offsets = np.concatenate([[0], np.cumsum(rows)[:-1]])
        i = int(np.searchsorted(offsets, where, side="right") - 1)
        example = client.submit(tp.id_at, parts[i], spec.id_column, where - int(offsets[i]), pure=False).result()
        raise InputError(f"id column {spec.id_column!r} has {int((counts - 1)[counts > 1].sum())} duplicated values "
                         f"(e.g. {example!r}); ids must be unique: deduplicate the table or choose another --id.")
    digest = hashlib.sha256()  # insight.runs.writer.fingerprint of the whole table, partition by partition
    digest.update("\x1f".join(scans[0].columns).encode())
    for s in scans:
        digest.update(s.row_hashes.tobytes())
    return TableInfo(rows=int(rows.sum()), columns=len(scans[0].columns),
                     offsets=np.concatenate([[0], np.cumsum(rows)[:-1]]).astype(np.int64), keys=keys,
                     fingerprint=digest.hexdigest())


@dataclass(frozen=True)
class Sample:
    frame: pd.DataFrame
    """The sampled rows, raw, in table order."""
    rows: np.ndarray
    """Their positions in the whole table."""
    target_counts: pd.Series
    """The raw target's value counts over the whole table."""


def _sample(client: Client, parts: list[Source], info: TableInfo, spec: DataSpec, size: int) -> Sample:
    """The `size` customers with the smallest seeded id hashes (a uniform random sample, the same for the same
    customers and seed however they are partitioned), in table order."""
    chosen = np.ones(info.rows, dtype=bool)
    if info.rows > size:
        chosen = info.keys <= np.partition(info.keys, size - 1)[size - 1]
    ends = np.append(info.offsets[1:], info.rows)
    positions = [np.flatnonzero(chosen[start:end]) for start, end in zip(info.offsets, ends, strict=True)]
    results = client.gather([client.submit(tp.sample_partition, p, pos, spec.target, pure=False)
                             for p, pos in zip(parts, positions, strict=True)])
    frame = pd.concat([r[0] for r in results], ignore_index=True)
    counts = pd.concat([r[1] for r in results]).groupby(level=0, dropna=False).sum()
    return Sample(frame=frame, rows=np.flatnonzero(chosen), target_counts=counts)


@dataclass(frozen=True)
class FittedTable:
    """The sample cleaned (schema and guards from it), how every partition is cleaned and split, the sample's
    splits, and the whole table's churn rate."""

    table: Any
    plan: tp.TablePlan
    splits: Any
    churn_rate: float


def _fitted_table(sample: Sample, spec: DataSpec, config: TrainConfig) -> FittedTable:
    from insight.data import schema
    from insight.models.recipe import Splits

    table = schema.clean_table(sample.frame, spec)
    raw_target = sample.frame[spec.target]
    values = () if pd.api.types.is_numeric_dtype(raw_target) or pd.api.types.is_bool_dtype(raw_target) else tuple(
        sorted(set(raw_target.astype("string").str.strip().str.lower().dropna()) - {""}))
    plan = tp.TablePlan(spec=spec, schema=table.schema, target_values=values, seed=config.seed,
                        test_size=config.test_size, valid_size=config.valid_size)
    y = table.frame[spec.target].to_numpy(dtype=np.float64)
    split = plan.splits(table.frame[spec.id_column], y)
    splits = Splits(train=np.flatnonzero(split == tp.TRAIN), valid=np.flatnonzero(split == tp.VALID),
                    test=np.flatnonzero(split == layout.TEST_SPLIT))
    if min(len(splits.train), len(splits.valid)) == 0:
        raise InputError("the sample has no training or no validation customers; give more labelled rows.")
    counts = sample.target_counts  # every customer's label, read as the sample's was
    labels = plan.target(pd.Series(counts.index, dtype=sample.frame[spec.target].dtype)).to_numpy()
    known = ~np.isnan(labels)
    churn_rate = float((labels[known] * counts.to_numpy()[known]).sum() / counts.to_numpy()[known].sum())
    return FittedTable(table=table, plan=plan, splits=splits, churn_rate=churn_rate)


def _training_rows(client: Client, parts: list[Source], plan: tp.TablePlan, fmap: FeatureMap) -> DaskTrainingRows:
    """Every partition's labelled training and validation rows, encoded by `fmap`, kept on the workers:
    partition i on worker i mod n (sorted addresses), so that each worker holds a like share of the data."""
    import dask.dataframe as dd

    from insight.models.churn_dask import DaskTrainingRows

    addresses = sorted(client.scheduler_info()["workers"])
    frames, where = [], []
    for i, part in enumerate(parts):
        worker = [addresses[i % len(addresses)]]
        frames.append(client.submit(tp.training_partition, part, plan, fmap, workers=worker,
                                    allow_other_workers=True, pure=False))
        where.append(worker)
    lengths = client.gather([client.submit(_rows, f, workers=w, allow_other_workers=True) for f, w in
                             zip(frames, where, strict=True)])
    kept = [(f, w) for f, w, n in zip(frames, where, lengths, strict=True) if n]
    if not kept:
        raise InputError("no labelled customers among the training rows; the churn column has no values.")
    X = [client.submit(operator.itemgetter(0), f, workers=w, allow_other_workers=True) for f, w in kept]
    y = [client.submit(operator.itemgetter(1), f, workers=w, allow_other_workers=True) for f, w in kept]
    meta = pd.DataFrame({n: pd.Series(dtype=np.float64) for n in fmap.names})
    return DaskTrainingRows(X=dd.from_delayed(X, meta=meta, verify_meta=False),
                            y=dd.from_delayed(y, meta=pd.Series(dtype=np.float64, name=tp.LABEL), verify_meta=False),
                            rows=int(sum(lengths)), partitions=len(kept))


def _rows(rows: tuple[pd.DataFrame, pd.Series]) -> int:
    return len(rows[1])


# ------------------------------------------------------------------------------------ segments and scoring


@dataclass(frozen=True)
class SampleSegments:
    latent: np.ndarray
    projection: Any
    found: Any
    reference: tp.MapReference


def _segments(fit: Any, fitted: FittedTable, spec: DataSpec, config: TrainConfig, clock: StageClock) -> SampleSegments:
    """UMAP and segments of the sample's latent vectors (the test customers' outcomes unseen)."""
    from insight.models.recipe import score_matrix, targets_of
    from insight.segments import clustering

    latent = score_matrix(fit.models, fit.X, latent=True, threads=config.threads).latent
    assert latent is not None
    with clock("projecting with UMAP"):
        projection = clustering.project(latent, config=config.segments, seed=config.seed)
    with clock("finding segments"):
        held_out = np.zeros(len(latent), dtype=bool)
        held_out[fitted.splits.test] = True
        known = {name: np.where(held_out, np.nan, v) for name, v in targets_of(fitted.table, spec).items()}
        found = clustering.cluster(latent, projection, config=config.segments, seed=config.seed, targets=known)
    rows = projection.fit_rows
    ids = fitted.table.frame[spec.id_column].to_numpy()
    reference = tp.MapReference(ids=ids[rows], latent=latent[rows].astype(np.float32), xy=projection.xy[rows],
                                labels=found.labels[rows])
    return SampleSegments(latent=latent, projection=projection, found=found, reference=reference)


def _score_all(client: Client, parts: list[Source], fitted: FittedTable, models: Any, segments: SampleSegments,
               spec: DataSpec, *, progress: Callable[[str, float], None]) -> list[tp.ScoredPart]:
    """Every partition scored on the workers, gathered as each finishes (in partition order)."""
    from distributed import as_completed

    from insight.data.spec import resolved_spec, revenue_column
    from insight.decisions.risk_bands import risk_band_thresholds

    revenue = revenue_column(spec, fitted.table.frame.columns)
    plan = replace(fitted.plan, spec=resolved_spec(spec, revenue=revenue, features=models.feature_names))
    job = tp.ScoringJob(plan=plan, models=tp.ShippedModels.of(models, uuid.uuid4().hex),
                        reference=segments.reference, risk_bands=risk_band_thresholds(fitted.churn_rate))
    shipped = client.scatter(job, broadcast=True, hash=False)
    futures = [client.submit(tp.score_partition, p, shipped, pure=False) for p in parts]
    index = {f.key: i for i, f in enumerate(futures)}
    out: list[tp.ScoredPart | None] = [None] * len(parts)
    try:
        for done, future in enumerate(as_completed(futures), start=1):
            out[index[future.key]] = future.result()
            future.release()
            progress("scoring every customer (dask)", done / len(parts))
    finally:
        client.cancel([f for f in futures if not f.done()])
    return [p for p in out if p is not None]
