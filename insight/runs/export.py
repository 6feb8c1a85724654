"""CSV export that is safe to open in a spreadsheet.

A cell that starts with `=`, `+`, `-`, `@`, a tab or a carriage return can be run as a formula by Excel,
LibreOffice or Google Sheets (CSV injection). Such text cells, and such column names, get a leading single
quote, which spreadsheets show as plain text. Numbers are left alone: a negative number is not a formula.

A selection export (customers picked on the segment map, or one segment) records where it came from in three
columns at the end of every row, `export_run_id`, `export_selection` and `exported_at`, rather than in
comment lines above the header: spreadsheets, CRM imports and `pandas.read_csv` all take the first line as
the header, and a row-level record survives sorting, filtering and copying rows into another sheet.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Mapping
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv

from insight.runs import layout

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def sanitize_cell(value: Any) -> Any:
    """`value` with a leading single quote when it is text a spreadsheet would read as a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def sanitize_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of `frame` whose text cells and column names cannot start a formula."""
    out = frame.copy()
    for name in out.columns:
        col = out[name]
        if isinstance(col.dtype, pd.CategoricalDtype):
            col = col.astype("string")
        if pd.api.types.is_string_dtype(col) and col.dtype != object:  # all text: vectorised
            risky = col.str.startswith(FORMULA_PREFIXES).fillna(False).to_numpy(dtype=bool)
            out[name] = col.where(~risky, "'" + col)
        elif col.dtype == object:  # mixed cells: only text can be a formula
            out[name] = col.map(sanitize_cell, na_action="ignore")
    out.columns = [sanitize_cell(str(c)) for c in out.columns]
    return out


def csv_bytes(frame: pd.DataFrame) -> bytes:
    """`frame` as sanitised UTF-8 CSV, with a byte-order mark so Excel reads accents correctly.

    Lines end in CRLF (RFC 4180); cells holding a delimiter, a quote, CR or LF are quoted. Written by Arrow,
    which is an order of magnitude faster than pandas on wide numeric tables.
    """
    table = pa.Table.from_pandas(_readable_dates(sanitize_frame(frame)), preserve_index=False)
    buffer = io.BytesIO()
    buffer.write("\ufeff".encode())
    pa_csv.write_csv(table, buffer, pa_csv.WriteOptions(quoting_style="needed", eol="\r\n"))
    return buffer.getvalue()


def parquet_bytes(frame: pd.DataFrame) -> bytes:
    """`frame` as a Parquet file (zstd), every value and type exactly as it is: Parquet is read by programs,
    which do not run formulas, so nothing is escaped."""
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False, compression="zstd")
    return buffer.getvalue()


def _readable_dates(frame: pd.DataFrame) -> pd.DataFrame:
    """Date-time columns as '2025-03-04' (or '2025-03-04 10:30:00' when they hold times)."""
    for name in frame.columns:
        col = frame[name]
        if pd.api.types.is_datetime64_any_dtype(col):
            has_time = bool((col.dropna() != col.dropna().dt.normalize()).any())
            frame[name] = col.dt.strftime("%Y-%m-%d %H:%M:%S" if has_time else "%Y-%m-%d")
    return frame


SELECTION_LEAD = (layout.CHURN_PROBABILITY, layout.RISK_BAND, layout.SEGMENT_NAME, *layout.REASONS)
"""Columns a selection export starts with, right after the customer id."""
SELECTION_METADATA = ("export_run_id", "export_selection", "exported_at")
"""Columns a selection export ends with: which run, which selection, when (UTC)."""
_METHODS = {"lasso": "lasso", "box": "box selection", "box+lasso": "box and lasso selection",
            "click": "clicked points"}


def selection_method(selection: Mapping[str, Any] | None) -> str:
    """How points were chosen on a plotly chart, from Streamlit's selection state: 'lasso', 'box',
    'box+lasso' (both, with shift held) or 'click' (points clicked one by one)."""
    selection = selection or {}
    box, lasso = bool(selection.get("box")), bool(selection.get("lasso"))
    if box and lasso:
        return "box+lasso"
    return "lasso" if lasso else "box" if box else "click"


def describe_selection(count: int, *, method: str | None = None, segment: str | None = None) -> str:
    """How a set of customers was chosen, in words: 'lasso of 656 customers on the segment map', or
    "segment 'Students · high churn' (1,234 customers)" when `segment` is given."""
    if segment is not None:
        return f"segment '{segment}' ({count:,} customers)"
    if method not in _METHODS:
        raise ValueError(f"unknown selection method {method!r}; expected one of {sorted(_METHODS)}")
    return f"{_METHODS[method]} of {count:,} customers on the segment map"


def selection_frame(rows: pd.DataFrame, *, id_column: str, run_id: str, selection: str,
                    exported_at: dt.datetime | None = None) -> pd.DataFrame:
    """The rows of selected customers ready to export: the id, churn probability, risk band, segment and
    reasons first, every other column after them, then the metadata columns (SELECTION_METADATA).

    Raises ValueError when `rows` lacks the id column. Rows keep their order.
    """
    if id_column not in rows.columns:
        raise ValueError(f"the rows to export have no id column {id_column!r}")
    when = (exported_at or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    lead = [id_column, *(c for c in SELECTION_LEAD if c in rows.columns and c != id_column)]
    rest = [c for c in rows.columns if c not in lead and c not in SELECTION_METADATA]
    out = rows.loc[:, [*lead, *rest]].reset_index(drop=True)
    out["export_run_id"] = str(run_id)
    out["export_selection"] = str(selection)
    out["exported_at"] = when.strftime("%Y-%m-%dT%H:%M:%SZ")
    return out


def selection_csv(rows: pd.DataFrame, *, id_column: str, run_id: str, selection: str,
                  exported_at: dt.datetime | None = None) -> bytes:
    """`selection_frame` as sanitised CSV (see csv_bytes)."""
    return csv_bytes(selection_frame(rows, id_column=id_column, run_id=run_id, selection=selection,
                                     exported_at=exported_at))
