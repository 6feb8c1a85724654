"""insight.models.scoring: a saved run's churn model re-scores rows exactly as training scored them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from insight.errors import InputError
from insight.runs.run import open_run
from insight.models.scoring import SavedChurnModel


@pytest.fixture(scope="module")
def saved(demo_run: Path) -> SavedChurnModel:
    return SavedChurnModel.from_run(open_run(demo_run))


def test_rescoring_the_stored_rows_reproduces_the_run(saved: SavedChurnModel, demo_run: Path) -> None:
    customers = pd.read_parquet(demo_run / "customers.parquet").head(300)
    scored = saved.explain(customers)
    np.testing.assert_allclose(scored["churn_probability"], customers["churn_probability"], atol=1e-9)
    assert (scored["reason_1"] == customers["reason_1"]).all()
    shap_sum = scored.filter(like="shap_").sum(axis=1) + scored["base_value"]
    np.testing.assert_allclose(shap_sum, scored["churn_score"], atol=1e-6)


def test_raw_text_input_is_coerced(saved: SavedChurnModel, demo_small: tuple) -> None:
    raw = demo_small[0].head(50)  # the CSV form: fee as text, Yes/No flags, dates as strings
    probs = saved.probability(raw)
    assert probs.shape == (50,) and np.all((probs > 0) & (probs < 1))


def test_missing_feature_columns_are_an_input_error(saved: SavedChurnModel, demo_small: tuple) -> None:
    with pytest.raises(InputError, match="lacks .* feature column"):
        saved.probability(demo_small[0].drop(columns=["plan", "seats"]).head(5))
