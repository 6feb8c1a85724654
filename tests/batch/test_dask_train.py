"""insight.batch.dask_train and `insight train --engine dask`: a run trained on Dask partitions on a 2-worker
LocalCluster is an ordinary run (it verifies, holds every customer, opens in the dashboard and scores new
customers), its final churn model comes from lightgbm.dask, and it is as good as the local fit."""

from __future__ import annotations

import dataclasses
import shutil
import socket
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score
from typer.testing import CliRunner

from insight.batch.dask_train import train_on_dask
from insight.cli import app
from insight.config import ChurnConfig, MultitaskConfig, SegmentConfig, TrainConfig
from insight.data.demo import demo_data, demo_spec
from insight.models.churn import fit_churn_model
from insight.models.churn_dask import FITTED_WITH
from insight.runs.models import load_models
from insight.runs.run import open_run, verify_run
from insight.runs.writer import fingerprint

pytestmark = pytest.mark.slow

PROJECT = Path(__file__).resolve().parents[2]
ROWS, PARTS, SAMPLE = 2000, 4, 1500
CONFIG = TrainConfig(seed=0, threads=1, churn=ChurnConfig(learning_rate=0.08, num_leaves_grid=(8, 16), inner_folds=3,
                                                          max_rounds=600, early_stopping_rounds=50),
                     multitask=MultitaskConfig(max_epochs=12),
                     segments=SegmentConfig(fit_sample=1000, n_epochs=80, trustworthiness_sample=500))


@pytest.fixture(scope="module")
def demo() -> tuple[pd.DataFrame, pd.DataFrame]:
    data = demo_data(rows=ROWS, seed=0)
    return data.customers, data.truth


@pytest.fixture(scope="module")
def dataset(demo: tuple[pd.DataFrame, pd.DataFrame], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo customers as a partitioned Parquet data set (4 files)."""
    folder = tmp_path_factory.mktemp("customers")
    for i, rows in enumerate(np.array_split(np.arange(ROWS), PARTS)):
        demo[0].iloc[rows].to_parquet(folder / f"part-{i}.parquet", index=False)
    return folder


@pytest.fixture(scope="module")
def dask_run(dataset: Path, demo: tuple[pd.DataFrame, pd.DataFrame], dask_scheduler: str,
             tmp_path_factory: pytest.TempPathFactory) -> Path:
    return train_on_dask(dataset, demo_spec(), CONFIG, runs_dir=tmp_path_factory.mktemp("runs"),
                         source_name="customers", truth=demo[1], scheduler=dask_scheduler, sample_rows=SAMPLE)


def test_the_run_verifies_holds_every_customer_and_records_the_engine(dask_run: Path, dataset: Path,
                                                                       demo: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    assert verify_run(dask_run) == []
    run = open_run(dask_run)
    engine = run.manifest.metrics["engine"]
    assert engine["name"] == "dask" and engine["partitions"] == PARTS and engine["workers"] == 2
    assert engine["rows"] == ROWS and engine["sample_rows"] == SAMPLE
    whole = pd.concat([pd.read_parquet(p) for p in sorted(dataset.glob("*.parquet"))], ignore_index=True)
    assert run.manifest.source.rows == ROWS and run.manifest.source.fingerprint == fingerprint(whole)
    ids = sorted(demo[0]["customer_id"])
    for table in ("customers.parquet", "shap.parquet", "latent.parquet"):
        assert sorted(pd.read_parquet(dask_run / table)["customer_id"]) == ids, table
    customers = pd.read_parquet(dask_run / "customers.parquet")
    assert customers["segment_id"].isin([p["id"] for p in run.json("segments.json")["segments"]]).all()
    assert len(pd.read_parquet(dask_run / "map_fit.parquet")) == CONFIG.segments.fit_sample
    split = customers["split"].value_counts()
    assert run.manifest.metrics["split_sizes"] == {"train": split["train"], "valid": split["valid"],
                                                   "test": split["test"]}
    assert 0.15 < split["test"] / ROWS < 0.25  # every test customer of the table is measured
    assert run.manifest.metrics["lightgbm"]["shap_additivity_max_error"] < 1e-6


def test_the_churn_model_is_fitted_by_lightgbm_dask_on_every_training_row(dask_run: Path) -> None:
    run = open_run(dask_run)
    search = run.manifest.metrics["lightgbm"]["search"]
    assert search["fitted_with"] == FITTED_WITH and search["lightgbm_machines"] == 2
    customers = pd.read_parquet(dask_run / "customers.parquet")
    assert search["fit_rows"] == int(customers["split"].isin(["train", "valid"]).sum())  # the whole table's
    assert search["search_rows"] < search["fit_rows"]  # the search ran on the sample's rows
    text = run.text("churn_model.txt")
    assert "[tree_learner: data]" in text and "[num_machines: 2]" in text


def test_the_model_is_as_good_as_the_local_fit_of_the_same_rows(dask_run: Path,
                                                                  demo: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    from insight.models.recipe import matrix

    models = load_models(open_run(dask_run))
    customers = pd.read_parquet(dask_run / "customers.parquet").set_index("customer_id")
    raw = demo[0].set_index("customer_id").loc[customers.index].reset_index()
    X, y = matrix(models, raw, strict=False), customers["churned"].to_numpy(dtype=np.float64)
    fit = np.flatnonzero(customers["split"].isin(["train", "valid"]).to_numpy())
    test = np.flatnonzero((customers["split"] == "test").to_numpy())
    local = fit_churn_model(X[fit], y[fit], feature_names=models.fmap.names, categorical=models.fmap.categorical_indices,
                            config=CONFIG.churn, seed=0, threads=1)
    stored = customers["churn_probability"].to_numpy()
    assert np.abs(models.churn.probability(X) - stored).max() < 1e-9  # the stored scores are the saved model's
    auc_dask, auc_local = roc_auc_score(y[test], stored[test]), roc_auc_score(y[test], local.probability(X[test]))
    assert auc_dask > 0.75 and abs(auc_dask - auc_local) < 0.02
    assert open_run(dask_run).manifest.test_metrics["roc_auc"] == pytest.approx(auc_dask)


def test_the_run_scores_new_customers_and_opens_in_the_dashboard(dask_run: Path, dataset: Path, tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    from streamlit.testing.v1 import AppTest

    from insight.batch.scoring import score_dataset

    report = score_dataset(dask_run, dataset, tmp_path / "scored", engine="local")
    scored = pd.read_parquet(tmp_path / "scored").sort_values("customer_id", ignore_index=True)
    stored = pd.read_parquet(dask_run / "customers.parquet").sort_values("customer_id", ignore_index=True)
    assert report.rows == ROWS
    assert np.abs(scored["churn_probability"].to_numpy() - stored["churn_probability"].to_numpy()).max() < 1e-12
    assert (scored["reason_1"] == stored["reason_1"]).all()
    monkeypatch.setenv("INSIGHT_RUNS_DIR", str(dask_run.parent))
    at = AppTest.from_file(str(PROJECT / "app.py"), default_timeout=180)
    at.run()
    for page in ("pages/overview.py", "pages/segments.py", "pages/model.py", "pages/customer.py"):
        at.switch_page(page).run()
        assert not at.exception and not at.error, (page, [e.value for e in [*at.exception, *at.error]])


# ------------------------------------------------------------------------------------------- bad input


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def train_cli(dataset: Path, runs: Path, *extra: str) -> object:
    return CliRunner().invoke(app, ["train", str(dataset), "--id", "customer_id", "--target", "churned",
                                    "--aux", "revenue_next_12m", "--runs-dir", str(runs), *extra])


def test_bad_engine_options_exit_2_and_write_nothing(dataset: Path, tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    port = free_port()
    for extra, message in [(("--scheduler", "tcp://127.0.0.1:8786"), "--scheduler needs --engine dask"),
                           (("--engine", "spark"), "--engine must be one of local, dask"),
                           (("--engine", "dask", "--workers", "0"), "--workers must be at least 1"),
                           (("--engine", "dask", "--scheduler", f"tcp://127.0.0.1:{port}"),
                            f"could not connect to the Dask scheduler at tcp://127.0.0.1:{port}")]:
        result = train_cli(dataset, runs, *extra)
        assert result.exit_code == 2, (extra, result.output)
        assert message in result.output, (extra, result.output)
    assert not runs.exists() or not any(runs.iterdir())


def test_bad_tables_exit_2_with_what_is_wrong_and_write_nothing(dataset: Path, tmp_path: Path,
                                                                 demo: tuple[pd.DataFrame, pd.DataFrame],
                                                                 dask_scheduler: str) -> None:
    runs = tmp_path / "runs"
    result = train_cli(dataset, runs, "--engine", "dask", "--scheduler", dask_scheduler, "--aux", "nope")
    assert result.exit_code == 2 and "aux target column 'nope' is not in the table" in result.output
    twice = tmp_path / "twice"
    twice.mkdir()
    demo[0].iloc[:300].to_parquet(twice / "part-0.parquet", index=False)
    demo[0].iloc[299:600].to_parquet(twice / "part-1.parquet", index=False)  # customer 300 in both parts
    result = train_cli(twice, runs, "--engine", "dask", "--scheduler", dask_scheduler)
    assert result.exit_code == 2, result.output
    assert "1 duplicated values (e.g. 'C000300')" in result.output
    assert not runs.exists() or not any(runs.iterdir())


def test_a_later_dask_run_keeps_the_segments_of_the_earlier_run(dask_run: Path, dataset: Path, dask_scheduler: str,
                                                                 demo: tuple[pd.DataFrame, pd.DataFrame],
                                                                 tmp_path: Path) -> None:
    """Segment identity on Dask as in a local run: retrained on the same customers (another seed) beside the
    earlier run, the segments that match keep its ids and names, recorded in the manifest."""
    runs = tmp_path / "runs"
    shutil.copytree(dask_run, runs / dask_run.name)
    later = train_on_dask(dataset, demo_spec(), dataclasses.replace(CONFIG, seed=1), runs_dir=runs,
                          source_name="customers", truth=demo[1], scheduler=dask_scheduler, sample_rows=SAMPLE)
    identity = open_run(later).manifest.metrics["segments"]["identity"]
    assert identity["previous_run"] == dask_run.name and identity["matched"]
    before = pd.read_parquet(dask_run / "customers.parquet").set_index("customer_id")
    after = pd.read_parquet(later / "customers.parquet").set_index("customer_id").loc[before.index]
    earlier_names = dict(zip(before["segment_id"], before["segment_name"]))
    for match in identity["matched"]:
        kept = after["segment_id"] == match["id"]
        assert set(after.loc[kept, "segment_name"]) == {earlier_names[match["id"]]}
        was = before["segment_id"] == match["id"]  # the kept id's customers then and now overlap as recorded
        jaccard = (kept & was).sum() / (kept | was).sum()
        assert jaccard == pytest.approx(match["jaccard"], abs=1e-3) and jaccard >= 0.3
    assert verify_run(later) == []
