"""Time-to-churn figures: pure plotly functions of frames (no I/O, no Streamlit).

- `kaplan_meier_figure`: the share of each segment's customers still there over time (Kaplan-Meier steps with
  their 95 % bands; everyone dashed), from the run's survival curves (insight.survival.groups);
- `customer_survival_figure`: one customer's predicted curve from the start beside their segment's and
  everyone's mean predicted curves, with where they are now and when they are expected to leave;
- `horizon_calibration_figure`: predicted against observed risk of leaving within each horizon, per model
  (manifest metrics.survival.calibration).

Times are in the duration's own unit (`unit`: days, weeks, months, years), named on the axes.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from insight.figures.charts import ACCENT, MODEL_COLORS, NEUTRAL, _layout, segment_colors, shorten
from insight.formatting import duration, pct
from insight.runs.layout import EVERYONE
from insight.survival.groups import KAPLAN_MEIER

EVERYONE_COLOR = "#4D5560"
MODEL_NAMES = {"survival": "Survival model", "cox": "Cox PH", "kaplan_meier": "Kaplan-Meier"}
BAND_OPACITY = 0.16


def time_title(unit: str) -> str:
    return f"Time as a customer ({unit})"


def _translucent(hex_color: str, alpha: float = BAND_OPACITY) -> str:
    h = hex_color.lstrip("#")
    r, g, b = (int(h[i:i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r},{g},{b},{alpha})"


def _curve(curves: pd.DataFrame, group: str, kind: str) -> pd.DataFrame:
    part = curves[(curves["group"].astype(str) == group) & (curves["kind"] == kind)]
    return part.sort_values("time", kind="stable")


def kaplan_meier_figure(curves: pd.DataFrame, names: Mapping[int, str], *, unit: str,
                        shown: Iterable[int] | None = None, bands: bool = True) -> go.Figure:
    """One Kaplan-Meier step line per segment with its translucent 95 % band, and everyone's dashed.

    `curves`: the run's survival curves (columns group, kind, time, survival, lower, upper; the kind
    "kaplan_meier" rows are drawn); `names`: segment id -> name, in the order drawn; `shown`: the segment ids
    to draw (default every segment in `names`). Segments without a curve are skipped."""
    ids = [int(s) for s in (names if shown is None else shown)]
    colors = segment_colors([*names, *ids])
    fig = go.Figure()
    for s in ids:
        part = _curve(curves, str(s), KAPLAN_MEIER)
        if part.empty:
            continue
        color, name = colors[s], shorten(str(names.get(s, f"Segment {s}")), 40)
        if bands:
            fig.add_scatter(x=part["time"], y=part["upper"], mode="lines", line={"width": 0, "shape": "hv"},
                            legendgroup=str(s), showlegend=False, hoverinfo="skip", name=f"{name} upper")
            fig.add_scatter(x=part["time"], y=part["lower"], mode="lines", line={"width": 0, "shape": "hv"},
                            fill="tonexty", fillcolor=_translucent(color), legendgroup=str(s),
                            showlegend=False, hoverinfo="skip", name=f"{name} 95 % band")
        fig.add_scatter(x=part["time"], y=part["survival"], mode="lines", name=name, legendgroup=str(s),
                        line={"color": color, "width": 2.2, "shape": "hv"},
                        customdata=np.c_[part["lower"], part["upper"]],
                        hovertemplate=f"{name}: %{{y:.0%}} still customers after %{{x:,.4~g}} {unit} "
                                      "(95 %: %{customdata[0]:.0%}–%{customdata[1]:.0%})<extra></extra>")
    everyone = _curve(curves, EVERYONE, KAPLAN_MEIER)
    if not everyone.empty:
        fig.add_scatter(x=everyone["time"], y=everyone["survival"], mode="lines", name="Everyone",
                        line={"color": EVERYONE_COLOR, "width": 2, "dash": "dash", "shape": "hv"},
                        hovertemplate=f"Everyone: %{{y:.0%}} still customers after %{{x:,.4~g}} {unit}"
                                      "<extra></extra>")
    fig.add_hline(y=0.5, line_dash="dot", line_color=NEUTRAL, line_width=1)
    fig.update_xaxes(title=time_title(unit), rangemode="tozero")
    fig.update_yaxes(title="Share still customers", range=[0, 1.02], tickformat=".0%")
    _layout(fig, "How long customers stay, by segment (Kaplan-Meier, 95 % bands)", height=460)
    fig.update_layout(legend={"orientation": "h", "x": 0, "xanchor": "left", "y": -0.2, "yanchor": "top"})
    return fig  # the legend under the plot: curves that stay high or fall fast leave no corner free


def _at(curve: pd.DataFrame, t: float) -> float | None:
    """S(t) on a curve drawn as lines (linear between its points); None outside it or when not finite."""
    if curve is None or curve.empty or not math.isfinite(t):
        return None
    times = curve["time"].to_numpy(dtype=float)
    if t < times.min() - 1e-9 or t > times.max() + 1e-9:
        return None
    return float(np.interp(t, times, curve["survival"].to_numpy(dtype=float)))


def customer_survival_figure(customer_curve: pd.DataFrame, segment_curve: pd.DataFrame | None,
                             everyone_curve: pd.DataFrame | None, *, elapsed: float, leave_at: float,
                             unit: str, segment_name: str = "Their segment",
                             segment_color: str | None = None) -> go.Figure:
    """The customer's predicted S(t) from the start (frames with `time`, `survival`) beside their segment's
    and everyone's mean predicted curves, with a marker at the time they have already stayed (`elapsed`) and
    one at the time they are expected to leave (`leave_at`, counted from the start: elapsed plus the
    conditional median; inf or NaN when the curve never halves again, then no marker)."""
    fig = go.Figure()
    for curve, name, style in (
        (everyone_curve, "Everyone (mean)", {"color": EVERYONE_COLOR, "width": 1.6, "dash": "dash"}),
        (segment_curve, f"{shorten(segment_name, 36)} (mean)",
         {"color": segment_color or MODEL_COLORS[1], "width": 1.8, "dash": "dot"}),
    ):
        if curve is not None and not curve.empty:
            fig.add_scatter(x=curve["time"], y=curve["survival"], mode="lines", name=name, line=style,
                            hovertemplate=f"{name}: %{{y:.0%}} still customers after %{{x:,.4~g}} {unit}"
                                          "<extra></extra>")
    fig.add_scatter(x=customer_curve["time"], y=customer_curve["survival"], mode="lines",
                    name="This customer", line={"color": ACCENT, "width": 3},
                    hovertemplate=f"This customer: %{{y:.0%}} chance of still being a customer after "
                                  f"%{{x:,.4~g}} {unit}<extra></extra>")
    now = _at(customer_curve, float(elapsed))
    if now is not None:
        fig.add_scatter(x=[elapsed], y=[now], mode="markers", name=f"Now ({duration(elapsed, unit)} so far)",
                        marker={"size": 12, "color": ACCENT, "symbol": "circle",
                                "line": {"color": "white", "width": 1.5}},
                        hovertemplate=f"Customer for {duration(elapsed, unit)} so far<extra></extra>")
    leave = float(leave_at) if leave_at is not None else float("nan")
    at_leave = _at(customer_curve, leave)
    if at_leave is not None:
        fig.add_scatter(x=[leave], y=[at_leave], mode="markers",
                        name=f"Expected to leave (at {duration(leave, unit)})",
                        marker={"size": 14, "color": MODEL_COLORS[1], "symbol": "x",
                                "line": {"color": "white", "width": 1}},
                        hovertemplate=f"Expected to leave at about {duration(leave, unit)} as a customer "
                                      f"(in {duration(leave - float(elapsed), unit)} from now)"
                                      "<extra></extra>")
    elif math.isfinite(leave):
        fig.add_annotation(x=1, xref="paper", y=1.0, yref="paper", showarrow=False, xanchor="right",
                           text=f"Expected to leave at about {duration(leave, unit)}, beyond the curve")
    else:
        fig.add_annotation(x=1, xref="paper", y=1.0, yref="paper", showarrow=False, xanchor="right",
                           text="Not expected to leave within the model's horizon")
    fig.add_hline(y=0.5, line_dash="dot", line_color=NEUTRAL, line_width=1)
    fig.update_xaxes(title=time_title(unit), rangemode="tozero")
    fig.update_yaxes(title="Chance of still being a customer", range=[0, 1.02], tickformat=".0%")
    return _layout(fig, "When this customer is likely to leave", height=400, legend="bottom right")


def _table(entry: Mapping[str, Any]) -> pd.DataFrame:
    """The deciles of one horizon_calibration result: a frame, a list of records or a dict of columns."""
    table = entry.get("table")
    frame = table if isinstance(table, pd.DataFrame) else pd.DataFrame(table if table is not None else [])
    return frame if {"predicted", "observed"} <= set(frame.columns) else pd.DataFrame(
        columns=["predicted", "observed", "count"])


def _horizons(calibration: Mapping[str, Mapping[str, Any]]) -> list[tuple[str, float]]:
    found: dict[str, float] = {}
    for per_model in calibration.values():
        for label, entry in (per_model or {}).items():
            found.setdefault(str(label), float(entry.get("horizon", float("nan"))))
    return sorted(found.items(), key=lambda kv: (math.isnan(kv[1]), kv[1]))


def horizon_calibration_figure(calibration: Mapping[str, Mapping[str, Any]], *, unit: str,
                               models: Iterable[str] = ("survival", "cox", "kaplan_meier")) -> go.Figure:
    """Predicted against observed risk of leaving within each horizon (one panel per horizon), by decile of
    the prediction, for each of `models` present in `calibration` ({model: {horizon label:
    insight.survival.metrics.horizon_calibration output}}). On the diagonal: the predicted risk comes true."""
    horizons = _horizons(calibration)
    titles = [f"Within {duration(h, unit)}" if math.isfinite(h) else f"Horizon {label}"
              for label, h in horizons] or ["No horizon measured"]
    fig = make_subplots(rows=1, cols=len(titles), subplot_titles=titles, shared_yaxes=True,
                        horizontal_spacing=0.06)
    chosen = [m for m in models if m in calibration]
    for col, (label, _) in enumerate(horizons, start=1):
        fig.add_scatter(x=[0, 1], y=[0, 1], mode="lines", line={"dash": "dot", "color": NEUTRAL},
                        name="Perfect", legendgroup="perfect", showlegend=col == 1, hoverinfo="skip", row=1, col=col)
        for i, model in enumerate(chosen):
            entry = (calibration.get(model) or {}).get(label)
            if not entry:
                continue
            table = _table(entry)
            if table.empty:
                continue
            name = MODEL_NAMES.get(model, model)
            error = entry.get("error")
            counts = table["count"] if "count" in table else pd.Series(np.nan, index=table.index)
            fig.add_scatter(
                x=table["predicted"], y=table["observed"], mode="lines+markers", name=name, legendgroup=model,
                showlegend=col == 1, row=1, col=col,
                line={"color": MODEL_COLORS[i % len(MODEL_COLORS)], "width": 2.4 if i == 0 else 1.4,
                      "dash": "solid" if i == 0 else "dash"},
                marker={"size": 7 if i == 0 else 5}, customdata=counts,
                hovertemplate=f"{name}: predicted %{{x:.0%}}, observed %{{y:.0%}} (%{{customdata:,}} "
                              f"customers){'; mean gap ' + pct(error) if error is not None else ''}"
                              "<extra></extra>")
        fig.update_xaxes(title="Predicted risk", range=[0, 1], tickformat=".0%", row=1, col=col)
    fig.update_yaxes(title="Observed risk (Kaplan-Meier)", range=[0, 1.02], tickformat=".0%", row=1, col=1)
    for col in range(2, len(titles) + 1):
        fig.update_yaxes(range=[0, 1.02], tickformat=".0%", row=1, col=col)
    return _layout(fig, "Calibration at each horizon: does the predicted risk of leaving come true?",
                   height=400, legend="top left")
