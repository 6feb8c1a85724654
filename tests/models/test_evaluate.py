"""insight.models.evaluate: cross-validation of the whole recipe, here with present-state aux targets (--aux with --keep)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from insight.models import baseline, churn, multitask, recipe
from insight.config import ChurnConfig, DataSpec, MultitaskConfig, TrainConfig
from insight.models.evaluate import METRICS, MODELS, cross_validate

CHEAP = TrainConfig(seed=0, threads=1,
                    churn=ChurnConfig(num_leaves_grid=(4,), inner_folds=2, max_rounds=200, search_seconds=5),
                    multitask=replace(MultitaskConfig(), max_epochs=3, hidden=(32, 16), latent_dim=8))


@pytest.mark.slow
@pytest.mark.parametrize("keep", [("tenure", "MonthlyCharges"), ()])
def test_kept_aux_targets_are_churn_features_and_multitask_targets_only(telco_frame: pd.DataFrame,
                                                                          keep: tuple[str, ...],
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    churn_features: list[list[str]] = []
    logistic_features: list[list[str]] = []
    networks: list[tuple[list[str], list[str]]] = []
    fit_churn, fit_net, fit_logistic = churn.fit_churn_model, multitask.fit_multitask, baseline.fit_logistic_baseline

    def spy_churn(*args, **kw):  # noqa: ANN002, ANN003, ANN202
        churn_features.append(list(kw["feature_names"]))
        return fit_churn(*args, **kw)

    def spy_net(X, targets, fmap, **kw):  # noqa: ANN001, ANN003, ANN202
        model = fit_net(X, targets, fmap, **kw)
        inputs = [fmap.names[i] for i in model.prep.numeric + model.prep.categorical]
        networks.append((inputs, [t.name for t in model.tasks]))
        return model

    def spy_logistic(X, y, fmap):  # noqa: ANN001, ANN202
        logistic_features.append(list(fmap.names))
        return fit_logistic(X, y, fmap)

    monkeypatch.setattr(recipe, "fit_churn_model", spy_churn)  # the recipe is where every model is fitted
    monkeypatch.setattr(recipe, "fit_logistic_baseline", spy_logistic)
    monkeypatch.setattr(multitask, "fit_multitask", spy_net)
    sample = telco_frame.sample(600, random_state=0).reset_index(drop=True)
    spec = DataSpec(id_column="customerID", target="Churn", aux_targets=("tenure", "MonthlyCharges"), keep=keep)
    result = cross_validate(sample, spec, CHEAP, folds=2)
    assert set(result["models"]) == set(MODELS)
    for model in MODELS:
        for metric in METRICS:
            assert np.isfinite(result["models"][model][metric]["mean"]), (model, metric)
    assert result["models"]["lightgbm"]["roc_auc"]["mean"] > 0.7
    for model in MODELS:  # two folds of 300: the pooled log loss is the mean of the folds' (it is additive)
        losses = result["models"][model]["log_loss"]
        assert losses["pooled"] == pytest.approx(losses["mean"], rel=1e-9)
        assert np.isfinite(result["models"][model]["ece"]["pooled"])
    assert len(churn_features) == len(logistic_features) == len(networks) == 2  # one fit per fold
    aux = {"tenure", "MonthlyCharges"}
    for features, logistic, (inputs, tasks) in zip(churn_features, logistic_features, networks, strict=True):
        assert features == logistic and "Contract" in features and "Churn" not in features
        assert (aux & set(features)) == set(keep)  # kept: features of both churn models; else left out
        assert "Contract" in inputs and not (aux | {"Churn"}) & set(inputs)  # never a network input
        assert tasks == ["Churn", "tenure", "MonthlyCharges"]
