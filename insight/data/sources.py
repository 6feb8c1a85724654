"""Read a customer table from CSV, Parquet or a SQL database into a frame."""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

import pandas as pd

from insight.errors import InputError

log = logging.getLogger(__name__)

SQL_PREFIXES = ("sqlite:///", "duckdb:///")


def read_table(source: str | Path, *, query: str | None = None, table: str | None = None) -> pd.DataFrame:
    """Read a customer table.

    Parameters
    ----------
    source
        A `.csv`/`.tsv` (optionally gzipped) or `.parquet` file, a folder of Parquet files, or a database
        URL `sqlite:///path.db` / `duckdb:///path.duckdb`.
    query, table
        For a database: the SQL query to run, or the table to read whole.
    """
    text = str(source)
    if text.startswith(SQL_PREFIXES):
        return _read_sql(text, query=query, table=table)
    path = Path(text)
    if not path.exists():
        raise InputError(f"{path}: no such file. Check the path, or create demo data with "
                         "`insight demo-data --out DIR`.")
    suffixes = "".join(path.suffixes).lower()
    try:
        if path.is_dir() or suffixes.endswith((".parquet", ".pq")):
            frame = pd.read_parquet(path)
        elif suffixes.endswith((".csv", ".csv.gz", ".txt")):
            frame = pd.read_csv(path, low_memory=False)
        elif suffixes.endswith((".tsv", ".tsv.gz")):
            frame = pd.read_csv(path, sep="\t", low_memory=False)
        elif suffixes.endswith((".db", ".sqlite", ".sqlite3")):
            return _read_sql(f"sqlite:///{path}", query=query, table=table)
        else:
            raise InputError(f"{path}: unknown file type {suffixes or '(none)'}; use .csv, .tsv, .parquet, a "
                             "folder of Parquet files, or sqlite:///file.db with --table or --query.")
    except InputError:
        raise
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, OSError, ValueError) as e:
        raise InputError(f"{path}: could not be read as a table ({type(e).__name__}: {e}). "
                         "Check that it is a valid CSV or Parquet file.") from e
    log.info("read %s: %d rows, %d columns", path, len(frame), frame.shape[1])
    return frame


def _read_sql(url: str, *, query: str | None, table: str | None) -> pd.DataFrame:
    if (query is None) == (table is None):
        raise InputError(f"{url}: give exactly one of --table NAME or --query 'SELECT ...' to read a database.")
    sql = query if query is not None else f'SELECT * FROM "{table}"'
    path = url.split(":///", 1)[1]
    if not Path(path).exists():
        raise InputError(f"{path}: no such database file.")
    try:
        if url.startswith("duckdb:///"):
            import duckdb

            with duckdb.connect(path, read_only=True) as con:
                return con.execute(sql).df()
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as con:
            return pd.read_sql_query(sql, con)
    except Exception as e:  # noqa: BLE001 - every driver error becomes one actionable line
        raise InputError(f"{url}: the query failed ({type(e).__name__}: {e}). Check the table name or SQL.") from e
