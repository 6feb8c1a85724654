"""Where customer tables come from: one small `Source` interface that file formats and databases plug into.

    open_source("customers.csv")                     a CSV / TSV file (optionally gzipped)
    open_source("customers.parquet")                 a Parquet file
    open_source("snapshot/")                         a folder of Parquet files, one part per file
    open_source("sqlite:///crm.db", table="users")   a SQLite or DuckDB database, a table or a query

A source reads whole (`read`), names its columns without reading the rows (`columns`), and splits into the
parts a partitioned job scores one at a time (`parts`: the files of a folder, else the source itself).
`insight train`, `insight evaluate`, `insight score` and `--truth` all read through `open_source`.
"""

from __future__ import annotations

import logging
import re
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import pandas as pd

from insight.errors import InputError

log = logging.getLogger(__name__)

SQL_PREFIXES = ("sqlite:///", "duckdb:///")
PARQUET_SUFFIXES = (".parquet", ".pq")
CSV_SUFFIXES = (".csv", ".csv.gz", ".txt")
TSV_SUFFIXES = (".tsv", ".tsv.gz")
SQLITE_SUFFIXES = (".db", ".sqlite", ".sqlite3")


class Source(Protocol):
    """A table to read."""

    @property
    def name(self) -> str:
        """What to call the source in messages and run names (a file name, a URL)."""
        ...

    def columns(self) -> list[str]:
        """The column names, without reading the rows where the format allows."""
        ...

    def read(self) -> pd.DataFrame:
        """The whole table (InputError when it cannot be read)."""
        ...

    def parts(self) -> list[Source]:
        """The parts a partitioned job reads one at a time, in order."""
        ...


@dataclass(frozen=True)
class FileSource:
    """One CSV, TSV or Parquet file."""

    path: Path

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def is_parquet(self) -> bool:
        return _suffix(self.path).endswith(PARQUET_SUFFIXES)

    def columns(self) -> list[str]:
        import pyarrow.parquet as pq

        with _readable(self.path):
            if self.is_parquet:
                return list(pq.read_schema(self.path).names)
            return [str(c) for c in pd.read_csv(self.path, nrows=0, sep=self._separator).columns]

    def read(self) -> pd.DataFrame:
        import pyarrow.parquet as pq

        with _readable(self.path):
            if self.is_parquet:
                frame = pq.read_table(self.path).to_pandas()
            else:
                frame = pd.read_csv(self.path, sep=self._separator, low_memory=False)
        log.info("read %s: %d rows, %d columns", self.path, len(frame), frame.shape[1])
        return frame

    def parts(self) -> list[Source]:
        return [self]

    @property
    def _separator(self) -> str:
        return "\t" if _suffix(self.path).endswith(TSV_SUFFIXES) else ","


@dataclass(frozen=True)
class ParquetFolder:
    """Every Parquet file under a folder (natural order of their paths; names starting with '.' or '_', as
    Spark and Dask write markers and metadata, are skipped)."""

    path: Path

    @property
    def name(self) -> str:
        return self.path.name

    def parts(self) -> list[Source]:
        files = [p for p in self.path.rglob("*") if p.is_file() and _suffix(p).endswith(PARQUET_SUFFIXES)
                 and not any(s.startswith((".", "_")) for s in p.relative_to(self.path).parts)]
        if not files:
            raise InputError(f"{self.path}: the folder holds no Parquet files (*.parquet).")
        return [FileSource(p) for p in sorted(files, key=_natural)]

    def columns(self) -> list[str]:
        return self.parts()[0].columns()

    def read(self) -> pd.DataFrame:
        frames = [part.read() for part in self.parts()]
        return pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]


@dataclass(frozen=True)
class DatabaseSource:
    """A table or query of a SQLite (`sqlite:///file.db`) or DuckDB (`duckdb:///file.duckdb`) database."""

    url: str
    query: str | None = None
    table: str | None = None

    def __post_init__(self) -> None:
        if (self.query is None) == (self.table is None):
            raise InputError(f"{self.url}: give exactly one of --table NAME or --query 'SELECT ...' to read a "
                             "database.")
        if not Path(self.file).exists():
            raise InputError(f"{self.file}: no such database file.")

    @property
    def name(self) -> str:
        return Path(self.file).name

    @property
    def file(self) -> str:
        return self.url.split(":///", 1)[1]

    @property
    def sql(self) -> str:
        return self.query if self.query is not None else f'SELECT * FROM "{self.table}"'

    def columns(self) -> list[str]:
        return [str(c) for c in self._run(f"SELECT * FROM ({self.sql}) AS q LIMIT 0").columns]

    def read(self) -> pd.DataFrame:
        frame = self._run(self.sql)
        log.info("read %s: %d rows, %d columns", self.url, len(frame), frame.shape[1])
        return frame

    def parts(self) -> list[Source]:
        return [self]

    def _run(self, sql: str) -> pd.DataFrame:
        try:
            if self.url.startswith("duckdb:///"):
                import duckdb

                with duckdb.connect(self.file, read_only=True) as con:
                    return con.execute(sql).df()
            with sqlite3.connect(f"file:{self.file}?mode=ro", uri=True) as con:
                return pd.read_sql_query(sql, con)
        except Exception as e:  # noqa: BLE001 - every driver error becomes one actionable line
            raise InputError(f"{self.url}: the query failed ({type(e).__name__}: {e}). Check the table name or "
                             "SQL.") from e


def open_source(ref: str | Path, *, query: str | None = None, table: str | None = None) -> Source:
    """The source `ref` names: a file, a folder of Parquet files or a database URL (see the module docstring)."""
    text = str(ref)
    if text.startswith(SQL_PREFIXES):
        return DatabaseSource(text, query=query, table=table)
    path = Path(text)
    if not path.exists():
        raise InputError(f"{path}: no such file. Check the path, or create demo data with "
                         "`insight demo-data --out DIR`.")
    if path.is_dir():
        return ParquetFolder(path)
    suffixes = _suffix(path)
    if suffixes.endswith(SQLITE_SUFFIXES):
        return DatabaseSource(f"sqlite:///{path}", query=query, table=table)
    if suffixes.endswith(PARQUET_SUFFIXES + CSV_SUFFIXES + TSV_SUFFIXES):
        return FileSource(path)
    raise InputError(f"{path}: unknown file type {suffixes or '(none)'}; use .csv, .tsv, .parquet, a folder of "
                     "Parquet files, or sqlite:///file.db with --table or --query.")


def read_table(ref: str | Path, *, query: str | None = None, table: str | None = None) -> pd.DataFrame:
    """The whole table `ref` names (`open_source(...).read()`)."""
    return open_source(ref, query=query, table=table).read()


@contextmanager
def _readable(path: Path) -> Iterator[None]:
    """Turns a reader's failure into an InputError that says which file and what to check."""
    try:
        yield
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, OSError, ValueError) as e:
        raise InputError(f"{path}: could not be read as a table ({type(e).__name__}: {e}). Check that it is a "
                         "valid CSV or Parquet file.") from e


def _suffix(path: Path) -> str:
    return "".join(path.suffixes).lower()


def _natural(path: Path) -> list[object]:
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", str(path))]
