"""The churn model's final fit on a Dask cluster with LightGBM's own Dask interface (`lightgbm.dask`).

`DaskChurnFitter` is a churn fitter for `insight.models.recipe.fit_models` (see `ChurnFitter`): the recipe
hands it the sample's encoded training and validation rows, on which the tree-size search and the Platt
calibration run with the local code (`search_tree_size`, `fit_calibration`); the final model is then fitted by
`lightgbm.dask.DaskLGBMClassifier` over every labelled training and validation row of the cluster's
partitions, with the searched tree size and iteration count, the learning rate for that many rows and
otherwise the parameters of `lightgbm_params`. What it returns is an ordinary `ChurnModel` (its booster
re-loaded from text), saved and explained like a local one.

Determinism: the search, the calibration and the data each worker holds are the same for the same seed and
partitions, but the final booster is not bit-for-bit reproducible. `lightgbm.dask` ranks the workers and
orders each worker's partitions from an unordered set of Dask keys, and LightGBM's distributed training
derives each feature's bin boundaries from the rows of the worker that ranks own it and draws its bagging
sample from each worker's rows in order; two fits of the same data therefore differ slightly, about as much as
two local fits with different seeds (tests/models/test_churn_dask.py), with the same held-out quality.

Network: while it trains, each LightGBM worker listens on a free port on every interface (LightGBM's
collective communication has no bind-address setting); the ports close when the fit ends.
"""

from __future__ import annotations

import contextlib
import io
import logging
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from insight.config import ChurnConfig
from insight.data.features import FeatureMap
from insight.models.churn import (
    ChurnModel,
    fit_calibration,
    learning_rate_for,
    lightgbm_params,
    search_tree_size,
)

if TYPE_CHECKING:
    import dask.dataframe as dd
    from distributed import Client

log = logging.getLogger(__name__)

FITTED_WITH = "lightgbm.dask.DaskLGBMClassifier"


@dataclass(frozen=True)
class DaskTrainingRows:
    """The rows the final model is fitted on, as Dask collections on the cluster: the encoded features (one
    float column per feature, named as the feature map names them) and the 0/1 churn label."""

    X: dd.DataFrame
    y: dd.Series
    rows: int
    partitions: int


@dataclass(frozen=True)
class DaskChurnFitter:
    """`fit_models`' churn fitter for data on a Dask cluster (see the module docstring).

    `training_rows(fmap)` encodes the cluster's labelled training and validation rows with the feature map the
    recipe fitted and returns them (persisted on the workers)."""

    client: Client
    training_rows: Callable[[FeatureMap], DaskTrainingRows]

    def __call__(self, X: np.ndarray, y: np.ndarray, *, fmap: FeatureMap, config: ChurnConfig, seed: int,
                 threads: int | None) -> ChurnModel:
        known = ~np.isnan(y)
        X, y = X[known], y[known]
        data = self.training_rows(fmap)
        if data.rows == 0:
            raise ValueError("no labelled training rows on the cluster")
        learning_rate = learning_rate_for(config, data.rows)
        search = search_tree_size(X, y, feature_names=fmap.names, categorical=fmap.categorical_indices,
                                  config=config, seed=seed, threads=threads, learning_rate=learning_rate)
        params = lightgbm_params(config, num_leaves=search.num_leaves, seed=seed, threads=threads,
                                 learning_rate=learning_rate)
        booster, machines = fit_on_cluster(self.client, data, params, iterations=search.iterations,
                                           categorical=fmap.categorical_indices)
        calibration = fit_calibration(search.oof_raw, y[search.oof_rows])
        report = {**search.report, "fitted_with": FITTED_WITH, "fit_rows": data.rows,
                  "fit_partitions": data.partitions, "lightgbm_machines": machines}
        log.info("LightGBM on Dask: %d leaves, %d trees on %d rows in %d partition(s) over %d machine(s)",
                 search.num_leaves, search.iterations, data.rows, data.partitions, machines)
        return ChurnModel(booster=booster, calibration=calibration, search=report)


def fit_on_cluster(client: Client, data: DaskTrainingRows, params: dict[str, Any], *, iterations: int,
                   categorical: list[int]) -> tuple[Any, int]:
    """A booster fitted by `lightgbm.dask` on `data` with `params` for `iterations` rounds (re-loaded from its
    text, as a run stores it) and the number of LightGBM machines (workers holding data) that fitted it."""
    import lightgbm as lgb
    from lightgbm.dask import DaskLGBMClassifier

    params = {k: v for k, v in params.items() if k != "num_threads"}  # each worker uses its own thread count
    # LightGBM sets up its network before it reads `verbosity`, at the log level of the thread it runs in
    client.gather([client.submit(_quiet_lightgbm, workers=[w], allow_other_workers=False, pure=False)
                   for w in client.scheduler_info()["workers"]])
    model = DaskLGBMClassifier(client=client, n_estimators=iterations, **params)
    printed = io.StringIO()
    # lightgbm.dask warns that it overrides the thread count, and prints how it finds ports; the redirection is
    # the process's (fit_models may train the network beside it, which prints nothing)
    with warnings.catch_warnings(), contextlib.redirect_stdout(printed):
        warnings.filterwarnings("ignore", message=r"Parameter \w+ will be ignored")
        model.fit(data.X, data.y, categorical_feature=categorical)
    for line in printed.getvalue().splitlines():
        log.debug("lightgbm.dask: %s", line)
    text = model.booster_.model_to_string()
    return lgb.Booster(model_str=text), _machines(text)


def _quiet_lightgbm() -> None:
    """Set LightGBM's log level of the calling thread to fatal errors only (on a worker: its task thread, where
    `lightgbm.dask` trains; the level is per thread), so that its network set-up prints nothing."""
    import lightgbm as lgb

    lgb.Dataset(np.zeros((2, 1)), label=np.array([0.0, 1.0]), params={"verbosity": -1}).construct()


def _machines(model_text: str) -> int:
    """num_machines from a model's parameter section (1 when it was fitted on one worker)."""
    for line in model_text.splitlines():
        if line.startswith("[num_machines: "):
            return int(line.removeprefix("[num_machines: ").rstrip("]"))
    return 1
