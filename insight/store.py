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

from insight.runs import Run

log = logging.getLogger(__name__)

CUSTOMERS = "customers"
SHAP = "shap"
BASE_VALUE = "base_value"
RISK_BANDS = ("low", "medium", "high", "very high")
CATEGORY_LIMIT = 50
"""Text columns with at most this many distinct values are filtered by membership, others by 'contains'."""
INTERNAL_COLUMNS = frozenset({"x", "y", "churn_score", "segment_id"})
NUMERIC_TYPES = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER",
                 "UBIGINT", "UHUGEINT", "FLOAT", "DOUBLE", "DECIMAL", "REAL")

ColumnKind = Literal["number", "category", "text", "date"]


def quote_ident(name: str) -> str:
    """A SQL identifier in double quotes, inner quotes doubled."""
    return '"' + str(name).replace('"', '""') + '"'


def quote_literal(text: str) -> str:
    """A SQL string literal (used only for file paths the program chose, never for user input)."""
    return "'" + str(text).replace("'", "''") + "'"


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


class RunStore:
    """Read-only queries over `customers.parquet` and `shap.parquet` of one run."""

    def __init__(self, customers: Path, shap: Path | None = None, *, id_column: str, target: str,
                 revenue_column: str | None = None, roles: dict[str, str] | None = None) -> None:
        self.id_column = id_column
        self.target = target
        self.revenue_column = revenue_column
        self.roles = dict(roles or {})
        self._lock = threading.Lock()
        self._con = duckdb.connect(":memory:")
        self._con.execute(f"CREATE VIEW {CUSTOMERS} AS SELECT * FROM "
                          f"read_parquet({quote_literal(str(customers))})")
        self.has_shap = shap is not None and Path(shap).exists()
        if self.has_shap:
            self._con.execute(f"CREATE VIEW {SHAP} AS SELECT * FROM read_parquet({quote_literal(str(shap))})")
        log.debug("store over %s", customers)

    @classmethod
    def from_run(cls, run: Run) -> RunStore:
        spec = run.manifest.get("spec", {})
        roles: dict[str, str] = {}
        if run.file("features.json").exists():
            roles = {f["name"]: f["role"] for f in run.json("features.json").get("features", [])}
        return cls(run.file("customers.parquet"), run.file("shap.parquet"), id_column=spec["id_column"],
                   target=spec["target"], revenue_column=spec.get("revenue_column"), roles=roles)

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

    @cached_property
    def shap_features(self) -> list[str]:
        if not self.has_shap:
            return []
        frame = self.query(f"DESCRIBE SELECT * FROM {SHAP}")
        return [c for c in frame["column_name"] if c not in (self.id_column, BASE_VALUE)]

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
            parts = [f"{c} IN ({', '.join('?' * len(known))})"] if known else []
            if len(known) < len(values):
                parts.append(f"{c} IS NULL" + (f" OR isnan({c})" if self._is_float(cond.column) else ""))
            return ("(" + " OR ".join(parts) + ")") if parts else "TRUE", known
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
        """Matches one customer by the text of their id (ids arrive as text from URLs and selections)."""
        return f"CAST({self.col(self.id_column)} AS VARCHAR) = ?"

    def customer(self, customer_id: Any) -> dict[str, Any] | None:
        """One customer's row as a dict, or None when the id is unknown."""
        frame = self.query(f"SELECT * FROM {CUSTOMERS} WHERE {self._id_is()} LIMIT 1", [str(customer_id)])
        return None if frame.empty else {c: _python(frame[c].iloc[0]) for c in frame.columns}

    def customer_shap(self, customer_id: Any) -> pd.Series | None:
        """One customer's SHAP values (one per feature, plus base_value), or None."""
        if not self.has_shap:
            return None
        frame = self.query(f"SELECT * EXCLUDE ({quote_ident(self.id_column)}) FROM {SHAP} "
                           f"WHERE {self._id_is()} LIMIT 1", [str(customer_id)])
        return None if frame.empty else frame.iloc[0].astype("float64")

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
        """The population's typical value of each feature: median for numbers and dates, mode otherwise."""
        parts = []
        for name in features:
            c, kind = self.col(name), self.column_kinds.get(name)
            if kind == "number":
                parts.append(f"median({c}) FILTER (WHERE {self._known(name)}) AS {quote_ident(name)}")
            elif kind == "date":
                parts.append(f"quantile_disc({c}, 0.5) AS {quote_ident(name)}")
            else:
                parts.append(f"mode({c}) AS {quote_ident(name)}")
        return self._scalar_row(f"SELECT {', '.join(parts)} FROM {CUSTOMERS}") if parts else {}

    def percentiles(self, customer_id: Any, features: list[str]) -> dict[str, float | None]:
        """Where the customer stands on each number/date feature: the share of customers below them (ties
        count half), 0-100; None for missing values and for categories."""
        ranked = [f for f in features if self.column_kinds.get(f) in ("number", "date")]
        if not ranked:
            return {}
        parts = []
        for name in ranked:
            c = quote_ident(name)
            known = self._known(name, table="t")
            parts.append(f"100 * avg(CASE WHEN c.{c} IS NULL THEN NULL WHEN t.{c} < c.{c} THEN 1.0 "
                         f"WHEN t.{c} = c.{c} THEN 0.5 ELSE 0.0 END) FILTER (WHERE {known}) AS {c}")
        sql = (f"SELECT {', '.join(parts)} FROM {CUSTOMERS} t, (SELECT * FROM {CUSTOMERS} "
               f"WHERE {self._id_is()} LIMIT 1) c")
        row = self._scalar_row(sql, [str(customer_id)])
        return {k: (None if v is None or (isinstance(v, float) and np.isnan(v)) else float(v))
                for k, v in row.items()}

    # ------------------------------------------------------------------ samples

    def _sample_order(self) -> str:
        return f"hash(CAST({self.col(self.id_column)} AS VARCHAR) || CAST(? AS VARCHAR))"

    def sample(self, columns: list[str], n: int, *, seed: int = 0) -> pd.DataFrame:
        """Up to `n` customers (all of them when there are fewer), the same ones for the same seed."""
        cols = ", ".join(self.col(c) for c in dict.fromkeys([self.id_column, *columns]))
        return self.query(f"SELECT {cols} FROM {CUSTOMERS} ORDER BY {self._sample_order()} LIMIT ?",
                          [int(seed), int(n)])

    def shap_sample(self, features: list[str], n: int, *, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
        """SHAP values and the matching feature values of up to `n` sampled customers, rows aligned by id."""
        idc = self.col(self.id_column)
        ids = self.query(f"SELECT {idc} AS id FROM {CUSTOMERS} ORDER BY {self._sample_order()} LIMIT ?",
                         [int(seed), int(n)])["id"].tolist()
        if not ids or not self.has_shap:
            return pd.DataFrame(columns=features), pd.DataFrame(columns=features)
        bad = [f for f in features if f not in self.shap_features]
        if bad:
            raise ValueError(f"no SHAP values for {bad}")
        shap_cols = ", ".join(f"s.{quote_ident(f)}" for f in features)
        values = self.query(f"SELECT {idc}, {', '.join(self.col(f) for f in features)} FROM {CUSTOMERS} "
                            f"WHERE {idc} IN (SELECT UNNEST(?)) ORDER BY {idc}", [ids])
        shap = self.query(f"SELECT s.{idc}, {shap_cols} FROM {SHAP} s WHERE s.{idc} IN (SELECT UNNEST(?)) "
                          f"ORDER BY s.{idc}", [ids])
        return shap.reset_index(drop=True), values.reset_index(drop=True)

    def map_points(self, *, limit: int, extra: list[str] | None = None, seed: int = 0) -> pd.DataFrame:
        """Map positions with segment, probability and target (plus `extra` columns) of at most `limit`
        customers, sampled when there are more."""
        base = [self.id_column, "x", "y", "segment_id", "segment_name", "churn_probability", "risk_band",
                self.target, *(["revenue_at_risk"] if self.has_revenue else []), *(extra or [])]
        return self.sample([c for c in dict.fromkeys(base) if c in self.column_types], limit, seed=seed)

    def test_rows(self) -> pd.DataFrame:
        """Held-out test customers with a known label: y, churn_probability, mt_churn_probability."""
        target = self.col(self.target)
        extra = ", mt_churn_probability" if "mt_churn_probability" in self.column_types else ""
        return self.query(f"SELECT CAST({target} AS DOUBLE) AS y, churn_probability{extra} FROM {CUSTOMERS} "
                          f"WHERE split = 'test' AND {self._known(self.target)}")


def compare_groups(frame: pd.DataFrame, selected: np.ndarray, *, target: str,
                   revenue: str | None = "revenue_at_risk") -> pd.DataFrame:
    """Selected customers against the rest: customers, observed churn rate, mean churn probability,
    expected churners and revenue at risk, one row per group ('Selected', 'Rest')."""
    selected = np.asarray(selected, dtype=bool)
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
