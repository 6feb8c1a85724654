"""The Segments page's map controls, kept in the page address: what colours the map (`color`), which risk
bands it shows (`bands`) and which segment is compared with the rest (`segment`). Opening a link with these
query parameters reproduces the view; a control at its default leaves its parameter out of the address."""

from __future__ import annotations

import logging
from typing import Any

import pandas as pd
import streamlit as st

from insight.formatting import label
from insight.runs.layout import CHURN_PROBABILITY, RISK_BANDS
from insight.ui.facade import RunFacade

log = logging.getLogger(__name__)

COLOR_PARAM, BANDS_PARAM, SEGMENT_PARAM = "color", "bands", "segment"
MODES = ("Segment", "Churn probability", "Target", "Feature")
FIXED = {"Segment": "segment", "Churn probability": CHURN_PROBABILITY}


def from_url(param: str) -> str | None:
    return st.query_params.get(param) or None


def to_url(param: str, value: str | None) -> None:
    """Keep `value` in the address (None: leave the parameter out); unchanged values are not re-sent."""
    if value is None:
        if param in st.query_params:
            del st.query_params[param]
    elif st.query_params.get(param) != value:
        st.query_params[param] = value


def color_options(active: RunFacade, points: pd.DataFrame) -> dict[str, list[str]]:
    """The columns each colouring mode offers: the churn target and auxiliary targets, and the features."""
    targets = [c for c in dict.fromkeys([active.target, *active.aux_targets]) if c in points.columns]
    features = [c for c in active.features if c in points.columns and c not in targets]
    return {"Target": targets, "Feature": features}


def color_control(active: RunFacade, points: pd.DataFrame) -> str:
    """'Segment', 'Churn probability', a target or a feature: returns 'segment', 'churn_probability' or the
    column's name."""
    options = color_options(active, points)
    wanted = from_url(COLOR_PARAM) or "segment"
    mode = next((m for m, c in FIXED.items() if c == wanted), None) or next(
        (m for m, cols in options.items() if wanted in cols), "Segment")
    mode_col, column_col = st.columns([3, 2])
    modes = [m for m in MODES if m in FIXED or options[m]]
    mode = mode_col.segmented_control("Colour by", modes, default=mode, key="map_color",
                                      required=True) or "Segment"
    if mode in FIXED:
        chosen = FIXED[mode]
    else:
        columns = options[mode]
        chosen = column_col.selectbox(mode, columns, index=columns.index(wanted) if wanted in columns else 0,
                                      key="map_column", format_func=label)
    to_url(COLOR_PARAM, None if chosen == "segment" else chosen)
    return chosen


def band_control() -> tuple[str, ...]:
    """Risk bands the map shows (none chosen: every band)."""
    wanted = [b for b in (from_url(BANDS_PARAM) or "").split(",") if b in RISK_BANDS]
    bands = st.pills("Risk bands on the map", list(RISK_BANDS), selection_mode="multi", default=wanted,
                     key="map_bands", format_func=str.capitalize, help="None selected shows every band.")
    chosen = tuple(b for b in RISK_BANDS if b in (bands or []))
    to_url(BANDS_PARAM, ",".join(chosen) or None)
    return chosen


def segment_control(names: dict[int, str]) -> int:
    """The segment compared with the rest while nothing is selected on the map."""
    ids = list(names)
    wanted = _as_int(from_url(SEGMENT_PARAM))
    segment = st.selectbox("Nothing is selected on the map; compare a segment with everyone else instead",
                           ids, index=ids.index(wanted) if wanted in ids else 0, format_func=lambda s: names[s],
                           key="compare_segment")
    to_url(SEGMENT_PARAM, str(segment))
    return int(segment)


def _as_int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
