"""insight.batch.survival_scores through `insight.batch.scoring.score_dataset`: a run with --duration scores new
customers with the same survival columns its customers.parquet holds, and says when the duration is missing."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from insight.batch.scoring import score_dataset
from insight.data.demo_survival import demo_survival_data
from insight.errors import InputError
from insight.runs import layout
from insight.runs.run import open_run

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def training_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The survival run's own customers (tests/conftest.py: 1,500 rows, seed 0), as a file to score."""
    path = tmp_path_factory.mktemp("to-score") / "customers.csv"
    demo_survival_data(rows=1500, seed=0).customers.to_csv(path, index=False)
    return path


def _scored(out: Path) -> pd.DataFrame:
    return pd.concat([pd.read_parquet(p) for p in sorted(out.glob("part.*.parquet"))], ignore_index=True)


def test_scores_carry_the_runs_survival_columns(survival_run: Path, training_csv: Path, tmp_path: Path) -> None:
    run = open_run(survival_run)
    id_column = run.manifest.spec.id_column
    score_dataset(survival_run, training_csv, tmp_path / "scores")
    scored = _scored(tmp_path / "scores").set_index(id_column)
    stored = pd.read_parquet(run.file(layout.CUSTOMERS)).set_index(id_column).loc[scored.index]
    horizons = run.manifest.survival["horizons"]
    numbers = [layout.MEDIAN_LIFETIME, layout.EXPECTED_LEAVE_IN,
               *(c for h in horizons for c in (layout.churn_within(h), layout.expected_lifetime(h)))]
    for column in numbers:  # the same model on the same customers, conditional on the same tenure
        assert np.allclose(scored[column], stored[column], rtol=1e-4, atol=1e-6), column
    assert (scored[layout.TIMING_REASONS[0]] == stored[layout.TIMING_REASONS[0]]).mean() > 0.99


def test_scoring_without_the_duration_column_says_so(survival_run: Path, training_csv: Path,
                                                     tmp_path: Path) -> None:
    frame = pd.read_csv(training_csv).drop(columns=["tenure_months"])
    path = tmp_path / "no-tenure.csv"
    frame.to_csv(path, index=False)
    with pytest.raises(InputError, match="tenure_months"):
        score_dataset(survival_run, path, tmp_path / "scores")
    assert not (tmp_path / "scores").exists()


def test_a_run_without_duration_scores_no_survival_columns(demo_run: Path, demo_small, tmp_path: Path) -> None:
    customers, _ = demo_small
    path = tmp_path / "demo.csv"
    customers.head(200).to_csv(path, index=False)
    score_dataset(demo_run, path, tmp_path / "scores")
    columns = set(_scored(tmp_path / "scores").columns)
    assert not {layout.MEDIAN_LIFETIME, layout.EXPECTED_LEAVE_IN, *layout.TIMING_REASONS} & columns
    assert not any(c.startswith(("churn_within_", "expected_lifetime_", "value_lost_")) for c in columns)
