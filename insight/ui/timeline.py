"""The Model page's timeline: the runs of this run's lineage and the batches it scored, as a figure and two
tables (`insight.monitoring.history`, `insight.figures.timeline`). Without either there is one line saying
how to get there."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from insight import formatting as fmt
from insight.ui.context import ActiveRun

RUN_COLUMNS = {"run_id": "Run", "when": "Trained as of", "test_auc": "Test AUC",
               "out_of_time_auc": "Out-of-time AUC"}
BATCH_COLUMNS = {"when": "Scored", "rows": "Customers", "estimated_auc": "Estimated AUC",
                 "realised_auc": "Realised AUC", "estimated_churn_rate": "Expected churn rate",
                 "realised_churn_rate": "Realised churn rate", "drifted": "Drifted features",
                 "top_drift": "Most drifted", "data": "Data"}
NUMBER = {**{c: st.column_config.NumberColumn(format="%.3f")
             for c in ("Test AUC", "Out-of-time AUC", "Estimated AUC", "Realised AUC")},
          **{c: st.column_config.NumberColumn(format="percent") for c in ("Expected churn rate",
                                                                          "Realised churn rate")},
          "Customers": st.column_config.NumberColumn(format="localized")}
HOW_TO = ("insight score {run} customers-next-month.csv --out scores/ --labels churned")


def _signature(runs_dir: Path, run_id: str) -> tuple[object, ...]:
    """What the cached history depends on: the runs folder's and the run's records folder's change times."""
    from insight.monitoring.batches import batches_dir

    def changed(path: Path) -> int:
        try:
            return path.stat().st_mtime_ns
        except OSError:
            return 0

    return (changed(runs_dir), changed(batches_dir(runs_dir, run_id)))


@st.cache_data(show_spinner=False, max_entries=32)
def _history(run_path: str, signature: tuple[object, ...]) -> tuple[pd.DataFrame, pd.DataFrame]:
    from insight.monitoring.history import batch_history, lineage
    from insight.runs.run import read_manifest

    del signature  # part of the cache key only
    path = Path(run_path)
    manifest = read_manifest(path)
    return lineage(path.parent, manifest), batch_history(path.parent, manifest.run_id or path.name)


def show(run: ActiveRun) -> None:
    """The subheader, the figure and the tables of the run's lineage and batches, or how to get them."""
    from insight.figures.timeline import timeline_figure

    runs_dir = run.run.path.parent
    st.subheader("The model over time")
    runs, batches = _history(str(run.run.path), _signature(runs_dir, run.id))
    if len(runs) <= 1 and batches.empty:
        st.info("No other run of this data and no scored batch yet. Score next month's customers with their "
                f"outcomes to see how the model holds up: `{HOW_TO.format(run=run.id)}` (without `--labels` "
                "the performance is estimated from the probabilities alone).", icon=":material/timeline:")
        return
    st.plotly_chart(timeline_figure(runs, batches), key="model_timeline")
    st.caption("Runs trained on the same data (diamonds: their held-out and out-of-time AUC) and the batches "
               "this run scored: the AUC estimated without labels from the calibrated probabilities, and the "
               "realised AUC where the batch carried its outcomes (`insight score ... --labels`).")
    left, right = st.columns([2, 3], gap="large")
    shown = runs.assign(run_id=runs["run_id"].where(~runs["current"], runs["run_id"] + " (this run)"),
                        when=runs["when"].dt.strftime("%Y-%m-%d %H:%M"))
    left.dataframe(shown[list(RUN_COLUMNS)].rename(columns=RUN_COLUMNS), hide_index=True,
                   key="model_timeline_runs", column_config=NUMBER)
    if batches.empty:
        right.info(f"This run has scored no batch yet: `{HOW_TO.format(run=run.id)}`.", icon=":material/info:")
        return
    table = batches.assign(when=batches["when"].dt.strftime("%Y-%m-%d %H:%M"))
    right.dataframe(table[list(BATCH_COLUMNS)].rename(columns=BATCH_COLUMNS), hide_index=True,
                    key="model_timeline_batches", column_config=NUMBER)
    if batches["realised_auc"].isna().all():
        right.caption(f"{fmt.count(len(batches))} batch(es), none with labels yet: add `--labels COL` when "
                      "the outcomes are known to record the realised AUC beside the estimate.")
