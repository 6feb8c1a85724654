"""The record of every batch a run scored, kept in the runs folder beside the runs, never inside one.

A run folder is immutable and checksummed, so what is learnt about a run later lives outside it:

    <runs>/.batches/<run_id>/<UTC time>-<short hash>.json

one file per scored batch (its monitoring summary, `insight.monitoring.report.summary`, with the data's name
without credentials, the output and the engine), written atomically (a temporary file renamed into place).
The leading dot keeps the folder out of `insight.runs.run.list_runs` (hidden names are never runs).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from insight.runs.integrity import is_plain_name

log = logging.getLogger(__name__)

BATCHES = ".batches"
KIND = "insight scored batch"
_STAMP = "%Y%m%dT%H%M%S"


def batches_dir(runs_dir: Path, run_id: str) -> Path:
    """The folder of a run's batch records (ValueError for a run id that is not a plain name)."""
    if not is_plain_name(run_id):
        raise ValueError(f"not a run id: {run_id!r}")
    return Path(runs_dir) / BATCHES / run_id


def write_batch_record(runs_dir: Path, run_id: str, record: dict[str, Any], *, now: datetime | None = None
                       ) -> Path:
    """Append one batch record of run `run_id`: `record` with kind, run_id and created added, as
    `<UTC time>-<hash>.json` (the hash of its content), written to a temporary file and renamed into place."""
    now = (now or datetime.now(UTC)).astimezone(UTC)
    body = {"kind": KIND, "run_id": run_id, "created": now.isoformat(timespec="seconds"), **record}
    text = json.dumps(body, indent=1, allow_nan=False, default=str) + "\n"
    folder = batches_dir(runs_dir, run_id)
    folder.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256(text.encode()).hexdigest()[:8]
    path = folder / f"{now.strftime(_STAMP)}{now.microsecond:06d}Z-{digest}.json"
    tmp = folder / f".{path.name}.{uuid.uuid4().hex[:8]}.tmp"
    tmp.write_text(text)
    os.replace(tmp, path)
    log.info("recorded the batch in %s", path)
    return path


def list_batches(runs_dir: Path, run_id: str) -> list[dict[str, Any]]:
    """A run's batch records, oldest first (each with its `file` name); unreadable records are skipped with a
    warning, and a run without records has none."""
    folder = batches_dir(runs_dir, run_id)
    if not folder.is_dir() or folder.is_symlink():
        return []
    records = []
    for path in sorted(folder.glob("*.json")):
        if path.name.startswith(".") or path.is_symlink() or not path.is_file():
            continue
        try:
            record = json.loads(path.read_text())
        except (OSError, ValueError) as e:
            log.warning("skipping the batch record %s: %s", path, e)
            continue
        if not isinstance(record, dict) or record.get("kind") != KIND or record.get("run_id") != run_id:
            log.warning("skipping %s: not a batch record of run %s", path, run_id)
            continue
        records.append({**record, "file": path.name})
    return records


def record_batch(runs_dir: Path, report: dict[str, Any], *, out: str | Path) -> Path | None:
    """Append the batch record of a monitoring report (`insight.monitoring.report`): its summary, the data's
    name (without credentials, as the report holds it), the output and the engine. A runs folder that
    cannot be written to costs the record (a warning), never the scores already in place."""
    from insight.monitoring.report import summary

    record = {"data": report["data"], "out": str(out), "engine": report["engine"], **summary(report)}
    try:
        return write_batch_record(runs_dir, report["run_id"], record)
    except OSError as e:
        log.warning("the scores are written, but the batch record could not be kept in %s: %s",
                    Path(runs_dir) / BATCHES, e)
        return None
