"""Where customer tables come from: one small `Source` interface that file formats and databases plug into.

    open_source("customers.csv")                     a CSV / TSV file (optionally gzipped)
    open_source("customers.parquet")                 a Parquet file
    open_source("snapshot/")                         a folder of Parquet files, one part per file
    open_source("sqlite:///crm.db", table="users")   a SQLite or DuckDB database, a table or a query
    open_source("postgresql://u@host/db?table=t")    any SQLAlchemy database URL (insight.data.warehouse)

A source reads whole (`read`), names its columns without reading the rows (`columns`), and splits into the
parts a partitioned job scores one at a time (`parts`: the files of a folder, else the source itself).
`insight train`, `insight evaluate`, `insight score`, `--truth` and the upload page all read through
`open_source` / `read_table`, so every malformed table gets the same message. The rules each read applies
live in `insight.data.reading`: limits on file size, rows and columns (INSIGHT_MAX_FILE_MB, INSIGHT_MAX_ROWS,
INSIGHT_MAX_COLUMNS), a text file's encoding and delimiter (`,` `;` tab `|`), column names that appear twice
(refused: pandas would rename the second `a` to `a.1`), list and struct columns (left out with a warning),
Excel workbooks (refused with how to export them as CSV), and DuckDB's memory and thread limits.
"""

from __future__ import annotations

import logging
import re
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import pandas as pd

from insight.data.reading import (
    EXCEL_SUFFIXES,
    LEFT_OUT,
    ReadLimits,
    TextFormat,
    check_unique_names,
    duckdb_config,
    excel_message,
    fallback_encoding,
    header_names,
    leave_out,
    nested_arrow_columns,
    text_format,
    warn_not_utf8,
)
from insight.data.warehouse import WarehouseSource, is_database_url, is_warehouse_url, split_table
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
        """The columns `read` returns (a Parquet file's list and struct columns are left out)."""
        import pyarrow.parquet as pq

        with _readable(self.path):
            if self.is_parquet:
                schema = pq.read_schema(self.path)
                check_unique_names(schema.names, str(self.path))
                nested = nested_arrow_columns(schema)
                return [n for n in schema.names if n not in nested]
            names = header_names(self.path, self._format())
            check_unique_names(names, str(self.path))
            return names

    def read(self) -> pd.DataFrame:
        """The whole file, within the ReadLimits (InputError naming the limit and its setting)."""
        limits = ReadLimits.from_env()
        limits.check_bytes(self.path.stat().st_size, str(self.path))
        with _readable(self.path):
            frame = self._read_parquet(limits) if self.is_parquet else self._read_text(limits)
        log.info("read %s: %d rows, %d columns", self.path, len(frame), frame.shape[1])
        return frame

    def parts(self) -> list[Source]:
        return [self]

    def _read_parquet(self, limits: ReadLimits) -> pd.DataFrame:
        import pyarrow.parquet as pq

        where = str(self.path)
        meta = pq.read_metadata(self.path)
        schema = meta.schema.to_arrow_schema()
        check_unique_names(schema.names, where)
        limits.check_columns(len(schema.names), where)
        limits.check_rows(meta.num_rows, where)
        nested = nested_arrow_columns(schema)
        plain = [n for n in schema.names if n not in nested]
        frame = pq.read_table(self.path, columns=plain if nested else None).to_pandas()
        return leave_out(frame, nested, where)

    def _read_text(self, limits: ReadLimits) -> pd.DataFrame:
        where, fmt = str(self.path), self._format()
        names = header_names(self.path, fmt)
        check_unique_names(names, where)
        limits.check_columns(len(names), where)
        encoding: str | None = fmt.encoding
        while True:
            try:
                frame = pd.read_csv(self.path, sep=fmt.delimiter, encoding=encoding, low_memory=False,
                                    nrows=limits.rows + 1)
                break
            except UnicodeDecodeError:  # a byte past the sniffed head that is not UTF-8
                encoding = fallback_encoding(str(encoding))
                if encoding is None:
                    raise
                warn_not_utf8(self.path, encoding)
        limits.check_rows(len(frame), where)
        return frame

    def _format(self) -> TextFormat:
        return text_format(self.path, delimiter="\t" if _suffix(self.path).endswith(TSV_SUFFIXES) else None)


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
        """Every part, within the ReadLimits on the whole folder."""
        import pyarrow.parquet as pq

        limits, parts = ReadLimits.from_env(), [p for p in self.parts() if isinstance(p, FileSource)]
        limits.check_bytes(sum(p.path.stat().st_size for p in parts), str(self.path))
        with _readable(self.path):
            limits.check_rows(sum(pq.read_metadata(p.path).num_rows for p in parts), str(self.path))
        frames = [part.read() for part in parts]
        frame = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
        left_out = {k: v for f in frames for k, v in f.attrs.get(LEFT_OUT, {}).items()}
        if left_out:
            frame.attrs[LEFT_OUT] = left_out
        return frame


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
        """The table or the query's rows, within the ReadLimits on rows and columns."""
        frame = self._run(self.sql, limits=ReadLimits.from_env())
        log.info("read %s: %d rows, %d columns", self.url, len(frame), frame.shape[1])
        return frame

    def parts(self) -> list[Source]:
        return [self]

    def _run(self, sql: str, *, limits: ReadLimits | None = None) -> pd.DataFrame:
        """The rows of `sql`; with `limits`, fetched in batches and refused past the row limit."""
        try:
            if self.url.startswith("duckdb:///"):
                import duckdb

                with duckdb.connect(self.file, read_only=True, config=duckdb_config()) as con:
                    if limits is None:
                        return con.execute(sql).df()
                    return self._bounded_duckdb(con.sql(sql).to_arrow_reader(65_536), limits)
            with sqlite3.connect(f"file:{self.file}?mode=ro", uri=True) as con:
                if limits is None:
                    return pd.read_sql_query(sql, con)
                return self._bounded_sqlite(con, sql, limits)
        except InputError:
            raise
        except Exception as e:  # noqa: BLE001 - every driver error becomes one actionable line
            raise InputError(f"{self.url}: the query failed ({type(e).__name__}: {e}). Check the table name or "
                             "SQL.") from e

    def _bounded_duckdb(self, reader: Any, limits: ReadLimits) -> pd.DataFrame:
        import pyarrow as pa

        self._check_names(list(reader.schema.names), limits)
        batches, rows = [], 0
        for batch in reader:
            rows += batch.num_rows
            limits.check_rows(rows, self.url)
            batches.append(batch)
        frame = pa.Table.from_batches(batches, schema=reader.schema).to_pandas()
        return leave_out(frame, nested_arrow_columns(reader.schema), self.url)

    def _bounded_sqlite(self, con: sqlite3.Connection, sql: str, limits: ReadLimits) -> pd.DataFrame:
        chunks, rows = [], 0
        for chunk in pd.read_sql_query(sql, con, chunksize=65_536):
            if not chunks:
                self._check_names([str(c) for c in chunk.columns], limits)
            rows += len(chunk)
            limits.check_rows(rows, self.url)
            chunks.append(chunk)
        if not chunks:
            return pd.read_sql_query(f"SELECT * FROM ({sql}) AS q LIMIT 0", con)
        return pd.concat(chunks, ignore_index=True) if len(chunks) > 1 else chunks[0]

    def _check_names(self, names: list[str], limits: ReadLimits) -> None:
        check_unique_names(names, f"{self.url}: the {'query' if self.query is not None else 'table'}")
        limits.check_columns(len(names), self.url)


def open_source(ref: str | Path, *, query: str | None = None, table: str | None = None) -> Source:
    """The source `ref` names: a file, a folder of Parquet files or a database URL (see the module docstring)."""
    text = str(ref)
    if is_database_url(text):
        text, table = split_table(text, table)  # ?table=NAME in the URL
        if is_warehouse_url(text):
            return WarehouseSource(text, query=query, table=table)
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
    if suffixes.endswith(EXCEL_SUFFIXES):
        raise InputError(excel_message(path))
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
    except InputError:
        raise
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, OSError, ValueError) as e:
        raise InputError(f"{path}: could not be read as a table ({type(e).__name__}: {e}). Check that it is a "
                         "valid CSV or Parquet file.") from e


def _suffix(path: Path) -> str:
    return "".join(path.suffixes).lower()


def _natural(path: Path) -> list[object]:
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", str(path))]
