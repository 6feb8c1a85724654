"""What the job tests share: a small demo table, the spec `insight train` would get for it, checksums of a
folder, and waiting on a job's status."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from pathlib import Path

from insight.config import ChurnConfig, DataSpec, MultitaskConfig, SegmentConfig, TrainConfig
from insight.data.demo import AUX_TARGETS, ID_COLUMN, TARGET, demo_data
from insight.jobs import manager
from insight.jobs.folder import JobFolder, JobStatus
from insight.jobs.preview import training_spec

ROWS = 300
OWNER = "ana@example.com"


def quick_config() -> TrainConfig:
    """A training of a few seconds' work on a few hundred rows: one tree size, few epochs, one thread."""
    return TrainConfig(seed=0, threads=1,
                       churn=ChurnConfig(num_leaves_grid=(4,), inner_folds=2, max_rounds=300,
                                         early_stopping_rounds=20),
                       multitask=MultitaskConfig(max_epochs=8, patience=3, hidden=(32,)),
                       segments=SegmentConfig(n_epochs=40, fit_sample=1500, trustworthiness_sample=300))


def demo_csv(rows: int = ROWS, seed: int = 0) -> bytes:
    """A demo customer table as the CSV bytes an analyst would upload."""
    return demo_data(rows=rows, seed=seed).customers.to_csv(index=False).encode()


def demo_table_spec(columns: list[str]) -> DataSpec:
    """`insight train --id customer_id --target churned --aux revenue_next_12m --aux seat_change_next_12m`."""
    return training_spec(columns, id_column=ID_COLUMN, target=TARGET, aux=AUX_TARGETS)


def checksums(folder: Path) -> dict[str, str]:
    """sha256 of every file under `folder`, by relative path."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def wait_until(folder: JobFolder, done: Callable[[JobStatus], bool], *, timeout: float = 120.0,
               seen: list[JobStatus] | None = None) -> JobStatus:
    """Poll the job's status (as the page does) until `done` holds; every status read goes into `seen`."""
    deadline = time.monotonic() + timeout
    while True:
        status = manager.job_status(folder)
        if seen is not None:
            seen.append(status)
        if done(status):
            return status
        if time.monotonic() > deadline:
            log = folder.file("worker.log")
            raise AssertionError(f"job {folder.id} still {status} after {timeout} s; its log:\n"
                                 f"{log.read_text()[-3000:] if log.exists() else '(none)'}")
        time.sleep(0.1)


def run_folders(runs_dir: Path) -> set[str]:
    """Every folder directly in the runs folder except the jobs' (runs and any temporary ones)."""
    return {p.name for p in runs_dir.iterdir() if p.is_dir() and p.name != ".jobs"}
