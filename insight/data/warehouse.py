"""Customer tables in a database server, through SQLAlchemy (PostgreSQL first, with psycopg 3).

    open_source("postgresql://user@db.example.com/shop?table=customers")
    open_source("postgresql+psycopg://user@host:5432/shop", query="SELECT * FROM customers WHERE active")

Any SQLAlchemy database URL names a source; `postgresql://` is read with psycopg 3 (`postgresql+psycopg`), other
dialects with whatever SQLAlchemy driver is installed. The table comes from `--table` / `--query` or from
`?table=NAME` in the URL (stripped before SQLAlchemy sees the URL; giving both is an error). A dotted table name
(`analytics.customers`) is a schema and a table; every identifier is quoted (`insight.runs.sql.quote_ident`) and
every value is a bound parameter.

Credentials come only from the URL the user passes or from the driver's own environment (PGPASSWORD,
~/.pgpass, a libpq service file PGSERVICE: psycopg reads them itself), and never leave this process: `name`, log
lines and every error message show the URL with its password masked (`masked_url`), and a driver's error text is
scrubbed of the password before it becomes an InputError.

Reading in chunks: `parts()` of a source made with `chunked(key)` (scoring passes the run's id column) is one part
per INSIGHT_SQL_CHUNK_ROWS rows (default 100,000): the first key of every chunk is found with one
`row_number() OVER (ORDER BY key)` query, and part i reads `key >= start_i AND key < start_i+1 ORDER BY key`
(rows whose key is NULL form a last part, so scoring refuses them as it refuses any id-less row). Each part is
read through a server-side cursor (`stream_results`) in batches of 65,536 rows, so memory holds one chunk at a
time, on either engine (a part is a small picklable value that any Dask worker reads on its own). A table that
changes while it is read is read as each chunk finds it: score a table nobody writes at the same time.
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import pandas as pd

from insight.data.reading import ReadLimits, check_unique_names, positive_setting
from insight.errors import InputError
from insight.runs.sql import quote_ident

if TYPE_CHECKING:
    from sqlalchemy import URL, Engine

log = logging.getLogger(__name__)

CHUNK_ROWS_ENV = "INSIGHT_SQL_CHUNK_ROWS"
DEFAULT_CHUNK_ROWS = 100_000
FETCH_ROWS = 65_536
TABLE_PARAM = "table"
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*://")
_LOCAL = ("sqlite:///", "duckdb:///")
"""Read by insight.data.sources.DatabaseSource (files, no server), exactly as before SQLAlchemy sources."""


def is_database_url(text: str) -> bool:
    """Whether `text` is a database URL (scheme://...), not a file path."""
    return bool(_URL.match(str(text)))


def is_warehouse_url(text: str) -> bool:
    """A database URL read through SQLAlchemy (every one but sqlite:/// and duckdb:/// files)."""
    return is_database_url(text) and not str(text).startswith(_LOCAL)


def masked_url(text: str) -> str:
    """`text` with the password of a database URL replaced by ***; anything else unchanged."""
    text = str(text)
    if not is_database_url(text):
        return text
    try:
        return _make_url(text).render_as_string(hide_password=True)
    except InputError:
        return re.sub(r"(://[^:/@]*:)[^@/]*@", r"\1***@", text)


def parse_url(text: str) -> URL:
    """The SQLAlchemy URL of `text` (InputError, without the password, when it is not one); postgresql:// is read
    with psycopg 3."""
    url = _make_url(text)
    if url.drivername == "postgresql":  # SQLAlchemy 2.0 would pick psycopg2; psycopg 3 is the one installed
        url = url.set(drivername="postgresql+psycopg")
    return url


def _make_url(text: str) -> URL:
    from sqlalchemy import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        url = make_url(text)
    except (ArgumentError, ValueError) as e:
        shown = re.sub(r"(://[^:/@]*:)[^@/]*@", r"\1***@", text)
        raise InputError(f"{shown} is not a database URL ({e.__class__.__name__}); write it as "
                         "postgresql://USER@HOST:PORT/DATABASE?table=NAME.") from None
    return url


def split_table(text: str, table: str | None) -> tuple[str, str | None]:
    """The URL without its `?table=NAME` and the table: from the URL or from --table, not both."""
    if not is_database_url(text) or "?" not in text:
        return text, table
    url = _make_url(text)
    named = url.query.get(TABLE_PARAM)
    if named is None:
        return text, table
    if isinstance(named, tuple):
        raise InputError(f"{masked_url(text)}: ?table= is given {len(named)} times; give one table.")
    if table is not None:
        raise InputError(f"{masked_url(text)} names a table (?table={named}) and --table {table} names another "
                         "source; give the table one way only.")
    rest = url.difference_update_query([TABLE_PARAM])
    if text.startswith(_LOCAL):  # the file path of a local database, as DatabaseSource reads it
        return text.split("?", 1)[0], named
    return rest.render_as_string(hide_password=False), named


def qualified(table: str) -> str:
    """A quoted table name: `schema.table` becomes "schema"."table"."""
    return ".".join(quote_ident(part) for part in table.split("."))


def chunk_rows() -> int:
    return positive_setting(CHUNK_ROWS_ENV, DEFAULT_CHUNK_ROWS)


def secrets_of(url: URL) -> list[str]:
    """The passwords that must never appear in a message: the URL's and libpq's PGPASSWORD."""
    found = [str(url.password)] if url.password else []
    if os.environ.get("PGPASSWORD"):
        found.append(os.environ["PGPASSWORD"])
    return [s for s in found if s]


def scrub(text: str, url: URL) -> str:
    """`text` with every password of `url` (raw or percent-encoded) masked."""
    from urllib.parse import quote

    for secret in secrets_of(url):
        for form in {secret, quote(secret, safe=""), quote(secret)}:
            text = text.replace(form, "***")
    return text


def driver_reason(error: BaseException, url: URL) -> str:
    """One line from a driver's error: the DBAPI's own message (not SQLAlchemy's SQL echo), scrubbed."""
    orig = getattr(error, "orig", None) or error
    lines = [line.strip() for line in str(orig).strip().splitlines() if line.strip()]
    first = lines[0] if lines else type(orig).__name__
    return scrub(f"{type(orig).__name__}: {first}"[:400], url)


def create_engine(url: URL) -> Engine:
    """An engine for one command: no pool kept between uses, parameters never echoed into errors or logs."""
    import sqlalchemy as sa
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError
    from sqlalchemy.pool import NullPool

    try:
        return sa.create_engine(url, poolclass=NullPool, hide_parameters=True)
    except NoSuchModuleError:
        raise InputError(f"{masked_url(url.render_as_string())}: no SQLAlchemy driver for {url.drivername!r} is "
                         "installed; insight ships psycopg 3 for postgresql://, install the driver of another "
                         "database yourself.") from None
    except (ArgumentError, ImportError) as e:
        raise InputError(f"{url.render_as_string(hide_password=True)}: cannot use this database URL "
                         f"({driver_reason(e, url)}).") from None


def connection_error(error: BaseException, url: URL, shown: str) -> InputError:
    """The InputError of a failed connection to `url` (`shown`: how messages name it, password masked)."""
    return InputError(f"{shown}: could not connect ({driver_reason(error, url)})"
                      ". Check the host, port, database and user, that the server runs, and the password (in "
                      "the URL, PGPASSWORD or ~/.pgpass).")


@dataclass(frozen=True)
class WarehouseSource:
    """A table or query in a database server. With `key` (`chunked`), `parts` splits it into chunks by that
    column; `lower`/`upper`/`nulls` bound one such part."""

    url: str
    query: str | None = None
    table: str | None = None
    key: str | None = None
    lower: Any = None
    upper: Any = None
    nulls: bool = False
    part: str = ""

    def __post_init__(self) -> None:
        if (self.query is None) == (self.table is None):
            raise InputError(f"{masked_url(self.url)}: give exactly one of --table NAME (or ?table=NAME in the "
                             "URL) or --query 'SELECT ...' to read a database.")

    @property
    def sa_url(self) -> URL:
        return parse_url(self.url)

    @property
    def name(self) -> str:
        shown = masked_url(self.url)
        what = f"?table={self.table}" if self.table is not None else " (query)"
        if self.table is not None and "?" in shown:
            what = f"&table={self.table}"
        return f"{shown}{what}{self.part}"

    @property
    def sql(self) -> str:
        if self.table is not None:
            return f"SELECT * FROM {qualified(self.table)}"
        return str(self.query).strip().rstrip(";").strip()

    def chunked(self, key: str) -> WarehouseSource:
        """The same source, split by `parts` into chunks ordered by `key` (the customer id)."""
        return replace(self, key=key)

    def columns(self) -> list[str]:
        with self._connect() as con:
            return [str(c) for c in self._execute(con, f"SELECT * FROM ({self.sql}) AS q WHERE 1 = 0").keys()]

    def read(self) -> pd.DataFrame:
        """The rows (of this part), within the ReadLimits on rows and columns, fetched FETCH_ROWS at a time."""
        from sqlalchemy import text

        limits, where = ReadLimits.from_env(), self.name
        sql, params = self._bounded_sql()
        chunks: list[pd.DataFrame] = []
        rows = 0
        with self._connect() as con:
            result = self._execute(con.execution_options(stream_results=True, max_row_buffer=FETCH_ROWS),
                                   text(sql), params)
            names = [str(c) for c in result.keys()]
            check_unique_names(names, f"{where}: the {'query' if self.query is not None else 'table'}")
            limits.check_columns(len(names), where)
            try:
                for batch in result.partitions(FETCH_ROWS):
                    rows += len(batch)
                    limits.check_rows(rows, where)
                    chunks.append(pd.DataFrame.from_records(batch, columns=names, coerce_float=True))
            except InputError:
                raise
            except Exception as e:  # noqa: BLE001 - a driver error mid-read becomes one actionable line
                raise self._query_error(e) from None
        frame = pd.concat(chunks, ignore_index=True) if len(chunks) > 1 else (
            chunks[0] if chunks else pd.DataFrame({n: pd.Series([], dtype=object) for n in names}))
        frame = _plain_types(frame)
        log.info("read %s: %d rows, %d columns", where, len(frame), frame.shape[1])
        return frame

    def parts(self) -> list[WarehouseSource]:
        """One part per chunk of INSIGHT_SQL_CHUNK_ROWS rows in `key` order (the source itself without a key)."""
        if self.key is None or self.lower is not None or self.upper is not None or self.nulls:
            return [self]
        size, key = chunk_rows(), quote_ident(self.key)
        sql = (f"SELECT k FROM (SELECT q.{key} AS k, row_number() OVER (ORDER BY q.{key}) AS rn FROM ({self.sql}) "
               f"AS q WHERE q.{key} IS NOT NULL) AS s WHERE (rn - 1) % {int(size)} = 0 ORDER BY k")
        nulls_sql = f"SELECT count(*) FROM ({self.sql}) AS q WHERE q.{key} IS NULL"
        with self._connect() as con:
            starts = [row[0] for row in self._execute(con, sql)]
            null_rows = int(self._execute(con, nulls_sql).scalar() or 0)
        bounds = list(zip(starts, [*starts[1:], None], strict=True))
        total = len(bounds) + (1 if null_rows else 0)
        parts = [replace(self, lower=lo, upper=hi, part=f" [part {i + 1}/{total}]")
                 for i, (lo, hi) in enumerate(bounds)]
        if null_rows or not parts:
            parts.append(replace(self, nulls=bool(null_rows), lower=None, upper=None,
                                 part=f" [part {total}/{total}]" if null_rows else ""))
        log.info("%s: %d part(s) of at most %d rows, in %s order", self.name, len(parts), size, self.key)
        return parts

    # ------------------------------------------------------------------------------------------ internals

    def _bounded_sql(self) -> tuple[str, dict[str, Any]]:
        if self.key is None or not (self.nulls or self.lower is not None):
            return self.sql, {}
        key = quote_ident(self.key)
        if self.nulls:
            return f"SELECT * FROM ({self.sql}) AS q WHERE q.{key} IS NULL", {}
        where, params = f"q.{key} >= :lower", {"lower": self.lower}
        if self.upper is not None:
            where, params["upper"] = f"{where} AND q.{key} < :upper", self.upper
        return f"SELECT * FROM ({self.sql}) AS q WHERE {where} ORDER BY q.{key}", params

    def _connect(self) -> Any:
        url = self.sa_url
        engine = create_engine(url)
        try:
            return engine.connect()
        except Exception as e:  # noqa: BLE001 - auth failure, refused connection, unknown database
            raise connection_error(e, url, self.name) from None

    def _execute(self, con: Any, sql: Any, params: dict[str, Any] | None = None) -> Any:
        from sqlalchemy import text

        try:
            return con.execute(text(sql) if isinstance(sql, str) else sql, params or {})
        except Exception as e:  # noqa: BLE001 - no such table, bad SQL, no permission
            raise self._query_error(e) from None

    def _query_error(self, error: BaseException) -> InputError:
        what = f"table {self.table}" if self.table is not None else "query"
        return InputError(f"{masked_url(self.url)}: reading the {what} failed ({driver_reason(error, self.sa_url)})."
                          " Check the table name or SQL, and that the user may read it.")


def _plain_types(frame: pd.DataFrame) -> pd.DataFrame:
    """Dates and timestamps as datetime64, decimals as floats, UUIDs and times of day as text (as a CSV or Parquet
    read would give them)."""
    import datetime as dt
    import decimal
    import uuid

    for name in frame.columns:
        column = frame[name]
        if column.dtype != object:
            continue
        sample = column.dropna()
        if sample.empty:
            continue
        first = sample.iloc[0]
        if isinstance(first, decimal.Decimal):
            frame[name] = pd.to_numeric(column, errors="coerce").astype("float64")
        elif isinstance(first, dt.datetime):
            frame[name] = pd.to_datetime(column, utc=getattr(first, "tzinfo", None) is not None)
        elif isinstance(first, dt.date):
            frame[name] = pd.to_datetime(column)
        elif isinstance(first, (uuid.UUID, dt.time)):
            frame[name] = column.map(lambda v: v if v is None else str(v))
    return frame
