"""Scoring partitions on a Dask cluster: an existing one (its scheduler's address) or a LocalCluster of
single-threaded worker processes. What travels to a worker is the partition scorer and checker, which hold
only the run's path; each worker loads (and verifies) the run once."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from insight.data.sources import FileSource, Source
from insight.errors import InputError

log = logging.getLogger(__name__)

Progress = Callable[[str, float], None]
Partition = Callable[[pd.DataFrame], pd.DataFrame]


def score_on_dask(parts: list[Source], tmp: Path, scorer: Partition, checker: Partition, *,
                  part_name: Callable[[int], str], scheduler: str | None, workers: int,
                  progress: Progress | None) -> pd.DataFrame:
    """Score every part into `tmp` (one output file per part, named by `part_name`); the checker's rows."""
    import dask
    import dask.dataframe as dd
    from distributed import Client, LocalCluster

    # Partitions as the sources read them (no conversion to pyarrow strings): the same frames, hence the
    # same scores, as the local engine.
    with dask.config.set({"dataframe.convert-string": False}):
        parquet = [p for p in parts if isinstance(p, FileSource) and p.is_parquet]
        if len(parquet) == len(parts):
            frames = dd.read_parquet([str(p.path) for p in parquet], split_row_groups=False, aggregate_files=False,
                                     calculate_divisions=False)
        else:
            frames = dd.from_map(_read, parts, enforce_metadata=False)
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


def _read(part: Source) -> pd.DataFrame:
    return part.read()


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
