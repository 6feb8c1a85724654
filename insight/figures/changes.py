"""Figures of what changed between two runs (insight.changes.compare's dict): segment migration as a Sankey
diagram, feature drift as bars, and the shift of the predicted risk distribution. Pure functions, no I/O."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import plotly.graph_objects as go

from insight.figures.charts import ACCENT, BAND_COLORS, NEUTRAL, _layout, segment_colors, shorten
from insight.formatting import label

PSI_MODERATE, PSI_MAJOR = 0.1, 0.25
A_COLOR = NEUTRAL
B_COLOR = ACCENT


def migration_sankey(transitions: Mapping[str, Any], *, min_share: float = 0.0) -> go.Figure:
    """Customers in both runs flowing from their segment in run A (left) to their segment in run B (right);
    segment colours as on the map (one colour per segment id, so a segment that kept its id keeps its colour);
    B's segments in `new_ids` (not matched to any of A's) are marked new. Flows below `min_share` of the
    customers are left out."""
    rows = [t for t in transitions.get("transitions", [])]
    total = max(1, int(transitions.get("customers", 0)))
    rows = [t for t in rows if t["customers"] / total >= min_share]
    ids = {int(t["from_id"]) for t in rows} | {int(t["to_id"]) for t in rows}
    colors = segment_colors(ids)
    left = list(dict.fromkeys(int(t["from_id"]) for t in rows))
    right = list(dict.fromkeys(int(t["to_id"]) for t in rows))
    names = {("a", int(t["from_id"])): t["from_name"] for t in rows}
    names.update({("b", int(t["to_id"])): t["to_name"] for t in rows})
    nodes = [("a", s) for s in left] + [("b", s) for s in right]
    index = {node: i for i, node in enumerate(nodes)}
    new = {int(i) for i in transitions.get("new_ids", [])}
    node_labels = [shorten(names.get((side, s)) or f"Segment {s}", 44) + (" (new)" if side == "b" and s in new
                                                                          else "") for side, s in nodes]
    fig = go.Figure(go.Sankey(
        arrangement="snap",
        node={"label": node_labels, "color": [colors[s] for _, s in nodes], "pad": 14, "thickness": 16,
              "line": {"color": "white", "width": 0.5},
              "hovertemplate": "%{label}: %{value:,} customers<extra></extra>"},
        link={"source": [index[("a", int(t["from_id"]))] for t in rows],
              "target": [index[("b", int(t["to_id"]))] for t in rows],
              "value": [int(t["customers"]) for t in rows],
              "color": [_alpha(colors[int(t["from_id"])], 0.35) for t in rows],
              "hovertemplate": "%{source.label} → %{target.label}: %{value:,} customers<extra></extra>"}))
    for x, text, anchor in ((0, "A (earlier)", "left"), (1, "B (newer)", "right")):
        fig.add_annotation(x=x, y=1.02, xref="paper", yref="paper", text=f"<b>{text}</b>", showarrow=False,
                           xanchor=anchor, yanchor="bottom")
    _layout(fig, f"Segment migration of {transitions.get('customers', 0):,} customers in both runs",
            height=max(380, 40 * max(len(left), len(right)) + 140))
    fig.update_layout(margin={**fig.layout.margin.to_plotly_json(), "t": 72})
    return fig


def drift_bars(drift: Sequence[Mapping[str, Any]], *, top: int = 15) -> go.Figure:
    """The `top` most drifted features by population stability index, worst at the top; flagged ones (adjusted
    p below alpha) in red, the others grey; dotted lines at the usual 0.1 (moderate) and 0.25 (major)."""
    shown = list(drift[:top])[::-1]
    fig = go.Figure(go.Bar(
        x=[d["psi"] for d in shown], y=[shorten(label(d["feature"]), 36) for d in shown], orientation="h",
        marker_color=[BAND_COLORS["very high"] if d["drifted"] else NEUTRAL for d in shown],
        customdata=[[d.get("test"), d.get("p_adjusted")] for d in shown],
        hovertemplate="%{y}: PSI %{x:.3f}<br>%{customdata[0]} test, adjusted p %{customdata[1]:.2g}"
                      "<extra></extra>"))
    for cut, text in ((PSI_MODERATE, "moderate"), (PSI_MAJOR, "major")):
        fig.add_vline(x=cut, line_dash="dot", line_color="#555", annotation_text=text,
                      annotation_position="top")
    fig.update_xaxes(title_text="Population stability index (A → B)")
    return _layout(fig, "Feature drift, worst first (red: significant after correction)",
                   height=max(300, 24 * len(shown) + 110))


def risk_shift_figure(histogram: Mapping[str, Any], *, names: tuple[str, str] = ("A (earlier)", "B (newer)"),
                      ) -> go.Figure:
    """The distribution of predicted churn probability in both runs: the share of each run's customers per
    probability bin (A grey, B blue, side by side), so runs of different sizes compare."""
    edges = list(histogram["edges"])
    mids = [(lo + hi) / 2 * 100 for lo, hi in zip(edges[:-1], edges[1:])]
    fig = go.Figure()
    for side, name, color in (("a", names[0], A_COLOR), ("b", names[1], B_COLOR)):
        counts = list(histogram[side])
        total = max(1, sum(counts))
        fig.add_bar(x=mids, y=[c / total for c in counts], name=name, marker_color=color,
                    hovertemplate=f"{name}: %{{y:.1%}} of customers at %{{x:.0f}} %<extra></extra>")
    fig.update_layout(barmode="group", bargap=0.15)
    fig.update_xaxes(title_text="Predicted churn probability (%)", range=[0, 100])
    fig.update_yaxes(title_text="Share of the run's customers", tickformat=".0%")
    return _layout(fig, "Predicted risk in both runs")


def _alpha(hex_color: str, alpha: float) -> str:
    h = hex_color.lstrip("#")
    r, g, b = (int(h[i:i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r},{g},{b},{alpha})"
