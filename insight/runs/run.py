"""One training run on disk: written atomically, described by a manifest with checksums, verified on load.

    runs/<run_id>/manifest.json   schema version, spec, config, metrics, versions, sha256 + size per file
    runs/<run_id>/...             the run's files (models as text/JSON/state_dict, tables as Parquet)
    runs/LATEST                   the id of the newest complete run, replaced atomically
    runs/.lock                    held (flock) while a run is moved into place and LATEST is replaced

A run is written into a hidden temporary folder `.tmp-<run_id>` and renamed into place only when every file
and the manifest are complete, so a crash or a failed training never leaves a half run and never touches the
previous good one. The temporary folder holds `.writer.json` (the writing process's pid, host and start)
until the commit, so that the next training removes the folders of killed trainings (`clean_stale_tmp`) and
never one a live training is still writing. Checksums and signatures: `insight.runs.integrity`.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import socket
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from insight.errors import InputError, RunError
from insight.runs.integrity import is_plain_name, manifest_digest, seal, sha256_of, verify_run
from insight.runs.layout import LATEST, MANIFEST, MANIFEST_DIGEST, SCHEMA_VERSION
from insight.runs.manifest import Manifest

try:
    import fcntl
except ImportError:  # pragma: no cover - not on Windows
    fcntl = None  # type: ignore[assignment]

__all__ = ["LATEST", "MANIFEST", "MANIFEST_DIGEST", "SCHEMA_VERSION", "Run", "RunWriter", "clean_stale_tmp",
           "find_run", "latest_run", "list_runs", "manifest_digest", "new_run_id", "open_run", "prepare_runs_dir", "read_manifest",
           "resolve_runs_dir", "runs_dir_lock", "set_latest", "sha256_of", "verify_run"]

log = logging.getLogger(__name__)

RUNS_DIR_ENV = "INSIGHT_RUNS_DIR"
ROW_GROUP_ROWS = 65_536
"""Rows per Parquet row group of a run's tables (with the rows in id order, a lookup by id reads one)."""
TMP_PREFIX = ".tmp-"
WRITER_FILE = ".writer.json"
"""Inside a temporary run folder: who writes it (pid, host, process start), removed before the commit."""
LOCK_FILE = ".lock"
STALE_TMP_SECONDS = 6 * 3600
"""A temporary run folder whose writer cannot be checked (another host, no writer file) is removed only
after this long without a change."""


def resolve_runs_dir(runs_dir: str | Path | None = None) -> Path:
    """`runs_dir`, else $INSIGHT_RUNS_DIR, else ./runs; InputError when it is a file or under a file."""
    if runs_dir:
        path, given = Path(runs_dir), "--runs-dir"
    elif os.environ.get(RUNS_DIR_ENV):
        path, given = Path(os.environ[RUNS_DIR_ENV]), f"${RUNS_DIR_ENV}"
    else:
        path, given = Path("runs"), "the runs folder"
    for part in (path, *path.absolute().parents):
        if part.exists() and not part.is_dir():
            where = "is a file" if part == path else f"is under {part}, which is a file"
            raise InputError(f"{given} {path} {where}, not a folder: give a folder for the runs with --runs-dir "
                             "(it is created when missing).")
    return path


def prepare_runs_dir(runs_dir: str | Path | None = None) -> Path:
    """The runs folder checked before a training starts (InputError when it is a file or under one), with the
    temporary folders of killed trainings removed (`clean_stale_tmp`)."""
    path = resolve_runs_dir(runs_dir)
    if path.is_dir():
        clean_stale_tmp(path)
    return path


def new_run_id(source_name: str, now: datetime | None = None) -> str:
    now = now or datetime.now(UTC)
    slug = re.sub(r"[^a-z0-9]+", "-", Path(source_name).stem.lower()).strip("-")[:40] or "data"
    return f"{now:%Y%m%d-%H%M%S}-{slug}-{uuid.uuid4().hex[:4]}"


class RunWriter:
    """Collects a run's files in a temporary folder; `commit` moves them into place atomically. Starting
    one removes the temporary folders that killed trainings left behind (`clean_stale_tmp`)."""

    def __init__(self, runs_dir: Path, run_id: str) -> None:
        if not is_plain_name(run_id):
            raise ValueError(f"run id {run_id!r} is not a plain folder name")
        self.runs_dir = resolve_runs_dir(runs_dir)
        self.run_id = run_id
        self.runs_dir.mkdir(parents=True, exist_ok=True)
        clean_stale_tmp(self.runs_dir)
        self.tmp = self.runs_dir / f"{TMP_PREFIX}{run_id}"
        self.tmp.mkdir()
        (self.tmp / WRITER_FILE).write_text(json.dumps(_this_process()))

    def __enter__(self) -> RunWriter:
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if self.tmp.exists():
            shutil.rmtree(self.tmp, ignore_errors=True)

    def write_bytes(self, name: str, data: bytes) -> None:
        (self.tmp / name).write_bytes(data)

    def write_text(self, name: str, text: str) -> None:
        (self.tmp / name).write_text(text, encoding="utf-8")

    def write_json(self, name: str, obj: Any) -> None:
        self.write_text(name, json.dumps(jsonable(obj), indent=2, default=_json_default, allow_nan=False))

    def write_parquet(self, name: str, frame: pd.DataFrame, *, compress_floats: bool = True) -> None:
        """Row groups of ROW_GROUP_ROWS: a query for one customer decodes one group, not the whole file.
        `compress_floats=False` stores float columns plain: dense floats such as latent vectors do not
        compress, and plain ones read three times faster."""
        options: dict[str, Any] = {"compression": "zstd"}
        if not compress_floats:
            floats = [str(c) for c in frame.columns if pd.api.types.is_float_dtype(frame[c])]
            options = {"compression": {str(c): "none" if str(c) in floats else "zstd" for c in frame.columns},
                       "use_dictionary": [str(c) for c in frame.columns if str(c) not in floats]}
        frame.to_parquet(self.tmp / name, index=False, row_group_size=ROW_GROUP_ROWS, **options)

    def commit(self, manifest: dict[str, Any]) -> Path:
        """Checksum every file, write the manifest (signed with INSIGHT_SIGNING_KEY when it is set), rename the
        folder into place and point LATEST at the newest complete run, under the runs folder's lock."""
        (self.tmp / WRITER_FILE).unlink(missing_ok=True)
        files = {p.name: {"sha256": sha256_of(p), "bytes": p.stat().st_size}
                 for p in sorted(self.tmp.iterdir()) if p.is_file()}
        full = {"schema_version": SCHEMA_VERSION, "run_id": self.run_id, **manifest, "files": files}
        full = json.loads(json.dumps(jsonable(full), default=_json_default, allow_nan=False))  # as stored
        self.write_json(MANIFEST, seal(full))
        final = self.runs_dir / self.run_id
        with runs_dir_lock(self.runs_dir):
            os.replace(self.tmp, final)
            newest = list_runs(self.runs_dir)[0]
            _write_latest(self.runs_dir, newest.name)
        log.info("run %s written to %s", self.run_id, final)
        return final


@contextmanager
def runs_dir_lock(runs_dir: Path) -> Iterator[None]:
    """An exclusive lock (flock on runs/.lock) held while a run moves into place and LATEST changes: two
    trainings that finish at once take turns, and the last one sees both runs."""
    fd = os.open(Path(runs_dir) / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def set_latest(runs_dir: Path, run_id: str) -> None:
    """Point LATEST at the complete run `run_id` inside `runs_dir` (atomically, under the runs folder's lock).
    Commits keep LATEST on the newest complete run by themselves."""
    runs_dir = Path(runs_dir)
    if _run_named(runs_dir, run_id) is None:
        raise RunError(f"{run_id!r} is not a complete run folder in {runs_dir}")
    with runs_dir_lock(runs_dir):
        _write_latest(runs_dir, run_id)


def _write_latest(runs_dir: Path, run_id: str) -> None:
    for left in runs_dir.glob(f".{LATEST}.*"):  # a replacement a killed process left (we hold the lock)
        left.unlink(missing_ok=True)
    tmp = runs_dir / f".{LATEST}.{uuid.uuid4().hex}"
    tmp.write_text(run_id + "\n")
    os.replace(tmp, runs_dir / LATEST)


def clean_stale_tmp(runs_dir: Path, *, max_age: float = STALE_TMP_SECONDS) -> list[Path]:
    """Remove the temporary run folders of trainings that were killed: those whose writer (on this host) is
    gone, and those whose writer cannot be checked that have not changed for `max_age` seconds. A folder a
    live training is writing is never removed. Returns the folders removed."""
    removed = []
    for tmp in sorted(Path(runs_dir).glob(f"{TMP_PREFIX}*")):
        if tmp.is_symlink() or not tmp.is_dir():
            continue
        why = _stale(tmp, max_age)
        if why:
            log.warning("removing %s, left by a training that did not finish: %s", tmp, why)
            shutil.rmtree(tmp, ignore_errors=True)
            removed.append(tmp)
    return removed


def _stale(tmp: Path, max_age: float) -> str | None:
    """Why `tmp` is a killed training's folder, or None when it may still be written."""
    owner_file = tmp / WRITER_FILE
    try:
        owner = json.loads(owner_file.read_text())
        changed = max(tmp.stat().st_mtime, owner_file.stat().st_mtime)
    except (OSError, ValueError):
        owner = None
        try:
            changed = tmp.stat().st_mtime
        except OSError:
            return None  # removed meanwhile
    if isinstance(owner, dict) and owner.get("host") == socket.gethostname() and isinstance(owner.get("pid"), int):
        if _alive(owner["pid"], owner.get("started")):
            return None
        return f"its writer (process {owner['pid']}) is gone"
    age = time.time() - changed
    if age > max_age:
        return f"unchanged for {age / 3600:.1f} hours and its writer cannot be checked"
    return None


def _this_process() -> dict[str, Any]:
    return {"pid": os.getpid(), "host": socket.gethostname(), "started": _process_start(os.getpid()),
            "since": datetime.now(UTC).isoformat(timespec="seconds")}


def _process_start(pid: int) -> int | None:
    """The process's start time in clock ticks since boot (Linux /proc), which tells a reused pid apart."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return int(stat[stat.rindex(")") + 2:].split()[19])
    except (OSError, ValueError, IndexError):
        return None


def _alive(pid: int, started: object) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # another user's process: alive
    now = _process_start(pid)
    return started is None or now is None or now == started


@dataclass(frozen=True)
class Run:
    """A run folder (verified when opened with `open_run`)."""

    path: Path
    manifest: Manifest

    @property
    def id(self) -> str:
        return self.path.name

    def file(self, name: str) -> Path:
        return self.path / name

    def listed(self, name: str) -> Path | None:
        """The file `name` when the manifest lists it, else None: optional files (map.parquet, ...) are read
        only through this, so a file dropped into the folder later is never used."""
        return self.path / name if name in self.manifest.files else None

    def json(self, name: str) -> Any:
        return json.loads(self.file(name).read_text())

    def text(self, name: str) -> str:
        return self.file(name).read_text()

    def bytes(self, name: str) -> bytes:
        return self.file(name).read_bytes()


def read_manifest(path: Path) -> Manifest:
    """A run folder's manifest, typed, without verifying the run (OSError when unreadable, RunError when it is
    not a run's manifest)."""
    text = (Path(path) / MANIFEST).read_text()
    try:
        stored = json.loads(text)
        if not isinstance(stored, dict):
            raise TypeError(f"a JSON {type(stored).__name__} instead of an object")
        return Manifest.from_dict(stored)
    except (ValueError, TypeError, AttributeError, KeyError, RecursionError) as e:
        raise RunError(f"run {Path(path).name}: its manifest.json is damaged ({e}); retrain it") from e


def open_run(path: Path, *, verify: bool = True) -> Run:
    """Open a run folder; with `verify`, refuse it (RunError) if it fails any check of `verify_run`."""
    path = Path(path)
    if verify:
        problems = verify_run(path)
        if problems:
            raise RunError(f"run {path.name} is damaged or was modified and cannot be used: "
                           + "; ".join(problems[:5]) + ". Retrain it or pick another run.")
    return Run(path=path, manifest=read_manifest(path))


def list_runs(runs_dir: Path) -> list[Path]:
    """Complete run folders (those with a manifest; no links, no hidden folders), newest first."""
    runs_dir = Path(runs_dir)
    if not runs_dir.is_dir():
        return []
    runs = [p for p in runs_dir.iterdir() if _run_named(runs_dir, p.name) is not None]
    return sorted(runs, key=lambda p: p.name, reverse=True)


def _run_named(runs_dir: Path, name: str) -> Path | None:
    """The complete run folder `name` directly inside `runs_dir`, or None."""
    if not is_plain_name(name):
        return None
    path = runs_dir / name
    return path if not path.is_symlink() and path.is_dir() and (path / MANIFEST).is_file() else None


_warned: set[tuple[str, str]] = set()


def latest_run(runs_dir: Path) -> Path | None:
    """The run LATEST names, else the newest complete run, else None. A LATEST that names anything but a
    complete run folder inside `runs_dir` (`../x`, an absolute path, a folder without a manifest) is ignored
    with a warning."""
    runs_dir = Path(runs_dir)
    pointer = runs_dir / LATEST
    runs = list_runs(runs_dir)
    if pointer.is_file() and not pointer.is_symlink():
        with open(pointer, encoding="utf-8", errors="replace") as f:
            named = f.read(1024).strip()
        found = _run_named(runs_dir, named)
        if found is not None:
            return found
        if (str(runs_dir), named) not in _warned:
            _warned.add((str(runs_dir), named))
            log.warning("%s names %r, which is not a complete run folder in %s; using the newest run instead",
                        pointer, named[:200], runs_dir)
    return runs[0] if runs else None


def find_run(runs_dir: Path, ref: str) -> Path:
    """A run by id, unique id prefix, path, or 'latest'."""
    runs_dir = Path(runs_dir)
    if ref == "latest":
        found = latest_run(runs_dir)
        if found is None:
            raise RunError(f"no runs in {runs_dir}; train one with `insight train` or `insight demo`.")
        return found
    if Path(ref).is_dir() and (Path(ref) / MANIFEST).exists():
        return Path(ref)
    matches = [p for p in list_runs(runs_dir) if p.name == ref] or \
        [p for p in list_runs(runs_dir) if p.name.startswith(ref)]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise RunError(f"no run {ref!r} in {runs_dir}; `insight runs list` shows the runs there.")
    raise RunError(f"{ref!r} matches {len(matches)} runs; give more of the id.")


def jsonable(obj: Any) -> Any:
    """`obj` with NaN and infinities replaced by None, so the JSON is standard."""
    if isinstance(obj, float):
        return obj if obj == obj and obj not in (float("inf"), float("-inf")) else None
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    return obj


def _json_default(obj: Any) -> Any:
    import numpy as np

    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating):
        return None if not np.isfinite(obj) else float(obj)
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    if isinstance(obj, datetime):
        return obj.isoformat()
    raise TypeError(f"cannot write {type(obj).__name__} to JSON")
