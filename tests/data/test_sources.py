"""insight.data.sources: CSV, TSV, Parquet, SQLite and DuckDB sources, and errors a person can act on."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pandas as pd
import pytest

from insight.errors import InputError
from insight.data.sources import read_table


@pytest.fixture
def frame() -> pd.DataFrame:
    return pd.DataFrame({"customer_id": ["A1", "A2", "A3", "A4"], "tenure": [1, 5, 12, 40],
                         "plan": ["basic", "pro", "pro", "basic"], "churned": ["Yes", "No", "No", "Yes"]})


def _same(got: pd.DataFrame, want: pd.DataFrame) -> None:
    assert list(got.columns) == list(want.columns)
    assert len(got) == len(want)
    for col in want.columns:
        assert got[col].astype(str).tolist() == want[col].astype(str).tolist(), col


def test_csv(tmp_path: Path, frame: pd.DataFrame) -> None:
    path = tmp_path / "customers.csv"
    frame.to_csv(path, index=False)
    _same(read_table(path), frame)
    _same(read_table(str(path)), frame)


def test_gzipped_csv_and_tsv(tmp_path: Path, frame: pd.DataFrame) -> None:
    frame.to_csv(tmp_path / "c.csv.gz", index=False)
    frame.to_csv(tmp_path / "c.tsv", sep="\t", index=False)
    _same(read_table(tmp_path / "c.csv.gz"), frame)
    _same(read_table(tmp_path / "c.tsv"), frame)


def test_parquet_file_and_folder(tmp_path: Path, frame: pd.DataFrame) -> None:
    frame.to_parquet(tmp_path / "c.parquet", index=False)
    got = read_table(tmp_path / "c.parquet")
    _same(got, frame)
    assert pd.api.types.is_integer_dtype(got["tenure"])  # Parquet keeps types
    folder = tmp_path / "parts"
    folder.mkdir()
    frame.iloc[:2].to_parquet(folder / "part-0.parquet", index=False)
    frame.iloc[2:].to_parquet(folder / "part-1.parquet", index=False)
    got = read_table(folder)
    assert sorted(got["customer_id"]) == sorted(frame["customer_id"])


@pytest.fixture
def sqlite_db(tmp_path: Path, frame: pd.DataFrame) -> Path:
    path = tmp_path / "crm.db"
    con = sqlite3.connect(path)
    try:
        frame.to_sql("customers", con, index=False)
        con.execute("CREATE TABLE other (x INTEGER)")
        con.commit()
    finally:
        con.close()
    return path


def test_sqlite_table(sqlite_db: Path, frame: pd.DataFrame) -> None:
    _same(read_table(f"sqlite:///{sqlite_db}", table="customers"), frame)


def test_sqlite_query(sqlite_db: Path) -> None:
    sql = "SELECT customer_id, tenure FROM customers WHERE tenure > 4"
    got = read_table(f"sqlite:///{sqlite_db}", query=sql)
    assert list(got.columns) == ["customer_id", "tenure"]
    assert got["customer_id"].tolist() == ["A2", "A3", "A4"]


def test_sqlite_file_path_with_table(sqlite_db: Path, frame: pd.DataFrame) -> None:
    _same(read_table(sqlite_db, table="customers"), frame)


def test_duckdb_table(tmp_path: Path, frame: pd.DataFrame) -> None:
    import duckdb

    path = tmp_path / "crm.duckdb"
    with duckdb.connect(str(path)) as con:
        con.register("f", frame)
        con.execute("CREATE TABLE customers AS SELECT * FROM f")
    _same(read_table(f"duckdb:///{path}", table="customers"), frame)


@pytest.mark.parametrize("kwargs", [{}, {"table": "customers", "query": "SELECT 1"}])
def test_sqlite_needs_exactly_one_of_table_or_query(sqlite_db: Path, kwargs: dict[str, str]) -> None:
    with pytest.raises(InputError, match="exactly one of --table"):
        read_table(f"sqlite:///{sqlite_db}", **kwargs)


def test_sqlite_unknown_table(sqlite_db: Path) -> None:
    with pytest.raises(InputError, match="query failed.*table name or SQL"):
        read_table(f"sqlite:///{sqlite_db}", table="no_such_table")


def test_sqlite_missing_database(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such database file"):
        read_table(f"sqlite:///{tmp_path / 'absent.db'}", table="customers")
    assert not (tmp_path / "absent.db").exists()  # reading never creates an empty database


def test_missing_file_is_an_input_error_with_a_hint(tmp_path: Path) -> None:
    with pytest.raises(InputError) as info:
        read_table(tmp_path / "nope.csv")
    message = str(info.value)
    assert "nope.csv" in message and "no such file" in message
    assert "insight demo-data" in message


def test_unknown_extension(tmp_path: Path) -> None:
    path = tmp_path / "customers.xlsx"
    path.write_bytes(b"PK\x03\x04")
    with pytest.raises(InputError, match=r"unknown file type \.xlsx.*\.csv.*\.parquet"):
        read_table(path)


@pytest.mark.parametrize("content", [b"", b"\x00\x01binary\xff\xfe"])
def test_unreadable_csv_is_an_input_error(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "broken.parquet" if content else tmp_path / "empty.csv"
    path.write_bytes(content)
    with pytest.raises(InputError, match="could not be read as a table"):
        read_table(path)
