"""Uplift figures (issue 17): the Qini curve of the uplift model against ranking by churn risk, random
targeting and the perfect ranking, from the manifest's held-out curves (insight.uplift.evaluate); the Targeting
page's net benefit of an offer ranked by its estimated effect beside the riskiest first."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
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


def offer_benefit_figure(by_uplift: pd.DataFrame, by_risk: pd.DataFrame, *, best: int, risk_best: int,
                         max_points: int = 600) -> go.Figure:
    """The Targeting page's expected net benefit of an offer by how many customers get it, for the ranking by
    expected incremental value and for the riskiest first, both valued by the same estimated uplift (frames from
    insight.decisions.targeting.uplift_plan), each ranking's best cut marked. Long curves are drawn from an even
    subset of their points (the best cuts among them)."""
    fig = go.Figure()
    lines = (("By the offer's effect", by_uplift, best, {"color": ACCENT, "width": 3}),
             ("By churn risk", by_risk, risk_best, {"color": MODEL_COLORS[1], "width": 2}))
    for name, curve, cut, line in lines:
        n = len(curve)
        rows = np.unique(np.r_[np.linspace(0, n - 1, min(n, max_points)).round().astype(int), cut]) if n else []
        data = curve.iloc[rows] if n else curve
        fig.add_scatter(x=data["contacted"], y=data["net_benefit"], mode="lines", name=name, line=line,
                        hovertemplate=f"{name}<br>%{{x:,}} contacted: net benefit %{{y:,.0f}}<extra></extra>")
        if n:
            top = float(curve["net_benefit"].iloc[cut])
            fig.add_scatter(x=[cut], y=[top], mode="markers", name=f"{name}: best cut", showlegend=False,
                            marker={"color": line["color"], "size": 10, "symbol": "diamond"},
                            hovertemplate=f"best cut {name.lower()}: contact {cut:,}, net %{{y:,.0f}}<extra></extra>")
    fig.add_hline(y=0, line_color=NEUTRAL, line_width=1)
    _layout(fig, "Expected net benefit of the offer, by how many customers get it", legend="top right")
    fig.update_xaxes(title="Customers contacted (best first in each ranking)", rangemode="tozero")
    fig.update_yaxes(title="Expected net benefit (uplift × value − cost)")
    return fig
