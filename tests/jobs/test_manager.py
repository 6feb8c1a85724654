"""The job manager with real worker processes training real runs on a small demo table: a training makes a
run that verifies, two at once both do (one of them outliving the process that started it, as in a server
restart), a cancel or a SIGKILL leaves no run and no temporary folder, and the existing run is never
touched."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from insight.config import TrainConfig
from insight.data.demo import ID_COLUMN
from insight.errors import InputError
from insight.jobs import manager
from insight.jobs.folder import (
    CANCELLED, DONE, DRAFT, FAILED, PID, QUEUED, RUNNING, STATUS, JobFolder, JobStatus, jobs_root,
)
from insight.pipeline import STAGES
from insight.runs.run import WRITER_FILE, latest_run, list_runs, read_manifest, verify_run
from tests.jobs.jobkit import (
    OWNER, checksums, demo_csv, demo_table_spec, quick_config, run_folders, wait_until,
)

pytestmark = pytest.mark.slow

MODEL_STAGES = frozenset(STAGES) - {"checking the table", "writing the run"}
"""Stages well inside a training: a cancel or a kill there interrupts the models."""


def upload_and_start(runs: Path, data: bytes, config: TrainConfig, *,
                     name: str = "customers.csv") -> JobFolder:
    folder = manager.create_upload(runs, name=name, data=data, owner=OWNER)
    columns = data.split(b"\n", 1)[0].decode().split(",")
    manager.start(folder, demo_table_spec(columns), config)
    return folder


def assert_untouched(runs: Path, existing: Path, before: dict[str, str]) -> None:
    assert checksums(existing) == before
    assert verify_run(existing) == []


def test_a_training_makes_a_run_that_verifies(jobs_runs: Path, demo_run: Path, table_csv: bytes) -> None:
    existing = jobs_runs / demo_run.name
    before = checksums(existing)
    config = quick_config()
    folder = upload_and_start(jobs_runs, table_csv, config, name="Q3 customers.csv")
    seen: list[JobStatus] = []
    status = wait_until(folder, lambda s: s.final, seen=seen)
    assert status.state == DONE, status
    run = jobs_runs / str(status.run_id)
    assert verify_run(run) == []
    assert [p.name for p in list_runs(jobs_runs)] == sorted([run.name, demo_run.name], reverse=True)
    assert latest_run(jobs_runs) == run
    manifest = read_manifest(run)
    assert manifest.source.name == "Q3 customers.csv" and manifest.source.rows == 300
    assert manifest.spec.id_column == ID_COLUMN and TrainConfig.from_dict(manifest.config) == config
    # live progress: several stages, each read from a running worker, never going back
    running = [s for s in seen if s.state == RUNNING]
    assert len({s.stage for s in running}) >= 3
    assert [s.progress for s in running] == sorted(s.progress for s in running)
    assert all(s.pid == folder.pid() and s.heartbeat for s in running)
    assert status.progress == 1.0 and status.finished and status.started and status.error is None
    # the upload lives only in the job folder, under the runs folder
    assert folder.upload_path.read_bytes() == table_csv and folder.path.parent == jobs_root(jobs_runs)
    assert run_folders(jobs_runs) == {run.name, demo_run.name}  # no temporary folder left
    assert_untouched(jobs_runs, existing, before)


def test_two_trainings_at_once_one_outliving_its_server(jobs_runs: Path, demo_run: Path,
                                                         table_csv: bytes) -> None:
    """Two analysts train at once; one training was started by a server that then stopped (a restart): the
    worker is in its own session and trains on, and this process (the new server) follows it to its run."""
    existing = jobs_runs / demo_run.name
    before = checksums(existing)
    config = quick_config()
    first = upload_and_start(jobs_runs, table_csv, config, name="north.csv")
    second = manager.create_upload(jobs_runs, name="south.csv", data=demo_csv(seed=1),
                                   owner="bob@example.com")
    starter = ("import json, sys; from pathlib import Path; "
               "from insight.config import DataSpec, TrainConfig; from insight.jobs import manager; "
               "from insight.jobs.folder import JobFolder; "
               "spec, config = json.loads(sys.argv[2]); "
               "manager.start(JobFolder(Path(sys.argv[1])), DataSpec.from_dict(spec), "
               "TrainConfig.from_dict(config))")
    spec = demo_table_spec(table_csv.split(b"\n", 1)[0].decode().split(","))
    # the "server" starts the training and exits at once
    subprocess.run([sys.executable, "-c", starter, str(second.path),
                    json.dumps([spec.to_dict(), config.to_dict()])], check=True, timeout=60)
    assert wait_until(second, lambda s: s.state != QUEUED).state in (RUNNING, DONE)  # its worker lives on
    statuses = [wait_until(job, lambda s: s.final, timeout=180) for job in (first, second)]
    assert [s.state for s in statuses] == [DONE, DONE], statuses
    runs = {read_manifest(jobs_runs / str(s.run_id)).source.name: jobs_runs / str(s.run_id) for s in statuses}
    assert set(runs) == {"north.csv", "south.csv"}
    assert all(verify_run(run) == [] for run in runs.values())
    assert run_folders(jobs_runs) == {demo_run.name, *(r.name for r in runs.values())}
    assert latest_run(jobs_runs) in runs.values()
    assert_untouched(jobs_runs, existing, before)


def test_a_cancelled_training_leaves_no_run(jobs_runs: Path, demo_run: Path,
                                            train_config: TrainConfig) -> None:
    existing = jobs_runs / demo_run.name
    before = checksums(existing)
    folder = upload_and_start(jobs_runs, demo_csv(rows=800), train_config)
    wait_until(folder, lambda s: s.stage in MODEL_STAGES)
    pid = folder.pid()
    assert pid is not None
    manager.cancel(folder)
    status = wait_until(folder, lambda s: s.final, timeout=manager.CANCEL_GRACE_S + 10)
    assert status.state == CANCELLED and status.run_id is None and status.error is None
    assert status.finished is not None and status.finished - (folder.cancel_requested or 0) < 10  # it stopped
    assert not _alive(pid)
    assert run_folders(jobs_runs) == {demo_run.name}  # no new run, no .tmp-* folder
    assert_untouched(jobs_runs, existing, before)
    assert manager.cancel(folder).state == CANCELLED  # cancelling again changes nothing


def test_a_killed_worker_is_shown_as_failed(jobs_runs: Path, demo_run: Path, table_csv: bytes,
                                            train_config: TrainConfig) -> None:
    existing = jobs_runs / demo_run.name
    before = checksums(existing)
    folder = upload_and_start(jobs_runs, table_csv, train_config)
    wait_until(folder, lambda s: s.stage in MODEL_STAGES)
    pid = folder.pid()
    assert pid is not None
    os.killpg(pid, signal.SIGKILL)  # the whole process group, as an out-of-memory kill or `kill -9` would
    deadline = time.monotonic() + 15
    while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:  # until reaped
        time.sleep(0.05)
    half = jobs_runs / ".tmp-20260101-000000-killed-0000"  # had it been writing: its half run, as the writer
    half.mkdir()                                           # records one (who writes it)
    (half / WRITER_FILE).write_text(json.dumps({"pid": pid, "host": socket.gethostname(), "started": None}))
    (half / "customers.parquet").write_bytes(b"half")
    status = wait_until(folder, lambda s: s.final, timeout=15)
    assert status.state == FAILED and "stopped unexpectedly" in str(status.error)
    assert not half.exists()  # noticing the crash removed it
    assert json.loads(folder.file(STATUS).read_text())["state"] == FAILED  # recorded, not only reported
    assert {p.name for p in list_runs(jobs_runs)} == {demo_run.name}
    assert latest_run(jobs_runs) == existing
    assert_untouched(jobs_runs, existing, before)


def test_a_live_process_that_is_not_the_worker_means_failed(tmp_path: Path, table_csv: bytes) -> None:
    """A stale pid (the worker died, its pid was reused) is not taken for a live worker."""
    folder = manager.create_upload(tmp_path / "runs", name="t.csv", data=table_csv, owner=OWNER)
    folder.write_status(JobStatus(state=RUNNING, pid=os.getpid(), started=time.time(), heartbeat=time.time()))
    folder.file(PID).write_text(f"{os.getpid()}\n")
    status = manager.job_status(folder)
    assert status.state == FAILED and "stopped unexpectedly" in str(status.error)


def test_a_worker_is_alive_from_its_first_instant_until_it_exits(tmp_path: Path, table_csv: bytes) -> None:
    """A process with the job's folder on its command line stands in for a worker: seen alive the instant
    Popen returns (its exec may still be under way), dead once it has exited, even before it is reaped."""
    folder = manager.create_upload(tmp_path / "runs", name="t.csv", data=table_csv, owner=OWNER)
    for _ in range(20):
        process = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()",
                                    str(folder.path.resolve())],
                                   stdin=subprocess.PIPE, start_new_session=True)
        folder.file(PID).write_text(f"{process.pid}\n")
        folder.write_status(JobStatus(state=RUNNING, pid=process.pid, started=time.time(),
                                      heartbeat=time.time()))
        assert manager.job_status(folder).state == RUNNING
        assert process.stdin is not None
        process.stdin.close()
        deadline = time.monotonic() + 10
        while "Z" not in Path(f"/proc/{process.pid}/stat").read_text().split(")")[1][:3]:
            assert time.monotonic() < deadline
            time.sleep(0.01)
        assert manager.job_status(folder).state == FAILED  # exited, not yet reaped
        process.wait()


def test_more_trainings_than_allowed_are_refused(tmp_path: Path, table_csv: bytes, train_config: TrainConfig,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(manager.MAX_TRAININGS_ENV, "1")
    runs = tmp_path / "runs"
    first = upload_and_start(runs, table_csv, train_config)
    second = manager.create_upload(runs, name="b.csv", data=table_csv, owner="bob@example.com")
    with pytest.raises(InputError, match=r"1 trainings are already running here \(at most 1 at once"):
        manager.start(second, demo_table_spec(["x"]), train_config)
    assert manager.job_status(second).state == DRAFT
    with pytest.raises(InputError, match="already started"):
        manager.start(first, demo_table_spec(["x"]), train_config)
    manager.cancel(first)
    assert wait_until(first, lambda s: s.final, timeout=manager.CANCEL_GRACE_S + 10).state == CANCELLED
    assert not list_runs(runs)


def test_uploads_are_checked_before_they_are_stored(tmp_path: Path, table_csv: bytes,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    runs = tmp_path / "runs"
    monkeypatch.setenv(manager.MAX_UPLOAD_ENV, "1")
    with pytest.raises(InputError, match=r"big\.csv is 1\.2 MB, larger than the upload limit of 1 MB.*"
                                         r"INSIGHT_MAX_UPLOAD_MB"):
        manager.create_upload(runs, name="big.csv", data=b"x" * 1_300_000, owner=OWNER)
    with pytest.raises(InputError, match=r"book\.xlsx is an Excel .*workbook.*File > Save As > 'CSV UTF-8"):
        manager.create_upload(runs, name="book.xlsx", data=table_csv, owner=OWNER)
    with pytest.raises(InputError, match=r"empty\.csv is empty"):
        manager.create_upload(runs, name="empty.csv", data=b"", owner=OWNER)
    assert not runs.exists()  # nothing stored
    monkeypatch.setenv(manager.MAX_UPLOAD_ENV, "lots")
    with pytest.raises(InputError, match=r"INSIGHT_MAX_UPLOAD_MB='lots' is not a whole number"):
        manager.create_upload(runs, name="t.csv", data=table_csv, owner=OWNER)
    monkeypatch.delenv(manager.MAX_UPLOAD_ENV)
    a_file = tmp_path / "not-a-folder"
    a_file.write_text("x")
    with pytest.raises(InputError, match="cannot hold uploads"):
        manager.create_upload(a_file, name="t.csv", data=table_csv, owner=OWNER)
    folder = manager.create_upload(runs, name="../../../etc/Data.CSV.GZ", data=b"abc", owner=OWNER)
    assert folder.upload_path == folder.path / "upload.csv.gz" and folder.info().source_name == "Data.CSV.GZ"


def test_drafts_are_discarded_and_old_jobs_pruned(tmp_path: Path, table_csv: bytes) -> None:
    runs = tmp_path / "runs"
    first, second, done = (manager.create_upload(runs, name=f"{n}.csv", data=table_csv, owner=OWNER)
                           for n in ("first", "second", "done"))
    done.write_status(JobStatus(state=DONE, run_id="x"))
    assert [j.id for j in manager.list_jobs(runs)] == [done.id, second.id, first.id]
    later = manager.list_jobs(runs)[0].info.created + manager.DRAFT_KEEP_S + 1
    assert manager.prune(runs, now=later) == 2  # both drafts; the finished job is kept for a week
    assert [j.id for j in manager.list_jobs(runs)] == [done.id]
    manager.discard(done)
    assert manager.list_jobs(runs) == [] and list_runs(runs) == []


def _alive(pid: int) -> bool:
    try:
        return bool(Path(f"/proc/{pid}/cmdline").read_bytes())
    except OSError:
        return False
