"""Shared fixtures: small real runs trained once per test session."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from insight.config import DataSpec, SegmentConfig, TrainConfig
from insight.data.demo import demo_data, demo_spec
from insight.pipeline import train
from insight.runs.run import open_run, set_latest
from insight.runs.store import RunStore
import pg_server

os.environ.setdefault("INSIGHT_THREADS", "2")
postgres_server = pg_server.postgres_server  # the session's PostgreSQL server (tests/pg_server.py)
PROJECT = Path(__file__).resolve().parent.parent
TELCO_CSV = PROJECT / "data" / "telco" / "Telco-Customer-Churn.csv"
SMALL_ROWS = 1500


def small_config() -> TrainConfig:
    """One thread: two OpenMP/torch threads stall badly when the 2-core test machine is busy."""
    return TrainConfig(seed=0, threads=1, segments=SegmentConfig(fit_sample=1500, trustworthiness_sample=1000))


@pytest.fixture()
def train_config() -> TrainConfig:
    """`small_config()` for tests that train a run of their own."""
    return small_config()


@pytest.fixture(scope="module")
def demo_store(demo_run: Path) -> RunStore:
    """The demo run's store (one DuckDB connection per test module)."""
    return RunStore.from_run(open_run(demo_run))


@pytest.fixture(scope="module")
def demo_roles(demo_run: Path) -> dict[str, str]:
    """The demo run's feature roles (features.json)."""
    return {f["name"]: f["role"] for f in open_run(demo_run).json("features.json")["features"]}


@pytest.fixture(scope="session")
def demo_small() -> tuple[pd.DataFrame, pd.DataFrame]:
    """1,500 demo customers and their planted truth."""
    data = demo_data(rows=SMALL_ROWS, seed=0)
    return data.customers, data.truth


@pytest.fixture(scope="session")
def runs_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("runs")


@pytest.fixture(scope="session")
def demo_run(demo_small: tuple[pd.DataFrame, pd.DataFrame], runs_dir: Path) -> Path:
    """A real run (LightGBM, SHAP, torch, UMAP, segments) on 1,500 demo customers."""
    customers, truth = demo_small
    return train(customers, demo_spec(), small_config(), runs_dir=runs_dir, source_name="demo.csv", truth=truth)


@pytest.fixture(scope="session")
def dask_scheduler() -> Iterator[str]:
    """The address of a 2-worker Dask LocalCluster of single-threaded processes on 127.0.0.1
    (`insight.batch.dask_engine.dask_client`), shared by the Dask training tests.

    Worker processes are spawned, and spawning re-runs the parent's `__main__` file in the child; Streamlit's
    AppTest leaves app.py installed as `__main__`, so a plain module stands in for it while the workers start
    (as in tests/batch/test_batch_scoring.py)."""
    import logging
    import sys
    import types

    from insight.batch.dask_engine import dask_client

    logging.getLogger("distributed").setLevel(logging.ERROR)
    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(sys.modules, "__main__", types.ModuleType("__main__"))
        with dask_client(None, workers=2) as client:
            patch.undo()
            yield client.scheduler.address


@pytest.fixture(scope="session")
def telco_frame() -> pd.DataFrame:
    return pd.read_csv(TELCO_CSV)


@pytest.fixture(scope="session")
def telco_run(telco_frame: pd.DataFrame, runs_dir: Path, demo_run: Path) -> Path:
    """A real run on a 2,000-row sample of the IBM Telco data (messy: numbers as text with blanks).

    Depends on demo_run so that the demo run is not the latest in the shared runs folder by accident of
    ordering: LATEST points at this one.
    """
    spec = DataSpec(id_column="customerID", target="Churn", aux_targets=("tenure", "MonthlyCharges"))
    sample = telco_frame.sample(2000, random_state=0).reset_index(drop=True)
    return train(sample, spec, small_config(), runs_dir=runs_dir, source_name="telco.csv")


@pytest.fixture(scope="session")
def survival_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real run with --duration tenure_months (the survival model beside everything else) on 1,500 demo
    survival customers (insight.data.demo_survival), in a runs folder of its own."""
    import dataclasses

    from insight.data.demo_survival import demo_survival_data

    data = demo_survival_data(rows=SMALL_ROWS, seed=0)
    spec = dataclasses.replace(demo_spec(), duration_column="tenure_months")
    return train(data.customers, spec, small_config(), runs_dir=tmp_path_factory.mktemp("survival-runs"),
                 source_name="demo-survival.csv", truth=data.truth)


@pytest.fixture(scope="session")
def telco_survival_run(telco_frame: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real run with --duration tenure on a 2,000-row sample of the IBM Telco data, in its own runs folder."""
    spec = DataSpec(id_column="customerID", target="Churn", duration_column="tenure")
    sample = telco_frame.sample(2000, random_state=0).reset_index(drop=True)
    return train(sample, spec, small_config(), runs_dir=tmp_path_factory.mktemp("telco-survival-runs"),
                 source_name="telco.csv")


@pytest.fixture(scope="session")
def uplift_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real run with --treatment retention_offer (the uplift model beside everything else) on 1,500 demo
    customers with a past randomised campaign (insight.data.demo_campaign), in a runs folder of its own."""
    import dataclasses

    from insight.data.demo_campaign import demo_campaign_data

    data = demo_campaign_data(rows=SMALL_ROWS, seed=0)
    spec = dataclasses.replace(demo_spec(), treatment_column="retention_offer")
    return train(data.customers, spec, small_config(), runs_dir=tmp_path_factory.mktemp("uplift-runs"),
                 source_name="demo-campaign.csv", truth=data.truth)


@pytest.fixture(scope="session")
def changed_demo_run(demo_small: tuple[pd.DataFrame, pd.DataFrame],
                     tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A run trained after the demo run (in a runs folder of its own) on the same customers changed as a next
    month might change them: the first 100 customers gone, `logins_30d` halved for everyone (a logging change)
    and, for every tenth customer left, 60 more days since the last login and one more payment failure."""
    customers = demo_small[0].iloc[100:].reset_index(drop=True)
    customers["logins_30d"] = customers["logins_30d"] / 2
    later = customers.index % 10 == 0
    customers.loc[later, "last_login_days_ago"] = customers.loc[later, "last_login_days_ago"] + 60
    customers.loc[later, "payment_failures_12m"] = customers.loc[later, "payment_failures_12m"] + 1
    return train(customers, demo_spec(), small_config(), runs_dir=tmp_path_factory.mktemp("runs-changed"),
                 source_name="demo-next-month.csv")


@pytest.fixture(scope="session")
def month_runs(tmp_path_factory: pytest.TempPathFactory, demo_run: Path, changed_demo_run: Path) -> Path:
    """A runs folder with copies of the demo run and the run a month later (LATEST): the Changes page's pair.
    Read only."""
    runs = tmp_path_factory.mktemp("month-runs")
    for run in (demo_run, changed_demo_run):
        shutil.copytree(run, runs / run.name)
    set_latest(runs, changed_demo_run.name)
    return runs


SNAPSHOT_DATES = ("2026-01-31", "2026-02-28", "2026-03-31", "2026-04-30")
SNAPSHOT_ROWS = 500


def snapshot_frame(*, rows: int = SNAPSHOT_ROWS, dates: tuple[str, ...] = SNAPSHOT_DATES) -> pd.DataFrame:
    """Monthly snapshots of demo customers (one demo draw per month, seeded by the month: the same ids
    C000001.. each month, unique within one), in a `snapshot_date` column; the latest month's churn labels
    are blank (not known yet)."""
    import numpy as np

    months = []
    for k, date in enumerate(dates):
        month = demo_data(rows=rows, seed=k).customers
        month.insert(1, "snapshot_date", date)
        if k == len(dates) - 1:
            month["churned"] = np.nan
        months.append(month)
    return pd.concat(months, ignore_index=True)


@pytest.fixture(scope="session")
def snapshot_table() -> pd.DataFrame:
    """`snapshot_frame()`: four months of 500 demo customers, the last one unlabelled."""
    return snapshot_frame()


def snapshot_spec() -> DataSpec:
    import dataclasses

    return dataclasses.replace(demo_spec(), time_column="snapshot_date")


@pytest.fixture(scope="session")
def snapshot_runs(snapshot_table: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Two runs trained with --time on `snapshot_table`, in a runs folder of their own: "all" (every
    snapshot: tested out of time on March, showing April's unlabelled customers) and "as_of_march"
    (--as-of 2026-03-31: the same test, showing March's customers, who are the out-of-time ones)."""
    import dataclasses

    runs = tmp_path_factory.mktemp("snapshot-runs")
    every = train(snapshot_table, snapshot_spec(), small_config(), runs_dir=runs, source_name="snapshots.csv")
    march = train(snapshot_table, snapshot_spec(), dataclasses.replace(small_config(), as_of="2026-03-31"),
                  runs_dir=runs, source_name="snapshots.csv")
    return {"all": every, "as_of_march": march}
