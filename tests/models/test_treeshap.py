"""insight.models.treeshap against LightGBM's own exact TreeSHAP (`pred_contrib=True`), the reference, on every row."""

from __future__ import annotations

import lightgbm as lgb
import numpy as np
import pytest

from insight.models import treeshap
from insight.models.churn import Calibration, ChurnModel
from insight.models.explain import shap_values

TOLERANCE = 1e-6


def mixed_table(rows: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """Numeric columns with missing values and zeros, a categorical column with many levels (and missing), a
    binary column; a target that depends on all of them with interactions."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(rows, 7))
    X[:, 2] = rng.integers(0, 12, rows)  # categorical codes
    X[:, 5] = rng.integers(0, 2, rows)  # binary
    X[:, 6] = np.where(rng.random(rows) < 0.3, 0.0, X[:, 6])  # many exact zeros
    X[rng.random(rows) < 0.1, 0] = np.nan
    X[rng.random(rows) < 0.05, 2] = np.nan
    X[rng.random(rows) < 0.2, 3] = np.nan
    logit = (X[:, 1] * np.nan_to_num(X[:, 0]) + np.isin(X[:, 2], [1, 4, 7]) - np.isnan(X[:, 3])
             + 0.8 * X[:, 5] * X[:, 4] + np.sin(3 * X[:, 6]))
    y = (rng.random(rows) < 1 / (1 + np.exp(-logit))).astype(int)
    return X, y, [2]


def booster(X: np.ndarray, y: np.ndarray, categorical: list[int], **params: object) -> lgb.Booster:
    rounds = int(params.pop("rounds", 40))
    base = {"objective": "binary", "verbosity": -1, "num_threads": 1, "seed": 0, "min_data_in_leaf": 5,
            "learning_rate": 0.1}
    return lgb.train({**base, **params}, lgb.Dataset(X, y, categorical_feature=categorical), num_boost_round=rounds)


def assert_matches_pred_contrib(model: lgb.Booster, X: np.ndarray) -> None:
    compiled = treeshap.compile_model(model)
    phi, base = treeshap.shap_values(compiled, X, threads=2)
    reference = model.predict(X, pred_contrib=True)
    assert np.abs(phi - reference[:, :-1]).max() <= TOLERANCE
    assert np.abs(base - reference[:, -1]).max() <= TOLERANCE
    assert np.allclose(phi.sum(axis=1) + base, model.predict(X, raw_score=True), atol=TOLERANCE)


@pytest.mark.parametrize("leaves", [2, 4, 16, 32, 64])
def test_every_tree_size_matches_pred_contrib(leaves: int) -> None:
    """From stumps to the leaf-wise trees of 64 leaves, whose paths reach 15 and more splits."""
    X, y, cat = mixed_table(3000)
    assert_matches_pred_contrib(booster(X, y, cat, num_leaves=leaves), X)


def test_large_trees_and_paths_too_deep_for_tables() -> None:
    """200 leaves: more than 63 splits per tree, and paths with more than MAX_TABLE_DEPTH distinct features
    (computed directly rather than read from tables)."""
    X, y, cat = mixed_table(4000, seed=1)
    rng = np.random.default_rng(2)
    X = np.column_stack([X, rng.normal(size=(len(X), 10))])  # more features, so long paths use more of them
    model = booster(X, y, cat, num_leaves=200, min_data_in_leaf=2, max_depth=-1, rounds=15)
    compiled = treeshap.compile_model(model)
    assert np.diff(compiled.tree_node_start).max() > 63
    assert compiled.path_depth.max() > treeshap.MAX_TABLE_DEPTH
    assert_matches_pred_contrib(model, X)


def test_missing_value_rules_zero_as_missing_and_no_missing() -> None:
    X, y, cat = mixed_table(2000, seed=3)
    assert_matches_pred_contrib(booster(X, y, cat, num_leaves=16, zero_as_missing=True), X)
    assert_matches_pred_contrib(booster(X, y, cat, num_leaves=16, use_missing=False), X)


def test_rows_unseen_in_training_and_more_rows_than_a_block() -> None:
    """Categories and values the model never saw (new category codes, negative codes, extreme values, rows
    entirely missing) and a table spanning several blocks with a ragged last one."""
    X, y, cat = mixed_table(2000, seed=4)
    model = booster(X, y, cat, num_leaves=16)
    rng = np.random.default_rng(5)
    new = rng.normal(scale=10, size=(treeshap.BLOCK * 2 + 37, X.shape[1]))
    new[:, 2] = rng.integers(-2, 30, len(new))
    new[::7] = np.nan
    assert_matches_pred_contrib(model, new)


def test_regression_boosters_and_a_single_leaf_tree() -> None:
    rng = np.random.default_rng(6)
    X = rng.normal(size=(500, 3))
    y = 2 * X[:, 0] + rng.normal(size=500)
    model = lgb.train({"objective": "regression", "verbosity": -1, "num_leaves": 8, "num_threads": 1},
                      lgb.Dataset(X, y), num_boost_round=20)
    assert_matches_pred_contrib(model, X)
    constant = lgb.train({"objective": "regression", "verbosity": -1, "num_threads": 1, "min_data_in_leaf": 1000},
                         lgb.Dataset(X, y), num_boost_round=3)  # no split possible: single-leaf trees
    assert_matches_pred_contrib(constant, X)


def test_multiclass_models_are_refused() -> None:
    rng = np.random.default_rng(7)
    X = rng.normal(size=(300, 3))
    model = lgb.train({"objective": "multiclass", "num_class": 3, "verbosity": -1, "num_threads": 1},
                      lgb.Dataset(X, rng.integers(0, 3, 300)), num_boost_round=2)
    with pytest.raises(ValueError, match="single-output"):
        treeshap.compile_model(model)


def test_paths_longer_than_a_bit_pattern_are_refused_and_explain_falls_back() -> None:
    builder = treeshap._Builder()
    builder.nodes = [(f, 0.0, False, False, 0, 0, 0) for f in range(treeshap.MAX_PATH_FEATURES + 1)]
    path = [(f, True, 0.5) for f in range(treeshap.MAX_PATH_FEATURES + 1)]
    with pytest.raises(ValueError, match="different features"):
        builder._add_path(1.0, path)
    builder._add_path(1.0, path[:-1])  # one feature fewer fits


def test_explain_uses_either_method_with_the_same_result() -> None:
    X, y, cat = mixed_table(1500, seed=8)
    model = ChurnModel(booster=booster(X, y, cat, num_leaves=8), calibration=Calibration(1.0, 0.0))
    fast, fast_base = shap_values(model, X, method="fast")
    reference, reference_base = shap_values(model, X, method="pred_contrib")
    assert np.abs(fast - reference).max() <= TOLERANCE
    assert np.abs(fast_base - reference_base).max() <= TOLERANCE
    with pytest.raises(ValueError, match="unknown SHAP method"):
        shap_values(model, X, method="kernel")
