"""Score a partitioned data set with a saved run, partition by partition, locally or on a Dask cluster.

For every customer: churn probability, risk band, the three largest reasons, the multi-task latent vector,
the segment and the map position. Each input partition (a Parquet file, or a CSV file) is scored on its
own by `PartitionScorer`, a pure function of the partition given the run, and becomes one output Parquet
file `part.<i>.parquet`:

    <id column>, churn_probability, risk_band, reason_1, reason_2, reason_3,
    segment_id, segment_name, x, y, z0 .. z<K-1>  (and, for a run with --duration, the survival columns of
    insight.batch.survival_scores; then, for a run with --treatment, the uplift columns of
    insight.batch.uplift_scores: uplift, uplift_lower, uplift_upper, churn_if_not_offered, uplift_group,
    response_reason_1 .. 3)

The models are the run's own files (`insight.runs.models.load_models`: LightGBM from its text model, the
multi-task network from its state_dict with `weights_only=True`) and they score through the one scoring path,
`insight.models.recipe.score`. The segment and map position come from the same nearest-neighbour placement
that training uses for customers outside the UMAP fit sample, against the fitted sample the run stores
(map_fit.parquet: latent vectors, map positions and segments; runs written before schema 2 lack it and are
refused with a message to retrain).
What travels to a Dask worker is `PartitionScorer`, which holds only the run's path; each worker process
loads (and verifies) the run once and caches it. Every partition is scored single-threaded (LightGBM,
torch and BLAS), so the same partitioning gives bit-identical results on either engine.

Input is read through `insight.data.sources` (a file, or a folder of Parquet files, one part each) and
cleaned the one way, strictly (`insight.data.rows`: never a silent wrong score): every feature column must
be present, any value that cannot be read as its column's type is an InputError naming the column, an
example and its customer, and categories not seen in training are counted per column and reported in a
warning. The Dask engine lives in `insight.batch.dask_engine`.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import shutil
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from insight.data.features import OTHER, Feature, FeatureMap
from insight.data.rows import check_feature_columns, clean_rows, unseen_categories
from insight.data.sources import DatabaseSource, FileSource, Source, open_source
from insight.data.warehouse import WarehouseSource, masked_url
from insight.errors import InputError, RunError
from insight.runs import layout
from insight.runs.manifest import segment_profiles
from insight.batch.output_folder import PART as _PART, SCORES_MARKER, check_out
from insight.batch.survival_scores import empty_survival_columns, survival_scores
from insight.batch.uplift_scores import empty_uplift_columns, uplift_scores
from insight.survival.hazard import HazardModel
from insight.uplift.model import UpliftModel

if TYPE_CHECKING:
    from insight.models.recipe import Models

log = logging.getLogger(__name__)

ENGINES = ("local", "dask")
ROWS = "rows"
"""Column of the per-partition check frame that counts rows; the others count unseen categories."""

Progress = Callable[[str, float], None]
"""progress(stage, fraction of the whole job done), as in insight.pipeline."""


# --------------------------------------------------------------------------------------------- the run


@dataclass(frozen=True)
class ScoringRun:
    """What scoring needs to know about a run without loading its models (cheap, cached per process)."""

    path: Path
    run_id: str
    id_column: str
    fmap: FeatureMap
    latent_dim: int
    risk_bands: dict[str, float]
    segment_names: dict[int, str]
    survival: dict[str, Any] | None = None
    """The manifest's survival section (a run trained with --duration), else None."""
    uplift: dict[str, Any] | None = None
    """The manifest's uplift section (a run trained with --treatment), else None."""

    @property
    def latent_columns(self) -> list[str]:
        return layout.latent_columns(self.latent_dim)

    @property
    def categorical(self) -> list[Feature]:
        return [f for f in self.fmap.features if f.is_categorical]


@dataclass(frozen=True)
class ScoringModels:
    """A run's models and the reference customers that place new ones on its map (cached per process)."""

    models: Models
    fitted_latent: np.ndarray
    fitted_xy: np.ndarray
    known_latent: np.ndarray
    known_labels: np.ndarray
    survival: HazardModel | None = None
    uplift: UpliftModel | None = None


@functools.lru_cache(maxsize=4)
def load_scoring_run(path: str) -> ScoringRun:
    """Open and verify a run (RunError when a file fails its checksum, or when the run predates the stored
    map sample); cached per process."""
    from insight.runs.run import open_run
    from insight.segments.clustering import UNASSIGNED, UNASSIGNED_NAME

    run = open_run(Path(path), verify=True)
    if not run.file(layout.MAP_FIT).exists():
        raise RunError(f"run {run.id} was written by an older version of insight (run format "
                       f"{run.manifest.schema_version}) that did not store the customers its map was fitted on, "
                       "which scoring new customers needs; retrain with this version to score with it.")
    names = {p.id: p.name for p in segment_profiles(run.json(layout.SEGMENTS))}
    names.setdefault(UNASSIGNED, UNASSIGNED_NAME)
    return ScoringRun(path=run.path, run_id=run.id, id_column=run.manifest.spec.id_column,
                      fmap=FeatureMap.from_dict(run.json(layout.FEATURES)),
                      latent_dim=int(run.json(layout.MULTITASK_SHAPE)["config"]["latent_dim"]),
                      risk_bands=run.manifest.risk_bands, segment_names=names, survival=run.manifest.survival,
                      uplift=run.manifest.uplift)


@functools.lru_cache(maxsize=2)
def load_scoring_models(path: str) -> ScoringModels:
    """Load a run's churn model, multi-task network and map reference; cached per process (per worker)."""
    import pyarrow.parquet as pq

    from insight.runs.models import load_models
    from insight.runs.run import open_run
    from insight.segments.clustering import UNASSIGNED

    info = load_scoring_run(path)  # verifies the checksums once per process
    run = open_run(info.path, verify=False)
    started = time.perf_counter()
    models = load_models(run, multitask=True)
    fitted = pq.read_table(run.file(layout.MAP_FIT)).to_pandas()
    latent = fitted[info.latent_columns].to_numpy(dtype=np.float32)
    xy = fitted[[layout.MAP_X, layout.MAP_Y]].to_numpy(dtype=np.float32)
    labels = fitted[layout.SEGMENT_ID].to_numpy(dtype=np.int64)
    known = labels != UNASSIGNED
    log.info("loaded run %s for scoring in %.1f s (%d reference customers)", info.run_id,
             time.perf_counter() - started, len(fitted))
    survival = HazardModel.from_json(run.text(layout.SURVIVAL_MODEL)) if info.survival else None
    uplift = UpliftModel.from_json(run.text(layout.UPLIFT_MODEL)) if info.uplift else None
    return ScoringModels(models=models, fitted_latent=latent, fitted_xy=xy, known_latent=latent[known],
                         known_labels=labels[known], survival=survival, uplift=uplift)


# ---------------------------------------------------------------------------------------- one partition


@dataclass(frozen=True)
class PartitionScorer:
    """`scorer(frame) -> scored frame`: picklable (it holds the run's path only); the models are loaded
    lazily in each process that calls it."""

    run_path: str

    def __call__(self, frame: pd.DataFrame) -> pd.DataFrame:
        info = load_scoring_run(self.run_path)
        check_feature_columns(list(frame.columns), info.fmap, where="the partition", id_column=info.id_column,
                              run_id=info.run_id)
        ids = frame[info.id_column]
        if ids.isna().any():
            raise InputError(f"{int(ids.isna().sum())} row(s) have no {info.id_column!r}; every scored customer "
                             "needs an id.")
        clean = clean_rows(frame, info.fmap, ids=ids)
        if len(frame) == 0:
            return empty_output(frame, info)
        return score_clean(ids, clean, info, load_scoring_models(self.run_path), raw=frame)


@dataclass(frozen=True)
class PartitionChecker:
    """`checker(frame) -> one-row frame`: the partition's row count and unseen categories per column."""

    run_path: str

    def __call__(self, frame: pd.DataFrame) -> pd.DataFrame:
        info = load_scoring_run(self.run_path)
        counts = {ROWS: len(frame)}
        for feat in info.categorical:
            counts[feat.name] = int(unseen_categories(frame[feat.name], feat).sum()) if feat.name in frame else 0
        return pd.DataFrame({k: np.array([v], dtype=np.int64) for k, v in counts.items()})


def score_clean(ids: pd.Series, clean: pd.DataFrame, info: ScoringRun, models: ScoringModels, *,
                raw: pd.DataFrame) -> pd.DataFrame:
    """Scores of clean feature columns (as `insight.data.rows.clean_rows` returns them, from `raw`),
    single-threaded."""
    from insight.data.features import encode
    from insight.decisions.risk_bands import risk_bands
    from insight.models.recipe import score_matrix
    from insight.segments.clustering import place_by_neighbours, vote_by_neighbours

    with single_threaded():
        X = encode(clean, info.fmap)
        scores = score_matrix(models.models, X, explain=True, latent=True, threads=1)
        assert scores.latent is not None and scores.reasons is not None
        latent = scores.latent.astype(np.float32, copy=False)
        xy = place_by_neighbours(models.fitted_latent, models.fitted_xy, latent)
        segment = vote_by_neighbours(models.known_latent, models.known_labels, latent)
    out = pd.DataFrame({info.id_column: ids.to_numpy()})
    out[info.id_column] = out[info.id_column].astype(ids.dtype)
    out[layout.CHURN_PROBABILITY] = scores.probability
    out[layout.RISK_BAND] = pd.Series(np.asarray(risk_bands(scores.probability, info.risk_bands)).astype(object),
                                      dtype="str")
    for name in layout.REASONS:
        out[name] = pd.Series(scores.reasons[name].to_numpy(dtype=object), dtype="str")
    out[layout.SEGMENT_ID] = segment.astype(np.int64)
    out[layout.SEGMENT_NAME] = pd.Series([info.segment_names.get(int(s), str(s)) for s in segment], dtype="str")
    out[layout.MAP_X], out[layout.MAP_Y] = xy[:, 0].astype(np.float32), xy[:, 1].astype(np.float32)
    for i, name in enumerate(info.latent_columns):
        out[name] = latent[:, i]
    if info.survival and models.survival is not None:
        with single_threaded():
            out = pd.concat([out, survival_scores(raw.reset_index(drop=True), X, info.fmap, info.survival,
                                                  models.survival)], axis=1)
    if info.uplift and models.uplift is not None:  # the treatment column is never a feature: not needed here
        with single_threaded():
            out = pd.concat([out, uplift_scores(X, info.fmap, models.uplift)], axis=1)
    return out


def empty_output(frame: pd.DataFrame, info: ScoringRun) -> pd.DataFrame:
    """The output of an empty partition, with the output's dtypes (also the Dask meta)."""
    ids = frame[info.id_column] if info.id_column in frame else pd.Series([], dtype="str")
    out = pd.DataFrame({info.id_column: ids.iloc[:0].reset_index(drop=True)})
    out[layout.CHURN_PROBABILITY] = np.array([], dtype=np.float64)
    for name in (layout.RISK_BAND, *layout.REASONS):
        out[name] = pd.Series([], dtype="str")
    out[layout.SEGMENT_ID] = np.array([], dtype=np.int64)
    out[layout.SEGMENT_NAME] = pd.Series([], dtype="str")
    for name in (layout.MAP_X, layout.MAP_Y, *info.latent_columns):
        out[name] = np.array([], dtype=np.float32)
    if info.survival:
        empty_survival_columns(out, info.survival)
    if info.uplift:
        empty_uplift_columns(out, info.uplift)
    return out


@contextmanager
def single_threaded() -> Iterator[None]:
    """One thread for BLAS/OpenMP and torch while scoring a partition (deterministic, and one task per core)."""
    import torch
    from threadpoolctl import threadpool_limits

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with threadpool_limits(limits=1):
            yield
    finally:
        torch.set_num_threads(before)


# --------------------------------------------------------------------------------------------- a data set


def input_parts(data: str | Path, *, table: str | None = None, query: str | None = None,
                key: str | None = None) -> list[Source]:
    """The partitions of DATA (`insight.data.sources`): a Parquet, CSV or TSV file, every Parquet file under a
    folder, or one database table or query (with `key`, a database server's table in chunks ordered by that
    column: `insight.data.warehouse`); file paths resolved, so that Dask workers find them."""
    source = open_source(data, table=table, query=query)
    if key is not None and isinstance(source, WarehouseSource):
        source = source.chunked(key)
    return [FileSource(p.path.resolve()) if isinstance(p, FileSource) else p for p in source.parts()]


def _where(part: Source) -> str:
    return str(part.path) if isinstance(part, FileSource) else part.name


def part_name(i: int) -> str:
    return f"part.{i}.parquet"


@dataclass
class ScoreReport:
    """What a scoring job did (`out`: the folder, or the database table shown with its password masked)."""

    out: Path | str
    engine: str
    partitions: int
    rows: int
    seconds: float
    unseen_categories: dict[str, int] = field(default_factory=dict)
    monitoring: dict[str, Any] | None = None
    """The batch's monitoring report (`insight.monitoring.report`: drift, estimated and realised performance)."""


def score_dataset(
    run_path: Path,
    data: str | Path,
    out: Path | str,
    *,
    table: str | None = None,
    query: str | None = None,
    engine: str = "local",
    scheduler: str | None = None,
    workers: int = 2,
    overwrite: bool = False,
    runs_dir: Path | None = None,
    progress: Progress | None = None,
    labels: str | None = None,
) -> ScoreReport:
    """Score every partition of `data` (a file, a folder of Parquet files, or a database URL with `table` or
    `query`) with the run at `run_path` into the Parquet data set `out`, or, where `out` is a database URL with
    ?table=NAME, into that table (upserted by customer id in one transaction: `insight.batch.sql_out`).

    The output is written into a temporary folder beside `out` and renamed into place only when complete.
    `engine` "local" scores partition by partition in this process; "dask" on a Dask cluster: the one at
    `scheduler` (an address such as tcp://host:8786; workers must see `run_path`, `data` and `out` at the
    same paths) or a LocalCluster of `workers` single-threaded processes.

    `out` must not be, hold or lie inside runs (`runs_dir`, a run folder, a folder with LATEST); a non-empty
    `out` is replaced only with `overwrite`, and only when it holds nothing but a previous score output
    (SCORES_MARKER and the parts it lists). Every output gets its SCORES_MARKER.

    Every batch reports on itself (`insight.monitoring.report`, computed here on the driver from the written
    parts): a folder output gets _monitoring.json beside its parts (drift of every feature against the run's
    training customers, performance estimated without labels and, with `labels`, the column of DATA that
    holds the churn outcomes, the realised performance beside it), and the runs folder a batch record
    (`insight.monitoring.batches`). A `labels` column missing from DATA, or not readable as the run's churn
    values, is an InputError.
    """
    if engine not in ENGINES:
        raise InputError(f"unknown engine {engine!r}; use one of {', '.join(ENGINES)}.")
    from insight.runs.run import verify_run

    from insight.batch.sql_out import scores_table

    started = time.perf_counter()
    table_out = scores_table(out)  # --out postgresql://...?table=NAME: upserted there (insight.batch.sql_out)
    run_path, out = Path(run_path).resolve(), Path(out).resolve() if table_out is None else Path(".")
    problems = verify_run(run_path)
    if problems:
        raise RunError(f"run {run_path.name} is damaged or was modified and cannot be used: "
                       + "; ".join(problems[:5]) + ". Retrain it or pick another run.")
    info = load_scoring_run(str(run_path))
    parts = input_parts(data, table=table, query=query, key=info.id_column)
    for part in parts:
        check_feature_columns(part.columns(), info.fmap, where=_where(part), id_column=info.id_column,
                              run_id=info.run_id)
    if labels is not None:  # the batch's churn outcomes, for the realised performance beside the estimate
        from insight.monitoring.report import check_label_column

        check_label_column(parts, labels)
    if table_out is None:
        check_out(out, [p.path for p in parts if isinstance(p, FileSource)]
                   + [Path(p.file).resolve() for p in parts if isinstance(p, DatabaseSource)], overwrite=overwrite,
                   runs_dir=Path(runs_dir).resolve() if runs_dir is not None else None)
    log.info("scoring %d partition(s) of %s with run %s on the %s engine", len(parts), masked_url(str(data)),
             info.run_id, engine)
    if table_out is None:
        tmp = out.parent / f".{out.name}.tmp-{uuid.uuid4().hex[:8]}"
        tmp.mkdir(parents=True)
    else:  # the scored parts wait on local disk until one transaction writes them all
        import tempfile

        tmp = Path(tempfile.mkdtemp(prefix=".insight-scores-"))
    try:
        if engine == "local":
            checks = _score_local(parts, tmp, str(run_path), progress)
        else:
            from insight.batch.dask_engine import score_on_dask

            checks = score_on_dask(parts, tmp, PartitionScorer(str(run_path)), PartitionChecker(str(run_path)),
                                   part_name=part_name, scheduler=scheduler, workers=workers, progress=progress)
        from insight.monitoring.report import batch_report, write_report

        monitoring = batch_report(run_path, parts, tmp, data=data, engine=engine, labels=labels)
        if table_out is not None:
            from insight.batch.sql_out import write_scores

            write_scores(table_out, [tmp / part_name(i) for i in range(len(parts))], id_column=info.id_column,
                         run_id=info.run_id, scored_at=datetime.now(UTC))
        else:
            write_report(tmp, monitoring)  # _monitoring.json beside the parts, named in the marker
            _write_marker(tmp, run_id=info.run_id, data=data, engine=engine,
                          rows=int(checks[ROWS].sum()) if len(checks) else 0)
            _replace(tmp, out)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    totals = checks.sum(axis=0) if len(checks) else pd.Series({ROWS: 0})
    unseen = {k: int(v) for k, v in totals.items() if k != ROWS and v > 0}
    report = ScoreReport(out=out if table_out is None else table_out.name, engine=engine, partitions=len(parts),
                         rows=int(totals.get(ROWS, 0)),
                         seconds=round(time.perf_counter() - started, 2), unseen_categories=unseen,
                         monitoring=monitoring)
    from insight.monitoring.batches import record_batch

    record_batch(run_path.parent, monitoring, out=report.out)  # the run's own runs folder, outside the run
    for name, count in unseen.items():
        pooled = {OTHER, f"{OTHER} "} & set(info.fmap[name].categories)
        fallback = repr(pooled.pop()) if pooled else "missing"
        log.warning("%s: %d value(s) in categories not seen in training, scored as %s", name, count, fallback)
    log.info("scored %d customers in %d partition(s) into %s in %.1f s", report.rows, report.partitions, report.out,
             report.seconds)
    return report


def _score_local(parts: list[Source], tmp: Path, run_path: str, progress: Progress | None) -> pd.DataFrame:
    scorer, checker = PartitionScorer(run_path), PartitionChecker(run_path)
    checks = []
    for i, part in enumerate(parts):
        if progress:
            progress(f"scoring partition {i + 1}/{len(parts)}", i / len(parts))
        frame = part.read()
        checks.append(checker(frame))
        scorer(frame).to_parquet(tmp / part_name(i), index=False, compression="zstd")
        log.info("partition %d/%d: %s, %d rows", i + 1, len(parts), part.name, len(frame))
    if progress:
        progress("scored", 1.0)
    return pd.concat(checks, ignore_index=True)


def _write_marker(tmp: Path, *, run_id: str, data: str | Path, engine: str, rows: int) -> None:
    parts = sorted((p.name for p in tmp.iterdir() if _PART.fullmatch(p.name)),
                   key=lambda n: int(n.split(".")[1]))
    body = {"kind": "insight score output", "run_id": run_id, "data": masked_url(str(data)), "engine": engine,
            "rows": rows,
            "created": datetime.now(UTC).isoformat(timespec="seconds"), "parts": parts}
    from insight.monitoring.report import MONITORING_FILE

    if (tmp / MONITORING_FILE).is_file():
        body["monitoring"] = MONITORING_FILE
    (tmp / SCORES_MARKER).write_text(json.dumps(body, indent=2))


def _replace(tmp: Path, out: Path) -> None:
    """Move the finished folder into place; a replaced folder is removed only after the move."""
    old = None
    if out.exists():
        old = out.parent / f".{out.name}.old-{uuid.uuid4().hex[:8]}"
        os.replace(out, old)
    os.replace(tmp, out)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
