"""insight.models.churn_dask: the churn model's final fit by lightgbm.dask on a 2-worker LocalCluster, beside the
local fit of the same rows."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from insight.config import ChurnConfig, TrainConfig
from insight.data.demo import demo_data, demo_spec
from insight.data.features import encode, fit_feature_map
from insight.data.schema import clean_table
from insight.models.churn import fit_churn_model, lightgbm_params
from insight.models.churn_dask import FITTED_WITH, DaskChurnFitter, DaskTrainingRows, fit_on_cluster
from insight.models.recipe import split_rows

pytestmark = pytest.mark.slow

CONFIG = replace(ChurnConfig(), learning_rate=0.08, num_leaves_grid=(4, 16), inner_folds=3, max_rounds=600,
                 early_stopping_rounds=50)


@pytest.fixture(scope="module")
def data() -> dict[str, object]:
    """3,000 demo customers encoded; the training and validation rows as 4 partitions on the cluster."""
    table = clean_table(demo_data(rows=3000, seed=0).customers, demo_spec())
    y = table.frame[demo_spec().target].to_numpy(dtype=np.float64)
    splits = split_rows(y, TrainConfig(seed=0))
    fmap = fit_feature_map(table.frame, table.schema, fit_rows=splits.train)
    return {"X": encode(table.frame, fmap), "y": y, "splits": splits, "fmap": fmap}


def rows_on(client: object, X: np.ndarray, y: np.ndarray, names: list[str]) -> DaskTrainingRows:
    import dask.dataframe as dd

    frame = pd.DataFrame(X, columns=names)
    frame["label"] = y
    parts = client.persist(dd.from_pandas(frame, npartitions=4))  # type: ignore[attr-defined]
    return DaskTrainingRows(X=parts[names], y=parts["label"], rows=len(frame), partitions=4)


def test_the_final_model_is_fitted_by_lightgbm_dask_as_well_as_locally(data: dict, dask_scheduler: str) -> None:
    from distributed import Client

    X, y, splits, fmap = data["X"], data["y"], data["splits"], data["fmap"]
    fit, test = splits.fit, splits.test
    with Client(dask_scheduler) as client:
        fitter = DaskChurnFitter(client, training_rows=lambda f: rows_on(client, X[fit], y[fit], f.names))
        model = fitter(X[fit], y[fit], fmap=fmap, config=CONFIG, seed=0, threads=1)
    local = fit_churn_model(X[fit], y[fit], feature_names=fmap.names, categorical=fmap.categorical_indices,
                            config=CONFIG, seed=0, threads=1)
    text = model.to_text()
    assert "[tree_learner: data]" in text and "[num_machines: 2]" in text  # trained by 2 LightGBM machines
    assert model.search["fitted_with"] == FITTED_WITH and model.search["lightgbm_machines"] == 2
    assert model.search["fit_rows"] == len(fit) and model.search["fit_partitions"] == 4
    # the same search and calibration as the local fit; the trees from the cluster
    assert model.search["chosen_num_leaves"] == local.search["chosen_num_leaves"]
    assert model.booster.num_trees() == local.booster.num_trees() == model.search["iterations"]
    assert model.calibration == local.calibration
    auc_dask = roc_auc_score(y[test], model.probability(X[test]))
    auc_local = roc_auc_score(y[test], local.probability(X[test]))
    assert auc_dask > 0.75 and abs(auc_dask - auc_local) < 0.02


def test_two_fits_of_the_same_partitions_agree_closely(data: dict, dask_scheduler: str) -> None:
    """Not bit for bit (the module docstring says why): as many trees, and scores about as close as two local
    fits with different seeds (whose raw scores correlate at 0.973 here; two Dask fits at about 0.98)."""
    from distributed import Client

    X, y, splits, fmap = data["X"], data["y"], data["splits"], data["fmap"]
    fit, test = splits.fit, splits.test
    params = lightgbm_params(CONFIG, num_leaves=16, seed=0, threads=1, learning_rate=0.08)
    with Client(dask_scheduler) as client:
        rows = rows_on(client, X[fit], y[fit], fmap.names)
        first, machines = fit_on_cluster(client, rows, params, iterations=120, categorical=fmap.categorical_indices)
        second, _ = fit_on_cluster(client, rows, params, iterations=120, categorical=fmap.categorical_indices)
    assert machines == 2 and first.num_trees() == second.num_trees() == 120
    a, b = first.predict(X[test], raw_score=True), second.predict(X[test], raw_score=True)
    assert np.corrcoef(a, b)[0, 1] > 0.97
    assert abs(roc_auc_score(y[test], a) - roc_auc_score(y[test], b)) < 0.01
