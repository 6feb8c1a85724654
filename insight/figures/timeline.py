"""The Model page's timeline: a run's lineage and its scored batches over time (a pure function of the frames
`insight.monitoring.history` returns; no I/O, no Streamlit)."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from insight.figures.charts import ACCENT, MARGIN, NEUTRAL

REALISED = "#2E9E6A"
OUT_OF_TIME = "#DC7633"


def _trace(x: pd.Series, y: pd.Series, name: str, color: str, *, mode: str = "markers", dash: str | None = None,
           symbol: str = "circle", text: pd.Series | None = None) -> go.Scatter | None:
    known = y.notna()
    if not known.any():
        return None
    first = "%{x}" if text is None else "%{x}<br>%{text}"
    return go.Scatter(x=x[known], y=y[known].astype(float), name=name, mode=mode,
                      marker={"color": color, "size": 10, "symbol": symbol},
                      line={"color": color, "dash": dash} if "lines" in mode else None,
                      text=None if text is None else text[known],
                      hovertemplate=f"{first}<br>%{{y:.3f}}<extra>{name}</extra>")


def timeline_figure(runs: pd.DataFrame, batches: pd.DataFrame) -> go.Figure:
    """ROC AUC over time (top): each run's held-out and out-of-time AUC, each batch's estimated and realised
    AUC; churn rate over time (bottom): each batch's expected and realised churn rate, with its number of
    drifted features in the hover text."""
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.08, row_heights=[0.6, 0.4])
    labels = runs["run_id"].where(~runs["current"].astype(bool), runs["run_id"] + " (this run)")
    drift = ("scored " + batches["rows"].map("{:,}".format).astype(str) + " customers; "
             + batches["drifted"].astype("Int64").astype(str) + " of " + batches["features"].astype("Int64")
             .astype(str) + " features drifted") if len(batches) else None
    traces = [
        (_trace(runs["when"], runs["test_auc"], "Run: held-out test AUC", NEUTRAL, symbol="diamond", text=labels), 1),
        (_trace(runs["when"], runs["out_of_time_auc"], "Run: out-of-time AUC", OUT_OF_TIME, symbol="diamond",
                text=labels), 1),
        (_trace(batches["when"], batches["estimated_auc"], "Batch: estimated AUC", ACCENT, mode="lines+markers",
                dash="dot", text=drift), 1),
        (_trace(batches["when"], batches["realised_auc"], "Batch: realised AUC", REALISED, mode="lines+markers",
                text=drift), 1),
        (_trace(batches["when"], batches["estimated_churn_rate"], "Batch: expected churn rate", ACCENT,
                mode="lines+markers", dash="dot", text=drift), 2),
        (_trace(batches["when"], batches["realised_churn_rate"], "Batch: realised churn rate", REALISED,
                mode="lines+markers", text=drift), 2),
    ]
    for trace, row in traces:
        if trace is not None:
            fig.add_trace(trace, row=row, col=1)
    fig.update_yaxes(title_text="ROC AUC", row=1, col=1)
    fig.update_yaxes(title_text="Churn rate", tickformat=".0%", rangemode="tozero", row=2, col=1)
    fig.update_xaxes(title_text="Trained as of / scored on", row=2, col=1)
    fig.update_layout(margin=MARGIN, height=480, legend={"orientation": "h", "y": -0.18},
                      title={"text": "The model over time", "x": 0})
    return fig
