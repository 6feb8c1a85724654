"""The PostgreSQL round trip, with the real `insight` command on a real server (tests/pg_server.py): train from a
table, score it in chunks, write the scores back into a table, read them back equal to the same run's scores in a
folder; and the password appears in no output, log line, manifest or file written."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

import pandas as pd
import pytest
import sqlalchemy as sa

from insight.data.demo import AUX_TARGETS, ID_COLUMN, TARGET, demo_data
from insight.runs import layout

pytestmark = pytest.mark.slow


def insight(*args: object, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    beside = Path(sys.executable).parent / "insight"
    script = str(beside) if beside.exists() else shutil.which("insight")
    assert script, "the `insight` console script is not installed (pip install -e .)"
    return subprocess.run([script, "-v", *(str(a) for a in args)], capture_output=True, text=True, env=env,
                          timeout=900)


def test_train_score_write_back_and_read_back_equal(postgres_server, tmp_path: Path) -> None:  # noqa: ANN001
    server = postgres_server
    customers = demo_data(rows=1500, seed=0).customers
    engine = server.engine()
    customers.to_sql("rt_customers", engine, index=False, if_exists="replace")
    with engine.begin() as con:
        con.exec_driver_sql("DROP TABLE IF EXISTS rt_scores")
    runs, folder = tmp_path / "runs", tmp_path / "scores"
    env = {**os.environ, "INSIGHT_SQL_CHUNK_ROWS": "600", "INSIGHT_THREADS": "1"}
    env.pop("PGPASSWORD", None)
    source = server.url(table="rt_customers")
    aux = [a for name in AUX_TARGETS for a in ("--aux", name)]
    started = time.perf_counter()

    trained = insight("train", source, "--id", ID_COLUMN, "--target", TARGET, *aux, "--runs-dir", runs, env=env)
    assert trained.returncode == 0, trained.stderr[-3000:]
    run_id = trained.stdout.strip().splitlines()[-1]
    manifest = json.loads((runs / run_id / layout.MANIFEST).read_text())
    assert manifest["source"]["name"] == f"postgresql://{server.user}:***@{server.host}:{server.port}/shop" \
                                         "?table=rt_customers"
    assert manifest["source"]["rows"] == 1500

    to_table = insight("score", "latest", source, "--out", server.url(table="rt_scores"), "--runs-dir", runs, env=env)
    assert to_table.returncode == 0, to_table.stderr[-3000:]
    assert "scored 1,500 customers in 3 partition(s)" in to_table.stdout
    to_folder = insight("score", "latest", source, "--out", folder, "--runs-dir", runs, env=env)
    assert to_folder.returncode == 0, to_folder.stderr[-3000:]
    seconds = time.perf_counter() - started

    with engine.connect() as con:
        back = pd.read_sql(sa.text(f"SELECT * FROM rt_scores ORDER BY {ID_COLUMN}"), con)
        key = sa.inspect(con).get_pk_constraint("rt_scores")["constrained_columns"]
    engine.dispose()
    files = sorted(folder.glob("part.*.parquet"), key=lambda p: int(p.name.split(".")[1]))
    assert len(files) == 3  # one part per chunk of 600 rows, in id order
    want = pd.concat([pd.read_parquet(p) for p in files], ignore_index=True)
    assert want[ID_COLUMN].is_monotonic_increasing and want[ID_COLUMN].is_unique
    assert key == [ID_COLUMN] and len(back) == 1500
    assert back[ID_COLUMN].tolist() == want[ID_COLUMN].tolist() == sorted(customers[ID_COLUMN])
    assert (back[layout.CHURN_PROBABILITY] - want[layout.CHURN_PROBABILITY]).abs().max() <= 1e-12
    for name in (layout.RISK_BAND, *layout.REASONS, layout.SEGMENT_NAME):
        assert back[name].fillna("").tolist() == want[name].fillna("").astype(str).tolist(), name
    assert back[layout.SEGMENT_ID].tolist() == want[layout.SEGMENT_ID].tolist()
    assert set(back["run_id"]) == {run_id}
    assert back["scored_at"].notna().all()
    rerun = pd.read_parquet(runs / run_id / "customers.parquet", columns=[ID_COLUMN, layout.CHURN_PROBABILITY])
    same = back.merge(rerun, on=ID_COLUMN, suffixes=("", "_run"))
    assert (same[layout.CHURN_PROBABILITY] - same[f"{layout.CHURN_PROBABILITY}_run"]).abs().max() <= 1e-12

    secrets = {server.password, quote(server.password, safe="")}
    printed = "".join(p.stdout + p.stderr for p in (trained, to_table, to_folder))
    assert "postgresql://" in printed and ":***@" in printed  # the URL is shown, masked (-v logs every step)
    for secret in secrets:
        assert secret not in printed
    written = [p for p in (*runs.rglob("*"), *folder.rglob("*"), *tmp_path.rglob("*")) if p.is_file()]
    assert any(p.name == layout.MANIFEST for p in written)
    for path in written:
        data = path.read_bytes()
        for secret in secrets:
            assert secret.encode() not in data, path
    print(f"round trip (train, score to PostgreSQL, score to a folder) of 1,500 customers: {seconds:.1f} s")


def test_evaluate_reads_a_postgresql_query(postgres_server, tmp_path: Path) -> None:  # noqa: ANN001
    server = postgres_server
    demo_data(rows=400, seed=3).customers.to_sql("rt_eval", server.engine(), index=False, if_exists="replace")
    env = {**os.environ, "INSIGHT_THREADS": "1"}
    out = tmp_path / "cv.json"
    done = insight("evaluate", server.url(), "--query", "SELECT * FROM rt_eval", "--id", ID_COLUMN, "--target",
                   TARGET, "--folds", "2", "--json", out, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    assert json.loads(out.read_text())["rows"] == 400
    assert server.password not in done.stdout + done.stderr + out.read_text()
    missing = insight("evaluate", server.url(table="absent"), "--id", ID_COLUMN, "--target", TARGET, env=env)
    assert missing.returncode == 2
    assert "error:" in missing.stderr and "reading the table absent failed" in missing.stderr
    assert server.password not in missing.stdout + missing.stderr
