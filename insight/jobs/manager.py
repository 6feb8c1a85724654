"""Create an upload, start its training in a worker process, cancel it, and say where every job stands.

The worker (`python -m insight.jobs.worker JOB_DIR`) runs in its own session, so it is its own process group:
cancelling signals that group, and stopping or restarting the dashboard server leaves it running (a server
started again finds it through its status file). A worker that dies without saying so (killed, out of memory)
is noticed here, from its process being gone or its heartbeat going stale, and its job is marked failed.

Settings (environment variables): INSIGHT_MAX_UPLOAD_MB (largest upload, default 200; Streamlit's own
`server.maxUploadSize` must be at least as large), INSIGHT_MAX_TRAININGS (trainings running at once per runs
folder, default 2).
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from insight.config import DataSpec, TrainConfig
from insight.data.reading import EXCEL_SUFFIXES, excel_message, positive_setting
from insight.data.sources import CSV_SUFFIXES, PARQUET_SUFFIXES, TSV_SUFFIXES
from insight.errors import InputError
from insight.jobs.folder import (
    ACTIVE_STATES, CANCEL, CANCELLED, DRAFT, FAILED, JOB_INFO, JOBS_FOLDER, LOG, PID, QUEUED, UPLOAD_STEM,
    JobFolder, JobInfo, JobStatus, jobs_root, write_json, write_text,
)
from insight.runs.run import clean_stale_tmp

log = logging.getLogger(__name__)

MAX_UPLOAD_ENV, MAX_TRAININGS_ENV = "INSIGHT_MAX_UPLOAD_MB", "INSIGHT_MAX_TRAININGS"
DEFAULT_MAX_UPLOAD_MB, DEFAULT_MAX_TRAININGS = 200, 2
UPLOAD_SUFFIXES = (*CSV_SUFFIXES, *TSV_SUFFIXES, *PARQUET_SUFFIXES)
HEARTBEAT_S = 2.0
"""How often a worker rewrites its status while it trains."""
STALE_S = 120.0
"""A running job whose heartbeat is older than this has a dead or hung worker."""
START_S = 60.0
"""A queued job whose worker has not started by then failed to start."""
CANCEL_GRACE_S = 20.0
"""A worker still alive this long after being asked to stop is killed."""
DRAFT_KEEP_S = 24 * 3600.0
FINISHED_KEEP_S = 7 * 24 * 3600.0
CRASHED = ("the training process stopped unexpectedly (it was killed or ran out of memory); no run was "
           "written and the existing runs are untouched. Start the training again")


@dataclass(frozen=True)
class Job:
    """A job as listed: its folder, who uploaded what, and where it stands."""

    folder: JobFolder
    info: JobInfo
    status: JobStatus

    @property
    def id(self) -> str:
        return self.folder.id


def max_upload_mb() -> int:
    """The upload limit in MB (INSIGHT_MAX_UPLOAD_MB)."""
    return positive_setting(MAX_UPLOAD_ENV, DEFAULT_MAX_UPLOAD_MB)


def max_trainings() -> int:
    """How many trainings may run at once on one runs folder (INSIGHT_MAX_TRAININGS)."""
    return positive_setting(MAX_TRAININGS_ENV, DEFAULT_MAX_TRAININGS)


def create_upload(runs_dir: Path, *, name: str, data: bytes | memoryview, owner: str) -> JobFolder:
    """Store an uploaded table as a new draft job under `runs_dir`/.jobs (and prune old jobs); InputError when
    it is too large or not a CSV, TSV or Parquet file, or when the runs folder cannot be written."""
    size, limit = len(data), max_upload_mb()
    if size > limit * 1024 * 1024:
        raise InputError(f"{name} is {size / 1024 / 1024:,.1f} MB, larger than the upload limit of {limit} "
                         "MB; upload a smaller table (a sample of its rows) or ask the dashboard's owner to "
                         f"raise {MAX_UPLOAD_ENV}.")
    if size == 0:
        raise InputError(f"{name} is empty; upload a table with a header row and one row per customer.")
    suffix = upload_suffix(name)
    if jobs_root(runs_dir).is_dir():
        prune(runs_dir)  # housekeeping as new data arrives: old drafts and finished jobs go
    job_id = f"{datetime.now(UTC):%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:8]}"
    folder = JobFolder(jobs_root(runs_dir) / job_id)
    try:
        folder.path.mkdir(parents=True)
    except (FileExistsError, NotADirectoryError, PermissionError) as e:
        raise InputError(f"the runs folder {runs_dir} cannot hold uploads ({type(e).__name__}: {e}); point "
                         "INSIGHT_RUNS_DIR (or --runs-dir) at a folder this server may write.") from e
    upload = f"{UPLOAD_STEM}{suffix}"
    with open(folder.file(upload), "wb") as f:
        f.write(data)
    info = JobInfo(job_id=job_id, owner=owner, source_name=Path(name).name, upload=upload, bytes=size,
                   sha256=hashlib.sha256(data).hexdigest(), created=time.time())
    write_json(folder.file(JOB_INFO), asdict(info))
    log.info("upload %s (%d bytes) stored as job %s for %s", name, size, job_id, owner)
    return folder


def upload_suffix(name: str) -> str:
    """The file type of an uploaded file's name (InputError for one insight does not read)."""
    lower = Path(name).name.lower()
    for suffix in sorted(UPLOAD_SUFFIXES, key=len, reverse=True):
        if lower.endswith(suffix):
            return suffix
    if lower.endswith(EXCEL_SUFFIXES):
        raise InputError(excel_message(Path(name).name))  # the same words insight train gives
    raise InputError(f"{Path(name).name}: unknown file type; upload a .csv, .tsv or .parquet file.")


def start(folder: JobFolder, spec: DataSpec, config: TrainConfig | None = None) -> JobStatus:
    """Start training a draft job in a worker process; returns its first status."""
    current = job_status(folder)
    if current.state != DRAFT:
        raise InputError(f"job {folder.id} was already started ({current.state}); upload the table again to "
                         "train it again.")
    running = [j for j in list_jobs(folder.runs_dir) if j.status.active]
    if len(running) >= max_trainings():
        raise InputError(f"{len(running)} trainings are already running here (at most {max_trainings()} at "
                         f"once, {MAX_TRAININGS_ENV}); wait for one to finish, or cancel one.")
    folder.write_train_spec(spec, config or TrainConfig())
    status = JobStatus(state=QUEUED, started=time.time())
    folder.write_status(status)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        p for p in (str(Path(__file__).resolve().parents[2]), os.environ.get("PYTHONPATH")) if p)}
    try:
        with open(folder.file(LOG), "ab") as out:
            process = subprocess.Popen([sys.executable, "-m", "insight.jobs.worker",
                                        str(folder.path.resolve())], cwd=folder.path, env=env,
                                       stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                       start_new_session=True)
    except OSError as e:
        log.exception("job %s: the worker did not start", folder.id)
        return _settle(folder, status.but(state=FAILED, finished=time.time(), error=(
            f"the training process could not be started ({type(e).__name__}: {e}); no run was written.")))
    write_text(folder.file(PID), f"{process.pid}\n")
    # a thread waits for the worker, so that it is reaped when it exits (a zombie would look alive)
    threading.Thread(target=process.wait, name=f"insight-job-{folder.id}", daemon=True).start()
    log.info("job %s: worker %d started", folder.id, process.pid)
    return status


def cancel(folder: JobFolder) -> JobStatus:
    """Ask a job's worker to stop (SIGTERM to its process group; it exits with the status "cancelled"). A job
    that is not running any more is left as it is; a draft is cancelled at once."""
    status = job_status(folder)
    if status.final:
        return status
    write_text(folder.file(CANCEL), f"{time.time()}\n")
    pid = folder.pid()
    if status.state == DRAFT or pid is None or not _worker_alive(pid, folder):
        return _settle(folder, status.but(state=CANCELLED, finished=time.time(), error=None))
    _signal_group(pid, signal.SIGTERM)
    log.info("job %s: asked worker %d to stop", folder.id, pid)
    return status


def job_status(folder: JobFolder) -> JobStatus:
    """The job's status; an active job whose worker is gone, hung or never started is marked failed (or
    cancelled, when that was asked for), and a worker that ignores a cancel for CANCEL_GRACE_S is killed."""
    status = folder.stored_status()
    if status.state not in ACTIVE_STATES:
        return status
    now, pid = time.time(), folder.pid()
    asked = folder.cancel_requested
    alive = pid is not None and _worker_alive(pid, folder)
    if alive and asked is not None and now - asked > CANCEL_GRACE_S:
        assert pid is not None
        _signal_group(pid, signal.SIGKILL)
        log.warning("job %s: worker %d ignored the cancel for %.0f s and was killed", folder.id, pid,
                    now - asked)
        return _settle(folder, status.but(state=CANCELLED, finished=now))
    if alive:
        beat = status.heartbeat or status.started or now
        if now - beat <= STALE_S:
            return status
        _signal_group(pid, signal.SIGKILL)  # hung: no heartbeat for minutes
        return _settle(folder, status.but(state=FAILED, finished=now, error=(
            f"the training stopped answering (no sign of life for {now - beat:.0f} s) and was stopped. "
            f"{CRASHED}.")))
    if pid is None and now - (status.started or now) <= START_S:
        return status  # its worker is being started
    status = folder.stored_status()  # re-read: the worker may have written its last status, then exited
    if status.state not in ACTIVE_STATES:
        return status
    if asked is not None:
        return _settle(folder, status.but(state=CANCELLED, finished=now))
    return _settle(folder, status.but(state=FAILED, finished=now, error=(
        f"{CRASHED} (its log: {JOBS_FOLDER}/{folder.id}/{LOG} in the runs folder).")))


def list_jobs(runs_dir: Path) -> list[Job]:
    """Every job of a runs folder, newest first (folders still being created are skipped)."""
    root = jobs_root(runs_dir)
    if not root.is_dir():
        return []
    jobs = []
    for path in root.iterdir():
        if not path.is_dir() or path.name.startswith("."):
            continue
        folder = JobFolder(path)
        try:
            jobs.append(Job(folder=folder, info=folder.info(), status=job_status(folder)))
        except (OSError, ValueError, KeyError, TypeError) as e:
            log.debug("skipping job folder %s: %s", path, e)
    return sorted(jobs, key=lambda j: j.info.created, reverse=True)


def discard(folder: JobFolder) -> None:
    """Delete a job that is not running (its uploaded table with it)."""
    if job_status(folder).active:
        raise InputError(f"job {folder.id} is still running; cancel it first.")
    shutil.rmtree(folder.path, ignore_errors=True)


def prune(runs_dir: Path, *, now: float | None = None) -> int:
    """Delete drafts older than a day and finished jobs older than a week; returns how many went."""
    now = now or time.time()
    gone = 0
    for job in list_jobs(runs_dir):
        age = now - job.info.created
        if (job.status.state == DRAFT and age > DRAFT_KEEP_S) or (job.status.final and age > FINISHED_KEEP_S):
            shutil.rmtree(job.folder.path, ignore_errors=True)
            gone += 1
    return gone


def _settle(folder: JobFolder, status: JobStatus) -> JobStatus:
    """Record the end of a job whose worker is gone, and remove what it left half written."""
    folder.write_status(status)
    clean_stale_tmp(folder.runs_dir)  # a killed writer's `.tmp-*` folder (those of live writers stay)
    log.info("job %s: %s%s", folder.id, status.state, f" ({status.error})" if status.error else "")
    return status


def _worker_alive(pid: int, folder: JobFolder) -> bool:
    """Is `pid` this job's worker, still running? (A reused pid or an exited, unreaped process is not.)"""
    proc = Path(f"/proc/{pid}")
    if Path("/proc/self/stat").exists():
        try:
            stat, command = (proc / "stat").read_text(), (proc / "cmdline").read_bytes()
        except OSError:
            return False
        if stat[stat.rindex(")") + 2] in "ZX":  # exited, not yet reaped
            return False
        # an empty command line: the worker is being started (exec in progress), as right after Popen
        return not command or str(folder.path.resolve()).encode() in command
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def _signal_group(pid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pid, sig)  # the worker leads its own session, so its group id is its pid
    except (ProcessLookupError, PermissionError):
        pass
