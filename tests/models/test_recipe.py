"""insight.models.recipe: one recipe fits every model, one path scores any rows (a saved run's rows again
exactly as training scored them)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from insight.config import DataSpec, TrainConfig
from insight.data.schema import clean_table
from insight.errors import InputError
from insight.models.recipe import Models, explanation_frame, fit_models, score, score_matrix, split_rows
from insight.runs.models import load_models
from insight.runs.run import open_run


@pytest.fixture(scope="module")
def saved(demo_run: Path) -> Models:
    return load_models(open_run(demo_run), multitask=True)


def test_rescoring_the_stored_rows_reproduces_the_run(saved: Models, demo_run: Path) -> None:
    customers = pd.read_parquet(demo_run / "customers.parquet").head(300)
    scores = score(saved, customers, explain=True, latent=True, heads=True)
    scored = explanation_frame(saved, scores)
    np.testing.assert_allclose(scored["churn_probability"], customers["churn_probability"], atol=1e-9)
    assert (scored["reason_1"] == customers["reason_1"]).all()
    shap_sum = scored.filter(like="shap_").sum(axis=1) + scored["base_value"]
    np.testing.assert_allclose(shap_sum, scored["churn_score"], atol=1e-6)
    np.testing.assert_allclose(scores.heads["churned"], customers["mt_churn_probability"], atol=1e-6)
    latent = pd.read_parquet(demo_run / "latent.parquet").set_index("customer_id").loc[customers["customer_id"]]
    np.testing.assert_allclose(scores.latent, latent.to_numpy(), atol=1e-5)


def test_raw_text_input_is_cleaned(saved: Models, demo_small: tuple) -> None:
    raw = demo_small[0].head(50)  # the CSV form: fee as text, Yes/No flags, dates as strings
    probs = score(saved, raw).probability
    assert probs.shape == (50,) and np.all((probs > 0) & (probs < 1))


def test_missing_feature_columns_are_an_input_error(saved: Models, demo_small: tuple) -> None:
    with pytest.raises(InputError, match="lacks .* feature column"):
        score(saved, demo_small[0].drop(columns=["plan", "seats"]).head(5))


def test_a_saved_run_without_its_network_scores_churn_only(demo_run: Path, demo_small: tuple) -> None:
    churn_only = load_models(open_run(demo_run))
    assert churn_only.multitask is None
    with pytest.raises(ValueError, match="no multi-task network"):
        score(churn_only, demo_small[0].head(3), latent=True)


@pytest.mark.slow
def test_fit_models_fits_every_model_on_its_rows_only(demo_small: tuple, train_config: TrainConfig) -> None:
    """The recipe: the encoding from the training rows, churn and baseline from training + validation rows;
    the test rows never reach a model, so changing their labels changes nothing."""
    customers, _ = demo_small
    spec = DataSpec(id_column="customer_id", target="churned", aux_targets=("revenue_next_12m",))
    config = train_config
    table = clean_table(customers, spec)
    splits = split_rows(table.frame["churned"].to_numpy(dtype=float), config)
    fit = fit_models(table, spec, config, splits=splits)
    flipped = table.frame.copy()
    flipped.loc[splits.test, "churned"] = 1 - flipped.loc[splits.test, "churned"]
    refit = fit_models(dataclasses.replace(table, frame=flipped), spec, config, splits=splits)
    a, b = score_matrix(fit.models, fit.X, heads=True), score_matrix(refit.models, refit.X, heads=True)
    np.testing.assert_array_equal(a.probability, b.probability)
    np.testing.assert_array_equal(a.logistic_probability, b.logistic_probability)
    np.testing.assert_allclose(a.heads["churned"], b.heads["churned"], atol=1e-6)
    assert fit.models.multitask is not None and fit.models.logistic is not None
    from sklearn.metrics import roc_auc_score

    y = table.frame["churned"].to_numpy()
    assert roc_auc_score(y[splits.test], a.probability[splits.test]) > 0.7


@pytest.mark.slow
def test_the_models_fitted_side_by_side_equal_those_fitted_one_after_the_other(
        demo_small: tuple, train_config: TrainConfig) -> None:
    """With two threads the churn model and the network train concurrently (and the search's folds side by
    side); with one, one after the other. Every fit is deterministic on its own, so both give the same models,
    and the progress reports of both model stages arrive."""
    customers, _ = demo_small
    spec = DataSpec(id_column="customer_id", target="churned", aux_targets=("revenue_next_12m",))
    table = clean_table(customers, spec)
    splits = split_rows(table.frame["churned"].to_numpy(dtype=float), train_config)
    import threading

    reports: list[tuple[str, float]] = []
    threads: set[str] = set()

    def progress(stage: str, fraction: float) -> None:
        reports.append((stage, fraction))
        threads.add(threading.current_thread().name)

    side_by_side = fit_models(table, spec, dataclasses.replace(train_config, threads=2), splits=splits,
                              progress=progress)
    one_by_one = fit_models(table, spec, dataclasses.replace(train_config, threads=1), splits=splits)
    assert side_by_side.models.churn.to_text() == one_by_one.models.churn.to_text()
    a, b = side_by_side.models.multitask, one_by_one.models.multitask
    assert a is not None and b is not None
    for name, weights in a.net.state_dict().items():
        assert torch_equal(weights, b.net.state_dict()[name]), name
    for stage in ("fitting the churn model", "training the multi-task network"):
        assert (stage, 0.0) in reports and (stage, 1.0) in reports
        assert side_by_side.seconds[stage] > 0
    assert threads == {threading.current_thread().name}  # a page's progress bar may only be drawn from here


def torch_equal(a: object, b: object) -> bool:
    import torch

    return bool(torch.equal(a, b))  # type: ignore[arg-type]


def test_a_split_by_customer_keeps_each_customers_rows_in_one_split() -> None:
    """Snapshots: a customer has a row per month; with groups every customer's rows land in one split, the
    shares stay near the configured ones and each split keeps about the overall churn rate."""
    rng = np.random.default_rng(7)
    customers = np.repeat(np.arange(2_000), rng.integers(1, 7, 2_000))  # 1 to 6 months each
    churn_of = rng.random(2_000) < 0.2
    y = churn_of[customers].astype(float)
    y[rng.random(len(y)) < 0.05] = np.nan  # some months unlabelled
    config = TrainConfig(seed=3)
    splits = split_rows(y, config, groups=customers)
    owners = [set(customers[rows]) for rows in (splits.train, splits.valid, splits.test)]
    assert not (owners[0] & owners[1]) and not (owners[0] & owners[2]) and not (owners[1] & owners[2])
    labelled = np.flatnonzero(~np.isnan(y))
    assert sorted(np.concatenate([splits.train, splits.valid, splits.test])) == sorted(labelled)
    assert len(splits.test) / len(labelled) == pytest.approx(config.test_size, abs=0.03)
    assert len(splits.valid) / len(labelled) == pytest.approx(config.valid_size, abs=0.03)
    for rows in (splits.train, splits.valid, splits.test):
        assert y[rows].mean() == pytest.approx(np.nanmean(y), abs=0.03)
    ungrouped = split_rows(y, config)  # the plain split shares customers between its test and its training
    assert set(customers[ungrouped.test]) & set(customers[ungrouped.fit])


def test_a_split_by_customer_needs_enough_customers() -> None:
    y = np.array([0.0, 1.0] * 4)
    with pytest.raises(InputError, match="Too few customers"):
        split_rows(y, TrainConfig(seed=0), groups=np.array([0, 0, 0, 0, 1, 1, 1, 1]))
