"""Test helper: a verified copy of a real run under another id with its manifest edited (another creation
time, other metrics or config), written by the project's own RunWriter, for tests of what reads many runs
(the Model page's timeline, insight.monitoring.history), or with some of its files replaced (a planted
case a small real run does not produce)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from insight.runs.run import MANIFEST_DIGEST, RunWriter, set_latest


def rewritten_run(source: Path, runs_dir: Path, name: str, edit: Callable[[dict[str, Any]], None], *,
                  replace: Mapping[str, bytes] | None = None) -> Path:
    """`source`'s files as run `name` in `runs_dir`, its manifest passed through `edit` (in place) first and
    the files named in `replace` holding the bytes given there instead (checksummed anew)."""
    manifest = json.loads((source / "manifest.json").read_text())
    edit(manifest)
    with RunWriter(runs_dir, name) as writer:
        for file in source.iterdir():
            if file.name != "manifest.json":
                writer.write_bytes(file.name, (replace or {}).get(file.name, file.read_bytes()))
        return writer.commit({k: v for k, v in manifest.items()
                              if k not in ("schema_version", "run_id", "files", MANIFEST_DIGEST)})


def runs_folder(folder: Path, *runs: Path, latest: Path) -> Path:
    """`folder` as a runs folder holding copies of `runs`, LATEST at `latest` (one of them): a test module's
    own, so that runs other tests write into a shared folder cannot change which run is the latest there."""
    for run in runs:
        shutil.copytree(run, folder / run.name)
    set_latest(folder, latest.name)
    return folder
