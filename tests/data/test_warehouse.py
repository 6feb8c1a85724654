"""insight.data.warehouse: SQLAlchemy sources on a real PostgreSQL server (tests/pg_server.py), chunked parts,
read limits, and messages that never hold the password."""

from __future__ import annotations

import decimal
import sqlite3
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

from insight.data.sources import DatabaseSource, open_source, read_table
from insight.data.warehouse import WarehouseSource, masked_url, split_table
from insight.errors import InputError


@pytest.fixture(scope="module")
def pg(postgres_server):  # noqa: ANN001, ANN201 - the server with this module's tables
    frame = pd.DataFrame({"customer_id": [f"C{i:04d}" for i in range(1, 1001)],
                          "tenure": range(1000), "plan": ["basic", "pro"] * 500,
                          "churned": ["Yes", "No", "No", "No"] * 250})
    engine = postgres_server.engine()
    with engine.begin() as con:
        con.exec_driver_sql("DROP SCHEMA IF EXISTS crm CASCADE")
        con.exec_driver_sql("CREATE SCHEMA crm")
    frame.to_sql("wh_customers", engine, index=False, if_exists="replace")
    frame.to_sql("accounts", engine, schema="crm", index=False, if_exists="replace")
    with engine.begin() as con:
        con.exec_driver_sql('CREATE TABLE "Odd ""Name" (id int, "a b" numeric(6, 2), d date, ts timestamptz)')
        con.exec_driver_sql("""INSERT INTO "Odd ""Name" VALUES (1, 1.25, '2024-05-31', '2024-05-31 10:00+02'),
                               (2, NULL, NULL, NULL)""")
    engine.dispose()
    return postgres_server


def test_a_table_by_option_and_by_url_reads_the_same(pg) -> None:  # noqa: ANN001
    by_option = read_table(pg.url(), table="wh_customers")
    by_url = read_table(pg.url(table="wh_customers"))
    assert len(by_option) == 1000 and list(by_option.columns) == ["customer_id", "tenure", "plan", "churned"]
    pd.testing.assert_frame_equal(by_option, by_url)
    assert pd.api.types.is_integer_dtype(by_url["tenure"])  # the server's types are kept
    explicit = read_table(pg.url(table="wh_customers").replace("postgresql://", "postgresql+psycopg://"))
    pd.testing.assert_frame_equal(by_url, explicit)


def test_a_query_and_a_schema_qualified_table(pg) -> None:  # noqa: ANN001
    got = read_table(pg.url(), query="SELECT customer_id, tenure FROM wh_customers WHERE tenure < 3 ORDER BY 1;")
    assert got["customer_id"].tolist() == ["C0001", "C0002", "C0003"]
    assert len(read_table(pg.url(table="crm.accounts"))) == 1000


def test_odd_names_decimals_and_dates_are_read_as_plain_types(pg) -> None:  # noqa: ANN001
    got = read_table(pg.url(), table='Odd "Name')
    assert got["a b"].dtype == "float64" and got["a b"].iloc[0] == 1.25 and pd.isna(got["a b"].iloc[1])
    assert pd.api.types.is_datetime64_any_dtype(got["d"]) and got["d"].iloc[0] == pd.Timestamp("2024-05-31")
    assert pd.api.types.is_datetime64_any_dtype(got["ts"])
    assert got["ts"].iloc[0] == pd.Timestamp("2024-05-31 08:00", tz="UTC")
    assert not isinstance(got["a b"].iloc[0], decimal.Decimal) and isinstance(got["d"].iloc[0], pd.Timestamp)


def test_columns_without_reading_the_rows(pg) -> None:  # noqa: ANN001
    assert open_source(pg.url(table="wh_customers")).columns() == ["customer_id", "tenure", "plan", "churned"]


def test_chunked_parts_in_id_order_equal_one_read(pg, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: ANN001
    monkeypatch.setenv("INSIGHT_SQL_CHUNK_ROWS", "300")
    source = open_source(pg.url(table="wh_customers"))
    assert isinstance(source, WarehouseSource)
    assert source.parts() == [source]  # without a key: one part, as a SQLite table
    parts = source.chunked("customer_id").parts()
    frames = [p.read() for p in parts]
    assert [len(f) for f in frames] == [300, 300, 300, 100]
    assert [p.name.rsplit(" ", 1)[-1] for p in parts] == ["1/4]", "2/4]", "3/4]", "4/4]"]
    whole = source.read().sort_values("customer_id", ignore_index=True)
    pd.testing.assert_frame_equal(pd.concat(frames, ignore_index=True), whole)
    assert all(f["customer_id"].is_monotonic_increasing for f in frames)
    assert parts == source.chunked("customer_id").parts()  # the same chunks every time


def test_rows_without_a_key_form_their_own_last_part(pg, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: ANN001
    monkeypatch.setenv("INSIGHT_SQL_CHUNK_ROWS", "2")
    parts = open_source(pg.url(), query='SELECT * FROM "Odd ""Name" UNION ALL SELECT NULL, 3, NULL, NULL').parts()
    assert len(parts) == 1
    chunked = open_source(pg.url(), query='SELECT * FROM "Odd ""Name" UNION ALL SELECT NULL, 3, NULL, NULL'
                          ).chunked("id").parts()  # type: ignore[attr-defined]
    assert [len(p.read()) for p in chunked] == [2, 1]
    assert chunked[-1].read()["id"].isna().all()


def test_the_read_limits_apply(pg, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: ANN001
    monkeypatch.setenv("INSIGHT_MAX_ROWS", "999")
    with pytest.raises(InputError, match="more than 999 rows.*INSIGHT_MAX_ROWS"):
        read_table(pg.url(table="wh_customers"))
    monkeypatch.setenv("INSIGHT_MAX_ROWS", "1000")
    assert len(read_table(pg.url(table="wh_customers"))) == 1000
    monkeypatch.setenv("INSIGHT_MAX_COLUMNS", "3")
    with pytest.raises(InputError, match="4 columns, over the limit of 3"):
        read_table(pg.url(table="wh_customers"))


def test_table_given_twice_or_not_at_all_is_refused(pg) -> None:  # noqa: ANN001
    with pytest.raises(InputError, match=r"names a table \(\?table=wh_customers\) and --table other"):
        open_source(pg.url(table="wh_customers"), table="other")
    with pytest.raises(InputError, match="give exactly one of --table NAME"):
        open_source(pg.url())
    with pytest.raises(InputError, match="give exactly one of --table NAME"):
        open_source(pg.url(table="wh_customers"), query="SELECT 1")


def _refused(pg, call) -> str:  # noqa: ANN001
    with pytest.raises(InputError) as info:
        call()
    text = str(info.value)
    assert pg.password not in text and pg.admin_password not in text
    return text


def test_driver_errors_become_messages_without_the_password(pg) -> None:  # noqa: ANN001
    no_table = _refused(pg, lambda: read_table(pg.url(table="no_such_table")))
    assert "reading the table no_such_table failed" in no_table and "UndefinedTable" in no_table
    assert f"{pg.user}:***@" in no_table
    bad_sql = _refused(pg, lambda: read_table(pg.url(), query="SELEC nonsense"))
    assert "SyntaxError" in bad_sql and "Check the table name or SQL" in bad_sql
    wrong = pg.url(table="wh_customers").replace(pg.password, pg.password[::-1])
    auth = _refused(pg, lambda: read_table(wrong))
    assert "could not connect" in auth and "password authentication failed" in auth
    assert pg.password[::-1] not in auth
    refused = pg.url(table="wh_customers").replace(f":{pg.port}/", ":1/")
    assert "could not connect" in _refused(pg, lambda: read_table(refused))
    assert "no SQLAlchemy driver" in _refused(pg, lambda: read_table(f"nosuchdb://u:{pg.password}@h/db?table=t"))


def test_the_password_may_come_from_pgpassword(pg, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: ANN001
    url = pg.url(table="wh_customers", password=False)
    with pytest.raises(InputError, match="could not connect"):
        read_table(url)
    monkeypatch.setenv("PGPASSWORD", pg.password)
    assert len(read_table(url)) == 1000
    text = _refused(pg, lambda: read_table(pg.url(table="absent", password=False)))
    assert "absent" in text


def test_masked_url_and_split_table() -> None:
    assert masked_url("postgresql://u:s3cr%40t@h:5432/db?table=t") == "postgresql://u:***@h:5432/db?table=t"
    assert masked_url("customers.csv") == "customers.csv"
    assert split_table("postgresql://u:p@h/db?sslmode=require&table=t", None) == (
        "postgresql://u:p@h/db?sslmode=require", "t")
    assert split_table("postgresql://u:p@h/db", "t") == ("postgresql://u:p@h/db", "t")
    with pytest.raises(InputError, match="not a database URL") as info:
        open_source("postgresql://u:hunter2@h:notaport/db?table=t")
    assert "hunter2" not in str(info.value)


def test_sqlite_and_duckdb_are_read_as_before(tmp_path: Path) -> None:
    frame = pd.DataFrame({"customer_id": ["A1", "A2"], "tenure": [1, 5]})
    with sqlite3.connect(tmp_path / "crm.db") as con:
        frame.to_sql("customers", con, index=False)
    assert isinstance(open_source(f"sqlite:///{tmp_path / 'crm.db'}", table="customers"), DatabaseSource)
    by_url = open_source(f"sqlite:///{tmp_path / 'crm.db'}?table=customers")
    assert isinstance(by_url, DatabaseSource) and by_url.name == "crm.db"
    pd.testing.assert_frame_equal(by_url.read(), frame)
    import duckdb

    with duckdb.connect(str(tmp_path / "crm.duckdb")) as con:
        con.execute("CREATE TABLE customers AS SELECT * FROM frame")
    assert isinstance(open_source(f"duckdb:///{tmp_path / 'crm.duckdb'}", table="customers"), DatabaseSource)
    assert sa.__version__ >= "2"
