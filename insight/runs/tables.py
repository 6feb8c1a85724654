"""The DuckDB views over one run's tables and the SQL pieces every store query is built from: the thread-safe
cursor, checked and quoted column names, known-value tests, one customer by id, the repeatable sample order,
and filters (`RiskFilter`) as WHERE clauses with bound parameters.

`insight.runs.store.RunStore` builds its queries on a `RunTables`, and its SHAP part
(`insight.runs.store_shap.ShapQueries`) is given one.
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

from insight.data.reading import duckdb_config
from insight.runs import layout
from insight.runs.sql import CUSTOMERS, SAMPLE_SHAP_VIEW, SAMPLE_VIEW, SHAP, quote_ident, quote_literal

log = logging.getLogger(__name__)

CATEGORY_LIMIT = 50
"""Text columns with at most this many distinct values are filtered by membership, others by 'contains'."""
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


class RunTables:
    """Read-only DuckDB views of a run's customers (CUSTOMERS), SHAP values (SHAP) and, for large runs, the
    map's sample of both (SAMPLE_VIEW, SAMPLE_SHAP_VIEW: the full views when the run has no sample)."""

    def __init__(self, customers: Path, shap: Path | None = None, *, id_column: str, target: str,
                 roles: dict[str, str] | None = None, map_sample: Path | None = None,
                 map_shap: Path | None = None) -> None:
        self.id_column = id_column
        self.target = target
        self.roles = dict(roles or {})
        self._lock = threading.Lock()
        self._con = duckdb.connect(":memory:", config=duckdb_config())  # memory and thread limits
        self._con.execute(f"CREATE VIEW {CUSTOMERS} AS SELECT * FROM "
                          f"read_parquet({quote_literal(str(customers))})")
        self.has_map_sample = map_sample is not None and Path(map_sample).exists()
        self.map_sample_file = Path(map_sample) if self.has_map_sample and map_sample is not None else None
        self._con.execute(f"CREATE VIEW {SAMPLE_VIEW} AS SELECT * FROM " + (
            f"read_parquet({quote_literal(str(map_sample))})" if self.has_map_sample else CUSTOMERS))
        self.has_shap = shap is not None and Path(shap).exists()
        self.has_shap_sample = False
        if self.has_shap:
            self._con.execute(f"CREATE VIEW {SHAP} AS SELECT * FROM read_parquet({quote_literal(str(shap))})")
            self.has_shap_sample = self.has_map_sample and map_shap is not None and Path(map_shap).exists()
            self._con.execute(f"CREATE VIEW {SAMPLE_SHAP_VIEW} AS SELECT * FROM " + (
                f"read_parquet({quote_literal(str(map_shap))})" if self.has_shap_sample else SHAP))
        log.debug("views over %s", customers)

    def close(self) -> None:
        self._con.close()

    def query(self, sql: str, params: list[Any] | None = None) -> pd.DataFrame:
        """Run `sql` with bound `params` on a cursor of its own (safe across Streamlit's threads)."""
        with self._lock:
            cursor = self._con.cursor()
        try:
            return cursor.execute(sql, params or []).df()
        finally:
            cursor.close()

    def scalar_row(self, sql: str, params: list[Any] | None = None) -> dict[str, Any]:
        """The first row of a query as plain Python values ({} when it has none)."""
        frame = self.query(sql, params)
        return {} if frame.empty else {c: python_value(frame[c].iloc[0]) for c in frame.columns}

    # ------------------------------------------------------------------ columns

    @cached_property
    def column_types(self) -> dict[str, str]:
        """Column name -> DuckDB type of customers.parquet, in file order."""
        frame = self.query(f"DESCRIBE SELECT * FROM {CUSTOMERS}")
        return dict(zip(frame["column_name"], frame["column_type"], strict=True))

    def col(self, name: str) -> str:
        """`name` quoted, after checking that customers.parquet has it."""
        if name not in self.column_types:
            raise ValueError(f"unknown column {name!r}")
        return quote_ident(name)

    def is_float(self, name: str) -> bool:
        return self.column_types[name] in ("DOUBLE", "FLOAT", "REAL")

    def known(self, name: str, *, table: str = "") -> str:
        """SQL that is true where a column holds a real value (not NULL, not NaN)."""
        c = (f"{table}." if table else "") + self.col(name)
        if self.is_float(name):
            return f"({c} IS NOT NULL AND NOT isnan({c}))"
        return f"({c} IS NOT NULL)"

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
            counts = self.scalar_row("SELECT " + ", ".join(
                f"approx_count_distinct({quote_ident(c)}) AS {quote_ident(c)}" for c in text_columns)
                + f" FROM {CUSTOMERS}")
            for name in text_columns:
                few = (counts.get(name) or 0) <= CATEGORY_LIMIT and name != self.id_column
                kinds[name] = "category" if few else "text"
        return {name: kinds[name] for name in self.column_types}

    # ------------------------------------------------------------------ customers by id, samples

    def id_is(self) -> str:
        """Matches one customer by the text of their id (ids arrive as text from URLs and selections); takes
        one parameter, the id as text. Integer ids are also compared as numbers, which lets DuckDB skip every
        row group whose id range cannot hold the customer."""
        c, kind = self.col(self.id_column), self.column_types[self.id_column]
        if kind in INTEGER_TYPES:
            return f"({c} = TRY_CAST($1 AS {kind}) AND CAST({c} AS VARCHAR) = $1)"
        return f"CAST({c} AS VARCHAR) = $1"

    def sample_order(self) -> str:
        """A repeatable pseudo-random order of customers; takes one parameter, the seed."""
        return f"hash(CAST({self.col(self.id_column)} AS VARCHAR) || CAST(? AS VARCHAR))"

    # ------------------------------------------------------------------ filters

    def where(self, flt: RiskFilter | None) -> Where:
        """The WHERE clause (with its bound parameters) of a filter."""
        if flt is None:
            return Where("TRUE", [])
        parts: list[str] = []
        params: list[Any] = []
        if flt.bands:
            band = quote_ident(layout.RISK_BAND)
            parts.append(f"CAST({band} AS VARCHAR) IN ({', '.join('?' * len(flt.bands))})")
            params += [str(b) for b in flt.bands]
        if flt.segments:
            parts.append(f"{quote_ident(layout.SEGMENT_ID)} IN ({', '.join('?' * len(flt.segments))})")
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
                params.append(python_value(cond.low))
            if cond.high is not None:
                parts.append(f"{c} <= ?")
                params.append(python_value(cond.high))
            return " AND ".join(parts) or "TRUE", params
        if cond.kind == "in":
            values = [python_value(v) for v in cond.values]
            known = [v for v in values if v is not None]
            # a long list (a lasso's ids) travels as one list parameter: 100k placeholders take seconds
            many = len(known) > LONG_LIST and len({type(v) for v in known}) == 1
            listed = f"{c} IN (SELECT UNNEST(?))" if many else f"{c} IN ({', '.join('?' * len(known))})"
            parts = [listed] if known else []
            if len(known) < len(values):
                parts.append(f"{c} IS NULL" + (f" OR isnan({c})" if self.is_float(cond.column) else ""))
            return ("(" + " OR ".join(parts) + ")") if parts else "TRUE", [known] if many else known
        if cond.kind == "contains":
            if not cond.text:
                return "TRUE", []
            return f"strpos(lower(CAST({c} AS VARCHAR)), lower(?)) > 0", [str(cond.text)]
        raise ValueError(f"unknown filter kind {cond.kind!r}")


def python_value(value: Any) -> Any:
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
