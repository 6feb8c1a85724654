"""The worker process: a spec the table fails ends the job failed with the message `insight train` gives,
and writes nothing; its status reporter writes progress and a heartbeat; a wrong command line says how to
call it."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from insight.data import schema
from insight.data.sources import read_table
from insight.errors import InputError
from insight.jobs import manager
from insight.jobs.folder import CANCEL, CANCELLED, DONE, FAILED, RUNNING, JobFolder
from insight.jobs.preview import training_spec
from insight.jobs.worker import StatusReporter
from tests.jobs.jobkit import OWNER, quick_config, run_folders, wait_until


def test_a_table_training_refuses_fails_with_the_cli_message(tmp_path: Path, table_csv: bytes) -> None:
    runs = tmp_path / "runs"
    folder = manager.create_upload(runs, name="c.csv", data=table_csv, owner=OWNER)
    spec = training_spec(["x"], id_column="customer_id", target="plan")  # five plans: not a churn column
    with pytest.raises(InputError) as refused:
        schema.clean_table(read_table(folder.upload_path), spec)
    manager.start(folder, spec, quick_config())
    status = wait_until(folder, lambda s: s.final, timeout=90)
    assert status.state == FAILED and status.error == str(refused.value)
    assert "must be binary" in str(status.error) and "Traceback" not in str(status.error)
    assert run_folders(runs) == set()  # no run, no temporary folder


def test_the_status_reporter_writes_progress_and_a_heartbeat(tmp_path: Path, table_csv: bytes,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("insight.jobs.worker.HEARTBEAT_S", 0.05)
    folder = manager.create_upload(tmp_path / "runs", name="c.csv", data=table_csv, owner=OWNER)
    reporter = StatusReporter(folder)
    first = folder.stored_status()
    assert first.state == RUNNING and first.started and first.heartbeat
    reporter.progress("fitting the churn model", 0.08)
    assert folder.stored_status().stage == "fitting the churn model"  # a new stage is written at once
    time.sleep(0.3)
    beat = folder.stored_status()
    assert beat.heartbeat is not None and beat.heartbeat > first.heartbeat and beat.progress == 0.08
    reporter.finish(DONE, run_id="20260101-000000-c-0000")
    final = folder.stored_status()
    time.sleep(0.2)
    assert folder.stored_status() == final  # the heartbeat stopped with the job
    assert final.state == DONE and final.progress == 1.0 and final.run_id == "20260101-000000-c-0000"
    assert sorted(p.name for p in folder.path.iterdir()) == ["job.json", "status.json", "upload.csv"]


def test_the_worker_says_how_to_call_it(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "insight.jobs.worker", str(tmp_path / "none")],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "usage: python -m insight.jobs.worker JOB_DIR" in done.stderr
    assert JobFolder(tmp_path / "none").stored_status().state == "draft"  # nothing written


def test_a_job_cancelled_before_its_worker_started_is_not_trained(tmp_path: Path, table_csv: bytes) -> None:
    runs = tmp_path / "runs"
    folder = manager.create_upload(runs, name="c.csv", data=table_csv, owner=OWNER)
    folder.write_train_spec(training_spec(["x"], id_column="customer_id", target="churned"), quick_config())
    folder.file(CANCEL).write_text("0\n")
    done = subprocess.run([sys.executable, "-m", "insight.jobs.worker", str(folder.path)], timeout=60)
    assert done.returncode == 3 and folder.stored_status().state == CANCELLED
    assert run_folders(runs) == set()
