"""The Customer page's action panels: what-if edits re-scored by the saved churn model, and the suggested
change to actionable features (insight.decisions.whatif). LightGBM loads only when a person submits an edit or asks
for a suggestion, so opening the page stays light."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import pandas as pd
import streamlit as st

from insight.figures import charts
from insight.runs import layout
from insight.formatting import label
from insight.data.features import OTHER, Feature
from insight.data.schema import Role
from insight import formatting as fmt
from insight.ui.facade import RunFacade
from insight.decisions.whatif import Suggestion, suggest, what_if

INPUT_PREFIX = "whatif_in_"
"""Widget keys of the what-if form's inputs: INPUT_PREFIX + feature name."""
_OWNER, _EDITS, _SUGGESTION = "_whatif_owner", "_whatif_edits", "_whatif_suggestion"
FEW_VALUES = 12
"""Categorical features with at most this many categories are offered as levers when a run declares none."""


def _missing(value: Any) -> bool:
    return value is None or value is pd.NaT or (isinstance(value, float) and math.isnan(value))


def _same(a: Any, b: Any) -> bool:
    if _missing(a) or _missing(b):
        return _missing(a) and _missing(b)
    if isinstance(a, (dt.date, pd.Timestamp)) or isinstance(b, (dt.date, pd.Timestamp)):
        return pd.Timestamp(a).normalize() == pd.Timestamp(b).normalize()
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-12)
    return str(a) == str(b)


def _owner(active: RunFacade, row: dict[str, Any]) -> tuple[str, str]:
    """Which customer of which run the panels' state belongs to; another customer starts afresh."""
    owner = (active.id, str(row[active.id_column]))
    if st.session_state.get(_OWNER) != owner:
        for key in [k for k in st.session_state if str(k).startswith(INPUT_PREFIX)]:
            del st.session_state[key]
        for key in (_EDITS, _SUGGESTION):
            st.session_state.pop(key, None)
        st.session_state[_OWNER] = owner
    return owner


def _input(feature: Feature, current: Any) -> Any:
    """One input of the form, prefilled with the customer's value; returns the value it holds."""
    name, key = fmt.markdown_text(label(feature.name)), INPUT_PREFIX + feature.name
    missing = _missing(current)
    if feature.role is Role.CATEGORICAL:
        options: list[Any] = [c for c in feature.categories if c != OTHER and c != f"{OTHER} "]
        if not missing and current not in options:
            options.insert(0, current)
        options.append(None)
        return st.selectbox(name, options, index=options.index(None if missing else current), key=key,
                            format_func=lambda v: "missing" if v is None else str(v))
    if feature.role is Role.BOOLEAN:
        flags: list[Any] = [1.0, 0.0, None]
        index = 2 if missing else (0 if float(current) >= 0.5 else 1)
        return st.selectbox(name, flags, index=index, key=key,
                            format_func=lambda v: "missing" if v is None else ("yes" if v else "no"))
    if feature.role is Role.DATE:
        chosen = st.date_input(name, value=None if missing else pd.Timestamp(current).date(), key=key,
                               min_value=dt.date(1900, 1, 1), max_value=dt.date(2100, 12, 31))
        return None if chosen is None else pd.Timestamp(chosen)
    whole = (feature.median is None or float(feature.median).is_integer()) and \
        (missing or float(current).is_integer())
    return st.number_input(name, value=None if missing else float(current), step=1.0 if whole else 0.1,
                           format="%.0f" if whole else "%.2f", key=key)


def whatif_form(active: RunFacade, row: dict[str, Any]) -> dict[str, Any] | None:
    """A form with one input per model feature, prefilled with the customer's values. Returns the edits
    (feature -> new value, only the changed ones) last submitted for this customer, or None."""
    _owner(active, row)
    features = active.feature_map.features
    with st.form("whatif_form", border=True):
        chosen = {}
        columns = st.columns(4)
        for i, feature in enumerate(features):
            with columns[i % 4]:
                chosen[feature.name] = _input(feature, row.get(feature.name))
        submitted = st.form_submit_button("Score the edited customer", type="primary",
                                          icon=":material/calculate:")
    if submitted:
        st.session_state[_EDITS] = {n: v for n, v in chosen.items() if not _same(v, row.get(n))}
    return st.session_state.get(_EDITS)


def whatif_result(active: RunFacade, row: dict[str, Any], edits: dict[str, Any]) -> pd.Series:
    """Re-score the edited customer with the saved model and show the new probability, its change, the new
    reasons and waterfall; returns what insight.decisions.whatif.what_if computed."""
    result = what_if(active.saved_model(), pd.Series(row), edits)
    before, after = float(row[layout.CHURN_PROBABILITY]), float(result[layout.CHURN_PROBABILITY])
    changed = fmt.markdown_text(", ".join(
        f"{label(n)} {fmt.display_value(row.get(n), active.roles.get(n))} → "
        f"{fmt.display_value(v, active.roles.get(n))}" for n, v in edits.items()))
    left, right = st.columns([2, 3], gap="large")
    with left:
        st.metric("Churn probability after the edits", fmt.pct(after), fmt.points(after - before),
                  delta_color="inverse", border=True, help=f"Before: {fmt.pct(before)}.")
        st.markdown(f"**Edits:** {changed}" if edits else "**No edits:** the customer as they are.")
        st.markdown("\n".join(f"- {fmt.markdown_text(result[f'reason_{i}'])}" for i in (1, 2, 3)
                               if result.get(f"reason_{i}")))
    with right:
        shap = result.filter(like="shap_").rename(lambda c: c.removeprefix("shap_")).astype(float)
        values = {**row, **edits}
        st.plotly_chart(charts.shap_waterfall(shap, values, base_value=float(result["base_value"]),
                                               roles=active.roles, to_probability=active.probability),
                        key="whatif_waterfall")
    return result


def lever_options(active: RunFacade) -> list[str]:
    """Features a suggestion may change: flags and categories with few values first, then numbers."""
    few = [f.name for f in active.feature_map.features
           if f.role is Role.BOOLEAN or (f.role is Role.CATEGORICAL and len(f.categories) <= FEW_VALUES)]
    numbers = [f.name for f in active.feature_map.features if f.role is Role.NUMERIC]
    return list(dict.fromkeys([*active.actionable, *few, *numbers]))


def suggestion_panel(active: RunFacade, row: dict[str, Any]) -> Suggestion | None:
    """Pick the actionable features (the run's by default) and ask for the one change to them that lowers
    this customer's risk most; shows and returns the suggestion (None when none is shown)."""
    owner = _owner(active, row)
    if not active.actionable:
        st.caption("This run declares no actionable features (train with `--actionable COL`): choose the "
                   "ones your business can change.")
    levers = st.multiselect("Features the business can change", lever_options(active),
                            default=active.actionable, key="whatif_levers", format_func=label)
    if st.button("Suggest the best change", key="whatif_suggest", disabled=not levers,
                 icon=":material/lightbulb:"):
        numbers = tuple(n for n in levers if active.feature_map[n].role is Role.NUMERIC)
        found = suggest(active.saved_model(), pd.Series(row), levers,
                        population=active.population_sample(numbers) if numbers else None)
        st.session_state[_SUGGESTION] = (owner, tuple(levers), found)
    kept = st.session_state.get(_SUGGESTION)
    if not kept or kept[0] != owner or kept[1] != tuple(levers):
        return None
    found = kept[2]
    if found is None:
        st.info("No single change to these features lowers this customer's risk by half a point or more.")
        return None
    role = active.roles.get(found.feature)
    st.success(f"**Change {fmt.markdown_text(label(found.feature))} from "
               f"{fmt.markdown_text(fmt.display_value(found.current, role))} to "
               f"{fmt.markdown_text(fmt.display_value(found.proposed, role))}**: risk "
               f"{fmt.pct(found.probability_before)} → {fmt.pct(found.probability_after)} ({found.drop_points:.1f} points lower).",
               icon=":material/lightbulb:")
    return found
