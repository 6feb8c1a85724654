"""DuckDB queries over one run's tables, for the dashboard: filter, sort, page, sample and aggregate.

The Parquet files are queried in place (DuckDB reads only the columns and row groups a query needs), so
an interaction costs one small query rather than loading a table into pandas. User-supplied values always
travel as bound parameters; column names are checked against the table and quoted.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from insight.segments.mapsample import MAP_FILE, MAP_SHAP_FILE
from insight.runs.run import Run
from insight.models.shap_groups import SHAP_GROUPS_FILE
from insight.runs.sql import CUSTOMERS, SAMPLE_SHAP_VIEW, SAMPLE_VIEW, SHAP, quote_ident, quote_literal
from insight.runs.store_shap import ShapQueries

log = logging.getLogger(__name__)

RISK_BANDS = ("low", "medium", "high", "very high")
CATEGORY_LIMIT = 50
"""Text columns with at most this many distinct values are filtered by membership, others by 'contains'."""
INTERNAL_COLUMNS = frozenset({"x", "y", "churn_score", "segment_id"})
RISK_LEAD = ("churn_probability", "risk_band", "revenue_at_risk", "segment_name", "reason_1", "reason_2",
             "reason_3")
"""The risk table's first columns after the customer id (those the run has), in this order."""
TOP_REASON = "top_reason"
"""The feature behind each customer's first reason."""
SAMPLE_ENOUGH = 2_000
"""A group with at least this many customers in the map's sample gets its typical values from the sample."""
LONG_LIST = 500
"""Membership filters with more values than this bind them as one list (a lasso can hold 100,000 ids)."""
INTEGER_TYPES = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER",
                 "UBIGINT", "UHUGEINT")
NUMERIC_TYPES = (*INTEGER_TYPES, "FLOAT", "DOUBLE", "DECIMAL", "REAL")

ColumnKind = Literal["number", "category", "text", "date"]


@dataclass(frozen=True)
class ColumnFilter:
    """One condition on one column.

    kind "range": `low` <= value <= `high` (either end may be None); "in": value is one of `values`;
    "contains": the value, as text, contains `text` (case-insensitive).
    """

    column: str
    kind: Literal["range", "in", "contains"]
    low: Any = None
    high: Any = None
    values: tuple[Any, ...] = ()
    text: str = ""


@dataclass(frozen=True)
class RiskFilter:
    """Which customers to show: risk bands, segments and column conditions (all must hold)."""

    bands: tuple[str, ...] = ()
    segments: tuple[int, ...] = ()
    conditions: tuple[ColumnFilter, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class Where:
    sql: str
    params: list[Any]


class RunStore(ShapQueries):
    """Read-only queries over `customers.parquet` and `shap.parquet` of one run (the SHAP ones in
    `insight.runs.store_shap`)."""

    def __init__(self, customers: Path, shap: Path | None = None, *, id_column: str, target: str,
                 revenue_column: str | None = None, roles: dict[str, str] | None = None,
                 map_sample: Path | None = None, map_shap: Path | None = None,
                 shap_groups: Path | None = None) -> None:
        self.id_column = id_column
        self.target = target
        self.revenue_column = revenue_column
        self.roles = dict(roles or {})
        self._lock = threading.Lock()
        self._con = duckdb.connect(":memory:")
        self._con.execute(f"CREATE VIEW {CUSTOMERS} AS SELECT * FROM "
                          f"read_parquet({quote_literal(str(customers))})")
        self.has_map_sample = map_sample is not None and Path(map_sample).exists()
        self._map_sample_file = Path(map_sample) if self.has_map_sample and map_sample is not None else None
        self._con.execute(f"CREATE VIEW {SAMPLE_VIEW} AS SELECT * FROM " + (
            f"read_parquet({quote_literal(str(map_sample))})" if self.has_map_sample else CUSTOMERS))
        self.has_shap = shap is not None and Path(shap).exists()
        self.has_shap_sample = False
        if self.has_shap:
            self._con.execute(f"CREATE VIEW {SHAP} AS SELECT * FROM read_parquet({quote_literal(str(shap))})")
            self.has_shap_sample = self.has_map_sample and map_shap is not None and Path(map_shap).exists()
            self._con.execute(f"CREATE VIEW {SAMPLE_SHAP_VIEW} AS SELECT * FROM " + (
                f"read_parquet({quote_literal(str(map_shap))})" if self.has_shap_sample else SHAP))
        self._shap_groups_file = Path(shap_groups) if shap_groups is not None else None
        log.debug("store over %s", customers)

    @classmethod
    def from_run(cls, run: Run) -> RunStore:
        spec = run.manifest.get("spec", {})
        roles: dict[str, str] = {}
        if run.file("features.json").exists():
            roles = {f["name"]: f["role"] for f in run.json("features.json").get("features", [])}
        return cls(run.file("customers.parquet"), run.file("shap.parquet"), id_column=spec["id_column"],
                   target=spec["target"], revenue_column=spec.get("revenue_column"), roles=roles,
                   map_sample=run.file(MAP_FILE), map_shap=run.file(MAP_SHAP_FILE),
                   shap_groups=run.file(SHAP_GROUPS_FILE))

    def close(self) -> None:
        self._con.close()

    # ------------------------------------------------------------------ plumbing

    def query(self, sql: str, params: list[Any] | None = None) -> pd.DataFrame:
        """Run `sql` with bound `params` on a cursor of its own (safe across Streamlit's threads)."""
        with self._lock:
            cursor = self._con.cursor()
        try:
            return cursor.execute(sql, params or []).df()
        finally:
            cursor.close()

    def _scalar_row(self, sql: str, params: list[Any] | None = None) -> dict[str, Any]:
        frame = self.query(sql, params)
        return {} if frame.empty else {c: _python(frame[c].iloc[0]) for c in frame.columns}

    @cached_property
    def column_types(self) -> dict[str, str]:
        """Column name -> DuckDB type of customers.parquet, in file order."""
        frame = self.query(f"DESCRIBE SELECT * FROM {CUSTOMERS}")
        return dict(zip(frame["column_name"], frame["column_type"], strict=True))

    @property
    def has_revenue(self) -> bool:
        return bool(self.revenue_column) and "revenue_at_risk" in self.column_types

    def col(self, name: str) -> str:
        """`name` quoted, after checking that customers.parquet has it."""
        if name not in self.column_types:
            raise ValueError(f"unknown column {name!r}")
        return quote_ident(name)

    def _is_float(self, name: str) -> bool:
        return self.column_types[name] in ("DOUBLE", "FLOAT", "REAL")

    def _known(self, name: str, *, table: str = "") -> str:
        """SQL that is true where a column holds a real value (not NULL, not NaN)."""
        c = (f"{table}." if table else "") + self.col(name)
        if self._is_float(name):
            return f"({c} IS NOT NULL AND NOT isnan({c}))"
        return f"({c} IS NOT NULL)"

    # ------------------------------------------------------------------ columns

    @cached_property
    def column_kinds(self) -> dict[str, ColumnKind]:
        """How each column can be filtered: number (range), date (range), category (membership), text."""
        kinds: dict[str, ColumnKind] = {}
        text_columns = []
        for name, kind in self.column_types.items():
            if kind == "BOOLEAN" or kind.startswith("ENUM") or self.roles.get(name) == "boolean":
                kinds[name] = "category"
            elif kind.startswith(NUMERIC_TYPES):
                kinds[name] = "number"
            elif kind.startswith(("DATE", "TIMESTAMP")):
                kinds[name] = "date"
            else:
                text_columns.append(name)
        if text_columns:
            counts = self._scalar_row("SELECT " + ", ".join(
                f"approx_count_distinct({quote_ident(c)}) AS {quote_ident(c)}" for c in text_columns)
                + f" FROM {CUSTOMERS}")
            for name in text_columns:
                few = (counts.get(name) or 0) <= CATEGORY_LIMIT and name != self.id_column
                kinds[name] = "category" if few else "text"
        return {name: kinds[name] for name in self.column_types}

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
        if TOP_REASON not in self.column_types:
            return pd.DataFrame({"feature": pd.Series(dtype="object"), "customers": pd.Series(dtype="int64")})
        c = self.col(TOP_REASON)
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
        known = self._known(column)
        c = self.col(column)
        row = self._scalar_row(f"SELECT min({c}) AS lo, max({c}) AS hi FROM {CUSTOMERS} WHERE {known}")
        return row.get("lo"), row.get("hi")

    # ------------------------------------------------------------------ filtered table

    def where(self, flt: RiskFilter | None) -> Where:
        """The WHERE clause (with its bound parameters) of a filter."""
        if flt is None:
            return Where("TRUE", [])
        parts: list[str] = []
        params: list[Any] = []
        if flt.bands:
            parts.append(f"CAST(risk_band AS VARCHAR) IN ({', '.join('?' * len(flt.bands))})")
            params += [str(b) for b in flt.bands]
        if flt.segments:
            parts.append(f"segment_id IN ({', '.join('?' * len(flt.segments))})")
            params += [int(s) for s in flt.segments]
        for cond in flt.conditions:
            sql, values = self._condition(cond)
            parts.append(sql)
            params += values
        return Where(" AND ".join(parts) or "TRUE", params)

    def _condition(self, cond: ColumnFilter) -> tuple[str, list[Any]]:
        c = self.col(cond.column)
        if cond.kind == "range":
            parts, params = [], []
            if cond.low is not None:
                parts.append(f"{c} >= ?")
                params.append(_python(cond.low))
            if cond.high is not None:
                parts.append(f"{c} <= ?")
                params.append(_python(cond.high))
            return " AND ".join(parts) or "TRUE", params
        if cond.kind == "in":
            values = [_python(v) for v in cond.values]
            known = [v for v in values if v is not None]
            # a long list (a lasso's ids) travels as one list parameter: 100k placeholders take seconds
            many = len(known) > LONG_LIST and len({type(v) for v in known}) == 1
            listed = f"{c} IN (SELECT UNNEST(?))" if many else f"{c} IN ({', '.join('?' * len(known))})"
            parts = [listed] if known else []
            if len(known) < len(values):
                parts.append(f"{c} IS NULL" + (f" OR isnan({c})" if self._is_float(cond.column) else ""))
            return ("(" + " OR ".join(parts) + ")") if parts else "TRUE", [known] if many else known
        if cond.kind == "contains":
            if not cond.text:
                return "TRUE", []
            return f"strpos(lower(CAST({c} AS VARCHAR)), lower(?)) > 0", [str(cond.text)]
        raise ValueError(f"unknown filter kind {cond.kind!r}")

    def count(self, flt: RiskFilter | None = None) -> int:
        w = self.where(flt)
        return int(self.query(f"SELECT count(*) AS n FROM {CUSTOMERS} WHERE {w.sql}", w.params)["n"].iloc[0])

    def risk_table(self, flt: RiskFilter | None = None, *, columns: list[str] | None = None,
                   sort_by: str = "churn_probability", descending: bool = True, offset: int = 0,
                   limit: int | None = 50) -> pd.DataFrame:
        """Filtered customers sorted by `sort_by` (ties by id), `limit` rows from `offset` (None: all)."""
        w = self.where(flt)
        cols = ", ".join(self.col(c) for c in (columns or list(self.column_types)))
        order_col = "churn_probability" if sort_by == "risk_band" else sort_by
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
        revenue = "sum(revenue_at_risk)" if self.has_revenue else "NULL"
        target, known = self.col(self.target), self._known(self.target)
        return self._scalar_row(
            f"SELECT count(*) AS customers, sum(churn_probability) AS expected_churners, "
            f"avg(churn_probability) AS mean_probability, avg({target}) FILTER (WHERE {known}) "
            "AS churn_rate, "
            f"count(*) FILTER (WHERE {known}) AS labelled, {revenue} AS revenue_at_risk "
            f"FROM {CUSTOMERS} WHERE {w.sql}", w.params)

    # ------------------------------------------------------------------ aggregates

    def risk_histogram(self, *, bins: int = 40) -> pd.DataFrame:
        """Customers per probability bin and risk band: bin_start, bin_end, risk_band, customers."""
        frame = self.query(
            f"SELECT least(CAST(floor(churn_probability * ?) AS INTEGER), ? - 1) AS bin, "
            f"CAST(risk_band AS VARCHAR) AS risk_band, count(*) AS customers FROM {CUSTOMERS} "
            "WHERE churn_probability IS NOT NULL GROUP BY ALL ORDER BY bin", [int(bins), int(bins)])
        frame["bin_start"] = frame["bin"] / bins
        frame["bin_end"] = (frame["bin"] + 1) / bins
        return frame

    def band_summary(self) -> pd.DataFrame:
        """Per risk band, in band order: customers, share, expected churners, revenue at risk."""
        revenue = "sum(revenue_at_risk)" if self.has_revenue else "NULL"
        frame = self.query(f"SELECT CAST(risk_band AS VARCHAR) AS risk_band, count(*) AS customers, "
                           f"sum(churn_probability) AS expected_churners, {revenue} AS revenue_at_risk "
                           f"FROM {CUSTOMERS} GROUP BY ALL")
        frame["share"] = frame["customers"] / max(1, int(frame["customers"].sum()))
        order = {b: i for i, b in enumerate(RISK_BANDS)}
        return frame.sort_values("risk_band", key=lambda s: s.map(order)).reset_index(drop=True)

    def segment_summary(self) -> pd.DataFrame:
        """Per segment: name, customers, share, churn rate, mean probability, expected churners, revenue at
        risk; the largest expected churn first."""
        target, known = self.col(self.target), self._known(self.target)
        revenue = "sum(revenue_at_risk)" if self.has_revenue else "NULL"
        frame = self.query(
            f"SELECT segment_id, any_value(segment_name) AS segment_name, count(*) AS customers, "
            f"avg({target}) FILTER (WHERE {known}) AS churn_rate, "
            "avg(churn_probability) AS mean_probability, "
            f"sum(churn_probability) AS expected_churners, {revenue} AS revenue_at_risk "
            f"FROM {CUSTOMERS} GROUP BY segment_id ORDER BY expected_churners DESC, segment_id")
        frame["share"] = frame["customers"] / max(1, int(frame["customers"].sum()))
        return frame

    def segments(self) -> pd.DataFrame:
        """segment_id, segment_name and customers, by segment id (for pickers)."""
        return self.query("SELECT segment_id, any_value(segment_name) AS segment_name, "
                          f"count(*) AS customers FROM {CUSTOMERS} GROUP BY segment_id ORDER BY segment_id")

    # ------------------------------------------------------------------ one customer

    def _id_is(self) -> str:
        """Matches one customer by the text of their id (ids arrive as text from URLs and selections); takes
        one parameter, the id as text. Integer ids are also compared as numbers, which lets DuckDB skip every
        row group whose id range cannot hold the customer."""
        c, kind = self.col(self.id_column), self.column_types[self.id_column]
        if kind in INTEGER_TYPES:
            return f"({c} = TRY_CAST($1 AS {kind}) AND CAST({c} AS VARCHAR) = $1)"
        return f"CAST({c} AS VARCHAR) = $1"

    def customer(self, customer_id: Any) -> dict[str, Any] | None:
        """One customer's row as a dict, or None when the id is unknown."""
        frame = self.query(f"SELECT * FROM {CUSTOMERS} WHERE {self._id_is()} LIMIT 1", [str(customer_id)])
        return None if frame.empty else {c: _python(frame[c].iloc[0]) for c in frame.columns}

    def search_ids(self, text: str, *, limit: int = 20) -> list[Any]:
        """Customer ids containing `text` (case-insensitive), riskiest first."""
        c = self.col(self.id_column)
        frame = self.query(f"SELECT {c} AS id FROM {CUSTOMERS} "
                           f"WHERE strpos(lower(CAST({c} AS VARCHAR)), lower(?)) > 0 "
                           "ORDER BY churn_probability DESC NULLS LAST, id LIMIT ?", [str(text), int(limit)])
        return [_python(v) for v in frame["id"]]

    def top_risk(self, n: int = 50) -> pd.DataFrame:
        """The `n` riskiest customers: id, churn_probability, risk_band, segment_name."""
        return self.risk_table(columns=[self.id_column, "churn_probability", "risk_band", "segment_name"],
                               limit=n)

    def feature_reference(self, features: list[str]) -> dict[str, Any]:
        """The population's typical value of each feature: median for numbers and dates, mode otherwise
        (estimated on the map's random sample when the run stores one: `has_map_sample`)."""
        return self._typical_values(features, table=SAMPLE_VIEW)

    def segment_reference(self, segment_id: int, features: list[str]) -> dict[str, Any]:
        """One segment's typical value of each feature (median for numbers and dates, mode otherwise):
        estimated on the map's random sample when it holds at least SAMPLE_ENOUGH of the segment's customers,
        exact otherwise."""
        where, params = "WHERE segment_id = ?", [int(segment_id)]
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
                parts.append(f"median({c}) FILTER (WHERE {self._known(name)}) AS {quote_ident(name)}")
            elif kind == "date":
                parts.append(f"quantile_disc({c}, 0.5) AS {quote_ident(name)}")
            else:
                parts.append(f"mode({c}) AS {quote_ident(name)}")
        if not parts:
            return {}
        return self._scalar_row(f"SELECT {', '.join(parts)} FROM {table} {where}", params)

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
            known = self._known(name, table="t")
            parts.append(f"100 * avg(CASE WHEN c.{c} IS NULL THEN NULL WHEN t.{c} < c.{c} THEN 1.0 "
                         f"WHEN t.{c} = c.{c} THEN 0.5 ELSE 0.0 END) FILTER (WHERE {known}) AS {c}")
        sql = (f"SELECT {', '.join(parts)} FROM {SAMPLE_VIEW} t, (SELECT * FROM {CUSTOMERS} "
               f"WHERE {self._id_is()} LIMIT 1) c")
        row = self._scalar_row(sql, [str(customer_id)])
        return {k: (None if v is None or (isinstance(v, float) and np.isnan(v)) else float(v))
                for k, v in row.items()}

    # ------------------------------------------------------------------ samples

    def _sample_order(self) -> str:
        return f"hash(CAST({self.col(self.id_column)} AS VARCHAR) || CAST(? AS VARCHAR))"

    def sample(self, columns: list[str], n: int, *, seed: int = 0, table: str = CUSTOMERS) -> pd.DataFrame:
        """Up to `n` customers (all of them when there are fewer), the same ones for the same seed; `table`
        SAMPLE_VIEW draws them from the map's sample."""
        cols = ", ".join(self.col(c) for c in dict.fromkeys([self.id_column, *columns]))
        return self.query(f"SELECT {cols} FROM {table} ORDER BY {self._sample_order()} LIMIT ?",
                          [int(seed), int(n)])

    @property
    def value_column(self) -> str | None:
        """What one customer is worth, as revenue at risk counts it: the multi-task network's prediction
        (`predicted_<revenue>`) when the revenue column is an auxiliary target, else the revenue column;
        None when the run has no revenue column."""
        if not self.has_revenue or not self.revenue_column:
            return None
        predicted = f"predicted_{self.revenue_column}"
        if predicted in self.column_types:
            return predicted
        return self.revenue_column if self.revenue_column in self.column_types else None

    def probability_and_value(self) -> pd.DataFrame:
        """Every customer's churn probability and value (value_column, missing and negative values as 0;
        NULL for every row when the run has no revenue), ranked by probability (ties by id)."""
        value = self.value_column
        value_sql = f"greatest(CASE WHEN {self._known(value)} THEN {self.col(value)} ELSE 0 END, 0)" if value \
            else "NULL"
        return self.query(f"SELECT {self.col(self.id_column)} AS id, churn_probability, "
                          f"CAST({value_sql} AS DOUBLE) AS value FROM {CUSTOMERS} "
                          f"ORDER BY churn_probability DESC NULLS LAST, {self.col(self.id_column)}")

    def map_points(self, *, limit: int, extra: list[str] | None = None, seed: int = 0) -> pd.DataFrame:
        """Map positions with segment, probability and target (plus `extra` columns) of at most `limit`
        customers, sampled when there are more: the run's stored map sample when it has one."""
        base = [self.id_column, "x", "y", "segment_id", "segment_name", "churn_probability", "risk_band",
                self.target, *(["revenue_at_risk"] if self.has_revenue else []), *(extra or [])]
        columns = [c for c in dict.fromkeys(base) if c in self.column_types]
        if self.has_map_sample and limit >= self._map_sample_rows:
            return self._read_map_sample(columns)
        return self.sample(columns, limit, seed=seed, table=SAMPLE_VIEW if self.has_map_sample else CUSTOMERS)

    @cached_property
    def _map_sample_rows(self) -> int:
        return pq.ParquetFile(self._map_sample_file).metadata.num_rows if self._map_sample_file else 0

    def _read_map_sample(self, columns: list[str]) -> pd.DataFrame:
        """`columns` of the whole map sample, straight from map.parquet (several times faster than through
        DuckDB for 100,000 rows of text), with the same dtypes a query gives."""
        table = pq.read_table(self._map_sample_file, columns=list(dict.fromkeys([self.id_column, *columns])))
        plain = pa.schema([pa.field(f.name, pa.large_string() if pa.types.is_dictionary(f.type) else f.type)
                           for f in table.schema])
        return table.cast(plain).to_pandas(ignore_metadata=True)

    def test_rows(self) -> pd.DataFrame:
        """Held-out test customers with a known label: y, churn_probability, mt_churn_probability."""
        target = self.col(self.target)
        extra = ", mt_churn_probability" if "mt_churn_probability" in self.column_types else ""
        return self.query(f"SELECT CAST({target} AS DOUBLE) AS y, churn_probability{extra} FROM {CUSTOMERS} "
                          f"WHERE split = 'test' AND {self._known(self.target)}")

    # ------------------------------------------------------------------ model quality and the map

    def test_frame(self, *, aux: list[str] | None = None) -> pd.DataFrame:
        """Held-out test customers with a known label, for model quality overall and per segment: id,
        segment_id, y (the label as 0/1), the probabilities of the three models (churn_probability,
        mt_churn_probability, logistic_churn_probability: those the run has), and each `aux` target with its
        head's prediction (predicted_<aux>) where the run has both."""
        scores = [c for c in ("churn_probability", "mt_churn_probability", "logistic_churn_probability")
                  if c in self.column_types]
        heads = [c for a in (aux or []) if a in self.column_types and f"predicted_{a}" in self.column_types
                 for c in (a, f"predicted_{a}")]
        cols = ", ".join(self.col(c) for c in dict.fromkeys([*scores, *heads]))
        return self.query(f"SELECT {self.col(self.id_column)} AS id, segment_id, "
                          f"CAST({self.col(self.target)} AS DOUBLE) AS y, {cols} FROM {CUSTOMERS} "
                          f"WHERE split = 'test' AND {self._known(self.target)} ORDER BY id")

    def train_means(self, columns: list[str]) -> dict[str, float | None]:
        """The mean of each number column over the training customers (split 'train'): the baseline every
        auxiliary head must beat."""
        known = [c for c in columns if self.column_kinds.get(c) == "number"]
        if not known:
            return {}
        parts = ", ".join(f"avg(CAST({self.col(c)} AS DOUBLE)) FILTER (WHERE {self._known(c)}) "
                          f"AS {quote_ident(c)}" for c in known)
        return self._scalar_row(f"SELECT {parts} FROM {CUSTOMERS} WHERE split = 'train'")

    def map_density(self, *, bins: int = 120) -> pd.DataFrame:
        """How many customers fall in each cell of a `bins` x `bins` grid over the map (empty cells left
        out): ix, iy, x, y (the cell's centre), x_step, y_step (its size), customers. For maps too large to
        draw every customer."""
        frame = self.query(
            f"WITH b AS (SELECT min(x) AS x0, max(x) AS x1, min(y) AS y0, max(y) AS y1 FROM {CUSTOMERS} "
            "WHERE x IS NOT NULL AND y IS NOT NULL), "
            "g AS (SELECT "
            "least(CAST(floor((c.x - b.x0) / greatest(b.x1 - b.x0, 1e-9) * ?) AS INTEGER), ? - 1) AS ix, "
            "least(CAST(floor((c.y - b.y0) / greatest(b.y1 - b.y0, 1e-9) * ?) AS INTEGER), ? - 1) AS iy "
            f"FROM {CUSTOMERS} c, b WHERE c.x IS NOT NULL AND c.y IS NOT NULL) "
            "SELECT ix, iy, count(*) AS customers, any_value(b.x0) AS x0, any_value(b.x1) AS x1, "
            "any_value(b.y0) AS y0, any_value(b.y1) AS y1 FROM g, b GROUP BY ix, iy ORDER BY iy, ix",
            [int(bins)] * 4)
        x_step = (frame["x1"] - frame["x0"]) / bins
        y_step = (frame["y1"] - frame["y0"]) / bins
        frame["x"] = frame["x0"] + (frame["ix"] + 0.5) * x_step
        frame["y"] = frame["y0"] + (frame["iy"] + 0.5) * y_step
        frame["x_step"], frame["y_step"] = x_step, y_step
        return frame[["ix", "iy", "x", "y", "x_step", "y_step", "customers"]]

def compare_groups(frame: pd.DataFrame, selected: np.ndarray, *, target: str,
                   revenue: str | None = "revenue_at_risk") -> pd.DataFrame:
    """Selected customers against the rest: customers, observed churn rate, mean churn probability,
    expected churners and revenue at risk, one row per group ('Selected', 'Rest')."""
    selected = np.asarray(selected, dtype=bool)
    frame = frame[[c for c in dict.fromkeys([target, "churn_probability", revenue or ""]) if c in frame]]
    rows = []
    for name, mask in (("Selected", selected), ("Rest", ~selected)):
        part = frame.loc[mask]
        y = pd.to_numeric(part[target], errors="coerce").dropna() if target in part \
            else pd.Series(dtype=float)
        rows.append({"group": name, "customers": int(mask.sum()),
                     "churn_rate": float(y.mean()) if len(y) else None,
                     "mean_probability": float(part["churn_probability"].mean()) if len(part) else None,
                     "expected_churners": float(part["churn_probability"].sum()),
                     "revenue_at_risk": float(part[revenue].sum()) if revenue and revenue in part else None})
    return pd.DataFrame(rows)


def _python(value: Any) -> Any:
    """numpy / pandas scalars as plain Python values (NaN and NA as None)."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and np.isnan(value):
        return None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    return value
