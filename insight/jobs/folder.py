"""A training job's folder and its files: what was uploaded, what to train, and how far it got.

    <runs_dir>/.jobs/<job_id>/job.json      who uploaded what and when (JobInfo)
    <runs_dir>/.jobs/<job_id>/upload.csv    the uploaded table (upload.parquet...: the suffix is the format)
    <runs_dir>/.jobs/<job_id>/spec.json     what to train: the DataSpec and TrainConfig (written at start)
    <runs_dir>/.jobs/<job_id>/status.json   state, stage, progress, pid, heartbeat, run id or error
    <runs_dir>/.jobs/<job_id>/worker.pid    the worker's process id (also its process group), written at start
    <runs_dir>/.jobs/<job_id>/cancel        present once cancelling was asked for
    <runs_dir>/.jobs/<job_id>/worker.log    the worker's log

The folder starts with a dot, so `insight.runs.run.list_runs` never takes it for a run. Every JSON file is
written to a temporary name and renamed over the old one, so a reader never sees half a file.
"""

from __future__ import annotations

import json
import os
import uuid
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

from insight.config import DataSpec, TrainConfig

JOBS_FOLDER = ".jobs"
JOB_INFO, SPEC, STATUS, PID = "job.json", "spec.json", "status.json", "worker.pid"
CANCEL, LOG = "cancel", "worker.log"
UPLOAD_STEM = "upload"

DRAFT, QUEUED, RUNNING, DONE, FAILED, CANCELLED = "draft", "queued", "running", "done", "failed", "cancelled"
ACTIVE_STATES = frozenset({QUEUED, RUNNING})
FINAL_STATES = frozenset({DONE, FAILED, CANCELLED})


@dataclass(frozen=True)
class JobInfo:
    """Who uploaded what, and when (unix seconds)."""

    job_id: str
    owner: str
    source_name: str
    """The uploaded file's own name (the run is named after it)."""
    upload: str
    """The stored file's name inside the job folder."""
    bytes: int
    sha256: str
    created: float

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> JobInfo:
        return cls(**{f.name: d[f.name] for f in fields(cls)})


@dataclass(frozen=True)
class JobStatus:
    """Where a job stands. Times are unix seconds; `progress` is the share of the whole training done."""

    state: str
    stage: str = ""
    progress: float = 0.0
    pid: int | None = None
    started: float | None = None
    heartbeat: float | None = None
    finished: float | None = None
    run_id: str | None = None
    error: str | None = None

    @property
    def active(self) -> bool:
        return self.state in ACTIVE_STATES

    @property
    def final(self) -> bool:
        return self.state in FINAL_STATES

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> JobStatus:
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})

    def but(self, **changes: Any) -> JobStatus:
        return replace(self, **changes)


@dataclass(frozen=True)
class JobFolder:
    """One job's folder and its files."""

    path: Path

    @property
    def id(self) -> str:
        return self.path.name

    @property
    def runs_dir(self) -> Path:
        """The runs folder the job trains into: the one its `.jobs` folder is in."""
        return self.path.parent.parent

    def file(self, name: str) -> Path:
        return self.path / name

    def info(self) -> JobInfo:
        return JobInfo.from_dict(read_json(self.file(JOB_INFO)))

    @property
    def upload_path(self) -> Path:
        return self.path / self.info().upload

    def train_spec(self) -> tuple[DataSpec, TrainConfig]:
        """What to train (spec.json); OSError/ValueError while none is written."""
        doc = read_json(self.file(SPEC))
        return DataSpec.from_dict(doc["spec"]), TrainConfig.from_dict(doc["config"])

    def write_train_spec(self, spec: DataSpec, config: TrainConfig) -> None:
        write_json(self.file(SPEC), {"spec": spec.to_dict(), "config": config.to_dict()})

    def stored_status(self) -> JobStatus:
        """status.json as written; a job without one is a draft (uploaded, not started)."""
        try:
            return JobStatus.from_dict(read_json(self.file(STATUS)))
        except FileNotFoundError:
            return JobStatus(state=DRAFT)

    def write_status(self, status: JobStatus) -> None:
        write_json(self.file(STATUS), status.to_dict())

    def pid(self) -> int | None:
        try:
            return int(self.file(PID).read_text().strip())
        except (FileNotFoundError, ValueError):
            return None

    @property
    def cancel_requested(self) -> float | None:
        """When cancelling was asked for (unix seconds), or None."""
        try:
            return self.file(CANCEL).stat().st_mtime
        except FileNotFoundError:
            return None


def jobs_root(runs_dir: Path) -> Path:
    return Path(runs_dir) / JOBS_FOLDER


def write_json(path: Path, obj: Any) -> None:
    """Write JSON to a temporary file beside `path` and rename it into place (atomic on one file system)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}")
    tmp.write_text(json.dumps(obj, indent=1, allow_nan=False), encoding="utf-8")
    os.replace(tmp, path)


def write_text(path: Path, text: str) -> None:
    """A small text file, atomically (as `write_json`)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))
