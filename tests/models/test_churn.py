"""insight.models.churn: the LightGBM churn model of record, its calibration, and its text form."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from scipy import stats
from sklearn.metrics import roc_auc_score

from insight.models.churn import Calibration, ChurnModel, fit_calibration, fit_churn_model, lightgbm_params
from insight.config import ChurnConfig, TrainConfig
from insight.data.demo import demo_data, demo_spec
from insight.data.features import encode, fit_feature_map
from insight.models.metrics import expected_calibration_error
from insight.models.recipe import split_rows
from insight.data.schema import clean_table

CONFIG = replace(ChurnConfig(), learning_rate=0.08, num_leaves_grid=(4, 16), inner_folds=3, max_rounds=600,
                 early_stopping_rounds=50)


@pytest.fixture(scope="module")
def fitted() -> dict[str, object]:
    data = demo_data(rows=4000, seed=1)
    spec = demo_spec()
    table = clean_table(data.customers, spec)
    y = table.frame[spec.target].to_numpy(dtype=np.float64)
    splits = split_rows(y, TrainConfig(seed=0))
    fit_rows = np.concatenate([splits.train, splits.valid])
    fmap = fit_feature_map(table.frame, table.schema, fit_rows=fit_rows)
    X = encode(table.frame, fmap)
    y_fit = y[fit_rows].copy()
    y_fit[::25] = np.nan  # unlabelled customers are ignored
    # threads=1: small data gains little from threads, and OpenMP threads stall on a busy 2-core machine
    model = fit_churn_model(X[fit_rows], y_fit, feature_names=fmap.names, categorical=fmap.categorical_indices,
                            config=CONFIG, seed=0, threads=1)
    return {"model": model, "X": X, "y": y, "splits": splits, "fmap": fmap,
            "truth": data.truth["churn_probability"].to_numpy()}


@pytest.mark.slow
def test_beats_the_auc_floor_on_held_out_customers(fitted: dict) -> None:
    model, X, y, test = fitted["model"], fitted["X"], fitted["y"], fitted["splits"].test
    auc = roc_auc_score(y[test], model.probability(X[test]))
    assert auc > 0.75
    # and it ranks customers much like the planted churn probabilities do
    assert stats.spearmanr(model.probability(X), fitted["truth"]).statistic > 0.6


@pytest.mark.slow
def test_calibrated_on_held_out_customers(fitted: dict) -> None:
    model, X, y, test = fitted["model"], fitted["X"], fitted["y"], fitted["splits"].test
    p = model.probability(X[test])
    assert expected_calibration_error(y[test], p) < 0.08
    assert abs(p.mean() - y[test].mean()) < 0.05


@pytest.mark.slow
def test_calibration_is_monotone(fitted: dict) -> None:
    model, X = fitted["model"], fitted["X"]
    assert model.calibration.slope > 0
    raw = model.raw_score(X)
    p = model.probability(X)
    order = np.argsort(raw, kind="stable")
    assert np.all(np.diff(p[order]) >= 0)
    assert stats.spearmanr(raw, p).statistic == pytest.approx(1.0)
    np.testing.assert_allclose(p, model.calibration(raw))


@pytest.mark.slow
def test_model_of_record_uses_the_right_features(fitted: dict) -> None:
    model, fmap = fitted["model"], fitted["fmap"]
    assert model.feature_names == fmap.names
    assert 1 <= model.booster.num_trees() < CONFIG.max_rounds  # early stopping chose the size
    importance = dict(zip(model.feature_names, model.booster.feature_importance("gain"), strict=True))
    top = sorted(importance, key=importance.get, reverse=True)[:8]
    # planted drivers: inactivity, billing, support trouble, prices
    planted = {"last_login_days_ago", "logins_30d", "billing_cycle", "auto_renew", "support_tickets_90d",
               "csat_score", "price_increase_notice", "discount_pct", "plan", "tenure_months", "signup_date",
               "active_days_90d", "payment_failures_12m", "monthly_fee", "seats"}
    assert len(set(top) & planted) >= 4


@pytest.mark.slow
def test_tree_size_search_report(fitted: dict) -> None:
    search = fitted["model"].search
    tried = search["candidates"]
    grid = list(CONFIG.num_leaves_grid)
    assert [c["num_leaves"] for c in tried] == grid  # the middle of a two-size grid is its first size
    best = min(tried, key=lambda c: c["oof_log_loss"])
    assert search["chosen_num_leaves"] == best["num_leaves"]
    assert search["iterations"] == fitted["model"].booster.num_trees() == best["iterations"]
    assert all(0 < c["oof_log_loss"] < np.log(2) for c in tried)  # better than a coin
    assert search["inner_folds"] == 3 and search["search_rows"] > 2000


@pytest.mark.slow
def test_text_round_trip_gives_identical_predictions(fitted: dict) -> None:
    model, X = fitted["model"], fitted["X"]
    text = model.to_text()
    assert isinstance(text, str) and text.startswith("tree")
    again = ChurnModel.from_text(text, Calibration.from_dict(model.calibration.to_dict()))
    np.testing.assert_array_equal(again.raw_score(X), model.raw_score(X))
    np.testing.assert_array_equal(again.probability(X), model.probability(X))
    assert again.feature_names == model.feature_names


def test_calibration_is_platt_scaling() -> None:
    rng = np.random.default_rng(0)
    raw = rng.normal(0, 2, 20_000)
    true = Calibration(slope=0.7, intercept=-1.2)
    y = (rng.random(raw.size) < true(raw)).astype(float)
    fitted = fit_calibration(raw, y)
    assert fitted.slope == pytest.approx(0.7, abs=0.05)
    assert fitted.intercept == pytest.approx(-1.2, abs=0.05)
    assert Calibration.from_dict(fitted.to_dict()) == fitted
    assert fitted.to_dict()["method"] == "platt"


def test_useless_score_keeps_the_identity_calibration() -> None:
    raw = np.linspace(-2, 2, 200)
    y = (raw < 0).astype(float)  # a score that is backwards
    assert fit_calibration(raw, y) == Calibration(slope=1.0, intercept=0.0)


def test_calibration_maps_into_unit_interval() -> None:
    cal = Calibration(slope=1.3, intercept=0.2)
    p = cal(np.array([-50.0, -1.0, 0.0, 1.0, 50.0]))
    assert np.all((p >= 0) & (p <= 1)) and np.all(np.diff(p) > 0)


def test_lightgbm_params() -> None:
    params = lightgbm_params(ChurnConfig(), num_leaves=8, seed=3, threads=2)
    assert params["objective"] == "binary" and params["seed"] == 3 and params["num_threads"] == 2
    assert params["num_leaves"] == 8
    assert params["deterministic"] is True


def test_learning_rate_grows_only_for_large_tables() -> None:
    from insight.models.churn import learning_rate_for

    config = ChurnConfig()
    assert learning_rate_for(config, 7_043) == config.learning_rate  # Telco, the demo: unchanged
    assert learning_rate_for(config, config.large_data_rows) == config.learning_rate
    assert learning_rate_for(config, 4 * config.large_data_rows) == pytest.approx(2 * config.learning_rate)
    assert learning_rate_for(config, 100 * config.large_data_rows) == config.max_learning_rate
    params = lightgbm_params(config, num_leaves=8, seed=0, threads=1, learning_rate=0.07)
    assert params["learning_rate"] == 0.07


@pytest.mark.slow
def test_the_search_walks_from_the_middle_to_the_best_size_with_fewer_fits() -> None:
    """Against every size cross-validated on the same folds: the walk ends on the best size of a U-shaped
    curve (at a local optimum of any curve), tries fewer sizes than the grid has, and the folds fitted side
    by side give the sequential result exactly."""
    from insight.models.churn import _cross_validate, search_tree_size
    from sklearn.model_selection import StratifiedKFold

    data = demo_data(rows=2500, seed=3)
    table = clean_table(data.customers, demo_spec())
    fmap = fit_feature_map(table.frame, table.schema)
    X = encode(table.frame, fmap)
    y = table.frame[demo_spec().target].to_numpy(dtype=np.float64)
    config = replace(CONFIG, num_leaves_grid=(2, 4, 8, 16, 32, 64), learning_rate=0.1, max_rounds=400,
                     early_stopping_rounds=30)
    kwargs = {"feature_names": fmap.names, "categorical": fmap.categorical_indices, "config": config, "seed": 0}
    side_by_side = search_tree_size(X, y, threads=2, **kwargs)
    one_by_one = search_tree_size(X, y, threads=1, **kwargs)
    assert side_by_side.report["candidates"] == one_by_one.report["candidates"]
    assert np.array_equal(side_by_side.oof_raw, one_by_one.oof_raw)

    folds = list(StratifiedKFold(config.inner_folds, shuffle=True, random_state=0).split(X, y))
    every = {n: _cross_validate(X, y, folds, feature_names=fmap.names, categorical=fmap.categorical_indices,
                                params=lightgbm_params(config, num_leaves=n, seed=0, threads=1), config=config,
                                workers=1)[0] for n in config.num_leaves_grid}
    tried = {c["num_leaves"]: c["oof_log_loss"] for c in side_by_side.report["candidates"]}
    assert all(abs(tried[n] - round(every[n], 5)) < 1e-9 for n in tried)
    assert len(tried) < len(every)
    chosen = side_by_side.num_leaves
    grid = sorted(every)
    at = grid.index(chosen)
    for neighbour in grid[max(0, at - 1):at + 2]:  # a local optimum, its neighbours tried
        assert neighbour in tried and every[neighbour] >= every[chosen] - 1e-6
    losses = [every[n] for n in grid]
    low = int(np.argmin(losses))
    if all(np.diff(losses[:low + 1]) <= 0) and all(np.diff(losses[low:]) >= 0):  # U-shaped
        assert chosen == grid[low]
