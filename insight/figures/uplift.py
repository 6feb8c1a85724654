"""Uplift figures (issue 17): the Qini curve of the uplift model against ranking by churn risk, random
targeting and the perfect ranking, from the manifest's held-out curves (insight.uplift.evaluate)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import plotly.graph_objects as go

from insight.figures.charts import ACCENT, MODEL_COLORS, NEUTRAL, _layout

RANKINGS = {"model": "Uplift model", "risk": "By churn risk", "random": "Random", "perfect": "Perfect (in hindsight)"}


def qini_figure(curves: Mapping[str, Any], *, kind: str = "qini") -> go.Figure:
    """Incremental churners prevented (Qini: treated churners avoided, scaled to the treated group) against the
    number of held-out customers targeted, one line per ranking."""
    curve = curves[kind]
    x = list(curve["customers"])
    styles = {"model": {"color": ACCENT, "width": 3}, "risk": {"color": MODEL_COLORS[1], "width": 2},
              "random": {"color": NEUTRAL, "width": 1.5, "dash": "dash"},
              "perfect": {"color": NEUTRAL, "width": 1, "dash": "dot"}}
    fig = go.Figure()
    for name, label in RANKINGS.items():
        if name in curve:
            fig.add_trace(go.Scatter(x=x, y=list(curve[name]), mode="lines", name=label, line=styles[name],
                                     hovertemplate=f"{label}<br>%{{x:,.0f}} targeted: %{{y:,.1f}}<extra></extra>"))
    _layout(fig, "Churners the offer prevents, by how many are targeted", legend="bottom right")
    fig.update_xaxes(title="Held-out customers targeted (best first)")
    fig.update_yaxes(title="Churners prevented (Qini)" if kind == "qini" else "Churners prevented")
    return fig
