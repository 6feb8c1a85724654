"""insight.batch.scoring and `insight score`: partitioned scoring, locally and on a 2-worker Dask LocalCluster."""

from __future__ import annotations

import json
import logging
import shutil
import subprocess
import sys
import types
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from insight.batch.scoring import PartitionScorer, ScoreReport, load_scoring_run, score_dataset
from insight.cli import app
from insight.errors import InputError

PARTS = 3
OUTPUT = ["customer_id", "churn_probability", "risk_band", "reason_1", "reason_2", "reason_3", "segment_id",
          "segment_name", "x", "y"]


@pytest.fixture(scope="module")
def raw(demo_small: tuple[pd.DataFrame, pd.DataFrame]) -> pd.DataFrame:
    """The demo customers as a CSV export has them: fee as text, Yes/No flags, dates as strings."""
    return demo_small[0]


@pytest.fixture(scope="module")
def dataset(raw: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The run's own customers as a partitioned Parquet data set (3 files)."""
    folder = tmp_path_factory.mktemp("customers")
    for i, rows in enumerate(np.array_split(np.arange(len(raw)), PARTS)):
        raw.iloc[rows].to_parquet(folder / f"part-{i}.parquet", index=False)
    return folder


@pytest.fixture(scope="module")
def local(demo_run: Path, dataset: Path, tmp_path_factory: pytest.TempPathFactory) -> ScoreReport:
    return score_dataset(demo_run, dataset, tmp_path_factory.mktemp("scored") / "local", engine="local")


@pytest.fixture(scope="module")
def cluster() -> Iterator[str]:
    """A 2-worker LocalCluster of single-threaded processes; yields the scheduler's address.

    Worker processes are spawned, and spawning re-runs the parent's `__main__` file in the child. Streamlit's
    AppTest (tests/app, earlier in the same session) leaves app.py installed as `__main__`, so a plain
    module stands in for it while the workers start, as `python -m pytest` alone would have it."""
    from distributed import LocalCluster

    logging.getLogger("distributed").setLevel(logging.ERROR)
    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(sys.modules, "__main__", types.ModuleType("__main__"))
        with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as c:
            yield c.scheduler_address


def read_scores(folder: Path) -> pd.DataFrame:
    return pd.read_parquet(folder).sort_values("customer_id", ignore_index=True)


def score_frame(demo_run: Path, frame: pd.DataFrame) -> pd.DataFrame:
    return PartitionScorer(str(demo_run.resolve()))(frame)


def test_local_scores_reproduce_the_run(local: ScoreReport, demo_run: Path) -> None:
    assert (local.rows, local.partitions, local.unseen_categories) == (1500, PARTS, {})
    assert sorted(p.name for p in local.out.iterdir()) == ["_insight_scores.json", "_monitoring.json"] + [
        f"part.{i}.parquet" for i in range(PARTS)]
    marker = json.loads((local.out / "_insight_scores.json").read_text())
    assert marker["run_id"] == demo_run.name and marker["rows"] == 1500
    assert marker["parts"] == [f"part.{i}.parquet" for i in range(PARTS)]
    scores = read_scores(local.out)
    latent_dim = load_scoring_run(str(demo_run.resolve())).latent_dim
    assert list(scores.columns) == OUTPUT + [f"z{i}" for i in range(latent_dim)]
    stored = pd.read_parquet(demo_run / "customers.parquet").sort_values("customer_id", ignore_index=True)
    assert scores["customer_id"].tolist() == stored["customer_id"].tolist()
    assert (scores["churn_probability"].to_numpy() == stored["churn_probability"].to_numpy()).all()
    for column in ("reason_1", "reason_2", "reason_3"):
        assert (scores[column] == stored[column]).all(), column
    assert (scores["risk_band"] == stored["risk_band"].astype(str)).all()
    assert (scores["segment_id"] == stored["segment_id"]).mean() >= 0.95
    agree = scores["segment_id"] == stored["segment_id"]
    assert (scores.loc[agree, "segment_name"] == stored.loc[agree, "segment_name"]).all()
    np.testing.assert_allclose(scores[["x", "y"]], stored[["x", "y"]], atol=1e-3)
    latent = pd.read_parquet(demo_run / "latent.parquet").sort_values("customer_id", ignore_index=True)
    np.testing.assert_allclose(scores.filter(regex=r"^z\d+$"), latent.filter(regex=r"^z\d+$"), atol=1e-5)


def test_dask_on_a_2_worker_cluster_gives_identical_results(local: ScoreReport, demo_run: Path, dataset: Path,
                                                             cluster: str, tmp_path: Path) -> None:
    report = score_dataset(demo_run, dataset, tmp_path / "dask", engine="dask", scheduler=cluster)
    assert (report.rows, report.partitions, report.unseen_categories) == (1500, PARTS, {})
    for i in range(PARTS):  # partition for partition, float for float
        pd.testing.assert_frame_equal(pd.read_parquet(report.out / f"part.{i}.parquet"),
                                      pd.read_parquet(local.out / f"part.{i}.parquet"), check_exact=True)
    pd.testing.assert_frame_equal(read_scores(report.out), read_scores(local.out), check_exact=True)
    assert [p.name for p in tmp_path.iterdir()] == ["dask"]  # no temporary folder left behind


def test_a_bad_value_on_a_dask_worker_fails_the_job_with_the_input_error(raw: pd.DataFrame, demo_run: Path,
                                                                         cluster: str, tmp_path: Path) -> None:
    data = tmp_path / "in"
    data.mkdir()
    raw.head(30).to_parquet(data / "a.parquet", index=False)
    raw.iloc[30:60].assign(monthly_fee=lambda f: f["monthly_fee"].where(f.index != 42, "twelve")).to_parquet(
        data / "b.parquet", index=False)
    with pytest.raises(InputError, match=r"column 'monthly_fee' should hold numbers .* 'twelve' \(customer"):
        score_dataset(demo_run, data, tmp_path / "out", engine="dask", scheduler=cluster)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in"]  # neither output nor temporary folder


def test_unseen_categories_are_scored_as_missing_and_counted(raw: pd.DataFrame, demo_run: Path, tmp_path: Path,
                                                              caplog: pytest.LogCaptureFixture) -> None:
    frame = raw.head(40).copy()
    frame["plan"] = frame["plan"].where(np.arange(40) % 4 != 0, "Platinum")  # 10 unseen values
    frame.to_parquet(tmp_path / "new.parquet", index=False)
    with caplog.at_level(logging.WARNING, logger="insight"):
        report = score_dataset(demo_run, tmp_path / "new.parquet", tmp_path / "out")
    assert report.unseen_categories == {"plan": 10}
    assert "plan: 10 value(s) in categories not seen in training, scored as missing" in caplog.text
    as_missing = score_frame(demo_run, frame.assign(plan=frame["plan"].where(frame["plan"] != "Platinum")))
    pd.testing.assert_frame_equal(read_scores(report.out), as_missing.sort_values("customer_id",
                                                                                  ignore_index=True))


def test_blanks_are_missing_values(raw: pd.DataFrame, demo_run: Path) -> None:
    frame = raw.head(20)
    blanks = frame.assign(monthly_fee=["  "] * 10 + list(frame["monthly_fee"][10:]),
                          auto_renew=[""] * 20, signup_date=None)
    missing = frame.assign(monthly_fee=[None] * 10 + list(frame["monthly_fee"][10:]),
                           auto_renew=None, signup_date=None)
    pd.testing.assert_frame_equal(score_frame(demo_run, blanks), score_frame(demo_run, missing))


@pytest.mark.parametrize(("column", "value", "message"), [
    ("monthly_fee", "abc", r"column 'monthly_fee' should hold numbers but 1 value\(s\) cannot be read as one, "
                           r"e\.g\. 'abc' \(customer 'C\d+', column type object\)"),
    ("auto_renew", "maybe", r"column 'auto_renew' should hold yes/no values .* e\.g\. 'maybe'"),
    ("signup_date", "last spring", r"column 'signup_date' should hold dates .* e\.g\. 'last spring'"),
    ("seats", "many", r"column 'seats' should hold numbers .* e\.g\. 'many'"),
])
def test_values_of_the_wrong_type_are_input_errors(raw: pd.DataFrame, demo_run: Path, column: str, value: str,
                                                   message: str) -> None:
    frame = raw.head(20).astype({column: object})
    frame.loc[frame.index[7], column] = value
    with pytest.raises(InputError, match=message):
        score_frame(demo_run, frame)


def test_missing_columns_are_listed_before_any_work(raw: pd.DataFrame, demo_run: Path, tmp_path: Path) -> None:
    raw.head(20).drop(columns=["plan", "seats"]).to_parquet(tmp_path / "a.parquet", index=False)
    with pytest.raises(InputError, match=r"lacks 2 feature column\(s\) the model was trained on: plan, seats\. "
                                         r"Add them; a column may be empty"):
        score_dataset(demo_run, tmp_path / "a.parquet", tmp_path / "out")
    raw.head(20).drop(columns=["customer_id"]).to_csv(tmp_path / "b.csv", index=False)
    with pytest.raises(InputError, match="no id column 'customer_id'"):
        score_dataset(demo_run, tmp_path / "b.csv", tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_overwrite_replaces_only_a_previous_score_output(raw: pd.DataFrame, demo_run: Path, tmp_path: Path) -> None:
    raw.head(30).to_csv(tmp_path / "new.csv", index=False)
    out = tmp_path / "out"
    out.mkdir()
    (out / "old.txt").write_text("keep me")
    with pytest.raises(InputError, match="is not empty; pass --overwrite"):
        score_dataset(demo_run, tmp_path / "new.csv", out)
    with pytest.raises(InputError, match=r"is not a score output of insight \(it holds old\.txt\); --overwrite only"):
        score_dataset(demo_run, tmp_path / "new.csv", out, overwrite=True)
    assert [p.name for p in out.iterdir()] == ["old.txt"]
    (out / "old.txt").unlink()
    score_dataset(demo_run, tmp_path / "new.csv", out)
    report = score_dataset(demo_run, tmp_path / "new.csv", out, overwrite=True)  # a previous score output
    assert sorted(p.name for p in out.iterdir()) == ["_insight_scores.json", "_monitoring.json",
                                                     "part.0.parquet"] and report.rows == 30
    assert sorted(p.name for p in tmp_path.iterdir()) == ["new.csv", "out"]
    (out / "notes.txt").write_text("mine")  # something added to a score output is not replaced either
    with pytest.raises(InputError, match=r"it holds notes\.txt"):
        score_dataset(demo_run, tmp_path / "new.csv", out, overwrite=True)
    assert (out / "notes.txt").read_text() == "mine"


@pytest.fixture()
def own_runs(demo_run: Path, tmp_path: Path) -> Path:
    """A runs folder of this test's own: a copy of the demo run and its LATEST."""
    runs = tmp_path / "runs"
    shutil.copytree(demo_run, runs / demo_run.name)
    (runs / "LATEST").write_text(demo_run.name)
    return runs


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("where", ["runs", "run", "in-run", "in-runs", "holds-runs", "holds-the-runs-folder"])
def test_out_among_the_runs_is_refused_even_with_overwrite(raw: pd.DataFrame, own_runs: Path, tmp_path: Path,
                                                           where: str) -> None:
    """`score --out runs --overwrite` (and a run folder, or inside one) exits 2 and leaves every run intact."""
    run = next(p for p in own_runs.iterdir() if p.is_dir())
    out = {"runs": own_runs, "run": run, "in-run": run / "scores", "in-runs": own_runs / "scores",
           "holds-runs": tmp_path / "mixed", "holds-the-runs-folder": tmp_path}[where]
    if where == "holds-runs":  # a folder with a run in it, not the configured runs folder
        shutil.copytree(run, out / run.name)
    data = tmp_path.parent / f"{tmp_path.name}-new.parquet"  # not in --out, whichever folder that is
    raw.head(20).to_parquet(data, index=False)
    before = snapshot(tmp_path)
    result = CliRunner().invoke(app, ["score", str(run), str(data), "--out", str(out),
                                      "--overwrite", "--runs-dir", str(own_runs)])
    assert result.exit_code == 2, result.output
    assert f"--out {out.resolve()} is " in result.output and "scores never go among the runs" in result.output
    assert snapshot(tmp_path) == before  # nothing written, nothing deleted
    assert not [p for p in tmp_path.rglob("*") if ".tmp-" in p.name or ".old-" in p.name]
    assert CliRunner().invoke(app, ["runs", "verify", "latest", "--runs-dir", str(own_runs)]).exit_code == 0


def test_cli_scores_a_run_by_id_and_verifies_it(raw: pd.DataFrame, demo_run: Path, tmp_path: Path) -> None:
    raw.head(25).to_parquet(tmp_path / "new.parquet", index=False)
    result = CliRunner().invoke(app, ["score", demo_run.name, str(tmp_path / "new.parquet"), "--out",
                                      str(tmp_path / "out"), "--runs-dir", str(demo_run.parent)])
    assert result.exit_code == 0, result.output
    assert "scored 25 customers in 1 partition(s)" in result.stdout
    assert len(pd.read_parquet(tmp_path / "out")) == 25


def test_cli_rejects_bad_input_with_exit_2(raw: pd.DataFrame, demo_run: Path, tmp_path: Path) -> None:
    beside = Path(sys.executable).parent / "insight"
    insight = str(beside) if beside.exists() else shutil.which("insight")
    assert insight, "the insight console script is not installed"
    raw.head(20).drop(columns=["plan"]).to_parquet(tmp_path / "new.parquet", index=False)
    proc = subprocess.run([insight, "score", str(demo_run), str(tmp_path / "new.parquet"), "--out",
                           str(tmp_path / "out")], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2, proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "lacks 1 feature column(s) the model was trained on: plan" in errors[0]
    assert not (tmp_path / "out").exists()


def test_the_run_stores_the_customers_its_map_was_fitted_on(demo_run: Path) -> None:
    """map_fit.parquet (what places new customers) holds, for each fitted customer, the same latent vector,
    map position and segment as the run's own tables."""
    fitted = pd.read_parquet(demo_run / "map_fit.parquet").set_index("customer_id")
    stored = pd.read_parquet(demo_run / "customers.parquet").set_index("customer_id").loc[fitted.index]
    latent = pd.read_parquet(demo_run / "latent.parquet").set_index("customer_id").loc[fitted.index]
    assert 0 < len(fitted) <= len(pd.read_parquet(demo_run / "latent.parquet"))
    np.testing.assert_array_equal(fitted[["x", "y"]].to_numpy(), stored[["x", "y"]].to_numpy(dtype=np.float32))
    np.testing.assert_array_equal(fitted["segment_id"].to_numpy(), stored["segment_id"].to_numpy())
    np.testing.assert_array_equal(fitted.filter(regex=r"^z\d+$").to_numpy(), latent.to_numpy())


def test_a_run_written_before_the_map_sample_was_stored_is_refused_with_what_to_do(tmp_path: Path) -> None:
    from insight.errors import RunError

    old = next(p for p in (Path(__file__).resolve().parents[1] / "fixtures" / "runs-schema-1").iterdir()
               if p.is_dir())
    rows = pd.read_parquet(old / "customers.parquet").head(5)
    rows.to_parquet(tmp_path / "new.parquet")
    with pytest.raises(RunError, match="retrain with this version"):
        score_dataset(old, tmp_path / "new.parquet", tmp_path / "out")
    assert not (tmp_path / "out").exists()



def test_a_database_table_is_scored_like_the_same_rows_from_files(raw: pd.DataFrame, local: ScoreReport,
                                                                   demo_run: Path, tmp_path: Path) -> None:
    """The one Source interface: a SQLite table is one partition, scored exactly as the Parquet parts were."""
    import sqlite3

    db = tmp_path / "crm.db"
    with sqlite3.connect(db) as con:
        raw.to_sql("customers", con, index=False)
    report = score_dataset(demo_run, f"sqlite:///{db}", tmp_path / "from-db", table="customers")
    assert (report.rows, report.partitions) == (len(raw), 1)
    from_db, from_files = read_scores(tmp_path / "from-db"), read_scores(local.out)
    assert (from_db["customer_id"] == from_files["customer_id"]).all()
    np.testing.assert_array_equal(from_db["churn_probability"], from_files["churn_probability"])
    assert (from_db["segment_id"] == from_files["segment_id"]).all()
    result = CliRunner().invoke(app, ["score", str(demo_run), f"sqlite:///{db}", "--query",
                                      "SELECT * FROM customers WHERE plan = 'Pro'", "--out", str(tmp_path / "pro")])
    assert result.exit_code == 0, result.output
    assert len(read_scores(tmp_path / "pro")) == int((raw["plan"] == "Pro").sum()) > 0
    result = CliRunner().invoke(app, ["score", str(demo_run), f"sqlite:///{db}", "--out", str(tmp_path / "x")])
    assert result.exit_code == 2 and "give exactly one of --table NAME or --query" in result.output
