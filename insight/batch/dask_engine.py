"""Work on a Dask cluster: an existing one (its scheduler's address) or a LocalCluster of single-threaded worker
processes that listens on 127.0.0.1 only. `dask_client` is how `insight score --engine dask` and
`insight train --engine dask` (insight.batch.dask_train) reach a cluster.

Scoring sends each worker the partition scorer and checker, which hold only the run's path; each worker
loads (and verifies) the run once."""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

import pandas as pd

from insight.data.sources import FileSource, Source
from insight.errors import InputError

if TYPE_CHECKING:
    from distributed import Client

log = logging.getLogger(__name__)

Progress = Callable[[str, float], None]
Partition = Callable[[pd.DataFrame], pd.DataFrame]

LOOPBACK = "127.0.0.1"
CONNECT_TIMEOUT = "20s"


@contextmanager
def dask_client(scheduler: str | None, *, workers: int = 2) -> Iterator[Client]:
    """A client of the cluster at `scheduler` (InputError when it cannot be reached), else of a new LocalCluster
    of `workers` single-threaded processes, closed on exit. The LocalCluster's scheduler, workers and HTTP
    endpoint (dashboard) listen on 127.0.0.1 only, the HTTP endpoint on a free port; its workers print to
    standard error (with INFO logging) or nowhere, never into the command's output."""
    from distributed import Client, LocalCluster

    cluster = None
    if scheduler:
        _check_reachable(scheduler)
        try:
            client = Client(scheduler, timeout=CONNECT_TIMEOUT)
        except (OSError, TimeoutError) as e:
            raise InputError(f"could not connect to the Dask scheduler at {scheduler} ({e}).") from e
    else:
        # A failing task is re-raised by the client; the workers' own error logs would only repeat it.
        quiet = logging.WARNING if log.isEnabledFor(logging.INFO) else logging.CRITICAL
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, host=LOOPBACK,
                               dashboard_address=f"{LOOPBACK}:0", silence_logs=quiet)
        client = Client(cluster)
    try:
        with client:
            if cluster is not None:
                client.run(_worker_stdout, log.isEnabledFor(logging.INFO))
            log.info("Dask: %d worker(s), scheduler %s", len(client.scheduler_info()["workers"]),
                     client.scheduler.address)
            yield client
    finally:
        if cluster is not None:
            cluster.close()


def _check_reachable(scheduler: str) -> None:
    """Fail at once, with a clear message, when nothing listens at a tcp:// scheduler address (the Dask client
    would retry until its timeout)."""
    url = urlparse(scheduler if "://" in scheduler else f"tcp://{scheduler}")
    if url.scheme != "tcp":
        return
    try:
        port = url.port
    except ValueError:
        port = None
    if not url.hostname or port is None:
        raise InputError(f"--scheduler {scheduler!r} is not an address like tcp://host:8786.")
    try:
        socket.create_connection((url.hostname, port), timeout=5).close()
    except OSError as e:
        raise InputError(f"could not connect to the Dask scheduler at {scheduler} ({e.strerror or e}); start it "
                         "first, or leave out --scheduler to use a LocalCluster.") from e


def _worker_stdout(to_stderr: bool) -> None:
    """On a LocalCluster worker, which shares the command's standard output (its result, such as the run id):
    send what the worker prints (LightGBM's network set-up prints from threads of its own) to standard error,
    or nowhere."""
    import os
    import sys

    sys.stdout.flush()
    target = os.dup(2) if to_stderr else os.open(os.devnull, os.O_WRONLY)
    os.dup2(target, 1)
    os.close(target)


def score_on_dask(parts: list[Source], tmp: Path, scorer: Partition, checker: Partition, *,
                  part_name: Callable[[int], str], scheduler: str | None, workers: int,
                  progress: Progress | None) -> pd.DataFrame:
    """Score every part into `tmp` (one output file per part, named by `part_name`); the checker's rows."""
    import dask
    import dask.dataframe as dd

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
        with dask_client(scheduler, workers=workers) as client:
            futures = client.compute([write, checks])
            if progress:
                try:
                    _watch(futures, progress)
                except Exception as e:  # noqa: BLE001 - the bar is cosmetic; gather reports real failures
                    log.debug("no progress from the scheduler: %s", e)
            _, check_frame = client.gather(futures)
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
