"""DuckDB queries over one run's tables, for the dashboard: filter, sort, page, sample and aggregate.

The Parquet files are queried in place (DuckDB reads only the columns and row groups a query needs), so
an interaction costs one small query rather than loading a table into pandas. User-supplied values always
travel as bound parameters; column names are checked against the table and quoted. The views, filters and
SQL pieces are `insight.runs.tables.RunTables`; the SHAP queries a part of the store's own,
`insight.runs.store_shap.ShapQueries`.
"""

from __future__ import annotations

import logging
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from insight.runs import layout
from insight.runs.run import Run
from insight.runs.sql import CUSTOMERS, SAMPLE_VIEW, quote_ident
from insight.runs.store_shap import ShapQueries
from insight.runs.tables import ColumnFilter, RiskFilter, RunTables, python_value

log = logging.getLogger(__name__)

__all__ = ["ColumnFilter", "RiskFilter", "RunStore"]

INTERNAL_COLUMNS = frozenset({layout.MAP_X, layout.MAP_Y, layout.CHURN_SCORE, layout.SEGMENT_ID})
RISK_LEAD = (layout.CHURN_PROBABILITY, layout.RISK_BAND, layout.REVENUE_AT_RISK, layout.SEGMENT_NAME,
             *layout.REASONS)
"""The risk table's first columns after the customer id (those the run has), in this order."""
SAMPLE_ENOUGH = 2_000
"""A group with at least this many customers in the map's sample gets its typical values from the sample."""
TRAIN_SPLIT = "train"
"""The `split` of the customers the models were fitted on (insight.runs.layout names only the test split)."""
MODEL_SCORES = (layout.CHURN_PROBABILITY, layout.MULTITASK_CHURN_PROBABILITY,
                layout.LOGISTIC_CHURN_PROBABILITY)
"""The three models' churn probabilities a run may store."""

# the run's columns as SQL (insight.runs.layout names them)
PROBABILITY, BAND = quote_ident(layout.CHURN_PROBABILITY), quote_ident(layout.RISK_BAND)
SEGMENT, SEGMENT_NAME = quote_ident(layout.SEGMENT_ID), quote_ident(layout.SEGMENT_NAME)
REVENUE, SPLIT = quote_ident(layout.REVENUE_AT_RISK), quote_ident(layout.SPLIT)
X, Y = quote_ident(layout.MAP_X), quote_ident(layout.MAP_Y)


class RunStore(RunTables):
    """Read-only queries over `customers.parquet` and `shap.parquet` of one run; `shap` answers the SHAP ones
    (the store's own methods of the same names pass them on)."""

    def __init__(self, customers: Path, shap: Path | None = None, *, id_column: str, target: str,
                 revenue_column: str | None = None, roles: dict[str, str] | None = None,
                 map_sample: Path | None = None, map_shap: Path | None = None,
                 shap_groups: Path | None = None) -> None:
        super().__init__(customers, shap, id_column=id_column, target=target, roles=roles,
                         map_sample=map_sample, map_shap=map_shap)
        self.revenue_column = revenue_column
        self.shap = ShapQueries(self, shap_groups=shap_groups)
        log.debug("store over %s", customers)

    @classmethod
    def from_run(cls, run: Run) -> RunStore:
        spec = run.manifest.spec
        roles: dict[str, str] = {}
        if run.listed(layout.FEATURES):
            roles = {f["name"]: f["role"] for f in run.json(layout.FEATURES).get("features", [])}
        # optional files only when the manifest lists them: one dropped into the folder later is never read
        return cls(run.file(layout.CUSTOMERS), run.listed(layout.SHAP), id_column=spec.id_column,
                   target=spec.target, revenue_column=spec.revenue_column, roles=roles,
                   map_sample=run.listed(layout.MAP), map_shap=run.listed(layout.MAP_SHAP),
                   shap_groups=run.listed(layout.SHAP_GROUPS))

    @property
    def has_revenue(self) -> bool:
        return bool(self.revenue_column) and layout.REVENUE_AT_RISK in self.column_types

    # ------------------------------------------------------------------ SHAP values (ShapQueries)

    @property
    def shap_features(self) -> list[str]:
        return self.shap.features

    @property
    def shap_groups(self) -> pd.DataFrame:
        return self.shap.groups

    def customer_shap(self, customer_id: Any) -> pd.Series | None:
        return self.shap.customer(customer_id)

    def shap_sample(self, features: list[str], n: int, *, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
        return self.shap.sample_where(features, n, None, seed=seed)

    def shap_sample_where(self, features: list[str], n: int, flt: RiskFilter | None = None, *,
                          seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
        return self.shap.sample_where(features, n, flt, seed=seed)

    def shap_importance(self, flt: RiskFilter | None = None) -> pd.DataFrame:
        return self.shap.importance(flt)

    def shap_contrast(self, flt: RiskFilter | None = None, *, ids: list[Any] | None = None) -> pd.DataFrame:
        return self.shap.contrast(flt, ids=ids)

    # ------------------------------------------------------------------ columns

    def filterable_columns(self) -> list[str]:
        """Columns a person may filter on (map coordinates and raw scores left out)."""
        return [c for c in self.column_types if c not in INTERNAL_COLUMNS and not c.startswith("__")]

    def lead_columns(self) -> list[str]:
        """The risk table's columns in display order: id, churn probability, risk band, revenue at risk (when
        the run has revenue), segment and the three reasons."""
        return [self.id_column, *(c for c in RISK_LEAD if c in self.column_types and c != self.id_column)]

    def export_columns(self) -> list[str]:
        """Every column of customers.parquet, the risk table's lead columns first."""
        lead = self.lead_columns()
        return [*lead, *(c for c in self.column_types if c not in lead)]

    def top_reasons(self) -> pd.DataFrame:
        """The features that are some customer's main reason (top_reason), with how many customers each,
        most frequent first; empty when the run has no top_reason column."""
        if layout.TOP_REASON not in self.column_types:
            return pd.DataFrame({"feature": pd.Series(dtype="object"), "customers": pd.Series(dtype="int64")})
        c = self.col(layout.TOP_REASON)
        return self.query(f"SELECT CAST({c} AS VARCHAR) AS feature, count(*) AS customers FROM {CUSTOMERS} "
                          f"WHERE {c} IS NOT NULL GROUP BY ALL ORDER BY customers DESC, feature")

    def distinct_values(self, column: str, *, limit: int = 200) -> pd.DataFrame:
        """The values of `column` with their counts, most frequent first (missing values left out)."""
        c = self.col(column)
        return self.query(f"SELECT {c} AS value, count(*) AS customers FROM {CUSTOMERS} "
                          f"WHERE {c} IS NOT NULL GROUP BY ALL ORDER BY customers DESC, value LIMIT ?",
                          [int(limit)])

    def value_range(self, column: str) -> tuple[Any, Any]:
        """Smallest and largest known value of a number or date column."""
        known = self.known(column)
        c = self.col(column)
        row = self.scalar_row(f"SELECT min({c}) AS lo, max({c}) AS hi FROM {CUSTOMERS} WHERE {known}")
        return row.get("lo"), row.get("hi")

    # ------------------------------------------------------------------ filtered table

    def count(self, flt: RiskFilter | None = None) -> int:
        w = self.where(flt)
        return int(self.query(f"SELECT count(*) AS n FROM {CUSTOMERS} WHERE {w.sql}", w.params)["n"].iloc[0])

    def risk_table(self, flt: RiskFilter | None = None, *, columns: list[str] | None = None,
                   sort_by: str = layout.CHURN_PROBABILITY, descending: bool = True, offset: int = 0,
                   limit: int | None = 50) -> pd.DataFrame:
        """Filtered customers sorted by `sort_by` (ties by id), `limit` rows from `offset` (None: all)."""
        w = self.where(flt)
        cols = ", ".join(self.col(c) for c in (columns or list(self.column_types)))
        order_col = layout.CHURN_PROBABILITY if sort_by == layout.RISK_BAND else sort_by
        direction = "DESC" if descending else "ASC"
        order = f"{self.col(order_col)} {direction} NULLS LAST, {self.col(self.id_column)}"
        sql = f"SELECT {cols} FROM {CUSTOMERS} WHERE {w.sql} ORDER BY {order}"
        params = list(w.params)
        if limit is not None:
            sql += " LIMIT ? OFFSET ?"
            params += [int(limit), max(0, int(offset))]
        return self.query(sql, params)

    def totals(self, flt: RiskFilter | None = None) -> dict[str, Any]:
        """Customers, expected churners, observed churn rate, mean probability and revenue at risk."""
        w = self.where(flt)
        revenue = f"sum({REVENUE})" if self.has_revenue else "NULL"
        target, known = self.col(self.target), self.known(self.target)
        return self.scalar_row(
            f"SELECT count(*) AS customers, sum({PROBABILITY}) AS expected_churners, "
            f"avg({PROBABILITY}) AS mean_probability, avg({target}) FILTER (WHERE {known}) "
            "AS churn_rate, "
            f"count(*) FILTER (WHERE {known}) AS labelled, {revenue} AS revenue_at_risk "
            f"FROM {CUSTOMERS} WHERE {w.sql}", w.params)

    # ------------------------------------------------------------------ aggregates

    def risk_histogram(self, *, bins: int = 40) -> pd.DataFrame:
        """Customers per probability bin and risk band: bin_start, bin_end, risk_band, customers."""
        frame = self.query(
            f"SELECT least(CAST(floor({PROBABILITY} * ?) AS INTEGER), ? - 1) AS bin, "
            f"CAST({BAND} AS VARCHAR) AS {BAND}, count(*) AS customers FROM {CUSTOMERS} "
            f"WHERE {PROBABILITY} IS NOT NULL GROUP BY ALL ORDER BY bin", [int(bins), int(bins)])
        frame["bin_start"] = frame["bin"] / bins
        frame["bin_end"] = (frame["bin"] + 1) / bins
        return frame

    def band_summary(self) -> pd.DataFrame:
        """Per risk band, in band order: customers, share, expected churners, revenue at risk."""
        revenue = f"sum({REVENUE})" if self.has_revenue else "NULL"
        frame = self.query(f"SELECT CAST({BAND} AS VARCHAR) AS {BAND}, count(*) AS customers, "
                           f"sum({PROBABILITY}) AS expected_churners, {revenue} AS revenue_at_risk "
                           f"FROM {CUSTOMERS} GROUP BY ALL")
        frame["share"] = frame["customers"] / max(1, int(frame["customers"].sum()))
        order = {b: i for i, b in enumerate(layout.RISK_BANDS)}
        return frame.sort_values(layout.RISK_BAND, key=lambda s: s.map(order)).reset_index(drop=True)

    def segment_summary(self) -> pd.DataFrame:
        """Per segment: name, customers, share, churn rate, mean probability, expected churners, revenue at
        risk; the largest expected churn first."""
        target, known = self.col(self.target), self.known(self.target)
        revenue = f"sum({REVENUE})" if self.has_revenue else "NULL"
        frame = self.query(
            f"SELECT {SEGMENT}, any_value({SEGMENT_NAME}) AS {SEGMENT_NAME}, count(*) AS customers, "
            f"avg({target}) FILTER (WHERE {known}) AS churn_rate, "
            f"avg({PROBABILITY}) AS mean_probability, "
            f"sum({PROBABILITY}) AS expected_churners, {revenue} AS revenue_at_risk "
            f"FROM {CUSTOMERS} GROUP BY {SEGMENT} ORDER BY expected_churners DESC, {SEGMENT}")
        frame["share"] = frame["customers"] / max(1, int(frame["customers"].sum()))
        return frame

    # ------------------------------------------------------------------ one customer

    def customer(self, customer_id: Any) -> dict[str, Any] | None:
        """One customer's row as a dict, or None when the id is unknown."""
        frame = self.query(f"SELECT * FROM {CUSTOMERS} WHERE {self.id_is()} LIMIT 1", [str(customer_id)])
        return None if frame.empty else {c: python_value(frame[c].iloc[0]) for c in frame.columns}

    def search_ids(self, text: str, *, limit: int = 20) -> list[Any]:
        """Customer ids containing `text` (case-insensitive), riskiest first."""
        c = self.col(self.id_column)
        frame = self.query(f"SELECT {c} AS id FROM {CUSTOMERS} "
                           f"WHERE strpos(lower(CAST({c} AS VARCHAR)), lower(?)) > 0 "
                           f"ORDER BY {PROBABILITY} DESC NULLS LAST, id LIMIT ?", [str(text), int(limit)])
        return [python_value(v) for v in frame["id"]]

    def top_risk(self, n: int = 50) -> pd.DataFrame:
        """The `n` riskiest customers: id, churn_probability, risk_band, segment_name."""
        return self.risk_table(columns=[self.id_column, layout.CHURN_PROBABILITY, layout.RISK_BAND,
                                        layout.SEGMENT_NAME], limit=n)

    def feature_reference(self, features: list[str]) -> dict[str, Any]:
        """The population's typical value of each feature: median for numbers and dates, mode otherwise
        (estimated on the map's random sample when the run stores one: `has_map_sample`)."""
        return self._typical_values(features, table=SAMPLE_VIEW)

    def segment_reference(self, segment_id: int, features: list[str]) -> dict[str, Any]:
        """One segment's typical value of each feature (median for numbers and dates, mode otherwise):
        estimated on the map's random sample when it holds at least SAMPLE_ENOUGH of the segment's customers,
        exact otherwise."""
        where, params = f"WHERE {SEGMENT} = ?", [int(segment_id)]
        table = CUSTOMERS
        if self.has_map_sample:
            in_sample = self.query(f"SELECT count(*) AS n FROM {SAMPLE_VIEW} {where}", params)["n"].iloc[0]
            table = SAMPLE_VIEW if int(in_sample) >= SAMPLE_ENOUGH else CUSTOMERS
        return self._typical_values(features, where, params, table=table)

    def _typical_values(self, features: list[str], where: str = "", params: list[Any] | None = None, *,
                        table: str = CUSTOMERS) -> dict[str, Any]:
        parts = []
        for name in features:
            c, kind = self.col(name), self.column_kinds.get(name)
            if kind == "number":
                parts.append(f"median({c}) FILTER (WHERE {self.known(name)}) AS {quote_ident(name)}")
            elif kind == "date":
                parts.append(f"quantile_disc({c}, 0.5) AS {quote_ident(name)}")
            else:
                parts.append(f"mode({c}) AS {quote_ident(name)}")
        if not parts:
            return {}
        return self.scalar_row(f"SELECT {', '.join(parts)} FROM {table} {where}", params)

    def customers_by_ids(self, ids: list[Any], columns: list[str]) -> pd.DataFrame:
        """The customers whose ids are in `ids` (compared as text), in the order of `ids`; unknown ids are
        left out."""
        idc = self.col(self.id_column)
        cols = list(dict.fromkeys([self.id_column, *columns]))
        wanted = [str(i) for i in ids]
        frame = self.query(f"SELECT {', '.join(self.col(c) for c in cols)} FROM {CUSTOMERS} "
                           f"WHERE CAST({idc} AS VARCHAR) IN (SELECT UNNEST(?))", [wanted])
        order = {k: i for i, k in enumerate(wanted)}
        rank = frame[self.id_column].astype(str).map(order)
        return frame.assign(_rank=rank).sort_values("_rank").drop(columns="_rank").reset_index(drop=True)

    def percentiles(self, customer_id: Any, features: list[str]) -> dict[str, float | None]:
        """Where the customer stands on each number/date feature: the share of customers below them (ties
        count half), 0-100; None for missing values and for categories. Ranked among the map's random sample
        when the run stores one (`has_map_sample`: an estimate within a fraction of a point)."""
        ranked = [f for f in features if self.column_kinds.get(f) in ("number", "date")]
        if not ranked:
            return {}
        parts = []
        for name in ranked:
            c = quote_ident(name)
            known = self.known(name, table="t")
            parts.append(f"100 * avg(CASE WHEN c.{c} IS NULL THEN NULL WHEN t.{c} < c.{c} THEN 1.0 "
                         f"WHEN t.{c} = c.{c} THEN 0.5 ELSE 0.0 END) FILTER (WHERE {known}) AS {c}")
        sql = (f"SELECT {', '.join(parts)} FROM {SAMPLE_VIEW} t, (SELECT * FROM {CUSTOMERS} "
               f"WHERE {self.id_is()} LIMIT 1) c")
        row = self.scalar_row(sql, [str(customer_id)])
        return {k: (None if v is None or (isinstance(v, float) and np.isnan(v)) else float(v))
                for k, v in row.items()}

    # ------------------------------------------------------------------ samples

    def sample(self, columns: list[str], n: int, *, seed: int = 0, table: str = CUSTOMERS) -> pd.DataFrame:
        """Up to `n` customers (all of them when there are fewer), the same ones for the same seed; `table`
        SAMPLE_VIEW draws them from the map's sample."""
        cols = ", ".join(self.col(c) for c in dict.fromkeys([self.id_column, *columns]))
        return self.query(f"SELECT {cols} FROM {table} ORDER BY {self.sample_order()} LIMIT ?",
                          [int(seed), int(n)])

    @property
    def value_column(self) -> str | None:
        """What one customer is worth, as revenue at risk counts it: the multi-task network's prediction
        (`predicted_<revenue>`) when the revenue column is an auxiliary target, else the revenue column;
        None when the run has no revenue column."""
        if not self.has_revenue or not self.revenue_column:
            return None
        predicted = layout.predicted(self.revenue_column)
        if predicted in self.column_types:
            return predicted
        return self.revenue_column if self.revenue_column in self.column_types else None

    def probability_and_value(self) -> pd.DataFrame:
        """Every customer's churn probability and value (value_column, missing and negative values as 0;
        NULL for every row when the run has no revenue), ranked by probability (ties by id)."""
        value = self.value_column
        value_sql = f"greatest(CASE WHEN {self.known(value)} THEN {self.col(value)} ELSE 0 END, 0)" if value \
            else "NULL"
        return self.query(f"SELECT {self.col(self.id_column)} AS id, {PROBABILITY}, "
                          f"CAST({value_sql} AS DOUBLE) AS value FROM {CUSTOMERS} "
                          f"ORDER BY {PROBABILITY} DESC NULLS LAST, {self.col(self.id_column)}")

    def map_points(self, *, limit: int, extra: list[str] | None = None, seed: int = 0) -> pd.DataFrame:
        """Map positions with segment, probability and target (plus `extra` columns) of at most `limit`
        customers, sampled when there are more: the run's stored map sample when it has one."""
        base = [self.id_column, layout.MAP_X, layout.MAP_Y, layout.SEGMENT_ID, layout.SEGMENT_NAME,
                layout.CHURN_PROBABILITY, layout.RISK_BAND, self.target,
                *([layout.REVENUE_AT_RISK] if self.has_revenue else []), *(extra or [])]
        columns = [c for c in dict.fromkeys(base) if c in self.column_types]
        if self.has_map_sample and limit >= self._map_sample_rows:
            return self._read_map_sample(columns)
        return self.sample(columns, limit, seed=seed, table=SAMPLE_VIEW if self.has_map_sample else CUSTOMERS)

    @cached_property
    def _map_sample_rows(self) -> int:
        return pq.ParquetFile(self.map_sample_file).metadata.num_rows if self.map_sample_file else 0

    def _read_map_sample(self, columns: list[str]) -> pd.DataFrame:
        """`columns` of the whole map sample, straight from map.parquet (several times faster than through
        DuckDB for 100,000 rows of text), with the same dtypes a query gives."""
        table = pq.read_table(self.map_sample_file, columns=list(dict.fromkeys([self.id_column, *columns])))
        plain = pa.schema([pa.field(f.name, pa.large_string() if pa.types.is_dictionary(f.type) else f.type)
                           for f in table.schema])
        return table.cast(plain).to_pandas(ignore_metadata=True)

    # ------------------------------------------------------------------ model quality and the map

    def test_frame(self, *, aux: list[str] | None = None) -> pd.DataFrame:
        """Held-out test customers with a known label, for model quality overall and per segment: id,
        segment_id, y (the label as 0/1), the probabilities of the three models (churn_probability,
        mt_churn_probability, logistic_churn_probability: those the run has), and each `aux` target with its
        head's prediction (predicted_<aux>) where the run has both."""
        scores = [c for c in MODEL_SCORES if c in self.column_types]
        heads = [c for a in (aux or []) if a in self.column_types and layout.predicted(a) in self.column_types
                 for c in (a, layout.predicted(a))]
        cols = ", ".join(self.col(c) for c in dict.fromkeys([*scores, *heads]))
        return self.query(f"SELECT {self.col(self.id_column)} AS id, {SEGMENT}, "
                          f"CAST({self.col(self.target)} AS DOUBLE) AS y, {cols} FROM {CUSTOMERS} "
                          f"WHERE {SPLIT} = ? AND {self.known(self.target)} ORDER BY id", [layout.TEST_SPLIT])

    def train_means(self, columns: list[str]) -> dict[str, float | None]:
        """The mean of each number column over the training customers (split 'train'): the baseline every
        auxiliary head must beat."""
        known = [c for c in columns if self.column_kinds.get(c) == "number"]
        if not known:
            return {}
        parts = ", ".join(f"avg(CAST({self.col(c)} AS DOUBLE)) FILTER (WHERE {self.known(c)}) "
                          f"AS {quote_ident(c)}" for c in known)
        return self.scalar_row(f"SELECT {parts} FROM {CUSTOMERS} WHERE {SPLIT} = ?", [TRAIN_SPLIT])

    def map_density(self, *, bins: int = 120) -> pd.DataFrame:
        """How many customers fall in each cell of a `bins` x `bins` grid over the map (empty cells left
        out): ix, iy, x, y (the cell's centre), x_step, y_step (its size), customers. For maps too large to
        draw every customer."""
        frame = self.query(
            f"WITH b AS (SELECT min({X}) AS x0, max({X}) AS x1, min({Y}) AS y0, max({Y}) AS y1 "
            f"FROM {CUSTOMERS} "
            f"WHERE {X} IS NOT NULL AND {Y} IS NOT NULL), "
            "g AS (SELECT "
            f"least(CAST(floor((c.{X} - b.x0) / greatest(b.x1 - b.x0, 1e-9) * ?) AS INTEGER), ? - 1) AS ix, "
            f"least(CAST(floor((c.{Y} - b.y0) / greatest(b.y1 - b.y0, 1e-9) * ?) AS INTEGER), ? - 1) AS iy "
            f"FROM {CUSTOMERS} c, b WHERE c.{X} IS NOT NULL AND c.{Y} IS NOT NULL) "
            "SELECT ix, iy, count(*) AS customers, any_value(b.x0) AS x0, any_value(b.x1) AS x1, "
            "any_value(b.y0) AS y0, any_value(b.y1) AS y1 FROM g, b GROUP BY ix, iy ORDER BY iy, ix",
            [int(bins)] * 4)
        x_step = (frame["x1"] - frame["x0"]) / bins
        y_step = (frame["y1"] - frame["y0"]) / bins
        frame["x"] = frame["x0"] + (frame["ix"] + 0.5) * x_step
        frame["y"] = frame["y0"] + (frame["iy"] + 0.5) * y_step
        frame["x_step"], frame["y_step"] = x_step, y_step
        return frame[["ix", "iy", "x", "y", "x_step", "y_step", "customers"]]
