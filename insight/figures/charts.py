"""Plotly figures for the dashboard: pure functions of frames, no I/O and no Streamlit.

Curves come from `insight.models.metrics`; the frames come from `insight.runs.store`. Every figure has axis titles a
stakeholder can read, and hover text that names the customer or feature it shows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from insight.formatting import display_value
from insight.formatting import label
from insight.models.metrics import (
    average_precision,
    calibration_frame,
    lift_frame,
    pr_curve_frame,
    roc_auc,
    roc_curve_frame,
    threshold_report,
)
from insight.runs.layout import RISK_BANDS

BAND_COLORS = {"low": "#4C9A6A", "medium": "#E3B23C", "high": "#E07B39", "very high": "#C0392B"}
SEGMENT_COLORS = ("#3366CC", "#DC7633", "#2E9E6A", "#8E44AD", "#C0392B", "#16A2B8", "#B7950B", "#D35E9B",
                  "#5D6D7E", "#1F618D", "#7D3C98", "#117A65")
UNASSIGNED_COLOR = "#B0B7BF"
ACCENT = "#3366CC"
NEUTRAL = "#9AA5B1"
MARGIN = {"l": 10, "r": 10, "t": 40, "b": 10}


LEGEND_INSIDE = {
    "top right": {"x": 0.99, "xanchor": "right", "y": 0.99, "yanchor": "top"},
    "bottom right": {"x": 0.99, "xanchor": "right", "y": 0.02, "yanchor": "bottom"},
    "top left": {"x": 0.01, "xanchor": "left", "y": 0.99, "yanchor": "top"},
}


def _layout(fig: go.Figure, title: str, *, height: int = 380, legend: str = "top right",
            **kwargs: Any) -> go.Figure:
    """Title top left, legend inside the plot area (where the figure's data leaves room)."""
    fig.update_layout(title={"text": title, "x": 0, "xanchor": "left"}, height=height, margin=MARGIN,
                      legend={"bgcolor": "rgba(255,255,255,0.75)", **LEGEND_INSIDE[legend]}, **kwargs)
    return fig


# ---------------------------------------------------------------------- risk


def risk_histogram(hist: pd.DataFrame, *, thresholds: dict[str, float] | None = None) -> go.Figure:
    """Customers per churn-probability bin, stacked by risk band (frame from `RunStore.risk_histogram`)."""
    fig = go.Figure()
    for band in RISK_BANDS:
        part = hist[hist["risk_band"] == band]
        if part.empty:
            continue
        fig.add_bar(x=(part["bin_start"] + part["bin_end"]) / 2 * 100, y=part["customers"],
                    width=(part["bin_end"] - part["bin_start"]) * 100, name=band.capitalize(),
                    marker_color=BAND_COLORS[band],
                    customdata=np.c_[part["bin_start"] * 100, part["bin_end"] * 100],
                    hovertemplate="%{customdata[0]:.1f}–%{customdata[1]:.1f} %: %{y:,} customers"
                                  f"<extra>{band}</extra>")
    for band, cut in (thresholds or {}).items():
        fig.add_vline(x=cut * 100, line_dash="dot", line_color="#555", annotation_text=f"{band} ≥ {cut:.0%}",
                      annotation_position="top left", annotation_font_size=10)
    fig.update_layout(barmode="stack", bargap=0.05)
    fig.update_xaxes(title="Churn probability (%)", range=[0, 100])
    fig.update_yaxes(title="Customers")
    return _layout(fig, "How churn risk is spread across customers")


# ---------------------------------------------------------------------- explanations


def shap_waterfall(
    contributions: pd.Series,
    values: dict[str, Any],
    *,
    base_value: float,
    roles: dict[str, str] | None = None,
    to_probability: Callable[[float], float] | None = None,
    top: int = 10,
) -> go.Figure:
    """How one customer's risk score is built: the average score, the largest SHAP contributions (the rest
    pooled), and the customer's score. `contributions` maps feature -> SHAP value (log-odds)."""
    roles = roles or {}
    contrib = contributions.drop(labels=["base_value"], errors="ignore").astype(float)
    order = contrib.abs().sort_values(ascending=False).index
    shown, rest = list(order[:top]), list(order[top:])
    total = float(base_value + contrib.sum())

    def with_p(text: str, score: float) -> str:
        return f"{text} ({to_probability(score):.0%})" if to_probability else text

    labels = [with_p("Average customer", base_value)]
    labels += [f"{label(f)} = {display_value(values.get(f), roles.get(f))}" for f in shown]
    amounts = [base_value, *[float(contrib[f]) for f in shown]]
    if rest:
        labels.append(f"{len(rest)} other factors")
        amounts.append(float(contrib[rest].sum()))
    labels.append(with_p("This customer", total))
    amounts.append(total)
    measure = ["absolute", *["relative"] * (len(amounts) - 2), "total"]
    fig = go.Figure(go.Waterfall(
        orientation="h", y=labels, x=amounts, measure=measure,
        increasing={"marker": {"color": BAND_COLORS["very high"]}},
        decreasing={"marker": {"color": BAND_COLORS["low"]}},
        totals={"marker": {"color": ACCENT}},
        hovertemplate="%{y}: %{x:+.2f}<extra></extra>", connector={"line": {"color": "#bbb"}}))
    fig.update_yaxes(autorange="reversed", automargin=True)
    fig.update_xaxes(title="Risk score (log-odds): right raises risk, left lowers it")
    return _layout(fig, "What moves this customer's risk", height=max(320, 34 * len(labels) + 120),
                   showlegend=False)


def importance_bar(importance: pd.DataFrame, *, top: int = 20) -> go.Figure:
    """Mean |SHAP| per feature (columns feature, mean_abs_shap), the most important at the top."""
    data = importance.nlargest(top, "mean_abs_shap").iloc[::-1]
    fig = go.Figure(go.Bar(x=data["mean_abs_shap"], y=[label(f) for f in data["feature"]], orientation="h",
                           marker_color=ACCENT, hovertemplate="%{y}: %{x:.3f}<extra></extra>"))
    fig.update_xaxes(title="Mean |SHAP| (log-odds)")
    fig.update_yaxes(automargin=True)
    return _layout(fig, "What drives churn risk overall", height=max(320, 26 * len(data) + 120),
                   showlegend=False)


def beeswarm(shap: pd.DataFrame, values: pd.DataFrame, features: Sequence[str], *,
             roles: dict[str, str] | None = None, seed: int = 0) -> go.Figure:
    """One row of dots per feature: each dot a sampled customer, placed by its SHAP value and coloured by
    the feature's value (low blue to high red; categories and missing values grey).

    `shap` and `values` hold the same customers in the same order (from `RunStore.shap_sample`)."""
    roles = roles or {}
    rng = np.random.default_rng(seed)
    names = list(features)
    parts = []
    for i, name in enumerate(names):
        col, role = values[name], roles.get(name)
        numeric = role != "categorical" and (pd.api.types.is_numeric_dtype(col)
                                             or pd.api.types.is_datetime64_any_dtype(col))
        shap_values = shap[name].to_numpy(dtype=float)
        parts.append(pd.DataFrame({
            "shap": shap_values,
            "row": i + rng.uniform(-0.32, 0.32, len(col)),
            "rank": col.rank(pct=True).to_numpy(dtype=float) if numeric else np.nan,
            "text": [f"{label(name)} = {display_value(v, role)}<br>SHAP {x:+.3f}"
                     for v, x in zip(col.tolist(), shap_values, strict=True)],
        }))
    dots = pd.concat(parts, ignore_index=True) if parts else \
        pd.DataFrame(columns=["shap", "row", "rank", "text"])
    grey, coloured = dots[dots["rank"].isna()], dots[dots["rank"].notna()]
    fig = go.Figure()
    fig.add_trace(go.Scattergl(
        x=grey["shap"], y=grey["row"], mode="markers", name="category or missing", showlegend=False,
        marker={"color": UNASSIGNED_COLOR, "size": 4, "opacity": 0.6}, text=grey["text"],
        hovertemplate="%{text}<extra></extra>"))
    fig.add_trace(go.Scattergl(
        x=coloured["shap"], y=coloured["row"], mode="markers", name="feature value", showlegend=False,
        text=coloured["text"], hovertemplate="%{text}<extra></extra>",
        marker={"color": coloured["rank"], "colorscale": "RdBu_r", "cmin": 0, "cmax": 1, "size": 4,
                "opacity": 0.7,
                "colorbar": {"title": "Value", "tickvals": [0, 1], "ticktext": ["low", "high"], "len": 0.6}}))
    fig.add_vline(x=0, line_color="#888", line_width=1)
    fig.update_yaxes(tickvals=list(range(len(names))), ticktext=[label(n) for n in names],
                     autorange="reversed", automargin=True)
    fig.update_xaxes(title="Impact on the risk score (SHAP, log-odds): right raises risk")
    return _layout(fig, "How each feature's values push risk up or down",
                   height=max(360, 30 * len(names) + 140))


# ---------------------------------------------------------------------- segments


def segment_colors(segment_ids: Iterable[int]) -> dict[int, str]:
    """A colour per segment id that follows the id, not its place among the ids shown (a map without
    segment 2, or a later run whose segments kept their ids: insight.segments.identity); Unassigned (-1) grey."""
    ids = {int(s) for s in segment_ids}
    return {s: SEGMENT_COLORS[s % len(SEGMENT_COLORS)] if s >= 0 else UNASSIGNED_COLOR for s in sorted(ids)}


def shorten(text: str, limit: int = 48) -> str:
    """`text` cut to `limit` characters with an ellipsis (legend and axis titles)."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


# ---------------------------------------------------------------------- model quality


def roc_figure(y: np.ndarray, p: np.ndarray, *, name: str = "Churn model") -> go.Figure:
    """ROC curve with its area, against the diagonal of a coin toss."""
    curve = roc_curve_frame(y, p)
    auc = roc_auc(y, p)
    fig = go.Figure()
    fig.add_scatter(x=[0, 1], y=[0, 1], mode="lines", line={"dash": "dot", "color": NEUTRAL}, name="Random")
    fig.add_scatter(x=curve["fpr"], y=curve["tpr"], mode="lines", line={"color": ACCENT, "width": 2.5},
                    name=f"{name} (AUC {auc:.3f})", customdata=curve["threshold"],
                    hovertemplate="caught %{y:.0%} of churners, %{x:.0%} false alarms<extra></extra>")
    fig.update_xaxes(title="False-positive rate (stayers flagged)", range=[0, 1], tickformat=".0%")
    fig.update_yaxes(title="True-positive rate (churners caught)", range=[0, 1.02], tickformat=".0%")
    return _layout(fig, "ROC curve", legend="bottom right")


MODEL_COLORS = (ACCENT, "#DC7633", "#2E9E6A", "#8E44AD")


def roc_comparison_figure(y: np.ndarray, scores: dict[str, np.ndarray], *,
                          threshold: float | None = None) -> go.Figure:
    """ROC curves of several models on the same customers (the first, the model of record, drawn boldest),
    each with its area; with `threshold`, the first model's operating point there is marked."""
    two_classes = len(np.unique(y)) > 1
    fig = go.Figure()
    fig.add_scatter(x=[0, 1], y=[0, 1], mode="lines", line={"dash": "dot", "color": NEUTRAL}, name="Random")
    for i, (name, p) in enumerate(scores.items()):
        if not two_classes:
            break
        curve = roc_curve_frame(y, p)
        auc = roc_auc(y, p)
        fig.add_scatter(x=curve["fpr"], y=curve["tpr"], mode="lines", name=f"{name} (AUC {auc:.3f})",
                        line={"color": MODEL_COLORS[i % len(MODEL_COLORS)], "width": 2.5 if i == 0 else 1.5,
                              "dash": "solid" if i == 0 else "dash"},
                        hovertemplate=f"{name}: caught %{{y:.0%}} of churners, %{{x:.0%}} false alarms"
                                      "<extra></extra>")
    if threshold is not None and scores and two_classes:
        name, p = next(iter(scores.items()))
        at = threshold_report(y, p, threshold)
        fig.add_scatter(x=[at["fpr"]], y=[at["tpr"]], mode="markers", name=f"Threshold {threshold:.0%}",
                        marker={"size": 12, "color": BAND_COLORS["very high"], "line": {"color": "white",
                                                                                       "width": 1.5}},
                        hovertemplate=f"{name} at {threshold:.0%}: caught %{{y:.0%}} of churners, "
                                      "%{x:.0%} false alarms<extra></extra>")
    fig.update_xaxes(title="False-positive rate (stayers flagged)", range=[0, 1], tickformat=".0%")
    fig.update_yaxes(title="True-positive rate (churners caught)", range=[0, 1.02], tickformat=".0%")
    return _layout(fig, "ROC curves of the models on the same customers", legend="bottom right")


def pr_figure(y: np.ndarray, p: np.ndarray, *, name: str = "Churn model") -> go.Figure:
    """Precision against recall, with the base rate (what random targeting would achieve)."""
    curve = pr_curve_frame(y, p)
    ap = average_precision(y, p)
    base = float(np.mean(y)) if len(y) else 0.0
    fig = go.Figure()
    fig.add_scatter(x=[0, 1], y=[base, base], mode="lines", line={"dash": "dot", "color": NEUTRAL},
                    name=f"Random ({base:.0%} churn)")
    fig.add_scatter(x=curve["recall"], y=curve["precision"], mode="lines", name=f"{name} (AP {ap:.3f})",
                    line={"color": ACCENT, "width": 2.5},
                    hovertemplate="caught %{x:.0%} of churners; %{y:.0%} of those flagged churn"
                                  "<extra></extra>")
    fig.update_xaxes(title="Recall (churners caught)", range=[0, 1], tickformat=".0%")
    fig.update_yaxes(title="Precision (flagged who churn)", range=[0, 1.02], tickformat=".0%")
    return _layout(fig, "Precision and recall")


def calibration_figure(y: np.ndarray, p: np.ndarray, *, bins: int = 10) -> go.Figure:
    """Observed churn rate per probability bin (95 % interval) against the prediction; on the diagonal
    means the probabilities can be taken at face value."""
    frame = calibration_frame(y, p, bins=bins)
    fig = go.Figure()
    fig.add_scatter(x=[0, 1], y=[0, 1], mode="lines", line={"dash": "dot", "color": NEUTRAL}, name="Perfect")
    if not frame.empty:
        fig.add_scatter(
            x=frame["predicted"], y=frame["observed"], mode="lines+markers", name="Observed",
            line={"color": ACCENT}, marker={"size": np.clip(np.sqrt(frame["count"]) * 1.5, 6, 22)},
            error_y={"type": "data", "symmetric": False, "array": frame["high"] - frame["observed"],
                     "arrayminus": frame["observed"] - frame["low"], "color": "#8fa8d8"},
            customdata=frame["count"],
            hovertemplate="predicted %{x:.0%}, observed %{y:.0%} (%{customdata:,} customers)<extra></extra>")
    fig.update_xaxes(title="Predicted churn probability", range=[0, 1], tickformat=".0%")
    fig.update_yaxes(title="Observed churn rate", range=[0, 1.02], tickformat=".0%")
    return _layout(fig, "Calibration: do predicted probabilities come true?", legend="top left")


def lift_figure(y: np.ndarray, p: np.ndarray, *, groups: int = 10) -> go.Figure:
    """Churn rate per risk decile (1 = riskiest tenth), against the average churn rate."""
    frame = lift_frame(y, p, groups=groups)
    base = float(np.mean(y)) if len(y) else 0.0
    fig = go.Figure(go.Bar(x=frame["decile"], y=frame["churn_rate"], marker_color=ACCENT,
                           customdata=np.c_[frame["lift"], frame["customers"]],
                           hovertemplate="decile %{x}: %{y:.0%} churn, lift %{customdata[0]:.1f}× "
                                         "(%{customdata[1]:,} customers)<extra></extra>", name="Churn rate"))
    fig.add_hline(y=base, line_dash="dot", line_color="#555", annotation_text=f"average {base:.0%}")
    fig.update_xaxes(title="Risk decile (1 = the riskiest 10 % of customers)", dtick=1)
    fig.update_yaxes(title="Observed churn rate", tickformat=".0%")
    return _layout(fig, "Lift: churn rate by risk decile", showlegend=False)


def gains_figure(y: np.ndarray, p: np.ndarray, *, groups: int = 10) -> go.Figure:
    """Cumulative share of churners caught when contacting the riskiest customers first."""
    frame = lift_frame(y, p, groups=groups)
    x = np.r_[0.0, frame["cumulative_share"].to_numpy()]
    gain = np.r_[0.0, frame["cumulative_gain"].to_numpy()]
    fig = go.Figure()
    fig.add_scatter(x=[0, 1], y=[0, 1], mode="lines", line={"dash": "dot", "color": NEUTRAL}, name="Random")
    fig.add_scatter(x=x, y=gain, mode="lines+markers", line={"color": ACCENT, "width": 2.5},
                    name="Churn model",
                    hovertemplate="contact %{x:.0%} → catch %{y:.0%} of churners<extra></extra>")
    fig.update_xaxes(title="Share of customers contacted (riskiest first)", range=[0, 1], tickformat=".0%")
    fig.update_yaxes(title="Share of churners caught", range=[0, 1.02], tickformat=".0%")
    return _layout(fig, "Cumulative gains", legend="bottom right")


# ---------------------------------------------------------------------- dependence and targeting


def _is_numeric(col: pd.Series, role: str | None) -> bool:
    return role not in ("categorical", "boolean") and (pd.api.types.is_numeric_dtype(col)
                                                         or pd.api.types.is_datetime64_any_dtype(col))


def dependence_plot(shap: pd.DataFrame, values: pd.DataFrame, feature: str, *, color_by: str | None = None,
                    roles: dict[str, str] | None = None, seed: int = 0) -> go.Figure:
    """One dot per sampled customer: the value of `feature` (x) against its SHAP value (y), coloured by the
    value of `color_by` (low blue to high red for numbers, one colour per category otherwise).

    Numbers and dates keep their axis (customers missing the value are left out); categories and flags sit
    side by side, jittered, with 'missing' as a category of its own. `shap` and `values` hold the same
    customers in the same order (from `RunStore.shap_sample_where`)."""
    roles = roles or {}
    role = roles.get(feature)
    x_raw, y = values[feature], shap[feature].to_numpy(dtype=float)
    numeric = _is_numeric(x_raw, role)
    keep = x_raw.notna().to_numpy() if numeric else np.ones(len(x_raw), dtype=bool)
    shown = [display_value(v, role) for v in x_raw.tolist()]
    if numeric:
        x = x_raw
        ticks: dict[str, Any] = {}
    else:
        names = list(pd.Series(shown).value_counts().index)
        code = {n: i for i, n in enumerate(names)}
        x = pd.Series([code[s] for s in shown], dtype=float) + np.random.default_rng(seed).uniform(
            -0.3, 0.3, len(shown))
        ticks = {"tickvals": list(range(len(names))), "ticktext": names}
    colour = values[color_by] if color_by and color_by in values.columns else None
    c_role = roles.get(color_by) if color_by else None
    hover = [f"{label(feature)} = {s}" + (f"<br>{label(color_by)} = {display_value(c, c_role)}"
                                          if colour is not None else "") + f"<br>SHAP {v:+.3f}"
             for s, c, v in zip(shown, colour.tolist() if colour is not None else [None] * len(shown), y,
                                strict=True)]
    frame = pd.DataFrame({"x": x.to_numpy(), "y": y, "text": hover})
    fig = go.Figure()
    if colour is not None and _is_numeric(colour, c_role):
        rank = colour.rank(pct=True).to_numpy(dtype=float)
        has = ~np.isnan(rank)
        for mask, marker, name in (
            (keep & ~has, {"color": UNASSIGNED_COLOR}, f"{label(color_by)} missing"),
            (keep & has, {"color": rank[keep & has], "colorscale": "RdBu_r", "cmin": 0, "cmax": 1,
                          "colorbar": {"title": shorten(label(color_by), 18), "tickvals": [0, 1],
                                       "ticktext": ["low", "high"], "len": 0.6}}, label(color_by)),
        ):
            part = frame[mask]
            fig.add_scatter(x=part["x"], y=part["y"], mode="markers", name=name, text=part["text"],
                            showlegend=False, hovertemplate="%{text}<extra></extra>",
                            marker={"size": 5, "opacity": 0.7, **marker})
    elif colour is not None:
        groups = pd.Series([display_value(c, c_role) for c in colour.tolist()])
        top = list(groups.value_counts().index[:len(SEGMENT_COLORS) - 1])
        groups = groups.where(groups.isin(top), "other")
        for i, name in enumerate([*top, "other"]):
            mask = keep & (groups == name).to_numpy()
            if mask.any():
                part = frame[mask]
                fig.add_scatter(x=part["x"], y=part["y"], mode="markers", name=shorten(name, 24),
                                text=part["text"], hovertemplate="%{text}<extra></extra>",
                                marker={"size": 5, "opacity": 0.7,
                                        "color": SEGMENT_COLORS[i] if name != "other" else NEUTRAL})
        fig.update_layout(legend_title_text=shorten(label(color_by), 24))
    else:
        part = frame[keep]
        fig.add_scatter(x=part["x"], y=part["y"], mode="markers", text=part["text"], showlegend=False,
                        hovertemplate="%{text}<extra></extra>", marker={"size": 5, "opacity": 0.7,
                                                                       "color": ACCENT})
    fig.add_hline(y=0, line_color="#888", line_width=1)
    fig.update_xaxes(title=label(feature), **ticks)
    fig.update_yaxes(title="Impact on the risk score (SHAP): above 0 raises risk")
    title = f"How {label(feature).lower()} moves churn risk"
    if color_by:
        title += f", coloured by {label(color_by).lower()}"
    return _layout(fig, title, height=420)


def benefit_curve_figure(curve: pd.DataFrame, *, best: int, max_points: int = 600,
                         order: str = "riskiest first") -> go.Figure:
    """Expected net benefit (with the value saved and the offers' cost) by how many of the riskiest customers
    are contacted (frame from `insight.decisions.targeting.benefit_curve`), the best cut marked. Long curves are drawn
    from an even subset of their points (the best cut always among them). `order` names the ranking on the
    x axis ('most value at risk first')."""
    n = len(curve)
    rows = np.unique(np.r_[np.linspace(0, n - 1, min(n, max_points)).round().astype(int), best]) if n else []
    data = curve.iloc[rows] if n else curve
    fig = go.Figure()
    fig.add_scatter(x=data["contacted"], y=data["expected_value_saved"], mode="lines", name="Value saved",
                    line={"color": BAND_COLORS["low"], "dash": "dot"},
                    hovertemplate="%{x:,} contacted: %{y:,.0f} expected value saved<extra></extra>")
    fig.add_scatter(x=data["contacted"], y=data["cost"], mode="lines", name="Cost of the offers",
                    line={"color": NEUTRAL, "dash": "dot"},
                    hovertemplate="%{x:,} contacted: offers cost %{y:,.0f}<extra></extra>")
    fig.add_scatter(x=data["contacted"], y=data["net_benefit"], mode="lines", name="Net benefit",
                    line={"color": ACCENT, "width": 3},
                    hovertemplate="%{x:,} contacted: net benefit %{y:,.0f}<extra></extra>")
    if n:
        top = curve.loc[curve["contacted"] == best, "net_benefit"]
        fig.add_vline(x=best, line_dash="dash", line_color=BAND_COLORS["very high"])
        fig.add_annotation(x=best, y=float(top.iloc[0]) if len(top) else 0, text=f"best: contact {best:,}",
                           showarrow=True, arrowhead=2, ax=40, ay=-30, font={"size": 12})
    fig.update_xaxes(title=f"Customers contacted ({order})", rangemode="tozero")
    fig.update_yaxes(title="Expected amount")
    return _layout(fig, "Expected net benefit by how many customers get the offer", legend="top left")
