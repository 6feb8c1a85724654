"""Tables the pages show, built from store results. Plain pandas, no Streamlit."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from insight import formatting as fmt
from insight.decisions.targeting import (OfferEconomics, customer_worth, expected_benefit, uplift_benefit,
                                        value_at_risk_worth, value_benefit)
from insight.formatting import display_value, markdown_text
from insight.formatting import label
from insight.runs import layout
from insight.runs.manifest import DroppedColumn


def customer_comparison(features: list[str], values: dict[str, Any], typical: dict[str, Any],
                        percentiles: dict[str, float | None], shap: pd.Series | None,
                        roles: dict[str, str]) -> pd.DataFrame:
    """One row per feature: the customer's value, the population's typical value (median or most common),
    the customer's percentile and the feature's effect on their risk score; strongest effect first."""
    rows = []
    for name in features:
        role = roles.get(name)
        effect = float(shap[name]) if shap is not None and name in shap else 0.0
        rows.append({
            "Feature": label(name),
            "This customer": display_value(values.get(name), role),
            "Typical customer": display_value(typical.get(name), role),
            "Percentile": percentiles.get(name),
            "Effect on risk": effect,
        })
    frame = pd.DataFrame(rows)
    order = frame["Effect on risk"].abs().sort_values(ascending=False).index
    return frame.reindex(order).reset_index(drop=True)


def contrast_table(contrast: pd.DataFrame, *, limit: int = 8) -> pd.DataFrame:
    """The strongest significant differences of a contrast (insight.segments.contrast) as a readable table."""
    top = contrast[contrast["significant"].astype(bool)].head(limit)
    return pd.DataFrame({
        "Feature": [label(f) for f in top["feature"]],
        "What stands out": [f"{d[:1].upper()}{d[1:]}" for d in top["description"]],
        "Selected": top["inside"].astype(str).to_numpy(),
        "Rest": top["outside"].astype(str).to_numpy(),
        "Effect size": top["effect"].astype(float).round(2).to_numpy(),
    })


def driver_directions(shap: pd.DataFrame, values: pd.DataFrame, features: list[str],
                      roles: dict[str, str]) -> list[str]:
    """One Markdown sentence per feature saying which values raise churn risk, read off a SHAP sample (names and
    values escaped)."""
    out = []
    for name in features:
        role, words = roles.get(name), markdown_text(label(name))
        effect, value = shap[name].astype(float), values[name]
        if role in ("categorical", "boolean") or not (pd.api.types.is_numeric_dtype(value)
                                                      or pd.api.types.is_datetime64_any_dtype(value)):
            shown = [display_value(v, role) for v in value.tolist()]
            means = effect.groupby(shown).mean().sort_values()
            if len(means) < 2:
                continue
            out.append(f"**{words}**: '{markdown_text(means.index[-1])}' raises risk the most, "
                       f"'{markdown_text(means.index[0])}' lowers it the most.")
            continue
        ranks = value.rank(pct=True)
        known = ranks.notna()
        r = float(ranks[known].corr(effect[known])) if known.sum() > 2 else 0.0
        if pd.isna(r) or abs(r) < 0.2:
            out.append(f"**{words}**: no simple direction; its effect depends on other facts.")
            continue
        high = "later" if pd.api.types.is_datetime64_any_dtype(value) else "higher"
        low = "earlier" if high == "later" else "lower"
        out.append(f"**{words}**: {high if r > 0 else low} values raise churn risk.")
    return out


def band_table(bands: pd.DataFrame, *, revenue: bool) -> pd.DataFrame:
    """Risk bands (from RunStore.band_summary) as text: customers with their share, expected churners and,
    when the run has a revenue column, revenue at risk."""
    out = pd.DataFrame({
        "Risk band": bands[layout.RISK_BAND].str.capitalize(),
        "Customers": [f"{fmt.count(n)} ({fmt.pct(s, 0)})" for n, s in zip(bands["customers"], bands["share"],
                                                                         strict=True)],
        "Expected churners": bands["expected_churners"].map(fmt.count),
    })
    if revenue:
        out["Revenue at risk"] = bands["revenue_at_risk"].map(fmt.amount)
    return out


def group_table(summary: pd.DataFrame, *, revenue: bool) -> pd.DataFrame:
    """Selected customers against the rest (from insight.segments.contrast.compare_groups), as text."""
    out = pd.DataFrame({
        "": summary["group"],
        "Customers": summary["customers"].map(fmt.count),
        "Churn rate (observed)": summary["churn_rate"].map(fmt.pct),
        "Mean churn probability": summary["mean_probability"].map(fmt.pct),
        "Expected churners": summary["expected_churners"].map(fmt.count),
    })
    if revenue:
        out["Revenue at risk"] = summary["revenue_at_risk"].map(fmt.amount)
    return out


def confusion_table(report: dict[str, Any]) -> pd.DataFrame:
    """The confusion matrix of `insight.models.metrics.threshold_report` in words: what happened (rows Churned,
    Stayed, All) against whether the customer was flagged (columns Flagged, Not flagged, All)."""
    return pd.DataFrame({
        "What happened": ["Churned", "Stayed", "All"],
        "Flagged": [report["tp"], report["fp"], report["flagged"]],
        "Not flagged": [report["fn"], report["tn"], report["n"] - report["flagged"]],
        "All": [report["churners"], report["stayers"], report["n"]],
    })


MODEL_SCORES = {"roc_auc": "ROC AUC", "pr_auc": "PR AUC", "log_loss": "Log loss", "brier": "Brier",
                "ece": "ECE", "precision": "Precision", "recall": "Recall", "share_flagged": "Share flagged",
                "n": "Customers"}


def comparison_table(compared: pd.DataFrame) -> pd.DataFrame:
    """`insight.models.metrics.compare_models` with readable column names (Model first)."""
    cols = ["model", *[c for c in MODEL_SCORES if c in compared.columns]]
    return compared[cols].rename(columns={"model": "Model", **MODEL_SCORES}).reset_index(drop=True)


def head_table(baselines: pd.DataFrame) -> pd.DataFrame:
    """`insight.models.metrics.head_baselines` in words: each auxiliary head's score against the training mean's."""
    verdict = {True: "yes", False: "no"}
    return pd.DataFrame({
        "Target": [label(t) for t in baselines["target"]],
        "Measure": baselines["measure"].to_numpy(),
        "Head": baselines["model"].astype(float).to_numpy(),
        "Training mean": baselines["baseline"].astype(float).to_numpy(),
        "Beats the training mean": [verdict.get(b, "cannot tell") for b in baselines["beats"]],
        "Customers": baselines["n"].astype(int).to_numpy(),
    })


def customer_profile(features: list[str], values: dict[str, Any], segment: dict[str, Any],
                     typical: dict[str, Any], percentiles: dict[str, float | None], shap: pd.Series | None,
                     roles: dict[str, str]) -> pd.DataFrame:
    """One row per feature: the customer's value, their segment's and all customers' typical value (median,
    or most common value for categories), the customer's percentile among all customers and the feature's
    effect on their risk score; strongest effect first."""
    frame = customer_comparison(features, values, typical, percentiles, shap, roles)
    by_label = {label(name): display_value(segment.get(name), roles.get(name)) for name in features}
    frame.insert(2, "Their segment", frame["Feature"].map(by_label))
    return frame.rename(columns={"Typical customer": "All customers"})


OUTCOMES = ("Churned", "Stayed", "Not known yet")
MAIN_REASON = layout.REASONS[0]


def outcome(value: Any) -> str:
    """A known churn label in words: 'Churned', 'Stayed', or 'Not known yet' when missing."""
    if value is None or pd.isna(value):
        return "Not known yet"
    return "Churned" if float(value) >= 0.5 else "Stayed"


def similar_table(neighbours: pd.DataFrame, rows: pd.DataFrame, *, id_column: str, target: str) -> pd.DataFrame:
    """The customers nearest in the latent space (columns id, distance) with their churn probability,
    segment, what happened to them and their main reason, nearest first."""
    info = rows.set_index(rows[id_column].astype(str))
    ids = neighbours["id"].astype(str)
    info = info.reindex(ids)
    return pd.DataFrame({
        "Customer": ids.to_numpy(),
        "Churn probability": info[layout.CHURN_PROBABILITY].to_numpy(dtype=float),
        "Segment": info[layout.SEGMENT_NAME].astype("string").fillna("Unassigned").to_numpy(),
        "What happened": [outcome(v) for v in info[target].tolist()],
        "Main reason": info[MAIN_REASON].astype("string").to_numpy() if MAIN_REASON in info else None,
        "Distance": neighbours["distance"].to_numpy(dtype=float),
    })


def outcome_counts(similar: pd.DataFrame) -> dict[str, int]:
    """How many of the customers of `similar_table` churned, stayed and have no known outcome yet."""
    counts = similar["What happened"].value_counts()
    return {o: int(counts.get(o, 0)) for o in OUTCOMES}


def dropped_table(dropped: Sequence[DroppedColumn]) -> pd.DataFrame:
    """The columns the model did not use, and why."""
    return pd.DataFrame({"Column": [d.name for d in dropped], "Why": [d.reason or d.role for d in dropped]})


def target_list(rows: pd.DataFrame, *, id_column: str, value_column: str | None,
                economics: OfferEconomics, value_at_risk: str | None = None,
                within: str | None = None, uplift: bool = False) -> pd.DataFrame:
    """The customers to contact in the plan's order: id, churn probability, risk band, value of keeping them,
    expected benefit of the offer (insight.decisions.targeting: probability × save rate × value − cost) and
    the three reasons. Each customer's value is `value_column` of `rows` unless the offer values everyone
    alike. Ranked by value at risk (`value_at_risk`, the column `value_lost_<H>`), the value column is that
    column itself and the benefit save rate × value at risk − cost; `within` (the column `churn_within_<H>`
    of the same horizon) is shown beside the churn probability. Ranked by the offer's effect (`uplift`), the
    estimated uplift, its interval and group come after the risk, the benefit is uplift × value − cost and the
    reasons for responding follow the reasons for risk."""
    p = rows[layout.CHURN_PROBABILITY].to_numpy(dtype=float)
    out = pd.DataFrame({id_column: rows[id_column], layout.CHURN_PROBABILITY: rows[layout.CHURN_PROBABILITY]})
    if layout.RISK_BAND in rows:
        out[layout.RISK_BAND] = rows[layout.RISK_BAND].astype("string")
    if within is not None and within in rows:
        out[within] = rows[within].astype(float)
    if uplift:
        for name in (layout.UPLIFT, layout.UPLIFT_LOWER, layout.UPLIFT_UPPER):
            out[name] = rows[name].astype(float)
        out[layout.UPLIFT_GROUP] = rows[layout.UPLIFT_GROUP].astype("string")
    if value_at_risk is not None:
        at_risk = rows[value_at_risk].to_numpy(dtype=float)
        out[value_at_risk] = np.round(value_at_risk_worth(at_risk), 2)
        out["expected_benefit"] = np.round(value_benefit(at_risk, economics), 2)
    else:
        own = rows[value_column].to_numpy(dtype=float) if value_column else None
        worth = customer_worth(own, len(rows), economics)
        out["value"] = np.round(worth, 2)
        benefit = (uplift_benefit(rows[layout.UPLIFT].to_numpy(dtype=float), worth, economics) if uplift
                   else expected_benefit(p, worth, economics))
        out["expected_benefit"] = np.round(benefit, 2)
    for name in (*layout.REASONS, *(layout.RESPONSE_REASONS if uplift else ())):
        if name in rows:
            out[name] = rows[name]
    return out.reset_index(drop=True)


def shap_driver_table(drivers: pd.DataFrame, *, limit: int = 8) -> pd.DataFrame:
    """What drives the chosen customers' risk differently from the rest's (from RunStore.shap_contrast): the
    features with the largest difference in mean SHAP value, each in words, with both means (log-odds)."""
    top = drivers.dropna(subset=["selected"]).head(limit)

    def words(selected: float, rest: float) -> str:
        direction = "raises" if selected > 0 else "lowers"
        if pd.isna(rest) or (rest > 0) != (selected > 0):
            other = "" if pd.isna(rest) else f", while it {'lowers' if selected > 0 else 'raises'} the rest's"
            return f"{direction.capitalize()} their risk{other}"
        more = abs(selected) > abs(rest)
        return f"{direction.capitalize()} their risk {'more' if more else 'less'} than the rest's"

    return pd.DataFrame({
        "Feature": [label(f) for f in top["feature"]],
        "In words": [words(s, r) for s, r in zip(top["selected"], top["rest"], strict=True)],
        "Selected (mean SHAP)": top["selected"].astype(float).to_numpy(),
        "Rest (mean SHAP)": top["rest"].astype(float).to_numpy(),
        "Difference": top["difference"].astype(float).to_numpy(),
    })


# ------------------------------------------------------------------------------- survival columns

SurvivalKind = Literal["share", "within", "time", "amount", "text"]


@dataclass(frozen=True)
class SurvivalColumn:
    """How the dashboard shows one survival column of customers.parquet.

    kind "share": a probability (0-1); "within": a time within a horizon (never above it); "time": a time that
    may be infinite or beyond the longest time observed (shown as text); "amount": money; "text": words."""

    name: str
    header: str
    kind: SurvivalKind
    help: str
    horizon: float | None = None


def survival_columns(survival: Mapping[str, Any] | None) -> dict[str, SurvivalColumn]:
    """The survival columns of a run with survival (the manifest's `survival`: unit, horizons, main horizon,
    period value column), in the order the dashboard shows them: churn within each horizon, expected to
    leave in, expected lifetime and value at risk within each horizon, median lifetime and the timing
    reasons. Empty for a run without survival."""
    if not survival:
        return {}
    unit = str(survival["unit"])
    horizons = [float(h) for h in survival["horizons"]]
    out: dict[str, SurvivalColumn] = {}

    def add(column: SurvivalColumn) -> None:
        out[column.name] = column

    for h in horizons:
        span = fmt.duration(h, unit)
        add(SurvivalColumn(layout.churn_within(h), f"Churn within {span}", "share",
                           f"The probability of leaving within the next {span}, given how long they have "
                           "stayed so far (survival model).", h))
    add(SurvivalColumn(layout.EXPECTED_LEAVE_IN, "Expected to leave in", "time",
                       "The median time from now to leaving: half of the customers like this one are expected "
                       "to have left by then (survival model)."))
    for h in horizons:
        span = fmt.duration(h, unit)
        add(SurvivalColumn(layout.expected_lifetime(h), f"Expected stay within {span}", "within",
                           f"How long they are expected to stay within the next {span} (at most {span}): the "
                           "restricted mean lifetime.", h))
    if survival.get("period_value_column"):
        value = label(str(survival["period_value_column"])).lower()
        for h in horizons:
            span = fmt.duration(h, unit)
            add(SurvivalColumn(layout.value_lost(h), f"Value at risk ({span})", "amount",
                               f"The {value} expected to be lost within the next {span}: {value} per "
                               f"{unit[:-1] if unit.endswith('s') else unit} × the time they are expected to "
                               "be gone within it.", h))
    add(SurvivalColumn(layout.MEDIAN_LIFETIME, "Median lifetime", "time",
                       "From the start: the time by which half of the customers like this one have left."))
    for i, name in enumerate(layout.TIMING_REASONS, start=1):
        add(SurvivalColumn(name, f"Timing reason {i}", "text",
                           "What brings their leaving sooner or later, from the survival model's SHAP values."))
    return out


def survival_time(value: Any, unit: str, *, last_time: float | None) -> str:
    """A time of the survival model in words (insight.formatting.duration); infinite ones, and those past
    `last_time` (the longest time the data holds, beyond which the model only extrapolates), as 'beyond
    <last time>'."""
    beyond = f"beyond {fmt.duration(last_time, unit)}" if last_time is not None else "beyond the data"
    if value is not None and last_time is not None and not pd.isna(value) and float(value) > last_time:
        return beyond
    return fmt.duration(value, unit, infinite=beyond)


@dataclass(frozen=True)
class SurvivalView:
    """The survival columns a run's customers.parquet holds, as the dashboard shows them (empty `columns`
    for a run without survival)."""

    columns: dict[str, SurvivalColumn]
    unit: str = ""
    main_horizon: float | None = None
    last_time: float | None = None
    """The longest time the survival curves reach: beyond it the model only extrapolates."""

    def header(self, name: str) -> str:
        """A column's header: a survival column's own ('Churn within 3 months'), else the name as words."""
        column = self.columns.get(name)
        return column.header if column is not None else label(name)

    def _main(self, column: str | None) -> str | None:
        return column if column is not None and column in self.columns else None

    @property
    def churn_within(self) -> str | None:
        """`churn_within_<main horizon>` when the run has it."""
        return self._main(None if self.main_horizon is None else layout.churn_within(self.main_horizon))

    @property
    def value_at_risk(self) -> str | None:
        """`value_lost_<main horizon>` when the run has it (survival with a period value)."""
        return self._main(None if self.main_horizon is None else layout.value_lost(self.main_horizon))

    @property
    def lead(self) -> list[str]:
        """The survival columns the risk table always shows: churn within the main horizon, expected to leave
        in and the value at risk (those the run has)."""
        names = [self.churn_within, self._main(layout.EXPECTED_LEAVE_IN), self.value_at_risk]
        return [n for n in names if n is not None]

    @property
    def sortable(self) -> list[str]:
        """The survival figures (not the timing reasons' words), in display order."""
        return [n for n, c in self.columns.items() if c.kind != "text"]

    def cells(self, rows: pd.DataFrame) -> pd.DataFrame:
        """`survival_cells` of `rows` (unchanged without survival)."""
        return survival_cells(rows, self.columns, unit=self.unit, last_time=self.last_time) if self.columns \
            else rows


def survival_view(survival: Mapping[str, Any] | None, present: Sequence[str], *,
                  last_time: float | None = None) -> SurvivalView:
    """The `SurvivalView` of a run: its manifest's `survival` (None without) and the columns its
    customers.parquet holds."""
    if not survival:
        return SurvivalView(columns={})
    have = set(present)
    columns = {n: c for n, c in survival_columns(survival).items() if n in have}
    return SurvivalView(columns=columns, unit=str(survival["unit"]), main_horizon=float(survival["main_horizon"]),
                        last_time=last_time)


def survival_cells(rows: pd.DataFrame, columns: Mapping[str, SurvivalColumn], *, unit: str,
                   last_time: float | None) -> pd.DataFrame:
    """`rows` with the survival times that may be infinite (kind "time") as text and values at risk rounded
    to cents; other columns as they are."""
    out = rows.copy()
    for name, column in columns.items():
        if name not in out:
            continue
        if column.kind == "time":
            out[name] = [survival_time(v, unit, last_time=last_time) for v in out[name].tolist()]
        elif column.kind == "amount":
            out[name] = out[name].astype(float).round(2)
    return out
