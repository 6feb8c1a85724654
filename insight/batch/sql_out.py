"""Scores written back into a database table (`insight score RUN DATA --out postgresql://...?table=NAME`).

One row per customer, upserted by customer id in ONE transaction:

    <id column>, churn_probability, risk_band, reason_1, reason_2, reason_3, segment_id, segment_name,
    run_id, scored_at

A missing table is created with the id as its primary key. An existing one must have these columns (others
may be there too) and its id column must be its primary key or unique; else a message says what to change.
The scored parts are first copied into a temporary staging table, then one statement moves them into the
table: on PostgreSQL `INSERT ... SELECT ... ON CONFLICT (id) DO UPDATE`, on other databases `DELETE` of the
staged ids and `INSERT ... SELECT`, in the same transaction. Anything that fails on the way (a constraint, a
trigger, a column type clash, a lost connection, an id given twice) rolls the transaction back, so the table is
exactly as it was, and becomes an InputError whose text never holds the password.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd

from insight.data.warehouse import (
    connection_error,
    create_engine,
    driver_reason,
    is_database_url,
    masked_url,
    parse_url,
    qualified,
    split_table,
)
from insight.errors import InputError
from insight.runs import layout
from insight.runs.sql import quote_ident

log = logging.getLogger(__name__)

RUN_ID, SCORED_AT = "run_id", "scored_at"
SCORE_COLUMNS = (layout.CHURN_PROBABILITY, layout.RISK_BAND, *layout.REASONS, layout.SEGMENT_ID,
                 layout.SEGMENT_NAME)
"""The scored columns written back (beside the id, RUN_ID and SCORED_AT); the map position and latent stay out."""
BATCH_ROWS = 10_000


@dataclass(frozen=True)
class ScoresTable:
    """The table that `--out URL?table=NAME` names."""

    url: str
    table: str

    @property
    def name(self) -> str:
        shown = masked_url(self.url)
        return f"{shown}{'&' if '?' in shown else '?'}table={self.table}"


@dataclass(frozen=True)
class WriteReport:
    rows: int
    inserted: int
    updated: int


def scores_table(out: str | Path) -> ScoresTable | None:
    """The database table `out` names, or None where `out` is a folder."""
    text = str(out)
    if not is_database_url(text):
        return None
    url, table = split_table(text, None)
    if not table:
        raise InputError(f"--out {masked_url(text)}: name the table to write the scores into, as "
                         "?table=NAME at the end of the URL.")
    parse_url(url)  # a clear message for a malformed URL before any scoring
    return ScoresTable(url=url, table=table)


def columns_of(id_column: str) -> list[str]:
    return [id_column, *SCORE_COLUMNS, RUN_ID, SCORED_AT]


def write_scores(target: ScoresTable, parts: Iterable[Path], *, id_column: str, run_id: str,
                 scored_at: datetime) -> WriteReport:
    """Upsert the scored Parquet `parts` into `target` by `id_column`, in one transaction (see the module)."""
    url = parse_url(target.url)
    engine = create_engine(url)
    if engine.dialect.name == "sqlite":
        _transactional_sqlite(engine)
    try:
        con = engine.connect()
    except Exception as e:  # noqa: BLE001 - auth failure, refused connection, unknown database
        raise connection_error(e, url, target.name) from None
    try:
        with con, con.begin():
            return _write(con, target, list(parts), id_column=id_column, run_id=run_id, scored_at=scored_at)
    except InputError:
        raise
    except Exception as e:  # noqa: BLE001 - the transaction is rolled back; say why in one line
        raise InputError(f"writing the scores into {target.name} failed and was rolled back, the table is as it "
                         f"was ({driver_reason(e, url)}). Check the table's columns, types and constraints.") from None


def _write(con: Any, target: ScoresTable, parts: list[Path], *, id_column: str, run_id: str,
           scored_at: datetime) -> WriteReport:
    import pyarrow.parquet as pq
    import sqlalchemy as sa

    schema, name = _schema_and_name(target.table)
    first = pq.read_table(parts[0], columns=[id_column]).to_pandas()[id_column] if parts else pd.Series([], dtype=str)
    inspector = sa.inspect(con)
    if inspector.has_table(name, schema=schema):
        _check_table(inspector, target, schema, name, id_column)
    else:
        _table(sa.MetaData(), name, schema, id_column, first, primary=True).create(con)
        log.info("created table %s with primary key %s", target.name, id_column)
    staging = _table(sa.MetaData(), f"insight_scores_{uuid.uuid4().hex[:12]}", None, id_column, first,
                     primary=False, prefixes=["TEMPORARY"])
    staging.create(con)
    rows = 0
    for path in parts:
        frame = pq.read_table(path, columns=[id_column, *SCORE_COLUMNS]).to_pandas()
        frame[RUN_ID], frame[SCORED_AT] = run_id, scored_at
        for start in range(0, len(frame), BATCH_ROWS):
            chunk = frame.iloc[start:start + BATCH_ROWS]
            _stage(con, staging, chunk.astype(object).where(chunk.notna(), None))
        rows += len(frame)
    stage, into, key = quote_ident(staging.name), qualified(target.table), quote_ident(id_column)
    doubled = con.execute(sa.text(f"SELECT {key}, count(*) FROM {stage} GROUP BY {key} HAVING count(*) > 1 "
                                  "LIMIT 3")).all()
    if doubled:
        raise InputError(f"customer id {doubled[0][0]!r} appears {doubled[0][1]} times in the scored data (and "
                         f"{len(doubled) - 1} more such ids at least); the scores are upserted one row per "
                         f"{id_column}: remove the repeated customers first. {target.name} was not changed.")
    updated = int(con.execute(sa.text(f"SELECT count(*) FROM {stage} AS s WHERE EXISTS (SELECT 1 FROM {into} AS t "
                                      f"WHERE t.{key} = s.{key})")).scalar() or 0)
    names = ", ".join(quote_ident(c) for c in columns_of(id_column))
    if con.dialect.name == "postgresql":
        sets = ", ".join(f"{quote_ident(c)} = EXCLUDED.{quote_ident(c)}" for c in columns_of(id_column)[1:])
        con.execute(sa.text(f"INSERT INTO {into} ({names}) SELECT {names} FROM {stage} "
                            f"ON CONFLICT ({key}) DO UPDATE SET {sets}"))
    else:
        con.execute(sa.text(f"DELETE FROM {into} WHERE {key} IN (SELECT {key} FROM {stage})"))
        con.execute(sa.text(f"INSERT INTO {into} ({names}) SELECT {names} FROM {stage}"))
    staging.drop(con)
    log.info("upserted %d scores into %s (%d new, %d updated)", rows, target.name, rows - updated, updated)
    return WriteReport(rows=rows, inserted=rows - updated, updated=updated)


def _stage(con: Any, staging: Any, chunk: pd.DataFrame) -> None:
    """Rows into the staging table, in the open transaction: psycopg's COPY on PostgreSQL (tens of times faster
    than INSERTs), else an executemany INSERT."""
    if con.dialect.name == "postgresql" and con.dialect.driver == "psycopg":
        names = ", ".join(quote_ident(str(c)) for c in chunk.columns)
        with con.connection.driver_connection.cursor() as cursor:
            with cursor.copy(f"COPY {quote_ident(staging.name)} ({names}) FROM STDIN") as copy:
                for row in chunk.itertuples(index=False, name=None):
                    copy.write_row(row)
        return
    con.execute(staging.insert(), chunk.to_dict("records"))


def _schema_and_name(table: str) -> tuple[str | None, str]:
    schema, _, name = table.rpartition(".")
    return (schema or None), name


def _table(metadata: Any, name: str, schema: str | None, id_column: str, ids: pd.Series, *, primary: bool,
           prefixes: list[str] | None = None) -> Any:
    import sqlalchemy as sa

    if pd.api.types.is_bool_dtype(ids):
        id_type: Any = sa.Boolean()
    elif pd.api.types.is_integer_dtype(ids):
        id_type = sa.BigInteger()
    elif pd.api.types.is_float_dtype(ids):
        id_type = sa.Float(53)
    else:
        id_type = sa.Text()
    return sa.Table(
        name, metadata,
        sa.Column(id_column, id_type, primary_key=primary, nullable=False),
        sa.Column(layout.CHURN_PROBABILITY, sa.Float(53)),
        *(sa.Column(c, sa.Text()) for c in (layout.RISK_BAND, *layout.REASONS)),
        sa.Column(layout.SEGMENT_ID, sa.BigInteger()),
        sa.Column(layout.SEGMENT_NAME, sa.Text()),
        sa.Column(RUN_ID, sa.Text()),
        sa.Column(SCORED_AT, sa.DateTime(timezone=True)),
        schema=schema, prefixes=prefixes or [],
    )


def _check_table(inspector: Any, target: ScoresTable, schema: str | None, name: str, id_column: str) -> None:
    """InputError unless the existing table has every written column and its id is its primary key or unique."""
    present = {str(c["name"]) for c in inspector.get_columns(name, schema=schema)}
    missing = [c for c in columns_of(id_column) if c not in present]
    if missing:
        raise InputError(f"{target.name} exists but lacks the column(s) {', '.join(missing)}; the scores need "
                         f"{', '.join(columns_of(id_column))}. Add them, or give a new table name (?table=NEW), "
                         "which insight creates.")
    keyed = [list(inspector.get_pk_constraint(name, schema=schema).get("constrained_columns") or [])]
    keyed += [list(u.get("column_names") or []) for u in inspector.get_unique_constraints(name, schema=schema)]
    keyed += [list(i.get("column_names") or []) for i in inspector.get_indexes(name, schema=schema)
              if i.get("unique")]
    if [id_column] not in keyed:
        raise InputError(f"{target.name}: its column {id_column} is neither the primary key nor unique, and the "
                         f"scores are upserted by {id_column}. Make it the key (ALTER TABLE {target.table} ADD "
                         f"PRIMARY KEY ({id_column})), or give a new table name (?table=NEW).")


def _transactional_sqlite(engine: Any) -> None:
    """pysqlite commits DDL on its own; SQLAlchemy's recipe makes CREATE TABLE part of the transaction."""
    from sqlalchemy import event

    @event.listens_for(engine, "connect")
    def _no_implicit(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None

    @event.listens_for(engine, "begin")
    def _begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN")
