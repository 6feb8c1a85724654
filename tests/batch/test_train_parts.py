"""insight.batch.train_parts: a partition cleaned, split and scored on a worker as training treats its own table."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from insight.batch.train_parts import MapReference, ShippedModels, TablePlan, split_labels
from insight.config import ChurnConfig, MultitaskConfig, TrainConfig
from insight.data.demo import demo_data, demo_spec
from insight.data.schema import clean_table
from insight.errors import InputError
from insight.models.recipe import fit_models, score_matrix, split_rows


@pytest.fixture(scope="module")
def raw() -> pd.DataFrame:
    return demo_data(rows=1200, seed=3).customers


def plan_of(raw: pd.DataFrame) -> TablePlan:
    table = clean_table(raw, demo_spec())
    return TablePlan(spec=demo_spec(), schema=table.schema, target_values=("no", "yes"), seed=0, test_size=0.2,
                     valid_size=0.15)


def test_a_partition_is_cleaned_as_clean_table_cleans_the_whole_table(raw: pd.DataFrame) -> None:
    plan, whole = plan_of(raw), clean_table(raw, demo_spec()).frame
    for rows in np.array_split(np.arange(len(raw)), 3):
        part = plan.clean(raw.iloc[rows])  # a partition keeps its own row labels; the clean frame does not
        pd.testing.assert_frame_equal(part, whole.iloc[rows].reset_index(drop=True))


def test_splits_follow_the_customer_not_the_partition() -> None:
    ids = pd.Series([f"C{i:07d}" for i in range(20_000)])
    y = np.where(np.arange(20_000) % 7 == 0, np.nan, 1.0)
    whole = split_labels(ids, y, seed=0, test_size=0.2, valid_size=0.15)
    halves = np.concatenate([split_labels(ids.iloc[:7000], y[:7000], seed=0, test_size=0.2, valid_size=0.15),
                             split_labels(ids.iloc[7000:], y[7000:], seed=0, test_size=0.2, valid_size=0.15)])
    assert (whole == halves).all()
    labelled = whole[~np.isnan(y)]
    assert (whole[np.isnan(y)] == "unlabelled").all()
    assert abs((labelled == "test").mean() - 0.2) < 0.01 and abs((labelled == "valid").mean() - 0.15) < 0.01
    assert not (split_labels(ids, y, seed=1, test_size=0.2, valid_size=0.15) == whole).all()


def test_a_target_value_the_sample_did_not_have_is_an_input_error(raw: pd.DataFrame) -> None:
    plan = plan_of(raw)
    assert plan.target(pd.Series(["Yes", " no", None, ""])).tolist()[:2] == [1.0, 0.0]
    with pytest.raises(InputError, match="target 'churned' has the value 'maybe' besides"):
        plan.target(pd.Series(["yes", "maybe"]))
    with pytest.raises(InputError, match="must be binary"):
        plan.target(pd.Series([0, 1, 2]))


def test_shipped_models_score_exactly_as_the_fitted_ones(raw: pd.DataFrame) -> None:
    config = TrainConfig(seed=0, threads=1, churn=ChurnConfig(num_leaves_grid=(8,), inner_folds=2, max_rounds=200),
                         multitask=MultitaskConfig(max_epochs=3))
    table = clean_table(raw, demo_spec())
    fit = fit_models(table, demo_spec(), config,
                     splits=split_rows(table.frame["churned"].to_numpy(dtype=np.float64), config))
    shipped = ShippedModels.of(fit.models, "test-token")
    before = score_matrix(fit.models, fit.X, explain=True, latent=True, heads=True, threads=1)
    after = score_matrix(shipped.load(), fit.X, explain=True, latent=True, heads=True, threads=1)
    assert shipped.load() is shipped.load()  # rebuilt once per process
    for name in ("probability", "logistic_probability", "latent", "shap_values"):
        assert np.array_equal(getattr(before, name), getattr(after, name)), name


def test_fitted_customers_keep_their_place_and_the_others_join_their_neighbours() -> None:
    rng = np.random.default_rng(0)
    latent = np.vstack([rng.normal(0, 0.1, (40, 2)), rng.normal(5, 0.1, (40, 2))]).astype(np.float32)
    reference = MapReference(ids=np.array([f"F{i}" for i in range(80)], dtype=object), latent=latent,
                             xy=latent * 2, labels=np.repeat([0, 1], 40))
    ids = pd.Series(["F3", "new-a", "F50", "new-b"])
    xy, labels = reference.place(ids, np.array([latent[3], [0.05, 0.0], latent[50], [5.0, 5.1]], dtype=np.float32))
    assert labels.tolist() == [0, 0, 1, 1]
    assert np.array_equal(xy[[0, 2]], reference.xy[[3, 50]])
    assert np.linalg.norm(xy[3] - [10.0, 10.2]) < 1.0
