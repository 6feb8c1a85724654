"""The shared sidebar: the run picker (latest by default, remembered in the URL) and the run's key facts."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import streamlit as st

from insight.errors import RunError
from insight.runs.run import latest_run, list_runs
from insight import formatting as fmt
from insight.ui.context import run_label
from insight.ui.facade import RunFacade, load_run

RUN_PARAM = "run"
"""The query parameter that makes a link open the same run."""
PICKER_KEY = "run_picker"


@dataclass(frozen=True)
class RunChoice:
    """What the sidebar settled on: no run at all, a refused run (with why), or an open run."""

    runs_dir: Path
    run_id: str | None = None
    active: RunFacade | None = None
    error: str | None = None


def run_picker(runs_dir: Path) -> RunChoice:
    """Pick a run (the latest by default), verify and open it; never raises for a bad run."""
    runs = list_runs(runs_dir)
    if not runs:
        return RunChoice(runs_dir=runs_dir)
    latest = latest_run(runs_dir)
    ids = [p.name for p in runs]
    if latest is not None and latest.name in ids:  # the latest first: it is the default
        ids.remove(latest.name)
        ids.insert(0, latest.name)
    labels = {p.name: run_label(p) for p in runs}
    wanted = st.query_params.get(RUN_PARAM)
    with st.sidebar:
        if wanted and wanted not in ids:
            st.warning(f"Run {fmt.markdown_text(wanted)} from the link does not exist here; showing the latest "
                       "run.")
        run_id = st.selectbox("Run", ids, index=ids.index(wanted) if wanted in ids else 0, key=PICKER_KEY,
                              format_func=lambda i: labels.get(i, i) + (" (latest)" if i == ids[0] else ""),
                              help="Each run is one training on one table. The newest is shown by default; "
                                   "the choice is kept in the page address, so links open the same run.")
    run_id = run_id or ids[0]
    if wanted != run_id:  # writing an unchanged value would re-send the URL during page switches
        st.query_params[RUN_PARAM] = run_id
    try:
        active = load_run(Path(runs_dir) / run_id)
    except RunError as e:
        with st.sidebar:
            st.error("This run failed its checks.", icon=":material/gpp_bad:")
        return RunChoice(runs_dir=runs_dir, run_id=run_id, error=str(e))
    _facts(active)
    return RunChoice(runs_dir=runs_dir, run_id=run_id, active=active)


def _facts(active: RunFacade) -> None:
    auc = active.test_metrics.get("roc_auc")
    created = active.created
    with st.sidebar:
        st.markdown(f"**Data:** {fmt.markdown_text(active.source_name)}  \n"
                    f"**Customers:** {fmt.count(active.rows)}  \n**Model ROC AUC:** {fmt.score(auc)} (held-out test)  \n**Trained:** {created} UTC")
