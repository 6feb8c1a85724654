"""insight.runs.run: atomic run folders, manifests with checksums, verification, listing and lookup."""

from __future__ import annotations

import json
import math
import os
import socket
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from insight.errors import InputError, RunError
from insight.runs.run import (
    LATEST,
    LOCK_FILE,
    MANIFEST,
    SCHEMA_VERSION,
    STALE_TMP_SECONDS,
    WRITER_FILE,
    RunWriter,
    clean_stale_tmp,
    find_run,
    jsonable,
    latest_run,
    list_runs,
    new_run_id,
    open_run,
    resolve_runs_dir,
    set_latest,
    verify_run,
)


def write_run(runs_dir: Path, run_id: str, **metrics: float) -> Path:
    with RunWriter(runs_dir, run_id) as w:
        w.write_text("model.txt", "tree\n" * 100)
        w.write_json("calibration.json", {"slope": np.float64(1.5), "n": np.int64(3), "bad": float("nan")})
        w.write_bytes("weights.pt", bytes(range(256)) * 4)
        w.write_parquet("customers.parquet", pd.DataFrame({"id": ["a", "b"], "p": [0.1, 0.9]}))
        return w.commit({"metrics": {"auc": 0.8, **metrics}, "created": datetime.now(UTC),
                         "spec": {"id_column": "id", "target": "churned"}})


def _latest_text(runs_dir: Path) -> str:
    return (runs_dir / LATEST).read_text().strip()


def test_commit_writes_a_complete_run(tmp_path: Path) -> None:
    path = write_run(tmp_path, "20250101-000000-a")
    assert path == tmp_path / "20250101-000000-a" and path.is_dir()
    manifest = json.loads((path / MANIFEST).read_text())
    assert manifest["schema_version"] == SCHEMA_VERSION and manifest["run_id"] == path.name
    assert set(manifest["files"]) == {"model.txt", "calibration.json", "weights.pt", "customers.parquet"}
    assert manifest["files"]["weights.pt"]["bytes"] == 1024
    assert json.loads((path / "calibration.json").read_text()) == {"slope": 1.5, "n": 3, "bad": None}
    assert _latest_text(tmp_path) == path.name
    assert verify_run(path) == []
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == [LOCK_FILE]  # no temporaries
    assert WRITER_FILE not in manifest["files"] and not (path / WRITER_FILE).exists()
    run = open_run(path)
    assert run.id == path.name and run.manifest.metrics["auc"] == 0.8
    assert run.text("model.txt").startswith("tree") and len(run.bytes("weights.pt")) == 1024


def test_failure_inside_the_writer_leaves_nothing(tmp_path: Path) -> None:
    good = write_run(tmp_path, "20250101-000000-good")
    before = sorted(p.name for p in tmp_path.iterdir())
    with pytest.raises(RuntimeError, match="boom"):
        with RunWriter(tmp_path, "20250102-000000-bad") as w:
            w.write_text("model.txt", "half a model")
            raise RuntimeError("boom")
    assert sorted(p.name for p in tmp_path.iterdir()) == before
    assert not (tmp_path / "20250102-000000-bad").exists()
    assert _latest_text(tmp_path) == good.name
    assert latest_run(tmp_path) == good


def test_failure_while_writing_a_file_leaves_nothing(tmp_path: Path) -> None:
    with pytest.raises(TypeError):
        with RunWriter(tmp_path, "20250102-000000-bad") as w:
            w.write_json("x.json", {"not json": object()})
            w.commit({})
    assert list(tmp_path.iterdir()) == []
    assert latest_run(tmp_path) is None


def test_latest_follows_the_newest_commit(tmp_path: Path) -> None:
    a = write_run(tmp_path, "20250101-000000-a")
    assert _latest_text(tmp_path) == a.name
    b = write_run(tmp_path, "20250102-000000-b")
    assert _latest_text(tmp_path) == b.name and latest_run(tmp_path) == b
    (tmp_path / LATEST).write_text("gone\n")  # a dangling pointer falls back to the newest run
    assert latest_run(tmp_path) == b
    (tmp_path / LATEST).unlink()
    assert latest_run(tmp_path) == b


def test_flipped_byte_is_detected(tmp_path: Path) -> None:
    path = write_run(tmp_path, "20250101-000000-a")
    data = bytearray((path / "weights.pt").read_bytes())
    data[500] ^= 0x01
    (path / "weights.pt").write_bytes(bytes(data))
    problems = verify_run(path)
    assert len(problems) == 1 and problems[0].startswith("weights.pt: checksum does not match")
    with pytest.raises(RunError, match="damaged or was modified.*weights.pt"):
        open_run(path)
    assert open_run(path, verify=False).id == path.name


def test_truncated_and_missing_files_are_detected(tmp_path: Path) -> None:
    path = write_run(tmp_path, "20250101-000000-a")
    (path / "model.txt").write_text("tree\n")
    (path / "customers.parquet").unlink()
    problems = verify_run(path)
    assert any(p.startswith("model.txt: size") for p in problems)
    assert "customers.parquet: missing" in problems


def test_edited_manifest_is_detected(tmp_path: Path) -> None:
    path = write_run(tmp_path, "20250101-000000-a")
    original = (path / MANIFEST).read_text()

    manifest = json.loads(original)
    manifest["files"]["model.txt"]["sha256"] = "0" * 64
    (path / MANIFEST).write_text(json.dumps(manifest))
    assert any("model.txt" in p for p in verify_run(path))

    manifest = json.loads(original)
    manifest["metrics"]["auc"] = 0.99  # a better-looking number, files untouched
    (path / MANIFEST).write_text(json.dumps(manifest))
    assert any("manifest" in p for p in verify_run(path))

    manifest = json.loads(original)
    del manifest["files"]["customers.parquet"]  # hide a file from the checks
    (path / MANIFEST).write_text(json.dumps(manifest))
    assert verify_run(path)

    (path / MANIFEST).write_text(original[:-20])
    assert any("not valid JSON" in p for p in verify_run(path))

    manifest = json.loads(original)
    manifest["schema_version"] = SCHEMA_VERSION + 1
    (path / MANIFEST).write_text(json.dumps(manifest))
    assert any("run format version" in p for p in verify_run(path))

    (path / MANIFEST).write_text(original)
    assert verify_run(path) == []
    (path / MANIFEST).write_text(json.dumps(json.loads(original), indent=4))  # formatting is not an edit
    assert verify_run(path) == []


def test_not_a_run(tmp_path: Path) -> None:
    assert "no such run folder" in verify_run(tmp_path / "absent")[0]
    (tmp_path / "empty").mkdir()
    assert "no manifest.json" in verify_run(tmp_path / "empty")[0]


def test_list_runs_ignores_temporary_and_foreign_folders(tmp_path: Path) -> None:
    a = write_run(tmp_path, "20250101-000000-a")
    b = write_run(tmp_path, "20250103-000000-b")
    RunWriter(tmp_path, "20250104-000000-crashed")  # a writer that never committed nor exited
    (tmp_path / ".tmp-20250105-000000-x").mkdir()
    (tmp_path / ".tmp-20250105-000000-x" / MANIFEST).write_text("{}")
    (tmp_path / "notes").mkdir()
    (tmp_path / "file.txt").write_text("x")
    assert list_runs(tmp_path) == [b, a]  # newest first
    assert list_runs(tmp_path / "nowhere") == []


def test_find_run(tmp_path: Path) -> None:
    a = write_run(tmp_path, "20250101-000000-telco-aaaa")
    b = write_run(tmp_path, "20250101-000000-telco-bbbb")
    c = write_run(tmp_path, "20250202-120000-demo-cccc")
    assert find_run(tmp_path, "latest") == c
    assert find_run(tmp_path, "20250202") == c
    assert find_run(tmp_path, "20250101-000000-telco-a") == a
    assert find_run(tmp_path, b.name) == b
    assert find_run(tmp_path, str(a)) == a
    with pytest.raises(RunError, match="matches 2 runs"):
        find_run(tmp_path, "20250101")
    with pytest.raises(RunError, match="no run 'zzz'.*insight runs list"):
        find_run(tmp_path, "zzz")
    with pytest.raises(RunError, match="no runs in"):
        find_run(tmp_path / "empty", "latest")


def test_run_ids_and_runs_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    now = datetime(2025, 3, 4, 5, 6, 7, tzinfo=UTC)
    rid = new_run_id("My Customers (v2).csv", now)
    assert rid.startswith("20250304-050607-my-customers-v2-") and len(rid.rsplit("-", 1)[1]) == 4
    assert new_run_id("", now).startswith("20250304-050607-data-")
    assert new_run_id("x.csv", now) != new_run_id("x.csv", now)
    monkeypatch.setenv("INSIGHT_RUNS_DIR", str(tmp_path))
    assert resolve_runs_dir() == tmp_path
    assert resolve_runs_dir(tmp_path / "other") == tmp_path / "other"
    monkeypatch.delenv("INSIGHT_RUNS_DIR")
    assert resolve_runs_dir() == Path("runs")


def test_jsonable() -> None:
    out = jsonable({"a": float("nan"), "b": [1.0, float("inf"), (2, -math.inf)], 3: {"c": 0.5}})
    assert out == {"a": None, "b": [1.0, None, [2, None]], "3": {"c": 0.5}}


def test_a_missing_manifest_checksum_is_refused(tmp_path: Path) -> None:
    """Deleting the manifest's own checksum no longer lets an edited manifest through (every run since the
    checksum was introduced, the schema-1 fixture included, carries it)."""
    path = write_run(tmp_path, "20250101-000000-a")
    manifest = json.loads((path / MANIFEST).read_text())
    del manifest["manifest_sha256"]
    (path / MANIFEST).write_text(json.dumps(manifest))
    assert verify_run(path) == ["manifest.json: has no checksum of its own (manifest_sha256): the run is damaged "
                                "or its manifest was edited"]


# --------------------------------------------------------------------------------- the runs folder itself


def test_a_runs_folder_that_is_a_file_or_under_one_is_refused(monkeypatch: pytest.MonkeyPatch,
                                                              tmp_path: Path) -> None:
    afile = tmp_path / "afile"
    afile.write_text("x")
    with pytest.raises(InputError, match=r"--runs-dir .*afile is a file, not a folder"):
        resolve_runs_dir(afile)
    with pytest.raises(InputError, match=r"--runs-dir .*afile/runs is under .*afile, which is a file"):
        resolve_runs_dir(afile / "runs")
    monkeypatch.setenv("INSIGHT_RUNS_DIR", str(afile))
    with pytest.raises(InputError, match=r"\$INSIGHT_RUNS_DIR .*afile is a file"):
        resolve_runs_dir()
    with pytest.raises(InputError, match="is a file"):
        RunWriter(afile, "20250101-000000-a")
    assert resolve_runs_dir(tmp_path / "new" / "runs") == tmp_path / "new" / "runs"  # missing is fine


RUNS_DIR_COMMANDS = {  # every command that takes --runs-dir, with its other required arguments
    ("train",): ["data.csv", "--id", "id", "--target", "churned"],
    ("demo",): ["--no-serve"],
    ("serve",): [],
    ("score",): ["latest", "data.csv", "--out", "scores"],
    ("compare",): ["latest", "latest"],
    ("report",): ["latest", "--out", "report.html"],
    ("runs", "list"): [],
    ("runs", "verify"): [],
}


def test_every_command_refuses_a_runs_dir_that_is_a_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import typer.main
    from typer.testing import CliRunner

    from insight.cli import app

    def commands(cmd, prefix=()):  # noqa: ANN001, ANN202
        for name, sub in getattr(cmd, "commands", {}).items():
            yield from commands(sub, (*prefix, name))
        if not hasattr(cmd, "commands") and any("--runs-dir" in p.opts for p in cmd.params):
            yield prefix

    assert set(commands(typer.main.get_command(app))) == set(RUNS_DIR_COMMANDS)
    monkeypatch.chdir(tmp_path)
    afile = tmp_path / "afile"
    afile.write_text("x")
    for command, args in RUNS_DIR_COMMANDS.items():
        for runs_dir in (afile, afile / "runs"):
            result = CliRunner().invoke(app, [*command, *args, "--runs-dir", str(runs_dir)])
            assert result.exit_code == 2, (command, result.output)
            assert result.stderr.startswith(f"error: --runs-dir {runs_dir} "), (command, result.stderr)
            assert "Traceback" not in result.output
    monkeypatch.setenv("INSIGHT_RUNS_DIR", str(afile))
    result = CliRunner().invoke(app, ["runs", "list"])
    assert result.exit_code == 2 and "$INSIGHT_RUNS_DIR" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile"]  # nothing written


# ------------------------------------------------------------------------------------------------ LATEST


def test_latest_names_only_a_complete_run_inside_the_runs_folder(tmp_path: Path,
                                                                 caplog: pytest.LogCaptureFixture) -> None:
    outside = write_run(tmp_path, "x")  # a complete run next to the runs folder
    runs = tmp_path / "runs"
    a = write_run(runs, "20250101-000000-a")
    b = write_run(runs, "20250102-000000-b")
    (runs / "notes").mkdir()
    (runs / ".tmp-20250103-000000-c").mkdir()
    (runs / ".tmp-20250103-000000-c" / MANIFEST).write_text((b / MANIFEST).read_text())
    (runs / "20250104-000000-link").symlink_to(outside)
    assert list_runs(runs) == [b, a]  # the link is no run folder
    for pointer in ("../x", str(outside), "notes", ".tmp-20250103-000000-c", "20250104-000000-link", "..", "",
                    "20250101-000000-a/../../x"):
        (runs / LATEST).write_text(pointer + "\n")
        with caplog.at_level("WARNING", logger="insight.runs.run"):
            assert latest_run(runs) == b, pointer
        assert find_run(runs, "latest") == b
    assert "not a complete run folder" in caplog.text
    (runs / LATEST).write_text(a.name)  # a valid pointer is followed
    assert latest_run(runs) == a
    with pytest.raises(RunError, match="not a complete run folder"):
        set_latest(runs, "../x")


def test_latest_never_goes_backwards(tmp_path: Path) -> None:
    newer = write_run(tmp_path, "20250103-000000-newer")
    write_run(tmp_path, "20250102-000000-older")  # finishes later, but is older
    assert _latest_text(tmp_path) == newer.name
    (tmp_path / LATEST).write_text("../elsewhere\n")
    (tmp_path / f".{LATEST}.0123abcd").write_text("left by a killed commit\n")
    write_run(tmp_path, "20250101-000000-oldest")  # any commit puts LATEST back on the newest run
    assert _latest_text(tmp_path) == newer.name
    assert not list(tmp_path.glob(f".{LATEST}.*"))


CHILD_WRITER = """
import sys, time
from pathlib import Path
from insight.runs.run import RunWriter
runs, run_id, signals = Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3])
writer = RunWriter(runs, run_id)
writer.write_text("model.txt", run_id * 1000)
(signals / f"{run_id}.ready").touch()
while not (signals / "go").exists():
    time.sleep(0.001)
if sys.argv[4] == "commit":
    writer.commit({"spec": {"id_column": "id", "target": "churned"}})
    print("committed", flush=True)
else:  # killed: the process ends without removing its temporary folder
    import os
    os._exit(0)
"""


def _children(runs: Path, signals: Path, run_ids: list[str], action: str = "commit") -> list:
    import subprocess
    import sys
    import time

    signals.mkdir(exist_ok=True)
    (signals / "go").unlink(missing_ok=True)
    procs = [subprocess.Popen([sys.executable, "-c", CHILD_WRITER, str(runs), rid, str(signals), action],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for rid in run_ids]
    deadline = time.monotonic() + 120
    while not all((signals / f"{rid}.ready").exists() for rid in run_ids):
        assert time.monotonic() < deadline and all(p.poll() is None for p in procs), \
            [p.communicate() for p in procs if p.poll() is not None]
        time.sleep(0.01)
    return procs


def test_two_trainings_finishing_at_once_leave_latest_on_the_newest(tmp_path: Path) -> None:
    """Two real processes write their runs side by side (neither removes the other's temporary folder) and
    commit at the same moment, round after round: LATEST names the newer run each time."""
    runs, signals = tmp_path / "runs", tmp_path / "signals"
    for r in range(4):
        ids = [f"2025010{r + 1}-000000-older", f"2025010{r + 1}-000001-newer"]
        procs = _children(runs, signals, ids[::-1] if r % 2 else ids)
        assert sorted(p.name for p in runs.glob(".tmp-*")) == sorted(f".tmp-{i}" for i in ids)
        (signals / "go").touch()
        for p in procs:
            out, err = p.communicate(timeout=120)
            assert p.returncode == 0 and out.strip() == "committed", err
        assert _latest_text(runs) == ids[1], r
        assert all(verify_run(runs / i) == [] for i in ids)
    assert len(list_runs(runs)) == 8 and not list(runs.glob(".tmp-*"))


def test_a_commit_waits_for_the_runs_folder_lock(tmp_path: Path) -> None:
    import time

    from insight.runs.run import runs_dir_lock

    runs, signals = tmp_path / "runs", tmp_path / "signals"
    write_run(runs, "20250101-000000-a")
    with runs_dir_lock(runs):
        (proc,) = _children(runs, signals, ["20250102-000000-b"])
        (signals / "go").touch()
        time.sleep(1.5)
        assert proc.poll() is None and not (runs / "20250102-000000-b").exists()  # waiting for the lock
        assert _latest_text(runs) == "20250101-000000-a"
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert _latest_text(runs) == "20250102-000000-b"


# ------------------------------------------------------------------------ temporary folders of killed trainings


def test_a_killed_trainings_folder_is_removed_by_the_next_training(tmp_path: Path,
                                                                   caplog: pytest.LogCaptureFixture) -> None:
    runs, signals = tmp_path / "runs", tmp_path / "signals"
    (killed,) = _children(runs, signals, ["20250101-000000-killed"], action="exit")
    (signals / "go").touch()
    killed.communicate(timeout=60)
    left = runs / ".tmp-20250101-000000-killed"
    assert (left / WRITER_FILE).exists() and (left / "model.txt").exists()
    with caplog.at_level("WARNING", logger="insight.runs.run"):
        write_run(runs, "20250102-000000-next")
    assert not left.exists()
    assert f"its writer (process {killed.pid}) is gone" in caplog.text


def test_a_live_trainings_folder_is_never_removed(tmp_path: Path) -> None:
    runs, signals = tmp_path / "runs", tmp_path / "signals"
    (live,) = _children(runs, signals, ["20250101-000000-live"])
    try:
        writing = runs / ".tmp-20250101-000000-live"
        old = writing.stat().st_mtime - 30 * 24 * 3600  # even when it has not changed for a month
        for p in (writing, writing / WRITER_FILE):
            os.utime(p, (old, old))
        write_run(runs, "20250102-000000-other")
        assert (writing / "model.txt").exists()
        assert clean_stale_tmp(runs, max_age=0) == []
    finally:
        (signals / "go").touch()
        live.communicate(timeout=120)
    assert live.returncode == 0 and verify_run(runs / "20250101-000000-live") == []


def test_folders_whose_writer_cannot_be_checked_go_only_when_old(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    runs.mkdir()

    def left_behind(name: str, writer: dict | None, age_hours: float) -> Path:
        folder = runs / f".tmp-{name}"
        folder.mkdir()
        (folder / "model.txt").write_text("half")
        if writer is not None:
            (folder / WRITER_FILE).write_text(json.dumps(writer))
        then = time.time() - age_hours * 3600
        for p in folder.iterdir():
            os.utime(p, (then, then))
        os.utime(folder, (then, then))
        return folder

    host = socket.gethostname()
    fresh_bare = left_behind("fresh-bare", None, 0.1)
    old_bare = left_behind("old-bare", None, STALE_TMP_SECONDS / 3600 + 1)
    fresh_remote = left_behind("fresh-remote", {"pid": os.getpid(), "host": "elsewhere"}, 0.1)
    old_remote = left_behind("old-remote", {"pid": os.getpid(), "host": "elsewhere"}, STALE_TMP_SECONDS / 3600 + 1)
    reused_pid = left_behind("reused-pid", {"pid": os.getpid(), "host": host, "started": -1}, 0.1)
    mine = left_behind("mine", {"pid": os.getpid(), "host": host, "started": None}, 100)
    removed = clean_stale_tmp(runs)
    assert sorted(removed) == sorted([old_bare, old_remote, reused_pid])
    assert all(p.exists() for p in (fresh_bare, fresh_remote, mine))


def test_a_training_checks_the_runs_folder_and_clears_leftovers_before_it_starts(tmp_path: Path) -> None:
    from insight.data.demo import demo_data, demo_spec
    from insight.pipeline import train
    from insight.runs.run import prepare_runs_dir

    afile = tmp_path / "afile"
    afile.write_text("x")
    started = time.monotonic()
    with pytest.raises(InputError, match="is a file, not a folder"):
        train(demo_data(rows=300, seed=0).customers, demo_spec(), runs_dir=afile)
    assert time.monotonic() - started < 10  # refused before any model is fitted
    runs = tmp_path / "runs"
    left = runs / ".tmp-20250101-000000-killed"
    left.mkdir(parents=True)
    (left / WRITER_FILE).write_text(json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "started": -1}))
    assert prepare_runs_dir(runs) == runs and not left.exists()
