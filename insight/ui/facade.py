"""The run facade: the one object pages ask for everything about the active run.

`RunFacade` is an `insight.ui.context.ActiveRun` (the verified run, its store and its facts) whose queries are
cached. The facade itself is a shared resource, one per run version (`load_run`). Its methods are Streamlit
cached methods: Streamlit derives each entry's key from the call's arguments, and `HASH_FUNCS` says how to
read the two arguments it cannot hash quickly (insight.ui.caching). The Targeting page's queries are
insight.ui.targeting_view's. Masks over the map's points (at most MAP_POINTS, under Streamlit's
sampling size for arrays) are hashed whole. Cached results are small (one row per segment, band, feature or
sampled customer); queries whose answers are large or asked once (a page of the risk table, exports, one
customer) are passed to the store as they are.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import streamlit as st

from insight import formatting as fmt
from insight.errors import RunError
from insight.models.quality import ScopeQuality, ThresholdQuality, at_threshold, scope_quality, scope_rows
from insight.models.quality import segment_sizes as count_by_segment
from insight.runs import layout
from insight.runs.export import csv_bytes, describe_selection, parquet_bytes, selection_csv, selection_method
from insight.runs.integrity import signing_key_id
from insight.runs.tables import ColumnFilter, RiskFilter
from insight.segments.contrast import MapChoice, compare_groups, contrast
from insight.segments.latent import LatentIndex
from insight.ui import tables
from insight.ui.caching import data, resource
from insight.ui.context import open_active_run, run_fingerprint
from insight.ui.targeting_view import TargetingQueries

if TYPE_CHECKING:
    import plotly.graph_objects as go

    from insight.models.recipe import Models

log = logging.getLogger(__name__)



@dataclass(frozen=True, eq=False)
class Selection:
    """The customers the Segments page compares with the rest: picked on the map, or a segment."""

    choice: MapChoice
    filter: RiskFilter
    count: int
    title: str
    how: str
    """In words, for exports and the risk table: 'lasso of 656 customers on the segment map'."""


class RunFacade(TargetingQueries):
    """A verified run, its facts and its cached queries. Shared between sessions: read-only."""

    # ------------------------------------------------------------------ aggregates

    @data(max_entries=64)
    def segment_summary(self) -> pd.DataFrame:
        """Per-segment counts, churn and revenue (small: one row per segment), by segment id."""
        return self.store.segment_summary().sort_values(layout.SEGMENT_ID)

    @data(max_entries=64)
    def band_summary(self) -> pd.DataFrame:
        return self.store.band_summary()

    @data(max_entries=64)
    def risk_histogram(self) -> pd.DataFrame:
        return self.store.risk_histogram()

    @data(max_entries=256)
    def count(self, flt: RiskFilter | None = None) -> int:
        return self.store.count(flt)

    @data(max_entries=256)
    def totals(self, flt: RiskFilter | None = None) -> dict[str, Any]:
        """Customers, expected churners, churn rate, mean probability and revenue at risk of `flt`'s
        customers."""
        return self.store.totals(flt)

    @data(max_entries=64)
    def top_reasons(self) -> pd.DataFrame:
        """The features that are some customer's main reason, with counts, most frequent first."""
        return self.store.top_reasons()

    @data(max_entries=256)
    def distinct_values(self, column: str) -> list[Any]:
        return self.store.distinct_values(column)["value"].tolist()

    @data(max_entries=256)
    def value_range(self, column: str) -> tuple[Any, Any]:
        return self.store.value_range(column)

    # ------------------------------------------------------------------ the risk table

    def sortable_columns(self) -> list[str]:
        """The columns the risk table sorts by; with survival, its figures right after the churn probability
        (the timing reasons, words, left out like the main reason)."""
        columns = [c for c in self.filterable_columns() if c != layout.REASONS[0]]
        timing = self.survival_view.sortable
        if not timing:
            return columns
        rest = [c for c in columns if c not in timing and c not in layout.TIMING_REASONS]
        at = rest.index(layout.CHURN_PROBABILITY) + 1 if layout.CHURN_PROBABILITY in rest else 0
        return [*rest[:at], *timing, *rest[at:]]

    def risk_columns(self, flt: RiskFilter, sort_by: str) -> list[str]:
        """The risk table's lead columns (with survival: then churn within the main horizon, expected to leave
        in and the value at risk), then those `flt` and the sort look at."""
        shown = self.lead_columns() + [c for c in self.survival_view.lead if c not in self.lead_columns()]
        return shown + [c for c in dict.fromkeys([*(f.column for f in flt.conditions), sort_by])
                        if c not in shown]

    def risk_rows(self, flt: RiskFilter | None, *, columns: list[str], sort_by: str, descending: bool,
                  offset: int, limit: int) -> pd.DataFrame:
        return self.store.risk_table(flt, columns=columns, sort_by=sort_by, descending=descending,
                                     offset=offset, limit=limit)

    def risk_export(self, flt: RiskFilter | None, *, sort_by: str, descending: bool, kind: str) -> bytes:
        """Every row `flt` matches with every column (the table's first), sorted like the table, as CSV (cells
        a spreadsheet could run as a formula start with a single quote) or Parquet."""
        rows = self.store.risk_table(flt, columns=self.store.export_columns(), sort_by=sort_by,
                                     descending=descending, limit=None)
        return csv_bytes(rows) if kind == "csv" else parquet_bytes(rows)

    def ids_of(self, flt: RiskFilter) -> list[Any]:
        return self.store.risk_table(flt, columns=[self.id_column], limit=None)[self.id_column].tolist()

    # ------------------------------------------------------------------ one customer

    def customer(self, customer_id: Any) -> dict[str, Any] | None:
        return self.store.customer(customer_id)

    def customer_shap(self, customer_id: Any) -> pd.Series | None:
        return self.store.customer_shap(customer_id)

    def search_ids(self, text: str, *, limit: int) -> list[str]:
        return [str(i) for i in self.store.search_ids(text, limit=limit)]

    @data(max_entries=16)
    def riskiest_ids(self, n: int) -> tuple[str, ...]:
        """The ids (as text) of the `n` riskiest customers, riskiest first."""
        return tuple(str(i) for i in self.store.top_risk(n)[self.id_column])

    @data(max_entries=64)
    def feature_reference(self) -> dict[str, Any]:
        """The population's typical value of every feature."""
        return self.store.feature_reference(self.features)

    @data(max_entries=256)
    def segment_reference(self, segment_id: int, features: tuple[str, ...]) -> dict[str, Any]:
        """One segment's typical value of every feature."""
        return self.store.segment_reference(segment_id, list(features))

    def customer_profile(self, row: dict[str, Any], shap: pd.Series | None) -> pd.DataFrame:
        """The customer's values beside their segment's and everyone's typical ones, with percentiles and
        effects (insight.ui.tables.customer_profile)."""
        features = self.stored_features
        segment = self.segment_reference(int(row[layout.SEGMENT_ID]), tuple(features))
        percentiles = self.store.percentiles(row[self.id_column], features)
        return tables.customer_profile(features, row, segment, self.feature_reference(), percentiles, shap,
                                       self.roles)

    @resource(max_entries=8, show_spinner="Loading the customers' latent space…")
    def latent_index(self) -> LatentIndex | None:
        """Every customer's latent vector (latent.parquet), shared by all sessions; None without one."""
        path = self.run.file(layout.LATENT)
        return LatentIndex.from_parquet(path, id_column=self.id_column) if path.exists() else None

    def similar_customers(self, customer_id: str, n: int) -> pd.DataFrame | None:
        """The `n` customers nearest in the latent space (insight.ui.tables.similar_table); None without a
        latent space or when the customer has no neighbours."""
        index = self.latent_index()
        near = index.similar(customer_id, n) if index is not None else None
        if near is None or near.empty:
            return None
        columns = [layout.CHURN_PROBABILITY, layout.SEGMENT_NAME, self.target, layout.REASONS[0]]
        return tables.similar_table(near, self.store.customers_by_ids(near["id"].tolist(), columns),
                                    id_column=self.id_column, target=self.target)

    @resource(max_entries=8, show_spinner="Loading the churn model…")
    def saved_model(self) -> Models:
        """The run's churn model for re-scoring edited rows (imports LightGBM: call it only when needed)."""
        from insight.runs.models import load_models

        return load_models(self.run)

    @data(max_entries=64)
    def population_sample(self, columns: tuple[str, ...], n: int = 5_000) -> pd.DataFrame:
        """Up to `n` customers' values of `columns` (the population a suggestion draws numeric values
        from)."""
        return self.store.sample(list(columns), n)

    # ------------------------------------------------------------------ drivers (SHAP)

    @data(max_entries=64, show_spinner="Averaging SHAP values…")
    def importance_in(self, flt: RiskFilter | None) -> pd.DataFrame:
        """Mean |SHAP| per feature over `flt`'s customers (everyone's, from the manifest, for None)."""
        return self.importance if flt is None else self.store.shap_importance(flt)

    def explained(self, importance: pd.DataFrame) -> list[str]:
        """The features of `importance` that have SHAP values, in its order."""
        return [f for f in importance["feature"] if f in self.shap_features]

    @data(max_entries=64, show_spinner="Sampling customers…")
    def shap_sample(self, features: tuple[str, ...], n: int,
                    flt: RiskFilter | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
        """SHAP and feature values of up to `n` of `flt`'s customers."""
        return self.store.shap_sample_where(list(features), n, flt)

    @data(max_entries=64)
    def interaction_partner(self, feature: str, features: tuple[str, ...], n: int,
                            flt: RiskFilter | None = None) -> str | None:
        """The feature that best explains how `feature`'s effect varies, on `shap_sample(features, n,
        flt)`."""
        from insight.models.explain import strongest_interaction

        shap, values = self.shap_sample(features, n, flt)
        return strongest_interaction(feature, shap, values) if len(shap) else None

    # ------------------------------------------------------------------ model quality

    @data(max_entries=16)
    def test_sizes(self) -> tuple[int, dict[int, int]]:
        """How many held-out test customers have a known outcome, overall and per segment."""
        frame = self.store.test_frame()
        return len(frame), count_by_segment(frame)

    @data(max_entries=64, show_spinner="Measuring the models…")
    def quality(self, segment: int | None) -> ScopeQuality | None:
        """How the models do on the test customers of `segment` (all for None); None when it has none."""
        kinds = self.head_kinds
        frame = scope_rows(self.store.test_frame(aux=list(kinds)), segment)
        means = self.store.train_means([k for k, v in kinds.items() if v == "regression"])
        return scope_quality(frame, kinds=kinds, train_means=means)

    @data(max_entries=256)
    def quality_at(self, segment: int | None, threshold: float) -> ThresholdQuality | None:
        """`quality(segment)` when flagging at `threshold`."""
        measured = self.quality(segment)
        return None if measured is None else at_threshold(measured, threshold)

    # ------------------------------------------------------------------ the segment map

    def map_points(self, bands: tuple[str, ...]) -> pd.DataFrame:
        """The map points in risk `bands` (every point when empty), with their row in `map_frame` as the
        index; `map_figure` draws them in this order."""
        points = self.map_frame
        return points[points[layout.RISK_BAND].astype(str).isin(bands)] if bands else points

    @resource(max_entries=8, show_spinner="Drawing the customer map…")
    def map_figure(self, color_by: str, bands: tuple[str, ...], hover: tuple[str, ...]) -> go.Figure:
        """The customer map of the points in risk `bands`, coloured by `color_by`: built once per view and
        shared by every session, since building it costs more than a rerun may (read-only: st.plotly_chart
        copies a figure before it sends it). A 100,000-point map holds about 30 MB, so eight views are
        kept."""
        from insight.figures.mapfigure import customer_map

        density = self.map_density() if self.map_is_sample else None
        return customer_map(self.map_points(bands), id_column=self.id_column, color_by=color_by,
                            roles=self.roles, hover=list(hover), density=density)

    @data(max_entries=16, show_spinner="Shading where all customers lie…")
    def map_density(self) -> pd.DataFrame:
        """Customers per cell of a grid over the whole map, for maps that draw a sample."""
        return self.store.map_density()

    def map_hover(self) -> tuple[str, ...]:
        """The columns every point's hover shows beyond id, segment and probability."""
        return tuple(c for c in (self.spec.revenue_column, layout.TOP_REASON) if c and c in self.map_frame)

    def picked_on_map(self, shown: pd.DataFrame, selection: Mapping[str, Any] | None) -> Selection | None:
        """The points selected on the map drawn from `shown` (None when there are none)."""
        from insight.figures.mapfigure import rows_from_selection

        rows = rows_from_selection((selection or {}).get("points", []))
        choice = MapChoice.from_rows(shown, rows, map_points=len(self.map_frame), id_column=self.id_column)
        if not choice.count:
            return None
        picked = ColumnFilter(self.id_column, "in", values=choice.picked(shown, self.id_column))
        return Selection(choice, RiskFilter(conditions=(picked,)), choice.count,
                         f"Your selection of {fmt.count(choice.count)} customers",
                         describe_selection(choice.count, method=selection_method(selection)))

    def segment_on_map(self, shown: pd.DataFrame, segment: int, bands: tuple[str, ...]) -> Selection:
        """One segment (in risk `bands`): on the map among `shown`, and all its customers."""
        choice = MapChoice.from_segment(shown, segment, map_points=len(self.map_frame))
        title = self.segment_names.get(segment, "Segment")
        flt = RiskFilter(bands=bands, segments=(int(segment),))
        count = self.count(flt)  # the whole segment, also where the map shows a sample
        how = describe_selection(count, segment=title) + (f" in risk bands {', '.join(bands)}"
                                                          if bands else "")
        return Selection(choice, flt, count, title, how)

    def compare(self, shown: pd.DataFrame, chosen: Selection) -> pd.DataFrame:
        """The chosen customers against the others shown (insight.segments.contrast.compare_groups)."""
        return compare_groups(shown, chosen.choice.shown, target=self.target,
                              revenue=layout.REVENUE_AT_RISK if self.revenue_column else None)

    @data(max_entries=32, show_spinner="Comparing the selected customers with the rest…")
    def selection_contrast(self, on_map: np.ndarray) -> pd.DataFrame:
        """What distinguishes the map customers in `on_map` from the other map customers."""
        points = self.map_frame
        features = {f: self.roles[f] for f in self.features if f in points.columns and f in self.roles}
        return contrast(points, on_map, features)

    def selection_drivers(self, chosen: Selection) -> pd.DataFrame:
        """Mean SHAP per feature of the chosen customers against everyone else."""
        if chosen.choice.ids is None:
            return self._drivers(chosen.filter, None)
        return self._drivers(None, chosen.choice.on_map)

    @data(max_entries=32, show_spinner="Comparing SHAP values of the selection with the rest…")
    def _drivers(self, flt: RiskFilter | None, on_map: np.ndarray | None) -> pd.DataFrame:
        """`selection_drivers` of a segment filter, or of the map points in `on_map`."""
        ids = None if on_map is None else [str(i) for i in self.map_frame[self.id_column].to_numpy()[on_map]]
        return self.store.shap_contrast(flt, ids=ids)

    def selection_export(self, chosen: Selection) -> bytes:
        """The chosen customers, every column, riskiest first; the last columns say where they came from."""
        return selection_csv(self.store.risk_table(chosen.filter, limit=None), id_column=self.id_column,
                             run_id=self.id, selection=chosen.how)

    def selection_ids(self, chosen: Selection) -> list[Any]:
        return list(chosen.choice.ids) if chosen.choice.ids is not None else self.ids_of(chosen.filter)

    # ------------------------------------------------------------------ survival columns (risk table, Targeting)

    @functools.cached_property
    def survival_view(self) -> tables.SurvivalView:
        """How the dashboard shows the run's survival columns (insight.ui.tables.survival_view; no columns for
        a run without survival), with the longest time its survival curves reach."""
        survival = self.manifest.survival
        curves = self.survival_curves() if survival else None
        last = float(curves["time"].max()) if curves is not None and len(curves) else None
        return tables.survival_view(survival, list(self.store.column_types), last_time=last)

    def customer_survival_figure(self, customer_id: Any, row: dict[str, Any]) -> go.Figure | None:
        """The customer's predicted survival curve beside their segment's and everyone's mean predicted ones,
        marked now and at the expected leaving time (insight.figures.survival.customer_survival_figure); None
        without survival."""
        curve, curves = self.customer_survival_curve(customer_id), self.survival_curves()
        if curve is None or curves is None or not self.survival:
            return None
        from insight.figures.charts import segment_colors
        from insight.figures.survival import customer_survival_figure
        from insight.survival.groups import PREDICTED

        def mean_curve(group: str) -> pd.DataFrame:
            part = curves[(curves["group"].astype(str) == group) & (curves["kind"] == PREDICTED)]
            return part.sort_values("time", kind="stable")

        segment = row.get(layout.SEGMENT_ID)
        elapsed = row.get(self.survival["duration_column"])
        elapsed = float(elapsed) if elapsed is not None else float("nan")
        leave_in = row.get(layout.EXPECTED_LEAVE_IN)
        color = segment_colors(self.segment_names).get(int(segment)) if segment is not None else None
        return customer_survival_figure(
            curve, mean_curve(str(segment)) if segment is not None else None, mean_curve(layout.EVERYONE),
            elapsed=elapsed, leave_at=elapsed + float(leave_in) if leave_in is not None else float("nan"),
            unit=str(self.survival["unit"]), segment_name=str(row.get(layout.SEGMENT_NAME) or "Their segment"),
            segment_color=color)


@st.cache_resource(max_entries=8, show_spinner="Checking the run's files…")
def _open(path: str, fingerprint: str, key_id: str) -> RunFacade | str:
    """The run verified once per version of its files and signing key, or why it was refused (a refusal is
    kept too, so a damaged large run is not hashed again on every rerun; any change to it is a new version)."""
    del fingerprint, key_id  # part of the cache key only
    try:
        active = open_active_run(Path(path))
    except RunError as e:
        log.warning("refused run %s: %s", path, e)
        return str(e)
    return RunFacade(run=active.run, store=active.store, key=active.key)


def load_run(path: Path) -> RunFacade:
    """The verified run at `path` (RunError when it is missing, damaged, was modified, or is unsigned while
    INSIGHT_SIGNING_KEY is set). Called on every page run: a cheap look at every entry of the folder
    (`run_fingerprint`) decides whether the run is the version already verified; any change verifies it
    again, checksums and all, before anything of it is shown."""
    path = Path(path)
    if not path.is_dir():
        raise RunError(f"run {path.name} no longer exists in {path.parent}.")
    opened = _open(str(path.resolve()), run_fingerprint(path), signing_key_id())
    if isinstance(opened, str):
        raise RunError(opened)
    return opened
