"""The Changes page's pieces: the two run pickers, the cached comparison (insight.changes.compare) and its
tables as a person reads them."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import streamlit as st

from insight import formatting as fmt
from insight.errors import InputError, RunError
from insight.runs.integrity import signing_key_id
from insight.runs.run import list_runs
from insight.ui.context import run_fingerprint, run_label

log = logging.getLogger(__name__)

COMPARE_PARAM = "compare"
"""The query parameter naming run A (the earlier run), so a link opens the same comparison."""
A_KEY, B_KEY = "changes_a", "changes_b"
"""The pickers' key prefixes: B's key ends with the sidebar's run it follows, A's with the B it is compared to."""
ONE_RUN = ("There is only one run, so there is nothing to compare it with yet. Train another run, for example "
           "on next month's customer table (`insight train ...`, or `--time snapshot_date --as-of DATE` on a "
           "table of snapshots), then come back here; `insight compare RUN_A RUN_B` compares two runs in a "
           "terminal.")


def pick_runs(runs_dir: Path, newer: str) -> tuple[Path, Path] | None:
    """Two pickers: run A (earlier, the reference; by default the run before B) and run B (newer; by default
    the sidebar's run). None, with a message, when there is only one run or both pickers name the same run."""
    runs = list_runs(runs_dir)  # newest first
    ids = [p.name for p in runs]
    if len(ids) < 2:
        st.info(ONE_RUN, icon=":material/info:")
        return None
    labels = {p.name: run_label(p) for p in runs}
    # The defaults come from the sidebar's run and the page address (?compare=), not from widget state that a
    # page switch may drop (as the sidebar's picker does): a picker keyed by the run it follows starts afresh
    # on that run's default when the sidebar's run changes, and keeps a choice made on the page otherwise.
    followed = newer if newer in ids else ids[0]
    left, right = st.columns(2)
    b = right.selectbox("Newer run (B)", ids, index=ids.index(followed), key=f"{B_KEY}-{followed}",
                        format_func=lambda i: labels.get(i, i),
                        help="The run whose changes are shown; by default the one picked in the sidebar.")
    wanted = st.query_params.get(COMPARE_PARAM)
    default_a = wanted if wanted in ids and wanted != b else _before(ids, b)
    a = left.selectbox("Earlier run (A, the reference)", ids, index=ids.index(default_a), key=f"{A_KEY}-{b}",
                       format_func=lambda i: labels.get(i, i),
                       help="What B is compared with; by default the run trained just before B.")
    if wanted != a:
        st.query_params[COMPARE_PARAM] = a
    if a == b:
        st.info("Pick two different runs to compare.", icon=":material/info:")
        return None
    return Path(runs_dir) / a, Path(runs_dir) / b


def _before(ids: list[str], b: str) -> str:
    """The run trained just before `b` (ids sort by training time), else the one just after."""
    i = ids.index(b) if b in ids else 0
    return ids[i + 1] if i + 1 < len(ids) else ids[i - 1]


def comparison(path_a: Path, path_b: Path) -> dict[str, Any] | None:
    """The comparison of the two runs (cached per version of both runs' files), or None after a short message
    when a run fails its checks or the runs cannot be compared."""
    try:
        found = _compare(str(path_a), run_fingerprint(path_a), str(path_b), run_fingerprint(path_b),
                         signing_key_id())
    except OSError as e:
        found = ("missing", f"a run could not be read ({e.strerror or e}); pick another.")
    if isinstance(found, tuple):
        kind, message = found
        if kind == "damaged":
            st.error(f"**These runs cannot be compared.** {fmt.markdown_text(message)}", icon=":material/gpp_bad:")
        else:
            st.warning(f"**These runs cannot be compared:** {fmt.markdown_text(message)}",
                       icon=":material/compare_arrows:")
        return None
    return found


@st.cache_data(max_entries=16, show_spinner="Comparing the two runs…")
def _compare(path_a: str, key_a: str, path_b: str, key_b: str,
             signing_key: str) -> dict[str, Any] | tuple[str, str]:
    """compare_runs, cached by both runs' paths and file fingerprints (a changed run is verified again); a
    refusal is returned as (kind, message)."""
    del key_a, key_b, signing_key  # part of the cache key only
    from insight.changes.compare import compare_runs

    try:
        return compare_runs(Path(path_a), Path(path_b))
    except RunError as e:
        log.warning("comparison refused: %s", e)
        return "damaged", str(e)
    except InputError as e:
        return "incomparable", str(e)
