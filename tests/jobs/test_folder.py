"""A job's folder: statuses round-trip, JSON is replaced atomically, and runs listings never see jobs."""

from __future__ import annotations

from pathlib import Path

from insight.jobs.folder import DRAFT, RUNNING, JobFolder, JobStatus, jobs_root, write_json
from insight.runs.run import latest_run, list_runs


def test_a_status_round_trips_and_a_missing_one_is_a_draft(tmp_path: Path) -> None:
    folder = JobFolder(tmp_path / "runs" / ".jobs" / "j1")
    folder.path.mkdir(parents=True)
    assert folder.stored_status() == JobStatus(state=DRAFT)
    status = JobStatus(state=RUNNING, stage="fitting the churn model", progress=0.1, pid=12, started=1.0,
                       heartbeat=2.0)
    folder.write_status(status)
    assert folder.stored_status() == status and status.active and not status.final
    assert folder.runs_dir == tmp_path / "runs" and folder.id == "j1"


def test_json_is_replaced_whole_and_leaves_no_temporary_file(tmp_path: Path) -> None:
    target = tmp_path / "status.json"
    for i in range(20):
        write_json(target, {"i": i, "pad": "x" * 10_000})
    assert [p.name for p in tmp_path.iterdir()] == ["status.json"]
    assert target.read_text().startswith('{\n "i": 19')


def test_runs_listings_never_see_the_jobs_folder(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    (jobs_root(runs) / "j1").mkdir(parents=True)
    (jobs_root(runs) / "manifest.json").write_text("{}")  # even one that looks like a run
    assert list_runs(runs) == [] and latest_run(runs) is None
