"""Small shared pieces of page layout: metric rows, segment cards, the empty and refused states."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd
import streamlit as st

from insight.formatting import label
from insight.runs import layout
from insight.runs.manifest import SegmentProfile
from insight import formatting as fmt
from insight.ui.tables import SurvivalView, survival_time

CREATE_RUN_COMMANDS = """\
make demo

# or, step by step:
insight demo-data --out demo-data
insight train demo-data/customers.csv --id customer_id --target churned \\
    --aux revenue_next_12m --aux seat_change_next_12m"""


@dataclass(frozen=True)
class Metric:
    label: str
    value: str
    help: str | None = None


def metric_row(metrics: Sequence[Metric]) -> None:
    """Key figures side by side, in bordered tiles."""
    for column, m in zip(st.columns(len(metrics)), metrics, strict=True):
        column.metric(m.label, m.value, help=m.help, border=True)


def page_header(title: str, caption: str) -> None:
    st.title(title)
    st.caption(caption)


def segment_card(profile: SegmentProfile, *, revenue_column: str | None, details: bool = False,
                 new: bool = False) -> None:
    """One segment in a bordered card: name, size, observed churn rate and revenue at risk; with `details`,
    also what sets it apart and what drives its risk; `new`: a segment no earlier run had (a badge)."""
    with st.container(border=True):
        st.markdown(f"**{fmt.markdown_text(profile.name)}**" + (f" {NEW_BADGE}" if new else ""))
        facts = [f"**{fmt.count(profile.size)}** customers ({fmt.pct(profile.share)} of all)",
                 f"churn rate **{fmt.pct(profile.churn_rate)}**"]
        if revenue_column:
            facts.append(f"revenue at risk **{fmt.amount(profile.revenue_at_risk)}**")
        st.markdown(" · ".join(facts), help=_interval(profile))
        if details:
            segment_traits(profile)
            drivers = [f"{fmt.markdown_text(label(d['feature']).lower())} "
                       f"({'raises' if d['mean_shap'] > 0 else 'lowers'} risk)"
                       for d in profile.shap_drivers[:3]]
            if drivers:
                st.caption("Main risk drivers here: " + ", ".join(drivers) + ".")


def segment_traits(profile: SegmentProfile, *, limit: int = 4) -> None:
    """What distinguishes a segment from the rest, as bullet points."""
    traits = [d["description"] for d in profile.distinctive[:limit]]
    if traits:
        st.markdown("\n".join(f"- {fmt.markdown_text(t[:1].upper() + t[1:])}" for t in traits))
    else:
        st.caption("No feature sets this group clearly apart.")


def _interval(profile: SegmentProfile) -> str | None:
    ci = profile.churn_rate_ci
    if not any(math.isnan(v) for v in ci):
        return f"95 % interval {fmt.pct(ci[0])} – {fmt.pct(ci[1])} (observed churn of labelled customers)"
    return None


def run_refused(run_id: str, message: str) -> None:
    """The selected run failed its checks: say which and why, and what to do."""
    st.error(f"**Run {fmt.markdown_text(run_id)} cannot be shown.** {fmt.markdown_text(message)}",
             icon=":material/gpp_bad:")
    st.info("Pick another run in the sidebar, or retrain this one with `insight train`.",
            icon=":material/info:")


def no_run_intro(runs_dir: str) -> None:
    """What to do when there is no run yet."""
    st.title("Customer Insight")
    st.warning(f"There is no trained run in {fmt.markdown_text(runs_dir)} yet.", icon=":material/inventory_2:")
    st.markdown("Create one from a terminal in the project folder:")
    st.code(CREATE_RUN_COMMANDS, language="bash")
    st.markdown("Or build the demo run here (synthetic customers of a creative-software subscription; "
                "about a minute or two):")


def segment_grid(profiles: Sequence[SegmentProfile], *, revenue_column: str | None, columns: int = 3,
                 details: bool = False, new_ids: frozenset[int] = frozenset()) -> None:
    """Segment cards, `columns` to a row (those in `new_ids` badged new)."""
    for start in range(0, len(profiles), columns):
        for column, profile in zip(st.columns(columns), profiles[start:start + columns], strict=False):
            with column:
                segment_card(profile, revenue_column=revenue_column, details=details, new=profile.id in new_ids)


NEW_BADGE = ":green-badge[:material/fiber_new: New]"


def segment_identity(segment_report: dict[str, Any]) -> frozenset[int]:
    """Which segments kept the ids, names and colours of the earlier run they were matched to, which are new
    and which vanished (insight.segments.identity), in one caption; returns the new segments' ids (none for a
    run matched to no earlier run, which shows nothing)."""
    identity = segment_report.get("identity")
    if not identity:
        return frozenset()
    kept, new, gone = identity.get("matched", []), identity.get("new", []), identity.get("vanished", [])
    parts = [f"Matched to run {fmt.markdown_text(str(identity.get('previous_run', '')))} by the customers both "
             f"hold: {fmt.count(len(kept))} " + ("segment kept its" if len(kept) == 1 else "segments kept their")
             + " ids, names and colours"]
    if new:
        parts.append("new: " + ", ".join(f"**{fmt.markdown_text(str(n['name']))}**" for n in new))
    if gone:
        parts.append("vanished: " + ", ".join(_vanished(v) for v in gone))
    st.caption("; ".join(parts) + ".", help="Segments are matched one to one by the Jaccard index of the "
               "customers both runs hold; an unmatched segment gets an id no earlier run used.")
    return frozenset(int(n["id"]) for n in new)


def _vanished(segment: dict[str, Any]) -> str:
    """'~~Old name~~ (most of its customers now in Other name)'."""
    text = f"~~{fmt.markdown_text(str(segment['name']))}~~"
    now = segment.get("mostly_in")
    if now and now.get("share", 0) >= 0.5:
        text += f" (most of its customers now in {fmt.markdown_text(str(now['name']))})"
    return text


def risk_rows(rows: pd.DataFrame) -> pd.DataFrame:
    """Risk-table rows ready to show: band names capitalised, money rounded to cents."""
    out = rows.copy()
    if "risk_band" in out:
        out["risk_band"] = out["risk_band"].astype("string").str.capitalize()
    if "revenue_at_risk" in out:
        out["revenue_at_risk"] = out["revenue_at_risk"].round(2)
    return out


def risk_columns(id_column: str, shown: Sequence[str]) -> dict[str, Any]:
    """Column headers and formats of the risk table."""
    config: dict[str, Any] = {
        id_column: st.column_config.TextColumn("Customer", pinned=True),
        layout.CHURN_PROBABILITY: st.column_config.ProgressColumn("Churn probability", format="percent",
                                                             min_value=0, max_value=1),
        "risk_band": st.column_config.TextColumn("Risk band"),
        "segment_name": st.column_config.TextColumn("Segment", width="medium"),
        "revenue_at_risk": st.column_config.NumberColumn(
            "Revenue at risk", format="localized", help="Expected revenue lost: churn probability × revenue."),
        "reason_1": st.column_config.TextColumn("Main reason", width="large"),
        "reason_2": st.column_config.TextColumn("Second reason", width="large"),
        "reason_3": st.column_config.TextColumn("Third reason", width="large"),
    }
    config.update({c: label(c) for c in shown if c not in config})
    return config


def survival_column_config(view: SurvivalView, shown: Sequence[str]) -> dict[str, Any]:
    """Headers and formats of the survival columns among `shown` (an insight.ui.tables.SurvivalView's): a
    probability as a bar, a time within a horizon in the duration's unit, a time that may lie beyond the data
    as its words, value at risk as money. Empty for a run without survival."""
    config: dict[str, Any] = {}
    for name in shown:
        column = view.columns.get(name)
        if column is None:
            continue
        if column.kind == "share":
            config[name] = st.column_config.ProgressColumn(column.header, format="percent", min_value=0,
                                                           max_value=1, help=column.help)
        elif column.kind == "within":
            config[name] = st.column_config.NumberColumn(column.header, format=f"%.1f {view.unit}",
                                                         help=column.help)
        elif column.kind == "amount":
            config[name] = st.column_config.NumberColumn(column.header, format="localized", help=column.help)
        else:
            config[name] = st.column_config.TextColumn(column.header, help=column.help,
                                                       width="large" if column.kind == "text" else None)
    return config


def survival_tiles(view: SurvivalView, row: dict[str, Any]) -> list[Metric]:
    """One customer's time to churn as metric tiles: churn within each horizon, expected to leave in, the
    expected stay and the value at risk within the main horizon (those the run has)."""
    tiles = [Metric(c.header, fmt.pct(row.get(n)), c.help) for n, c in view.columns.items() if c.kind == "share"]
    leave = view.columns.get(layout.EXPECTED_LEAVE_IN)
    if leave is not None:
        tiles.append(Metric(leave.header, survival_time(row.get(leave.name), view.unit, last_time=view.last_time),
                            leave.help))
    main = view.main_horizon
    stay = view.columns.get(layout.expected_lifetime(main)) if main is not None else None
    if stay is not None:
        tiles.append(Metric(stay.header, fmt.duration(row.get(stay.name), view.unit), stay.help))
    if view.value_at_risk:
        at_risk = view.columns[view.value_at_risk]
        tiles.append(Metric(at_risk.header, fmt.amount(row.get(at_risk.name)), at_risk.help))
    return tiles
