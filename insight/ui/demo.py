"""Build the demo run from the dashboard, with a progress bar. The heavy libraries (torch, UMAP, LightGBM)
are imported only when the button is pressed."""

from __future__ import annotations

import logging
from pathlib import Path

import streamlit as st

log = logging.getLogger("insight.ui")

DEMO_ROWS = 3_000


def demo_button(runs_dir: Path, *, rows: int | None = None) -> None:
    """A button that trains the demo run (DEMO_ROWS customers by default) into `runs_dir` and reloads the app
    on it."""
    rows = rows or DEMO_ROWS
    if not st.button(f"Build the demo run ({rows:,} customers)", type="primary",
                     icon=":material/rocket_launch:"):
        return
    st.caption("Keep this page open until it finishes; closing it stops the build.")
    bar = st.progress(0.0, text="Starting…")

    def progress(stage: str, done: float) -> None:
        bar.progress(min(1.0, max(0.0, done)), text=f"{stage[:1].upper()}{stage[1:]}… {done:.0%}")

    try:
        from insight.data.demo import demo_data, demo_spec
        from insight.pipeline import train

        data = demo_data(rows=rows, seed=0)
        path = train(data.customers, demo_spec(), runs_dir=runs_dir, source_name="demo-customers.csv",
                     truth=data.truth, progress=progress)
    except Exception:
        log.exception("building the demo run failed")
        st.error("Building the demo run failed; the details were written to the server log. "
                 "Try `make demo` in a terminal instead.", icon=":material/error:")
        return
    bar.progress(1.0, text="Done")
    st.success(f"Demo run {path.name} is ready.")
    st.rerun()
