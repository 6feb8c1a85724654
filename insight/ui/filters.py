"""Filter controls for the risk table: risk band, segment and conditions on any column."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import streamlit as st

from insight.formatting import label
from insight.formatting import display_value, markdown_text
from insight.formatting import duration as fmt_duration
from insight.runs.layout import RISK_BAND, RISK_BANDS, SEGMENT_ID, SEGMENT_NAME, TOP_REASON
from insight.runs.tables import ColumnFilter, RiskFilter
from insight.ui.facade import RunFacade
from insight.ui.tables import SurvivalColumn
from insight.ui.sidebar import RUN_PARAM


def risk_filter(active: RunFacade) -> RiskFilter:
    """Band, segment and column filters; an empty choice means 'no restriction'."""
    names = segment_choices(active)
    band_col, seg_col, reason_col = st.columns([2, 3, 3])
    bands = band_col.pills("Risk band", list(RISK_BANDS), selection_mode="multi", key="filter_bands",
                           format_func=str.capitalize, help="No band selected shows every band.")
    chosen_segments = seg_col.multiselect("Segment", list(names), key="filter_segments",
                                          format_func=lambda s: names.get(s, str(s)),
                                          placeholder="All segments")
    with reason_col:
        reason = top_reason_control(active)
    columns = [c for c in active.filterable_columns() if c not in (RISK_BAND, SEGMENT_NAME, TOP_REASON)]
    picked = st.multiselect("Filter on other columns", columns, key="filter_columns",
                            format_func=active.survival_view.header, placeholder="Choose columns to filter on…")
    conditions = []
    for start in range(0, len(picked), 3):
        for column, name in zip(st.columns(3), picked[start:start + 3], strict=False):
            with column:
                condition = _column_control(active, name)
            if condition is not None:
                conditions.append(condition)
    if reason is not None:
        conditions.insert(0, reason)
    return RiskFilter(bands=tuple(bands or ()), segments=tuple(int(s) for s in chosen_segments),
                      conditions=tuple(conditions))


def segment_choices(active: RunFacade) -> dict[int, str]:
    """Every segment's name by id (from the customers, so a filter offers exactly the segments they have)."""
    segments = active.segment_summary()
    return dict(zip(segments[SEGMENT_ID].astype(int), segments[SEGMENT_NAME].astype(str), strict=True))


def top_reason_control(active: RunFacade) -> ColumnFilter | None:
    """'Main reason is …': customers whose strongest reason is one of the chosen features (top_reason)."""
    reasons = active.top_reasons()
    if reasons.empty:
        return None
    counts = dict(zip(reasons["feature"], reasons["customers"], strict=True))
    chosen = st.multiselect("Main reason is", list(counts), key="filter_top_reason", placeholder="Any reason",
                            format_func=lambda f: f"{label(f)} ({counts.get(f, 0):,})",
                            help="Customers whose strongest reason (the first one listed) is about this "
                                 "feature. In brackets: how many customers have it as their main reason.")
    return ColumnFilter(TOP_REASON, "in", values=tuple(chosen)) if chosen else None


CURRENT_FILTER = "_risk_filter_current"
"""Session state key of the risk table's current filter, for other pages (Drivers) to reuse."""


def remember(active: RunFacade, flt: RiskFilter) -> None:
    """Keep the risk table's filter for other pages; an empty filter is forgotten."""
    if flt == RiskFilter():
        st.session_state.pop(CURRENT_FILTER, None)
    else:
        st.session_state[CURRENT_FILTER] = (active.id, flt)


def current(active: RunFacade) -> RiskFilter | None:
    """The filter last set on the risk table for this run, or None."""
    kept = st.session_state.get(CURRENT_FILTER)
    return kept[1] if kept and kept[0] == active.id else None


HANDOVER = "_risk_filter_handover"
"""Session state key of customers another page (Segments) sent to the risk table: (run id, ids, words)."""
RISK_PAGE_FILTERS = ("filter_bands", "filter_segments", "filter_top_reason", "filter_columns")


def open_in_risk_table(active: RunFacade, ids: list[Any], description: str) -> None:
    """Switch to the risk table showing exactly the customers `ids` (described in words), its own filters
    cleared; the restriction holds until the person drops it there."""
    st.session_state[HANDOVER] = (active.id, tuple(str(i) for i in ids), description)
    for key in RISK_PAGE_FILTERS:
        st.session_state.pop(key, None)
    st.switch_page("pages/risk.py", query_params={RUN_PARAM: active.id})  # the same run, not the latest


def with_handover(active: RunFacade, flt: RiskFilter) -> RiskFilter:
    """`flt`, restricted to the customers another page sent here (with a note and a button to drop them)."""
    kept = st.session_state.get(HANDOVER)
    if not kept or kept[0] != active.id:
        return flt
    note, drop = st.columns([5, 1], vertical_alignment="center")
    note.info(f"Showing only the {markdown_text(kept[2])}, sent here from the Segments page.",
              icon=":material/scatter_plot:")
    drop.button("Show all customers", key="risk_drop_handover", width="stretch", on_click=_drop_handover)
    ids = ColumnFilter(active.id_column, "in", values=kept[1])
    return RiskFilter(bands=flt.bands, segments=flt.segments, conditions=(ids, *flt.conditions))


def _drop_handover() -> None:
    st.session_state.pop(HANDOVER, None)


def describe(flt: RiskFilter) -> str:
    """A filter in words: 'risk band very high · main reason: Monthly fee · plan'."""
    parts = []
    if flt.bands:
        parts.append("risk band " + ", ".join(flt.bands))
    if flt.segments:
        parts.append(f"{len(flt.segments)} segment{'s' if len(flt.segments) > 1 else ''}")
    for cond in flt.conditions:
        if cond.column == TOP_REASON:
            parts.append("main reason: " + ", ".join(label(str(v)) for v in cond.values))
        elif cond.kind == "in" and len(cond.values) > 20:  # customers sent from the Segments page
            parts.append(f"{len(cond.values):,} chosen customers")
        else:
            parts.append(label(cond.column))
    return " · ".join(parts) or "all customers"


def _column_control(active: RunFacade, name: str) -> ColumnFilter | None:
    kind = active.column_kinds[name]
    key = f"filter_{name}"
    timing = active.survival_view.columns.get(name)
    if timing is not None and timing.kind in ("share", "within", "time"):
        return _survival_control(active, timing, key)
    title = markdown_text(active.survival_view.header(name))
    if kind == "text":
        text = st.text_input(title, key=key, placeholder="contains…")
        return ColumnFilter(name, "contains", text=text) if text else None
    if kind == "category":
        values = active.distinct_values(name)
        role = active.roles.get(name)
        chosen = st.multiselect(title, [*values, None], key=key, placeholder="Any value",
                                format_func=lambda v: display_value(v, role))
        return ColumnFilter(name, "in", values=tuple(chosen)) if chosen else None
    low, high = active.value_range(name)
    if low is None or high is None or low == high:
        st.caption(f"{title}: a single value, nothing to filter.")
        return None
    if kind == "date":
        low, high = _as_date(low), _as_date(high)
        chosen = st.slider(title, min_value=low, max_value=high, value=(low, high), key=key)
    else:
        low, high = float(low), float(high)
        chosen = st.slider(title, min_value=_floor(low), max_value=_ceil(high),
                           value=(_floor(low), _ceil(high)), key=key, step=_step(low, high))
    if tuple(chosen) == (low, high) or (kind == "number" and chosen[0] <= low and chosen[1] >= high):
        return None
    return ColumnFilter(name, "range", low=chosen[0], high=chosen[1])


def _survival_control(active: RunFacade, column: SurvivalColumn, key: str) -> ColumnFilter | None:
    """A survival column's filter: a probability in percent, a time within its horizon, or a time that may
    lie beyond the data (the slider's right end keeps everyone beyond it, infinite times included)."""
    title, view = markdown_text(column.header), active.survival_view
    if column.kind == "share":
        low, high = st.slider(title, min_value=0, max_value=100, value=(0, 100), step=1, format="%d %%", key=key,
                              help=column.help)
        return None if (low, high) == (0, 100) else ColumnFilter(column.name, "range", low=low / 100,
                                                                  high=high / 100)
    if column.kind == "within":
        top = float(column.horizon or 0.0)
    else:
        lo, hi = active.value_range(column.name)
        finite = [float(v) for v in (lo, hi) if v is not None and math.isfinite(float(v))]
        top = view.last_time if view.last_time is not None else max(finite, default=0.0)
    top = _ceil(float(top))
    if top <= 0:
        st.caption(f"{title}: a single value, nothing to filter.")
        return None
    beyond = column.kind == "time"
    low, high = st.slider(f"{title} ({markdown_text(view.unit)})", min_value=0.0, max_value=top,
                          value=(0.0, top), step=_step(0.0, top), key=key,
                          help=column.help + (f" The right end keeps everyone expected to leave later than "
                                              f"{fmt_duration(top, view.unit)}." if beyond else ""))
    if low <= 0 and high >= top:
        return None
    return ColumnFilter(column.name, "range", low=low if low > 0 else None,
                        high=None if beyond and high >= top else high)


def _as_date(value: Any) -> dt.date:
    return value.date() if isinstance(value, dt.datetime) else value


def _step(low: float, high: float) -> float:
    span = high - low
    if span >= 20 and low == int(low) and high == int(high):
        return 1.0
    return float(10 ** math.floor(math.log10(span / 100))) if span > 0 else 1.0


def _floor(v: float) -> float:
    return float(math.floor(v)) if abs(v) >= 10 else v


def _ceil(v: float) -> float:
    return float(math.ceil(v)) if abs(v) >= 10 else v


SCOPES = ("All customers", "One segment", "Risk-table filter")


def scope_picker(active: RunFacade, *, key: str = "drivers") -> tuple[str, RiskFilter | None]:
    """Which customers a page explains: everyone, one segment, or the risk table's current filter (offered
    when one is set). Returns the scope in words and its filter (None for everyone)."""
    kept = current(active)
    options = list(SCOPES if kept is not None else SCOPES[:2])
    left, right = st.columns([2, 3])
    scope = left.segmented_control("Customers", options, key=f"{key}_scope", default=options[0], required=True,
                                   help="Explain every customer, one segment, or the customers the Churn risk "
                                        "page's filters currently select.")
    if scope == "One segment":
        names = segment_choices(active)
        chosen = right.selectbox("Segment", list(names), key=f"{key}_segment", format_func=lambda s: names[s])
        return f"segment '{names[int(chosen)]}'", RiskFilter(segments=(int(chosen),))
    if scope == SCOPES[2] and kept is not None:
        right.markdown(f"**Risk-table filter:** {markdown_text(describe(kept))}")
        return f"the risk table's filter ({describe(kept)})", kept
    return "all customers", None
