"""One training run on disk: written atomically, described by a manifest with checksums, verified on load.

    runs/<run_id>/manifest.json   schema version, spec, config, metrics, versions, sha256 + size per file
    runs/<run_id>/...             the run's files (models as text/JSON/state_dict, tables as Parquet)
    runs/LATEST                   the id of the newest complete run, replaced atomically

A run is written into a hidden temporary folder and renamed into place only when every file and the
manifest are complete, so a crash or a failed training never leaves a half run and never touches the
previous good one.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from insight.errors import RunError
from insight.runs.layout import LATEST, MANIFEST, MANIFEST_DIGEST, READABLE_SCHEMA_VERSIONS, SCHEMA_VERSION
from insight.runs.manifest import Manifest

log = logging.getLogger(__name__)

RUNS_DIR_ENV = "INSIGHT_RUNS_DIR"
ROW_GROUP_ROWS = 65_536
"""Rows per Parquet row group of a run's tables (with the rows in id order, a lookup by id reads one)."""


def resolve_runs_dir(runs_dir: str | Path | None = None) -> Path:
    """`runs_dir`, else $INSIGHT_RUNS_DIR, else ./runs."""
    if runs_dir:
        return Path(runs_dir)
    return Path(os.environ.get(RUNS_DIR_ENV) or "runs")


def new_run_id(source_name: str, now: datetime | None = None) -> str:
    now = now or datetime.now(UTC)
    slug = re.sub(r"[^a-z0-9]+", "-", Path(source_name).stem.lower()).strip("-")[:40] or "data"
    return f"{now:%Y%m%d-%H%M%S}-{slug}-{uuid.uuid4().hex[:4]}"


class RunWriter:
    """Collects a run's files in a temporary folder; `commit` moves them into place atomically."""

    def __init__(self, runs_dir: Path, run_id: str) -> None:
        self.runs_dir = Path(runs_dir)
        self.run_id = run_id
        self.runs_dir.mkdir(parents=True, exist_ok=True)
        self.tmp = self.runs_dir / f".tmp-{run_id}"
        self.tmp.mkdir()

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
        """Checksum every file, write the manifest, rename the folder into place and point LATEST at it."""
        files = {p.name: {"sha256": sha256_of(p), "bytes": p.stat().st_size}
                 for p in sorted(self.tmp.iterdir()) if p.is_file()}
        full = {"schema_version": SCHEMA_VERSION, "run_id": self.run_id, **manifest, "files": files}
        full = json.loads(json.dumps(jsonable(full), default=_json_default, allow_nan=False))  # as stored
        full[MANIFEST_DIGEST] = manifest_digest(full)
        self.write_json(MANIFEST, full)
        final = self.runs_dir / self.run_id
        os.replace(self.tmp, final)
        set_latest(self.runs_dir, self.run_id)
        log.info("run %s written to %s", self.run_id, final)
        return final


def set_latest(runs_dir: Path, run_id: str) -> None:
    tmp = runs_dir / f".{LATEST}.{uuid.uuid4().hex}"
    tmp.write_text(run_id + "\n")
    os.replace(tmp, runs_dir / LATEST)


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def manifest_digest(manifest: dict[str, Any]) -> str:
    """sha256 of a manifest's content without its own digest, independent of formatting."""
    body = {k: v for k, v in manifest.items() if k != MANIFEST_DIGEST}
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def verify_run(path: Path) -> list[str]:
    """Problems with a run folder (empty list when every file matches its checksum)."""
    path = Path(path)
    manifest_path = path / MANIFEST
    if not path.is_dir():
        return [f"{path}: no such run folder"]
    if not manifest_path.exists():
        return [f"{path.name}: no manifest.json (an incomplete or foreign folder)"]
    try:
        manifest = json.loads(manifest_path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        return [f"{path.name}: manifest.json is not valid JSON ({e})"]
    if manifest.get("schema_version") not in READABLE_SCHEMA_VERSIONS:
        readable = ", ".join(map(str, READABLE_SCHEMA_VERSIONS))
        return [f"{path.name}: run format version {manifest.get('schema_version')} is not one this version of "
                f"insight reads ({readable}); retrain with this version"]
    problems = []
    if MANIFEST_DIGEST in manifest and manifest[MANIFEST_DIGEST] != manifest_digest(manifest):
        problems.append("manifest.json: its content does not match its checksum (the manifest was edited)")
    to_hash = []
    for name, meta in manifest.get("files", {}).items():
        file = path / name
        if not file.exists():
            problems.append(f"{name}: missing")
        elif file.stat().st_size != meta["bytes"]:
            problems.append(f"{name}: size {file.stat().st_size} bytes, manifest says {meta['bytes']}")
        else:
            to_hash.append((name, file, meta["sha256"]))
    # hashlib releases the GIL: the files of a large run are hashed on every core at once
    with ThreadPoolExecutor(max_workers=max(1, min(len(to_hash), os.cpu_count() or 1))) as pool:
        digests = list(pool.map(sha256_of, [file for _, file, _ in to_hash]))
    for (name, _, expected), digest in zip(to_hash, digests, strict=True):
        if digest != expected:
            problems.append(f"{name}: checksum does not match the manifest (the file was changed)")
    if not manifest.get("files"):
        problems.append("manifest lists no files")
    return problems


@dataclass(frozen=True)
class Run:
    """A verified run folder."""

    path: Path
    manifest: Manifest

    @property
    def id(self) -> str:
        return self.path.name

    def file(self, name: str) -> Path:
        return self.path / name

    def json(self, name: str) -> Any:
        return json.loads(self.file(name).read_text())

    def text(self, name: str) -> str:
        return self.file(name).read_text()

    def bytes(self, name: str) -> bytes:
        return self.file(name).read_bytes()


def read_manifest(path: Path) -> Manifest:
    """A run folder's manifest, typed, without verifying the run (ValueError/OSError when unreadable)."""
    return Manifest.from_dict(json.loads((Path(path) / MANIFEST).read_text()))


def open_run(path: Path, *, verify: bool = True) -> Run:
    """Open a run folder; with `verify`, refuse it (RunError) if any file fails its checksum."""
    path = Path(path)
    if verify:
        problems = verify_run(path)
        if problems:
            raise RunError(f"run {path.name} is damaged or was modified and cannot be used: "
                           + "; ".join(problems[:5]) + ". Retrain it or pick another run.")
    return Run(path=path, manifest=read_manifest(path))


def list_runs(runs_dir: Path) -> list[Path]:
    """Complete run folders (those with a manifest), newest first."""
    runs_dir = Path(runs_dir)
    if not runs_dir.is_dir():
        return []
    runs = [p for p in runs_dir.iterdir() if p.is_dir() and not p.name.startswith(".") and (p / MANIFEST).exists()]
    return sorted(runs, key=lambda p: p.name, reverse=True)


def latest_run(runs_dir: Path) -> Path | None:
    """The run LATEST points at, else the newest complete run, else None."""
    runs_dir = Path(runs_dir)
    pointer = runs_dir / LATEST
    if pointer.exists():
        candidate = runs_dir / pointer.read_text().strip()
        if (candidate / MANIFEST).exists():
            return candidate
    runs = list_runs(runs_dir)
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
