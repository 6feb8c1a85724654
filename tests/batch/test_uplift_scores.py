"""insight.batch.uplift_scores through `insight.batch.scoring.score_dataset`: a run with --treatment scores new
customers with the same uplift columns its customers.parquet holds, without needing the campaign's column, and an
empty partition gets the same columns with the same dtypes (the Dask engine's meta)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from insight.batch.scoring import PartitionScorer, score_dataset
from insight.data.demo_campaign import demo_campaign_data
from insight.runs import layout
from insight.runs.run import open_run
from insight.uplift.groups import GROUPS

pytestmark = pytest.mark.slow

NUMBERS = [layout.UPLIFT, layout.UPLIFT_LOWER, layout.UPLIFT_UPPER, layout.CHURN_IF_NOT_OFFERED]
WORDS = [layout.UPLIFT_GROUP, *layout.RESPONSE_REASONS]


@pytest.fixture(scope="module")
def training_frame() -> pd.DataFrame:
    """The uplift run's own customers (tests/conftest.py: 1,500 rows, seed 0), with the campaign's column."""
    return demo_campaign_data(rows=1500, seed=0).customers


@pytest.fixture(scope="module")
def training_csv(training_frame: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("to-score") / "customers.csv"
    training_frame.to_csv(path, index=False)
    return path


def _scored(out: Path) -> pd.DataFrame:
    return pd.concat([pd.read_parquet(p) for p in sorted(out.glob("part.*.parquet"))], ignore_index=True)


def _assert_same_as_stored(scored: pd.DataFrame, run_path: Path) -> None:
    run = open_run(run_path)
    id_column = run.manifest.spec.id_column
    scored = scored.set_index(id_column)
    stored = pd.read_parquet(run.file(layout.CUSTOMERS)).set_index(id_column).loc[scored.index]
    assert len(scored) == 1500
    for column in NUMBERS:  # the same model on the same customers
        assert np.allclose(scored[column], stored[column], rtol=0, atol=1e-9), column
    for column in WORDS:
        assert (scored[column] == stored[column]).all(), column
    assert set(scored[layout.UPLIFT_GROUP]) <= set(GROUPS)
    assert scored[layout.RESPONSE_REASONS[0]].str.len().min() > 0  # the X/DR-learner explains every customer


def test_scores_carry_the_runs_uplift_columns(uplift_run: Path, training_csv: Path, tmp_path: Path) -> None:
    score_dataset(uplift_run, training_csv, tmp_path / "scores")
    scored = _scored(tmp_path / "scores")
    columns = list(scored.columns)
    assert columns[-len(NUMBERS) - len(WORDS):] == [*NUMBERS, *WORDS]
    _assert_same_as_stored(scored, uplift_run)


def test_scoring_without_the_treatment_column_works(uplift_run: Path, training_frame: pd.DataFrame,
                                                    tmp_path: Path) -> None:
    treatment = open_run(uplift_run).manifest.uplift["treatment_column"]
    assert treatment == "retention_offer"
    path = tmp_path / "no-campaign.parquet"
    training_frame.drop(columns=[treatment]).to_parquet(path, index=False)
    score_dataset(uplift_run, path, tmp_path / "scores")
    _assert_same_as_stored(_scored(tmp_path / "scores"), uplift_run)


def test_an_empty_partition_has_the_same_columns_and_dtypes(uplift_run: Path, training_frame: pd.DataFrame) -> None:
    scorer = PartitionScorer(str(uplift_run))
    full, empty = scorer(training_frame.head(50)), scorer(training_frame.head(50).iloc[:0])
    assert len(empty) == 0
    assert list(empty.columns) == list(full.columns)
    assert {c: str(t) for c, t in empty.dtypes.items()} == {c: str(t) for c, t in full.dtypes.items()}
    assert all(c in empty.columns for c in [*NUMBERS, *WORDS])


def test_a_run_without_treatment_scores_no_uplift_columns(demo_run: Path, demo_small, tmp_path: Path) -> None:
    customers, _ = demo_small
    path = tmp_path / "demo.csv"
    customers.head(200).to_csv(path, index=False)
    score_dataset(demo_run, path, tmp_path / "scores")
    assert not {*NUMBERS, *WORDS} & set(_scored(tmp_path / "scores").columns)
