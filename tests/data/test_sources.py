"""insight.data.sources: CSV, TSV, Parquet, SQLite and DuckDB sources, and errors a person can act on."""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

import pandas as pd
import pytest

from insight.errors import InputError
from insight.data.reading import LEFT_OUT
from insight.data.sources import open_source, read_table


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
    path = tmp_path / "customers.docx"
    path.write_bytes(b"PK\x03\x04")
    with pytest.raises(InputError, match=r"unknown file type \.docx.*\.csv.*\.parquet"):
        read_table(path)


@pytest.mark.parametrize("name", ["customers.xlsx", "customers.xls", "really-a-workbook.csv"])
def test_an_excel_workbook_gets_how_to_export_it_as_csv(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(b"PK\x03\x04" + b"\x00" * 100)  # what an .xlsx (a zip) starts with
    with pytest.raises(InputError, match=r"is an Excel .* workbook; insight reads CSV or Parquet files\. Export "
                                         r"the sheet as CSV .*File > Save As > 'CSV UTF-8"):
        read_table(path)


@pytest.mark.parametrize("content", [b"", b"\x00\x01binary\xff\xfe"])
def test_unreadable_csv_is_an_input_error(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "broken.parquet" if content else tmp_path / "empty.csv"
    path.write_bytes(content)
    with pytest.raises(InputError, match="could not be read as a table"):
        read_table(path)


# ------------------------------------------------------------------------- delimiters and encodings


@pytest.mark.parametrize("sep", [";", "\t", "|", ","])
def test_the_delimiter_is_detected(tmp_path: Path, frame: pd.DataFrame, sep: str) -> None:
    """A European export: semicolons, decimal commas in the values (read as text, as the schema cleans them)."""
    data = frame.assign(fee=["1,5", "20,25", "3,0", "4,75"] if sep == ";" else [1.5, 20.25, 3.0, 4.75])
    data.to_csv(tmp_path / "c.csv", sep=sep, index=False)
    got = read_table(tmp_path / "c.csv")
    _same(got, data)


@pytest.mark.parametrize("encoding", ["utf-16", "utf-8-sig", "cp1252", "latin-1"])
def test_utf16_with_a_bom_and_latin1_files_decode_correctly(tmp_path: Path, encoding: str,
                                                             caplog: pytest.LogCaptureFixture) -> None:
    text = "customer_id;städt;plan\nA1;Köln;Ärzte\nA2;Zürich;Café crème\n"
    if encoding == "cp1252":
        text = text.replace("Ärzte", "5 €")
    (tmp_path / "c.csv").write_bytes(text.encode(encoding))
    with caplog.at_level(logging.WARNING, logger="insight"):
        got = read_table(tmp_path / "c.csv")
    assert list(got.columns) == ["customer_id", "städt", "plan"]
    assert got["städt"].tolist() == ["Köln", "Zürich"]
    assert got["plan"].tolist() == ["5 €" if encoding == "cp1252" else "Ärzte", "Café crème"]
    if encoding in ("cp1252", "latin-1"):
        assert "is not UTF-8; it was read as Windows-1252" in caplog.text and "re-save it as UTF-8" in caplog.text
    else:
        assert "UTF-8" not in caplog.text


def test_a_non_utf8_byte_past_the_sniffed_head_is_still_read(tmp_path: Path) -> None:
    rows = "".join(f"C{i},plain\n" for i in range(30_000))  # ~300 kB of ASCII before the first Latin-1 byte
    (tmp_path / "c.csv").write_bytes(("customer_id,city\n" + rows + "C-last,Kln\n").encode("ascii")
                                     .replace(b"Kln", "Köln".encode("latin-1")))
    got = read_table(tmp_path / "c.csv")
    assert got["city"].iloc[-1] == "Köln" and len(got) == 30_001


# ------------------------------------------------------------------------------------ malformed tables


def test_a_repeated_column_name_is_refused_naming_it(tmp_path: Path, sqlite_db: Path) -> None:
    (tmp_path / "c.csv").write_text("customer_id,tenure,plan,tenure\nA1,1,basic,2\nA2,3,pro,4\n")
    with pytest.raises(InputError, match=r"c\.csv: column 'tenure' appears 2 times \(columns 2, 4\); every "
                                         r"column needs its own name"):
        read_table(tmp_path / "c.csv")
    with pytest.raises(InputError, match="column 'tenure' appears 2 times"):
        open_source(tmp_path / "c.csv").columns()
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table([[1, 2], [3, 4]], names=["a", "a"]), tmp_path / "d.parquet")
    with pytest.raises(InputError, match=r"d\.parquet: column 'a' appears 2 times"):
        read_table(tmp_path / "d.parquet")
    with pytest.raises(InputError, match=r"the query: column 'tenure' appears 2 times"):
        read_table(f"sqlite:///{sqlite_db}", query="SELECT tenure, plan, tenure FROM customers")


def test_list_and_struct_columns_are_left_out_with_a_warning(tmp_path: Path, frame: pd.DataFrame,
                                                             caplog: pytest.LogCaptureFixture) -> None:
    nested = frame.assign(tags=[["a"], ["b", "c"], [], None], address=[{"city": "X"}] * 4)
    nested.to_parquet(tmp_path / "c.parquet", index=False)
    with caplog.at_level(logging.WARNING, logger="insight"):
        got = read_table(tmp_path / "c.parquet")
    _same(got, frame)
    assert set(got.attrs[LEFT_OUT]) == {"tags", "address"}
    assert "left out 2 column(s) that hold lists or structures" in caplog.text and "tags (list<" in caplog.text
    assert open_source(tmp_path / "c.parquet").columns() == list(frame.columns)


def test_a_duckdb_list_column_is_left_out_too(tmp_path: Path) -> None:
    import duckdb

    path = tmp_path / "crm.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE TABLE t AS SELECT 'A1' AS customer_id, [1, 2] AS seats, {'x': 1} AS s")
    got = read_table(f"duckdb:///{path}", table="t")
    assert list(got.columns) == ["customer_id"] and set(got.attrs[LEFT_OUT]) == {"seats", "s"}


# ----------------------------------------------------------------------------------------------- limits


def test_reads_are_bounded_with_a_message_naming_the_limit(tmp_path: Path, frame: pd.DataFrame, sqlite_db: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    frame.to_csv(tmp_path / "c.csv", index=False)
    frame.to_parquet(tmp_path / "c.parquet", index=False)
    monkeypatch.setenv("INSIGHT_MAX_ROWS", "3")
    for ref in (tmp_path / "c.csv", tmp_path / "c.parquet", tmp_path):
        with pytest.raises(InputError, match=r"has more than 3 rows, the limit on rows read \(INSIGHT_MAX_ROWS\); "
                                             r"raise it, e\.g\. INSIGHT_MAX_ROWS="):
            read_table(ref)
    with pytest.raises(InputError, match="more than 3 rows"):
        read_table(f"sqlite:///{sqlite_db}", table="customers")
    monkeypatch.setenv("INSIGHT_MAX_ROWS", "4")
    assert len(read_table(tmp_path / "c.csv")) == len(read_table(f"sqlite:///{sqlite_db}", table="customers")) == 4
    monkeypatch.setenv("INSIGHT_MAX_COLUMNS", "3")
    for ref in (tmp_path / "c.csv", tmp_path / "c.parquet"):
        with pytest.raises(InputError, match=r"has 4 columns, over the limit of 3 \(INSIGHT_MAX_COLUMNS\)"):
            read_table(ref)
    monkeypatch.delenv("INSIGHT_MAX_COLUMNS")
    (tmp_path / "big.csv").write_text("a,b\n" + "1,2\n" * 300_000)  # 1.1 MB
    monkeypatch.setenv("INSIGHT_MAX_ROWS", "1000000")
    monkeypatch.setenv("INSIGHT_MAX_FILE_MB", "1")
    with pytest.raises(InputError, match=r"big\.csv is 1 MB, over the limit of 1 MB on what is read "
                                         r"\(INSIGHT_MAX_FILE_MB\); raise it, e\.g\. INSIGHT_MAX_FILE_MB=2"):
        read_table(tmp_path / "big.csv")
    monkeypatch.setenv("INSIGHT_MAX_FILE_MB", "lots")
    with pytest.raises(InputError, match=r"INSIGHT_MAX_FILE_MB='lots' is not a whole number"):
        read_table(tmp_path / "c.csv")


def test_duckdb_reads_run_within_the_memory_and_thread_limits(tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    import duckdb

    path = tmp_path / "crm.duckdb"
    duckdb.connect(str(path)).close()
    monkeypatch.setenv("INSIGHT_DUCKDB_MEMORY", "300MB")
    monkeypatch.setenv("INSIGHT_DUCKDB_THREADS", "1")
    got = read_table(f"duckdb:///{path}", query="SELECT current_setting('memory_limit') AS m, "
                                                "current_setting('threads') AS t")
    assert got["m"].iloc[0] == "286.1 MiB" and int(got["t"].iloc[0]) == 1
