"""Score a partitioned data set with a saved run, partition by partition, locally or on a Dask cluster.

For every customer: churn probability, risk band, the three largest reasons, the multi-task latent vector,
the segment and the map position. Each input partition (a Parquet file, or a CSV file) is scored on its
own by `PartitionScorer`, a pure function of the partition given the run, and becomes one output Parquet
file `part.<i>.parquet`:

    <id column>, churn_probability, risk_band, reason_1, reason_2, reason_3,
    segment_id, segment_name, x, y, z0 .. z<K-1>

The models are the run's own files: the LightGBM churn model through `SavedChurnModel`, the multi-task
network from its state_dict (`weights_only=True`), and the segment and map position by the same
nearest-neighbour placement that training uses for customers outside the UMAP fit sample (positions from
the run's fitted sample in latent.parquet / customers.parquet, segments by a vote of labelled neighbours).
What travels to a Dask worker is `PartitionScorer`, which holds only the run's path; each worker process
loads (and verifies) the run once and caches it. Every partition is scored single-threaded (LightGBM,
torch and BLAS), so the same partitioning gives bit-identical results on either engine.

Input handling (never a silent wrong score):

- the id column and every feature column the model was trained on must be present (InputError listing the
  missing ones); extra columns are ignored; a feature column may be empty (scored as missing);
- blank and empty values are missing; numbers may be text (currency signs, thousands separators and
  percent signs are removed as in training), but any value that cannot be read as its column's type (a
  number, yes/no, a date) is an InputError naming the column, an example value and its customer;
- categories not seen in training are scored the way training treats rare categories: as "Other" when the
  training data pooled rare categories into "Other", else as missing. They are counted per column and
  reported in a warning.
"""

from __future__ import annotations

import functools
import logging
import os
import re
import shutil
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from insight.errors import InputError, RunError
from insight.runs import layout
from insight.runs.manifest import segment_profiles
from insight.data.features import OTHER, Feature, FeatureMap
from insight.data.schema import _NUMBER_JUNK, FALSE_TOKENS, TRUE_TOKENS, Role, coerce_column

if TYPE_CHECKING:
    from insight.models.multitask import MultitaskModel
    from insight.models.scoring import SavedChurnModel

log = logging.getLogger(__name__)

ENGINES = ("local", "dask")
PARQUET_SUFFIXES = (".parquet", ".pq")
CSV_SUFFIXES = (".csv", ".csv.gz", ".txt")
SCORE_COLUMNS = ("churn_probability", "risk_band", "reason_1", "reason_2", "reason_3", "segment_id",
                 "segment_name", "x", "y")
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

    @property
    def output_columns(self) -> list[str]:
        return [self.id_column, *SCORE_COLUMNS, *self.latent_columns]

    @property
    def latent_columns(self) -> list[str]:
        return [f"z{i}" for i in range(self.latent_dim)]

    @property
    def categorical(self) -> list[Feature]:
        return [f for f in self.fmap.features if f.is_categorical]


@dataclass(frozen=True)
class ScoringModels:
    """A run's models and the reference customers that place new ones on its map (cached per process)."""

    churn: SavedChurnModel
    multitask: MultitaskModel
    fitted_latent: np.ndarray
    fitted_xy: np.ndarray
    known_latent: np.ndarray
    known_labels: np.ndarray


@functools.lru_cache(maxsize=4)
def load_scoring_run(path: str) -> ScoringRun:
    """Open and verify a run (RunError when a file fails its checksum); cached per process."""
    from insight.runs.run import open_run

    run = open_run(Path(path), verify=True)
    description = run.json(layout.MULTITASK_SHAPE)
    from insight.segments.clustering import UNASSIGNED, UNASSIGNED_NAME

    names = {p.id: p.name for p in segment_profiles(run.json(layout.SEGMENTS))}
    names.setdefault(UNASSIGNED, UNASSIGNED_NAME)
    return ScoringRun(path=run.path, run_id=run.id, id_column=run.manifest.spec.id_column,
                      fmap=FeatureMap.from_dict(run.json(layout.FEATURES)),
                      latent_dim=int(description["config"]["latent_dim"]),
                      risk_bands=run.manifest.risk_bands, segment_names=names)


@functools.lru_cache(maxsize=2)
def load_scoring_models(path: str) -> ScoringModels:
    """Load a run's churn model, multi-task network and map reference; cached per process (per worker)."""
    import pyarrow.parquet as pq

    from insight.models.multitask import MultitaskModel
    from insight.runs.run import open_run
    from insight.models.scoring import SavedChurnModel
    from insight.segments.clustering import UNASSIGNED, fit_sample_rows

    info = load_scoring_run(path)  # verifies the checksums once per process
    run = open_run(info.path, verify=False)
    started = time.perf_counter()
    churn = SavedChurnModel.from_run(run)
    multitask = MultitaskModel.from_saved(run.json("multitask.json"), run.bytes("multitask.pt"))
    latent_table = pq.read_table(run.file("latent.parquet"))
    latent = np.column_stack([latent_table.column(c).to_numpy() for c in info.latent_columns]).astype(np.float32)
    customers = _in_latent_order(run, info, latent_table)
    config = run.manifest.train_config
    fit_rows = fit_sample_rows(len(latent), sample=config.segments.fit_sample, seed=config.seed)
    stored = run.manifest.segment_report.get("projection", {}).get("fit_rows")
    if stored is not None and int(stored) != len(fit_rows):
        log.warning("run %s: its map was fitted on %s customers, found %d; placing by those", info.run_id, stored,
                    len(fit_rows))
    xy = customers[["x", "y"]].to_numpy(dtype=np.float32)
    labels = customers["segment_id"].to_numpy(dtype=np.int64)
    known = fit_rows[labels[fit_rows] != UNASSIGNED]
    log.info("loaded run %s for scoring in %.1f s (%d reference customers)", info.run_id,
             time.perf_counter() - started, len(fit_rows))
    return ScoringModels(churn=churn, multitask=multitask, fitted_latent=latent[fit_rows], fitted_xy=xy[fit_rows],
                         known_latent=latent[known], known_labels=labels[known])


def _in_latent_order(run: Any, info: ScoringRun, latent_table: Any) -> pd.DataFrame:
    """Every customer's segment_id, x and y, row for row with latent.parquet: that file keeps the training
    order, in which `segments.fit_sample_rows` finds the customers the map was fitted on, while
    customers.parquet is stored in id order (older runs: in training order too)."""
    import pyarrow.parquet as pq

    customers = pq.read_table(run.file("customers.parquet"), columns=[info.id_column, "segment_id", "x", "y"])
    if customers.num_rows != latent_table.num_rows:
        raise RunError(f"run {info.run_id}: customers.parquet and latent.parquet differ in length; "
                       "retrain it.")
    frame = customers.to_pandas()
    latent_ids = latent_table.column(info.id_column).to_pandas()
    if frame[info.id_column].equals(latent_ids):
        return frame
    position = pd.Index(frame[info.id_column]).get_indexer(latent_ids)
    if (position < 0).any():
        raise RunError(f"run {info.run_id}: customers.parquet and latent.parquet hold different customers; "
                       "retrain it.")
    return frame.iloc[position].reset_index(drop=True)


# ---------------------------------------------------------------------------------------- one partition


@dataclass(frozen=True)
class PartitionScorer:
    """`scorer(frame) -> scored frame`: picklable (it holds the run's path only); the models are loaded
    lazily in each process that calls it."""

    run_path: str

    def __call__(self, frame: pd.DataFrame) -> pd.DataFrame:
        info = load_scoring_run(self.run_path)
        clean = clean_features(frame, info)
        if len(frame) == 0:
            return empty_output(frame, info)
        return score_clean(frame[info.id_column], clean, info, load_scoring_models(self.run_path))


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


def score_clean(ids: pd.Series, clean: pd.DataFrame, info: ScoringRun, models: ScoringModels) -> pd.DataFrame:
    """Scores of clean feature columns (as `clean_features` returns them), single-threaded."""
    from insight.models.explain import reason_frame, shap_values
    from insight.data.features import encode
    from insight.pipeline import risk_bands
    from insight.segments.clustering import place_by_neighbours, vote_by_neighbours

    with single_threaded():
        X = encode(clean, info.fmap)
        model = models.churn.model
        raw = model.booster.predict(X, raw_score=True, num_threads=1)
        values, _ = shap_values(model, X, threads=1)
        reasons = reason_frame(X, values, raw, info.fmap, model.calibration)
        probability = model.calibration(raw)
        latent = models.multitask.latent(X).astype(np.float32, copy=False)
        xy = place_by_neighbours(models.fitted_latent, models.fitted_xy, latent)
        segment = vote_by_neighbours(models.known_latent, models.known_labels, latent)
    out = pd.DataFrame({info.id_column: ids.to_numpy()})
    out[info.id_column] = out[info.id_column].astype(ids.dtype)
    out["churn_probability"] = probability
    out["risk_band"] = pd.Series(np.asarray(risk_bands(probability, info.risk_bands)).astype(object),
                                 dtype="str")
    for j in (1, 2, 3):
        out[f"reason_{j}"] = pd.Series(reasons[f"reason_{j}"].to_numpy(dtype=object), dtype="str")
    out["segment_id"] = segment.astype(np.int64)
    out["segment_name"] = pd.Series([info.segment_names.get(int(s), str(s)) for s in segment], dtype="str")
    out["x"], out["y"] = xy[:, 0].astype(np.float32), xy[:, 1].astype(np.float32)
    for i, name in enumerate(info.latent_columns):
        out[name] = latent[:, i]
    return out


def empty_output(frame: pd.DataFrame, info: ScoringRun) -> pd.DataFrame:
    """The output of an empty partition, with the output's dtypes (also the Dask meta)."""
    ids = frame[info.id_column] if info.id_column in frame else pd.Series([], dtype="str")
    out = pd.DataFrame({info.id_column: ids.iloc[:0].reset_index(drop=True)})
    out["churn_probability"] = np.array([], dtype=np.float64)
    for name in ("risk_band", "reason_1", "reason_2", "reason_3"):
        out[name] = pd.Series([], dtype="str")
    out["segment_id"] = np.array([], dtype=np.int64)
    out["segment_name"] = pd.Series([], dtype="str")
    for name in ("x", "y", *info.latent_columns):
        out[name] = np.array([], dtype=np.float32)
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


# ------------------------------------------------------------------------------------------ validation


def check_columns(columns: list[str], info: ScoringRun, *, where: str) -> None:
    """InputError unless the id column and every feature column are present."""
    if info.id_column not in columns:
        raise InputError(f"{where}: no id column {info.id_column!r} (the id column of run {info.run_id}); "
                         "add it or rename yours to it.")
    missing = [f.name for f in info.fmap.features if f.name not in columns]
    if missing:
        shown = ", ".join(missing[:10]) + (f", … ({len(missing) - 10} more)" if len(missing) > 10 else "")
        raise InputError(f"{where}: lacks {len(missing)} feature column(s) the model was trained on: {shown}. "
                         "Add them; a column may be empty where values are unknown (scored as missing).")


def clean_features(frame: pd.DataFrame, info: ScoringRun) -> pd.DataFrame:
    """The feature columns in the clean dtypes training used; InputError for any value that is not missing
    and cannot be read as its column's type."""
    check_columns(list(frame.columns), info, where="the partition")
    ids = frame[info.id_column]
    if ids.isna().any():
        raise InputError(f"{int(ids.isna().sum())} row(s) have no {info.id_column!r}; every scored customer "
                         "needs an id.")
    return pd.DataFrame({f.name: _clean_column(frame[f.name], f, ids) for f in info.fmap.features},
                        index=frame.index)


def unseen_categories(series: pd.Series, feat: Feature) -> np.ndarray:
    """True where a categorical value is present but was not one of training's categories."""
    from insight.data.schema import coerce_categorical

    text = coerce_categorical(series)
    known = set(feat.categories) - {OTHER, f"{OTHER} "}
    return (text.notna() & ~text.isin(list(known))).to_numpy(dtype=bool)


def _clean_column(series: pd.Series, feat: Feature, ids: pd.Series) -> pd.Series:
    if feat.role is Role.CATEGORICAL:
        return coerce_column(series, feat.role, feat.name)
    text_present = _present(series)
    if feat.role is Role.DATE:
        if pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series):
            _bad_value(series, feat, ids, text_present, "dates (e.g. 2024-05-31)")
        clean = coerce_column(series, feat.role, feat.name)
        _bad_value(series, feat, ids, text_present & clean.isna().to_numpy(), "dates (e.g. 2024-05-31)")
        return clean
    if pd.api.types.is_datetime64_any_dtype(series):
        _bad_value(series, feat, ids, text_present, _kind(feat))
    if pd.api.types.is_bool_dtype(series) or pd.api.types.is_numeric_dtype(series):
        clean = series.astype("float64")
        if feat.role is Role.BOOLEAN:
            values = clean.to_numpy()
            _bad_value(series, feat, ids, ~np.isnan(values) & ~np.isin(values, [0.0, 1.0]), _kind(feat))
        return clean
    if feat.role is Role.BOOLEAN:
        tokens = series.astype("string").str.strip().str.lower()
        _bad_value(series, feat, ids, text_present & ~tokens.isin(list(TRUE_TOKENS | FALSE_TOKENS)).to_numpy(
            dtype=bool, na_value=False), _kind(feat))
        return coerce_column(series, feat.role, feat.name)
    text = series.astype("string").str.strip()
    numbers = pd.to_numeric(text.str.replace(_NUMBER_JUNK, "", regex=True).mask(text == ""), errors="coerce")
    _bad_value(series, feat, ids, text_present & numbers.isna().to_numpy(), _kind(feat))
    return coerce_column(series, feat.role, feat.name)


def _present(series: pd.Series) -> np.ndarray:
    """Not missing and not blank."""
    present = series.notna().to_numpy(dtype=bool)
    if series.dtype == object or pd.api.types.is_string_dtype(series):
        blank = series.astype("string").str.strip().eq("").to_numpy(dtype=bool, na_value=False)
        present = present & ~blank
    return present


def _kind(feat: Feature) -> str:
    return "yes/no values (yes, no, true, false, 1, 0)" if feat.role is Role.BOOLEAN else "numbers"


def _bad_value(series: pd.Series, feat: Feature, ids: pd.Series, bad: np.ndarray, kind: str) -> None:
    if not bad.any():
        return
    first = int(np.flatnonzero(bad)[0])
    raise InputError(f"column {feat.name!r} should hold {kind} but {int(bad.sum())} value(s) cannot be read as "
                     f"one, e.g. {str(series.iloc[first])!r} (customer {ids.iloc[first]!r}, column type {series.dtype}"
                     "); fix them, or leave them empty where unknown (blanks are scored as missing).")


# --------------------------------------------------------------------------------------------- a data set


def input_parts(data: Path) -> list[Path]:
    """The partitions of DATA: a Parquet or CSV file, or every Parquet file under a folder (natural order;
    names starting with '.' or '_' skipped)."""
    data = Path(data)
    if not data.exists():
        raise InputError(f"{data}: no such file or folder.")
    if data.is_file():
        if not _suffix(data).endswith(PARQUET_SUFFIXES + CSV_SUFFIXES):
            raise InputError(f"{data}: unknown file type; score a .parquet or .csv file or a folder of Parquet files.")
        return [data]
    parts = [p for p in data.rglob("*") if p.is_file() and _suffix(p).endswith(PARQUET_SUFFIXES)
             and not any(s.startswith((".", "_")) for s in p.relative_to(data).parts)]
    if not parts:
        raise InputError(f"{data}: the folder holds no Parquet files (*.parquet).")
    return sorted(parts, key=lambda p: [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", str(p))])


def read_part(path: Path) -> pd.DataFrame:
    """One partition as a frame (pyarrow for Parquet, pandas for CSV, as `insight train` reads them)."""
    import pyarrow.parquet as pq

    try:
        if _suffix(Path(path)).endswith(PARQUET_SUFFIXES):
            return pq.read_table(path).to_pandas()
        return pd.read_csv(path, low_memory=False)
    except (OSError, ValueError, pd.errors.ParserError, UnicodeDecodeError) as e:
        raise InputError(f"{path}: could not be read as a table ({type(e).__name__}: {e}).") from e


def part_columns(path: Path) -> list[str]:
    import pyarrow.parquet as pq

    try:
        if _suffix(Path(path)).endswith(PARQUET_SUFFIXES):
            return list(pq.read_schema(path).names)
        return [str(c) for c in pd.read_csv(path, nrows=0).columns]
    except (OSError, ValueError, pd.errors.ParserError, UnicodeDecodeError) as e:
        raise InputError(f"{path}: could not be read as a table ({type(e).__name__}: {e}).") from e


def part_name(i: int) -> str:
    return f"part.{i}.parquet"


def _suffix(path: Path) -> str:
    return "".join(path.suffixes).lower()


@dataclass
class ScoreReport:
    """What a scoring job did."""

    out: Path
    engine: str
    partitions: int
    rows: int
    seconds: float
    unseen_categories: dict[str, int] = field(default_factory=dict)


def score_dataset(
    run_path: Path,
    data: Path,
    out: Path,
    *,
    engine: str = "local",
    scheduler: str | None = None,
    workers: int = 2,
    overwrite: bool = False,
    progress: Progress | None = None,
) -> ScoreReport:
    """Score every partition of `data` with the run at `run_path` into the Parquet data set `out`.

    The output is written into a temporary folder beside `out` and renamed into place only when complete.
    `engine` "local" scores partition by partition in this process; "dask" on a Dask cluster: the one at
    `scheduler` (an address such as tcp://host:8786; workers must see `run_path`, `data` and `out` at the
    same paths) or a LocalCluster of `workers` single-threaded processes.
    """
    if engine not in ENGINES:
        raise InputError(f"unknown engine {engine!r}; use one of {', '.join(ENGINES)}.")
    from insight.runs.run import verify_run

    started = time.perf_counter()
    run_path, out = Path(run_path).resolve(), Path(out).resolve()
    problems = verify_run(run_path)
    if problems:
        raise RunError(f"run {run_path.name} is damaged or was modified and cannot be used: "
                       + "; ".join(problems[:5]) + ". Retrain it or pick another run.")
    info = load_scoring_run(str(run_path))
    parts = [p.resolve() for p in input_parts(Path(data))]
    for part in parts:
        check_columns(part_columns(part), info, where=str(part))
    _check_out(out, parts, overwrite=overwrite)
    log.info("scoring %d partition(s) of %s with run %s on the %s engine", len(parts), data, info.run_id, engine)
    tmp = out.parent / f".{out.name}.tmp-{uuid.uuid4().hex[:8]}"
    tmp.mkdir(parents=True)
    try:
        if engine == "local":
            checks = _score_local(parts, tmp, str(run_path), progress)
        else:
            checks = _score_dask(parts, tmp, str(run_path), scheduler=scheduler, workers=workers, progress=progress)
        _replace(tmp, out)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    totals = checks.sum(axis=0) if len(checks) else pd.Series({ROWS: 0})
    unseen = {k: int(v) for k, v in totals.items() if k != ROWS and v > 0}
    report = ScoreReport(out=out, engine=engine, partitions=len(parts), rows=int(totals.get(ROWS, 0)),
                         seconds=round(time.perf_counter() - started, 2), unseen_categories=unseen)
    for name, count in unseen.items():
        pooled = {OTHER, f"{OTHER} "} & set(info.fmap[name].categories)
        fallback = repr(pooled.pop()) if pooled else "missing"
        log.warning("%s: %d value(s) in categories not seen in training, scored as %s", name, count, fallback)
    log.info("scored %d customers in %d partition(s) into %s in %.1f s", report.rows, report.partitions, out,
             report.seconds)
    return report


def _score_local(parts: list[Path], tmp: Path, run_path: str, progress: Progress | None) -> pd.DataFrame:
    scorer, checker = PartitionScorer(run_path), PartitionChecker(run_path)
    checks = []
    for i, part in enumerate(parts):
        if progress:
            progress(f"scoring partition {i + 1}/{len(parts)}", i / len(parts))
        frame = read_part(part)
        checks.append(checker(frame))
        scorer(frame).to_parquet(tmp / part_name(i), index=False, compression="zstd")
        log.info("partition %d/%d: %s, %d rows", i + 1, len(parts), part.name, len(frame))
    if progress:
        progress("scored", 1.0)
    return pd.concat(checks, ignore_index=True)


def _score_dask(parts: list[Path], tmp: Path, run_path: str, *, scheduler: str | None, workers: int,
                progress: Progress | None) -> pd.DataFrame:
    import dask
    import dask.dataframe as dd
    from distributed import Client, LocalCluster

    scorer, checker = PartitionScorer(run_path), PartitionChecker(run_path)
    # Partitions as `read_part` gives them (no conversion to pyarrow strings): the same frames, hence the
    # same scores, as the local engine.
    with dask.config.set({"dataframe.convert-string": False}):
        if all(_suffix(p).endswith(PARQUET_SUFFIXES) for p in parts):
            frames = dd.read_parquet([str(p) for p in parts], split_row_groups=False, aggregate_files=False,
                                     calculate_divisions=False)
        else:
            frames = dd.from_map(read_part, parts, enforce_metadata=False)
        if frames.npartitions != len(parts):
            raise InputError(f"Dask read {len(parts)} file(s) as {frames.npartitions} partitions; expected one "
                             "per file.")
        scored = frames.map_partitions(scorer, meta=scorer(frames._meta))
        checks = frames.map_partitions(checker, meta=checker(frames._meta))
        write = scored.to_parquet(str(tmp), write_index=False, compression="zstd", write_metadata_file=False,
                                  name_function=part_name, compute=False)
        cluster = None
        try:
            if scheduler:
                try:
                    client = Client(scheduler, timeout="20s")
                except (OSError, TimeoutError) as e:
                    raise InputError(f"could not connect to the Dask scheduler at {scheduler} ({e}).") from e
            else:
                # A failing task is re-raised here; the workers' own error logs would only repeat it.
                quiet = logging.WARNING if log.isEnabledFor(logging.INFO) else logging.CRITICAL
                cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                       dashboard_address=":0", silence_logs=quiet)
                client = Client(cluster)
            with client:
                log.info("Dask: %d worker(s), scheduler %s", len(client.scheduler_info()["workers"]),
                         client.scheduler.address)
                futures = client.compute([write, checks])
                if progress:
                    try:
                        _watch(futures, progress)
                    except Exception as e:  # noqa: BLE001 - the bar is cosmetic; gather reports real failures
                        log.debug("no progress from the scheduler: %s", e)
                _, check_frame = client.gather(futures)
        finally:
            if cluster is not None:
                cluster.close()
    return check_frame.reset_index(drop=True)


def _watch(futures: list[Any], progress: Progress) -> None:
    """Report the share of finished tasks until every future is done."""
    from distributed.diagnostics.progressbar import TextProgressBar

    class _Bar(TextProgressBar):
        def _draw_bar(self, remaining: int, all: int, **kwargs: Any) -> None:  # noqa: A002
            progress("scoring partitions (dask)", (1 - remaining / all) if all else 1.0)

        def _draw_stop(self, **kwargs: Any) -> None:
            if kwargs.get("status") == "finished":
                progress("scored", 1.0)

    _Bar(futures, interval="250ms")


def _check_out(out: Path, parts: list[Path], *, overwrite: bool) -> None:
    if out.exists() and not out.is_dir():
        raise InputError(f"--out {out} is a file; give a folder.")
    if out.exists() and any(out.iterdir()) and not overwrite:
        raise InputError(f"--out {out} is not empty; pass --overwrite to replace it, or choose another folder.")
    if any(out == p or out in p.parents for p in parts):
        raise InputError(f"--out {out} holds input data; write the scores somewhere else.")


def _replace(tmp: Path, out: Path) -> None:
    """Move the finished folder into place; a replaced folder is removed only after the move."""
    old = None
    if out.exists():
        old = out.parent / f".{out.name}.old-{uuid.uuid4().hex[:8]}"
        os.replace(out, old)
    os.replace(tmp, out)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
