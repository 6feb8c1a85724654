"""The --out folder of `insight score`: never among the runs, never input data, and replaced only when it is
a previous score output (its marker and the files the marker lists)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from insight.errors import InputError

SCORES_MARKER = "_insight_scores.json"
"""Written with every score output (run id, time, parts): the one sign that `--overwrite` may replace a folder.
Its leading underscore keeps Parquet readers from taking it for data."""
PART = re.compile(r"part\.\d+\.parquet")


def check_out(out: Path, parts: list[Path], *, overwrite: bool, runs_dir: Path | None = None) -> None:
    """Refuse an --out that would write into runs, or replace anything but a previous score output."""
    if out.exists() and not out.is_dir():
        raise InputError(f"--out {out} is a file; give a folder.")
    check_not_runs(out, runs_dir)
    if any(out == p or out in p.parents for p in parts):
        raise InputError(f"--out {out} holds input data; write the scores somewhere else.")
    if not out.exists() or not any(out.iterdir()):
        return
    if not overwrite:
        raise InputError(f"--out {out} is not empty; pass --overwrite to replace a previous score output, or "
                         "choose another folder.")
    foreign = not_score_output(out)
    if foreign:
        raise InputError(f"--out {out} is not a score output of insight (it holds "
                         f"{', '.join(sorted(foreign)[:5])}{' ...' if len(foreign) > 5 else ''}); --overwrite "
                         f"only replaces a folder written by `insight score` (with its {SCORES_MARKER}). Choose "
                         "another folder, or empty this one yourself.")


def check_not_runs(out: Path, runs_dir: Path | None) -> None:
    """--out must not be the runs folder, a run, inside either, or a folder that holds runs."""
    from insight.runs.layout import LATEST, MANIFEST

    where = "the runs folder" if runs_dir is not None and out == runs_dir else None
    if where is None and runs_dir is not None and runs_dir in out.parents:
        where = f"inside the runs folder {runs_dir}"
    for folder in (out, *out.parents):
        if where is None and (folder / MANIFEST).is_file():
            where = "a run folder" if folder == out else f"inside the run folder {folder}"
        if where is None and folder != out and (folder / LATEST).is_file():
            where = f"inside the runs folder {folder}"
    if where is None and out.is_dir():
        if (out / LATEST).exists():
            where = "a runs folder"
        elif any(child.is_dir() and ((child / MANIFEST).exists() or (child / LATEST).exists()
                                     or child.name.startswith(".tmp-")) for child in out.iterdir()):
            where = "a folder that holds runs"
    if where is not None:
        raise InputError(f"--out {out} is {where}; scores never go among the runs. Give a folder outside "
                         "the runs folder.")


def not_score_output(out: Path) -> list[str]:
    """The entries of `out` that a previous score output (its marker, the parts and monitoring report it lists)
    does not explain."""
    marker = out / SCORES_MARKER
    try:
        body = json.loads(marker.read_text())
        listed = set(body["parts"])
        report = body.get("monitoring")
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return [p.name for p in out.iterdir()]
    from insight.monitoring.report import MONITORING_FILE

    return [p.name for p in out.iterdir()
            if p.name != SCORES_MARKER and not (p.is_file() and p.name in listed and PART.fullmatch(p.name))
            and not (p.is_file() and p.name == report == MONITORING_FILE)]
