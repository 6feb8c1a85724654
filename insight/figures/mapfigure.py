"""The customer map: one WebGL dot per customer, coloured by segment, churn probability, a target or any
feature, with a density layer under maps that draw a sample. A pure function of a frame, no Streamlit.

The map can hold 100,000s of points and is sent to the browser on every rerun of its page, so each point
carries as little text as possible: its customer id (`text`), its numbers in one numeric `customdata` array
(which plotly sends as binary, formatted in the browser by the hover template) and, only where the hover shows
categories or missing values, one joined string (`hovertext`). `customdata[0]` is the point's row in the
frame the map was drawn from, so a selection maps back to rows without a lookup by id.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from insight.formatting import label
from insight.figures.charts import (
    BAND_COLORS,
    MARGIN,
    NEUTRAL,
    SEGMENT_COLORS,
    UNASSIGNED_COLOR,
    segment_colors,
    shorten,
)
from insight.formatting import MISSING, d3_number_format, display_value
from insight.formatting import numbers as format_numbers
from insight.runs.layout import CHURN_PROBABILITY, RISK_BANDS, SEGMENT_ID, SEGMENT_NAME

MAP_CATEGORIES = 10
"""A categorical colouring shows this many most frequent values; the others share one colour."""


def color_kind(values: pd.Series, role: str | None = None) -> str:
    """How a column colours the map: 'continuous' for numbers and dates, 'discrete' for categories, flags,
    0/1 columns and text."""
    if role in ("categorical", "boolean") or isinstance(values.dtype, pd.CategoricalDtype) \
            or pd.api.types.is_bool_dtype(values):
        return "discrete"
    if pd.api.types.is_datetime64_any_dtype(values):
        return "continuous"
    if pd.api.types.is_numeric_dtype(values):
        known = pd.unique(values.dropna())
        return "discrete" if len(known) and set(np.asarray(known, dtype=float).tolist()) <= {0.0, 1.0} \
            else "continuous"
    return "discrete"


def map_values(values: pd.Series, role: str | None = None) -> pd.Series:
    """Column values as a person reads them in a hover or legend ('yes'/'no' for flags and 0/1 columns,
    dates without time, 1,234 / 12.5 / 0.042, as `display_value`); missing values 'missing'."""
    if pd.api.types.is_datetime64_any_dtype(values):
        return values.dt.strftime("%Y-%m-%d").fillna(MISSING).astype(object)
    numeric = pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)
    if numeric and (role == "boolean" or (role is None and color_kind(values) == "discrete")):
        v = values.to_numpy(dtype=float)
        return pd.Series(np.where(np.isnan(v), MISSING, np.where(v >= 0.5, "yes", "no")), index=values.index,
                         dtype=object)
    if numeric and role != "categorical":
        return pd.Series(format_numbers(values.to_numpy(dtype=float)), index=values.index, dtype=object)
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    shown = np.array([display_value(v, role) for v in uniques] + [MISSING], dtype=object)
    return pd.Series(shown[codes], index=values.index)


@dataclass(frozen=True)
class MapHover:
    """What each point's hover shows beyond its id (see the module's docstring)."""

    lines: str
    """The hover template's lines after the id: '<br>Label: %{customdata[i]:format}', then '%{hovertext}'
    where there are text lines."""
    numbers: np.ndarray
    """(points x k) float32 (half the bytes to send; rows stay exact below 2**24): the row of each point in
    the frame, then the values the number lines show."""
    text: np.ndarray | None
    """Per point, the text lines joined ('<br>Label: value...'); None when no line is text."""
    labels: tuple[str, ...]
    """Every line's label, numbers first, then text lines."""


def map_hover(points: pd.DataFrame, columns: Sequence[str] = (), *, roles: dict[str, str] | None = None,
              segment: bool = True) -> MapHover:
    """Each customer's hover on the map, kept small for 100,000s of points. Lines: churn probability, then
    the values of `columns` ('top_reason' reads 'Main reason'), and the segment with `segment`. Numbers
    without missing values travel as numbers and are formatted in the browser; categories, dates, flags and
    columns with missing values travel as text (missing ones read 'missing')."""
    roles = roles or {}
    p = pd.to_numeric(points[CHURN_PROBABILITY], errors="coerce").to_numpy(dtype=float)
    numbers: list[np.ndarray] = [np.arange(len(points), dtype=float), p]
    lines, labels = ["<br>Churn probability: %{customdata[1]:.0%}"], ["Churn probability"]
    texts: list[tuple[str, np.ndarray]] = []
    if segment:
        texts.append(("Segment", points["segment_name"].astype(str).to_numpy(dtype=object)))
    for column in dict.fromkeys(columns):
        if column not in points or column in ("segment", SEGMENT_ID, SEGMENT_NAME, CHURN_PROBABILITY):
            continue
        values, role = points[column], roles.get(column)
        if column == "top_reason":
            codes, uniques = pd.factorize(values, use_na_sentinel=True)
            names = np.array([label(str(u)) for u in uniques] + [MISSING], dtype=object)
            texts.append(("Main reason", names[codes]))
            continue
        numeric = (pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)
                   and role not in ("boolean", "categorical") and color_kind(values, role) == "continuous")
        v = values.to_numpy(dtype=float) if numeric else None
        if v is not None and not np.isnan(v).any():
            lines.append(f"<br>{label(column)}: %{{customdata[{len(numbers)}]:{d3_number_format(v)}}}")
            labels.append(label(column))
            numbers.append(v)
        else:
            texts.append((label(column), map_values(values, role).to_numpy(dtype=object)))
    text = None
    if texts:
        text = np.full(len(points), "", dtype=object)
        for name, cells in texts:
            text = text + f"<br>{name}: " + cells.astype(str)
        lines.append("%{hovertext}")
    return MapHover(lines="".join(lines), numbers=np.column_stack(numbers).astype(np.float32), text=text,
                    labels=(*labels, *(name for name, _ in texts)))


def rows_from_selection(points: Iterable[dict[str, Any]]) -> list[int]:
    """The rows (in the frame `customer_map` drew) of the points selected on the map, from each point's
    customdata; each row once, in the order selected. The browser may hand a point's numeric customdata back
    as a list or, being a typed array, as an object keyed "0", "1", ...; both are read."""
    out: list[int] = []
    for point in points:
        data = point.get("customdata")
        if isinstance(data, dict):
            data = data.get("0", data.get(0))  # type: ignore[call-overload]
        elif isinstance(data, (list, tuple)):
            data = data[0] if data else None
        try:
            out.append(int(data))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            continue
    return list(dict.fromkeys(out))


def customer_map(points: pd.DataFrame, *, id_column: str, color_by: str = "segment",
                 roles: dict[str, str] | None = None, hover: Sequence[str] = (),
                 density: pd.DataFrame | None = None, height: int = 620) -> go.Figure:
    """The customer map (WebGL): one dot per customer in `points`, its id as the point's text, its row in
    `points` first in its customdata (read back by `rows_from_selection`), a hover with id, segment, churn
    probability and the `hover` columns (and the colouring column).

    `color_by`: 'segment', or any column of `points`: numbers and dates on a continuous scale (churn
    probability on a fixed 0-100 % scale), one trace per segment so that the legend can hide segments, and
    missing values grey; categories, flags and 0/1 columns one trace per value (the most frequent ones, the
    rest 'other'). `density` (from `RunStore.map_density`): a shaded layer of where all customers lie, under
    the points, for maps that draw only a sample.
    """
    roles = roles or {}
    points = points.reset_index(drop=True)
    columns = [*hover, *([color_by] if color_by not in ("segment", CHURN_PROBABILITY) else [])]
    discrete = color_by != "segment" and color_kind(points[color_by], roles.get(color_by)) == "discrete"
    details = map_hover(points, columns, roles=roles, segment=discrete)
    ids = points[id_column].astype(str).to_numpy(dtype=object)
    names = points["segment_name"].astype(str).to_numpy()
    xy = points[["x", "y"]].to_numpy(dtype=np.float32)  # float32: half the bytes to send, ample precision
    fig = go.Figure()
    if density is not None and not density.empty:
        fig.add_trace(density_layer(density))
    size = 3 if density is not None or len(points) > 50_000 else (4 if len(points) > 5_000 else 5)
    opacity = 0.55 if density is not None else 0.8

    def scatter(mask: np.ndarray, name: str, marker: dict[str, Any], **kwargs: Any) -> None:
        segment = "" if discrete else f"<br>Segment: {names[mask][0]}"
        extra = {"hovertext": details.text[mask]} if details.text is not None else {}
        fig.add_trace(go.Scattergl(
            x=xy[mask, 0], y=xy[mask, 1], mode="markers", name=name, text=ids[mask],
            customdata=details.numbers[mask], **extra,
            hovertemplate=f"<b>%{{text}}</b>{segment}{details.lines}<extra></extra>",
            marker={"size": size, "opacity": opacity, **marker}, **kwargs))

    segments = sorted(points["segment_id"].unique())
    by_segment = {s: (points["segment_id"] == s).to_numpy() for s in segments}
    legend: dict[str, Any] = {"orientation": "v", "x": 1.01, "y": 1, "xanchor": "left",
                              "itemsizing": "constant", "title": {"text": "Segment"}}
    if color_by == "segment":
        colors = segment_colors(segments)
        for seg, mask in by_segment.items():
            scatter(mask, shorten(str(names[mask][0])), {"color": colors[int(seg)]})
    elif not discrete:
        numbers, title, tickformat = _map_numbers(points[color_by], color_by)
        known = ~np.isnan(numbers)
        if color_by == CHURN_PROBABILITY:
            scale, low, high = "YlOrRd", 0.0, 1.0
        else:
            scale = "Viridis"
            low, high = np.nanquantile(numbers, [0.02, 0.98]) if known.any() else (0.0, 1.0)
            if high <= low:  # mostly one value: span the whole range instead
                low, high = (np.nanmin(numbers), np.nanmax(numbers) + 1e-9) if known.any() else (0.0, 1.0)
        fig.update_layout(coloraxis={"colorscale": scale, "cmin": float(low), "cmax": float(high),
                                     "colorbar": {"title": shorten(title, 30), "tickformat": tickformat}})
        shown_missing = False
        for seg, mask in by_segment.items():
            scatter(mask & known, shorten(str(names[mask][0])),
                    {"color": numbers[mask & known], "coloraxis": "coloraxis"}, legendgroup=f"s{seg}")
            if (mask & ~known).any():
                scatter(mask & ~known, f"{label(color_by)} missing", {"color": UNASSIGNED_COLOR},
                        legendgroup="missing", showlegend=not shown_missing)
                shown_missing = True
        legend = {"orientation": "h", "x": 0, "y": -0.01, "xanchor": "left", "yanchor": "top",
                  "itemsizing": "constant", "title": {"text": "Segments (click to hide)"}}
    else:
        groups = pd.Series(map_values(points[color_by], roles.get(color_by)).to_numpy())
        order = [g for g in groups.value_counts().index if g != MISSING]
        if color_by == "risk_band":
            order = [b for b in RISK_BANDS if b in set(order)]
        top = order[:MAP_CATEGORIES]
        groups = groups.where(groups.isin([*top, MISSING]), "other")
        for i, name in enumerate([*top, "other", MISSING]):
            mask = (groups == name).to_numpy()
            if not mask.any():
                continue
            color = BAND_COLORS.get(name) if color_by == "risk_band" else None
            if color is None:
                fixed = {"other": NEUTRAL, MISSING: UNASSIGNED_COLOR}
                color = fixed.get(name, SEGMENT_COLORS[i % len(SEGMENT_COLORS)])
            scatter(mask, shorten(name, 30), {"color": color})
        legend["title"] = {"text": shorten(label(color_by), 30)}
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False, scaleanchor="x")
    fig.update_layout(dragmode="lasso", legend=legend, plot_bgcolor="rgba(0,0,0,0)", height=height,
                      margin=MARGIN, title={"text": "Customer map: similar customers sit close together",
                                            "x": 0})
    return fig


def _map_numbers(values: pd.Series, name: str) -> tuple[np.ndarray, str, str]:
    """A column as numbers for a colour scale (dates as fractional years), the scale's title and tick
    format."""
    if name == CHURN_PROBABILITY:
        return pd.to_numeric(values, errors="coerce").to_numpy(dtype=float), "Churn<br>probability", ".0%"
    if pd.api.types.is_datetime64_any_dtype(values):
        years = values.dt.year + (values.dt.day_of_year - 1) / 365.25
        return years.to_numpy(dtype=float, na_value=np.nan), f"{label(name)}<br>(year)", ".1f"
    return pd.to_numeric(values, errors="coerce").to_numpy(dtype=float), label(name), ""


def density_layer(density: pd.DataFrame) -> go.Heatmap:
    """A shaded grid of how many customers lie where (frame from `RunStore.map_density`), on a log scale,
    for drawing under a sample of the map's points; not selectable and without hover."""
    nx, ny = int(density["ix"].max()) + 1, int(density["iy"].max()) + 1
    x_step, y_step = float(density["x_step"].iloc[0]), float(density["y_step"].iloc[0])
    x0 = float(density["x"].iloc[0] - (density["ix"].iloc[0] + 0.5) * x_step)
    y0 = float(density["y"].iloc[0] - (density["iy"].iloc[0] + 0.5) * y_step)
    z = np.full((ny, nx), np.nan)
    z[density["iy"].to_numpy(), density["ix"].to_numpy()] = np.log10(density["customers"].to_numpy() + 1.0)
    return go.Heatmap(x=x0 + (np.arange(nx) + 0.5) * x_step, y=y0 + (np.arange(ny) + 0.5) * y_step, z=z,
                      colorscale=[[0, "rgba(200,210,225,0.25)"], [1, "rgba(40,60,110,0.85)"]], zsmooth="best",
                      showscale=False, hoverinfo="skip", name="all customers (density)")
