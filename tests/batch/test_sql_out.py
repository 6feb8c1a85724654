"""insight.batch.sql_out: scores upserted into a real PostgreSQL table (and SQLite) in one transaction; a write
that fails part-way leaves the table exactly as it was."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

from insight.batch.sql_out import columns_of, scores_table, write_scores
from insight.errors import InputError

WHEN = datetime(2026, 1, 31, 12, 0, tzinfo=UTC)


def scored(ids: list[str], probability: float) -> pd.DataFrame:
    """A score output's columns (as insight.batch.scoring writes part.<i>.parquet), x/y included."""
    n = len(ids)
    return pd.DataFrame({"customer_id": ids, "churn_probability": [probability + i / 1000 for i in range(n)],
                         "risk_band": ["High"] * n, "reason_1": ["tenure"] * n, "reason_2": ["seats"] * n,
                         "reason_3": [None] * n, "segment_id": list(range(n)), "segment_name": ["Loyal"] * n,
                         "x": [0.5] * n, "y": [1.5] * n})


def parts(tmp: Path, *frames: pd.DataFrame) -> list[Path]:
    paths = []
    for i, frame in enumerate(frames):
        paths.append(tmp / f"part.{i}.parquet")
        frame.to_parquet(paths[-1], index=False)
    return paths


def table(engine: sa.Engine, name: str) -> pd.DataFrame:
    with engine.connect() as con:
        return pd.read_sql(sa.text(f'SELECT * FROM "{name}" ORDER BY customer_id'), con)


@pytest.fixture
def pg(postgres_server):  # noqa: ANN001, ANN201
    engine = postgres_server.engine()
    yield postgres_server, engine
    engine.dispose()


def test_a_missing_table_is_created_with_the_id_as_primary_key(pg, tmp_path: Path) -> None:  # noqa: ANN001
    server, engine = pg
    with engine.begin() as con:
        con.exec_driver_sql("DROP TABLE IF EXISTS scores_new")
    target = scores_table(server.url(table="scores_new"))
    report = write_scores(target, parts(tmp_path, scored(["A", "B"], 0.1), scored(["C"], 0.7)),
                          id_column="customer_id", run_id="run-1", scored_at=WHEN)
    assert (report.rows, report.inserted, report.updated) == (3, 3, 0)
    got = table(engine, "scores_new")
    assert list(got.columns) == columns_of("customer_id")  # no map position or latent
    assert got["customer_id"].tolist() == ["A", "B", "C"]
    assert got["churn_probability"].tolist() == [0.1, 0.1 + 1 / 1000, 0.7]
    assert got["run_id"].unique().tolist() == ["run-1"] and got["reason_3"].isna().all()
    assert pd.Timestamp(got["scored_at"].iloc[0]) == pd.Timestamp(WHEN)
    inspector = sa.inspect(engine)
    assert inspector.get_pk_constraint("scores_new")["constrained_columns"] == ["customer_id"]


def test_upsert_inserts_new_updates_existing_and_leaves_the_others(pg, tmp_path: Path) -> None:  # noqa: ANN001
    server, engine = pg
    with engine.begin() as con:
        con.exec_driver_sql("DROP TABLE IF EXISTS scores_up")
    target = scores_table(server.url(table="scores_up"))
    write_scores(target, parts(tmp_path, scored(["A", "B", "C"], 0.1)), id_column="customer_id", run_id="old",
                 scored_at=WHEN)
    (tmp_path / "second").mkdir()
    report = write_scores(target, parts(tmp_path / "second", scored(["B", "D"], 0.9)), id_column="customer_id",
                          run_id="new", scored_at=WHEN)
    assert (report.rows, report.inserted, report.updated) == (2, 1, 1)
    got = table(engine, "scores_up").set_index("customer_id")
    assert got.index.tolist() == ["A", "B", "C", "D"]
    assert got["run_id"].to_dict() == {"A": "old", "B": "new", "C": "old", "D": "new"}
    assert got.loc["B", "churn_probability"] == 0.9 and got.loc["D", "churn_probability"] == 0.9 + 1 / 1000
    assert got.loc["A", "churn_probability"] == 0.1 and got.loc["C", "churn_probability"] == 0.1 + 2 / 1000


def test_a_write_that_fails_midway_leaves_the_table_as_it_was(pg, tmp_path: Path) -> None:  # noqa: ANN001
    server, engine = pg
    with engine.begin() as con:
        con.exec_driver_sql("DROP TABLE IF EXISTS scores_rb")
    target = scores_table(server.url(table="scores_rb"))
    before_ids = [f"C{i:03d}" for i in range(0, 200, 2)]
    write_scores(target, parts(tmp_path, scored(before_ids, 0.2)), id_column="customer_id", run_id="old",
                 scored_at=WHEN)
    with engine.begin() as con:  # a real failure on the 150th row the write touches, after rows were changed
        con.exec_driver_sql("""CREATE FUNCTION fail_on_c150() RETURNS trigger AS $$ BEGIN
                                 IF NEW.customer_id = 'C150' THEN RAISE EXCEPTION 'refused row %%', NEW.customer_id;
                                 END IF; RETURN NEW; END $$ LANGUAGE plpgsql""")
        con.exec_driver_sql("CREATE TRIGGER fail_midway BEFORE INSERT OR UPDATE ON scores_rb FOR EACH ROW "
                            "EXECUTE FUNCTION fail_on_c150()")
    before = table(engine, "scores_rb")
    (tmp_path / "second").mkdir()
    every = [f"C{i:03d}" for i in range(200)]
    with pytest.raises(InputError, match="failed and was rolled back, the table is as it was") as info:
        write_scores(target, parts(tmp_path / "second", scored(every[:100], 0.9), scored(every[100:], 0.8)),
                     id_column="customer_id", run_id="new", scored_at=WHEN)
    assert "refused row C150" in str(info.value) and server.password not in str(info.value)
    pd.testing.assert_frame_equal(table(engine, "scores_rb"), before)
    with engine.begin() as con:  # a CHECK constraint: the same
        con.exec_driver_sql("DROP TRIGGER fail_midway ON scores_rb")
        con.exec_driver_sql("ALTER TABLE scores_rb ADD CONSTRAINT below_095 CHECK (churn_probability < 0.95)")
    with pytest.raises(InputError, match="below_095"):
        write_scores(target, parts(tmp_path / "second", scored(every[:100], 0.9), scored(every[100:], 0.8)),
                     id_column="customer_id", run_id="new", scored_at=WHEN)
    pd.testing.assert_frame_equal(table(engine, "scores_rb"), before)
    with engine.begin() as con:  # the connection killed midway: the server's own session ends on row C150
        con.exec_driver_sql("ALTER TABLE scores_rb DROP CONSTRAINT below_095")
        con.exec_driver_sql("""CREATE FUNCTION die_on_c150() RETURNS trigger AS $$ BEGIN
                                 IF NEW.customer_id = 'C150' THEN PERFORM pg_terminate_backend(pg_backend_pid());
                                 END IF; RETURN NEW; END $$ LANGUAGE plpgsql""")
        con.exec_driver_sql("CREATE TRIGGER die_midway BEFORE INSERT OR UPDATE ON scores_rb FOR EACH ROW "
                            "EXECUTE FUNCTION die_on_c150()")
    with pytest.raises(InputError, match="rolled back") as info:
        write_scores(target, parts(tmp_path / "second", scored(every[:100], 0.9), scored(every[100:], 0.8)),
                     id_column="customer_id", run_id="new", scored_at=WHEN)
    assert "terminating connection" in str(info.value) or "closed" in str(info.value)
    pd.testing.assert_frame_equal(table(engine, "scores_rb"), before)


def test_a_column_type_clash_rolls_back(pg, tmp_path: Path) -> None:  # noqa: ANN001
    server, engine = pg
    with engine.begin() as con:
        con.exec_driver_sql("DROP TABLE IF EXISTS scores_types")
        con.exec_driver_sql("CREATE TABLE scores_types (customer_id text PRIMARY KEY, churn_probability float8, "
                            "risk_band text, reason_1 text, reason_2 text, reason_3 text, segment_id bigint, "
                            "segment_name integer, run_id text, scored_at timestamptz)")
        con.exec_driver_sql("INSERT INTO scores_types (customer_id, churn_probability, segment_name) "
                            "VALUES ('A', 0.5, 7), ('Q', 0.25, 8)")
    before = table(engine, "scores_types")
    with pytest.raises(InputError, match="rolled back.*segment_name") as info:
        write_scores(scores_table(server.url(table="scores_types")), parts(tmp_path, scored(["A", "B"], 0.1)),
                     id_column="customer_id", run_id="r", scored_at=WHEN)
    assert server.password not in str(info.value)
    pd.testing.assert_frame_equal(table(engine, "scores_types"), before)


def test_a_failed_first_write_creates_no_table(pg, tmp_path: Path) -> None:  # noqa: ANN001
    server, engine = pg
    with engine.begin() as con:
        con.exec_driver_sql("DROP TABLE IF EXISTS scores_twice")
    with pytest.raises(InputError, match="customer id 'A' appears 2 times"):
        write_scores(scores_table(server.url(table="scores_twice")), parts(tmp_path, scored(["A", "B", "A"], 0.1)),
                     id_column="customer_id", run_id="r", scored_at=WHEN)
    assert not sa.inspect(engine).has_table("scores_twice")


def test_an_existing_table_must_fit(pg, tmp_path: Path) -> None:  # noqa: ANN001
    server, engine = pg
    with engine.begin() as con:
        con.exec_driver_sql("DROP TABLE IF EXISTS scores_narrow, scores_nokey")
        con.exec_driver_sql("CREATE TABLE scores_narrow (customer_id text PRIMARY KEY, churn_probability float8)")
        con.exec_driver_sql("CREATE TABLE scores_nokey AS SELECT * FROM (VALUES ('Z')) AS v(customer_id)")
    files = parts(tmp_path, scored(["A"], 0.1))
    with pytest.raises(InputError, match="lacks the column.*risk_band.*give a new table name"):
        write_scores(scores_table(server.url(table="scores_narrow")), files, id_column="customer_id", run_id="r",
                     scored_at=WHEN)
    with engine.begin() as con:
        for name in columns_of("customer_id")[1:]:
            con.exec_driver_sql(f"ALTER TABLE scores_nokey ADD COLUMN {name} text")
    with pytest.raises(InputError, match="neither the primary key nor unique.*ADD PRIMARY KEY"):
        write_scores(scores_table(server.url(table="scores_nokey")), files, id_column="customer_id", run_id="r",
                     scored_at=WHEN)
    with engine.begin() as con:
        con.exec_driver_sql("CREATE UNIQUE INDEX ON scores_nokey (customer_id)")
    write_scores(scores_table(server.url(table="scores_nokey")), files, id_column="customer_id", run_id="r",
                 scored_at=WHEN)  # a unique index is key enough; the text columns take the values
    assert sorted(table(engine, "scores_nokey")["customer_id"]) == ["A", "Z"]


def test_out_url_needs_a_table_and_a_reachable_server(pg, tmp_path: Path) -> None:  # noqa: ANN001
    server, _ = pg
    assert scores_table(tmp_path / "folder") is None
    with pytest.raises(InputError, match=r"name the table.*\?table=NAME"):
        scores_table(server.url())
    wrong = server.url(table="t").replace(server.password, "not-" + server.password)
    with pytest.raises(InputError, match="could not connect") as info:
        write_scores(scores_table(wrong), parts(tmp_path, scored(["A"], 0.1)), id_column="customer_id",
                     run_id="r", scored_at=WHEN)
    assert server.password not in str(info.value)


def test_sqlite_upserts_by_delete_and_insert_in_one_transaction(tmp_path: Path) -> None:
    db = tmp_path / "crm.db"
    target = scores_table(f"sqlite:///{db}?table=scores")
    write_scores(target, parts(tmp_path, scored(["A", "B"], 0.1)), id_column="customer_id", run_id="old",
                 scored_at=WHEN)
    with sqlite3.connect(db) as con:
        con.execute("CREATE TRIGGER no_c BEFORE INSERT ON scores WHEN NEW.customer_id = 'C' "
                    "BEGIN SELECT RAISE(ABORT, 'no C here'); END")
    before = pd.read_sql("SELECT * FROM scores", sqlite3.connect(db))
    (tmp_path / "b").mkdir()
    with pytest.raises(InputError, match="no C here"):
        write_scores(target, parts(tmp_path / "b", scored(["A", "C"], 0.9)), id_column="customer_id", run_id="new",
                     scored_at=WHEN)
    pd.testing.assert_frame_equal(pd.read_sql("SELECT * FROM scores", sqlite3.connect(db)), before)
    report = write_scores(target, parts(tmp_path / "b", scored(["B", "D"], 0.9)), id_column="customer_id",
                          run_id="new", scored_at=WHEN)
    assert (report.inserted, report.updated) == (1, 1)
    got = pd.read_sql("SELECT customer_id, run_id FROM scores ORDER BY customer_id", sqlite3.connect(db))
    assert got.values.tolist() == [["A", "old"], ["B", "new"], ["D", "new"]]
    (tmp_path / "c").mkdir()
    with pytest.raises(InputError, match="appears 2 times"):  # the new table of a failed first write is rolled back
        write_scores(scores_table(f"sqlite:///{db}?table=fresh"), parts(tmp_path / "c", scored(["A", "A"], 0.1)),
                     id_column="customer_id", run_id="r", scored_at=WHEN)
    assert "fresh" not in {r[0] for r in sqlite3.connect(db).execute("SELECT name FROM sqlite_master")}
