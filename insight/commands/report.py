"""`insight report`: one self-contained HTML report of a run (insight.report.build)."""

from __future__ import annotations

import logging
import os
import uuid
from pathlib import Path
from typing import Annotated

import typer

from insight.commands.common import RunsDir, fail
from insight.errors import InputError, RunError

log = logging.getLogger(__name__)
MARKER_BYTES = 4096
"""A previous report's generator tag sits within its first bytes (insight.report.template.document)."""


def report_command(
    run: Annotated[str, typer.Argument(help="Run id, id prefix, folder, or 'latest'.")],
    out: Annotated[Path, typer.Option("--out", help="The HTML file to write (its folder must exist).")],
    compare: Annotated[str | None, typer.Option(
        "--compare", help="An earlier run (id, prefix, folder or 'latest'): add what changed from it to RUN.")
    ] = None,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace --out when it is a previous report "
                                                                "written by `insight report`.")] = False,
    runs_dir: RunsDir = None,
) -> None:
    """Write one self-contained HTML report of a run, readable offline in any browser.

    The overview, the segments and their profiles, the drivers and model quality (and with --compare, what changed from the earlier run). plotly.js, the styles
    and the logo are inside the file, so it opens in any browser without a network; it is about 5 MB.

    --out is written atomically (a temporary file beside it, renamed into place). An existing --out is
    replaced only with --overwrite and only when it is a report `insight report` wrote; a run folder never
    receives it. Bad paths exit with status 2, a damaged run with 1.
    """
    import time

    from insight.report.build import build_report
    from insight.runs.run import find_run, resolve_runs_dir

    try:
        check_out(out, overwrite=overwrite)
    except InputError as e:
        fail(str(e))
    directory = resolve_runs_dir(runs_dir)
    try:
        path = find_run(directory, run)
        earlier = find_run(directory, compare) if compare else None
    except RunError as e:
        fail(str(e), code=1)
    if earlier is not None and earlier.resolve() == path.resolve():
        fail(f"--compare names the same run as RUN ({path.name}); give an earlier run.")
    started = time.perf_counter()
    try:
        text = build_report(path, compare=earlier)
    except RunError as e:
        fail(str(e), code=1)
    except InputError as e:
        fail(str(e))
    write_atomically(out, text)
    typer.echo(f"wrote {out} ({len(text.encode()) / 1e6:.1f} MB, run {path.name}"
               f"{f' against {earlier.name}' if earlier else ''}, {time.perf_counter() - started:.1f} s)")


def is_report(path: Path) -> bool:
    """Whether the file at `path` is a report `insight report` wrote (its generator tag)."""
    from insight.report.template import GENERATOR

    try:
        with path.open("rb") as f:
            head = f.read(MARKER_BYTES)
    except OSError:
        return False
    return f'<meta name="generator" content="{GENERATOR}">'.encode() in head


def check_out(out: Path, *, overwrite: bool) -> None:
    """Refuse an --out that is a folder, lies in a missing folder or in a run folder, or is an existing file
    that may not be replaced (InputError saying what to do)."""
    from insight.runs.layout import MANIFEST

    if out.is_dir():
        raise InputError(f"--out {out} is a folder; give the path of the HTML file to write, e.g. "
                         f"{out / 'report.html'}.")
    parent = out.absolute().parent
    if not parent.is_dir():
        raise InputError(f"--out {out}: the folder {parent} does not exist; create it first or write the "
                         "report somewhere else.")
    for folder in (parent, *parent.parents):
        if (folder / MANIFEST).is_file():
            raise InputError(f"--out {out} is inside the run folder {folder}; a run's folder holds only its "
                             "own files (a report there would make it fail its checks). Write it elsewhere.")
    if out.exists() or out.is_symlink():
        if not overwrite:
            raise InputError(f"--out {out} exists; pass --overwrite to replace a previous report, or choose "
                             "another file.")
        if out.is_symlink() or not is_report(out):
            raise InputError(f"--out {out} is not a report written by `insight report`; --overwrite replaces "
                             "only those. Choose another file, or remove this one yourself.")


def write_atomically(out: Path, text: str) -> None:
    """Write `text` to a temporary file beside `out`, then rename it into place: a reader never sees half a
    report, and a failure leaves any previous file as it was."""
    tmp = out.absolute().parent / f".{out.name}.tmp-{uuid.uuid4().hex[:8]}"
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    log.info("report written to %s", out)
