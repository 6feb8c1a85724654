"""insight.runs.run: atomic run folders, manifests with checksums, verification, listing and lookup."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from insight.errors import RunError
from insight.runs.run import (
    LATEST,
    MANIFEST,
    SCHEMA_VERSION,
    RunWriter,
    find_run,
    jsonable,
    latest_run,
    list_runs,
    new_run_id,
    open_run,
    resolve_runs_dir,
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
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary leftovers
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


def test_manifest_without_its_own_checksum_is_still_verified_by_files(tmp_path: Path) -> None:
    """Runs written before the manifest carried its own checksum stay readable."""
    path = write_run(tmp_path, "20250101-000000-a")
    manifest = json.loads((path / MANIFEST).read_text())
    del manifest["manifest_sha256"]
    (path / MANIFEST).write_text(json.dumps(manifest))
    assert verify_run(path) == []
    (path / "model.txt").write_text("changed")
    assert verify_run(path)
