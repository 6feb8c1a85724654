"""insight.models.explain: exact SHAP values, reasons in words, global importance."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from insight.models.churn import Calibration, ChurnModel, fit_churn_model
from insight.config import ChurnConfig
from insight.models.explain import (
    BASE_VALUE,
    effect_words,
    global_importance,
    probability_points,
    reason_frame,
    reason_text,
    shap_frame,
    shap_values,
)
from insight.data.features import OTHER, Feature, FeatureMap, encode
from insight.data.schema import Role


@pytest.fixture(scope="module")
def run_model(demo_run: Path) -> dict[str, object]:
    """The churn model, feature map and model matrix of the session's demo run (no new training)."""
    calibration = Calibration.from_dict(json.loads((demo_run / "calibration.json").read_text()))
    model = ChurnModel.from_text((demo_run / "churn_model.txt").read_text(), calibration)
    fmap = FeatureMap.from_dict(json.loads((demo_run / "features.json").read_text()))
    customers = pd.read_parquet(demo_run / "customers.parquet")
    X = encode(customers, fmap)
    return {"model": model, "fmap": fmap, "X": X, "customers": customers}


@pytest.fixture(scope="module")
def numeric_model() -> tuple[ChurnModel, np.ndarray]:
    """A small model on numbers only (shap's own tree algorithm cannot read categorical splits)."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(3000, 6))
    X[rng.random(X.shape) < 0.1] = np.nan
    v = np.nan_to_num(X)
    logit = 1.5 * v[:, 0] - v[:, 1] ** 2 + 0.8 * v[:, 2] * v[:, 3]
    y = (rng.random(3000) < 1 / (1 + np.exp(-logit))).astype(float)
    config = ChurnConfig(learning_rate=0.1, num_leaves_grid=(8,), inner_folds=3, max_rounds=150,
                         early_stopping_rounds=30)
    model = fit_churn_model(X, y, feature_names=[f"f{i}" for i in range(6)], categorical=[], config=config,
                            seed=0, threads=1)
    return model, X


def test_shap_additivity_on_every_row(run_model: dict) -> None:
    model, X = run_model["model"], run_model["X"]
    values, base = shap_values(model, X, threads=2)
    assert values.shape == X.shape and base.shape == (len(X),)
    assert np.allclose(base, base[0])  # one expected value
    np.testing.assert_allclose(values.sum(axis=1) + base, model.raw_score(X), rtol=0, atol=1e-6)
    # every feature that the model uses gets some credit somewhere
    used = model.booster.feature_importance("split") > 0
    assert np.all(np.abs(values[:, used]).max(axis=0) > 0)
    assert np.all(values[:, ~used] == 0)


def test_shap_matches_the_run_scores(run_model: dict) -> None:
    model, X, customers = run_model["model"], run_model["X"], run_model["customers"]
    np.testing.assert_allclose(model.raw_score(X), customers["churn_score"], rtol=0, atol=1e-9)
    np.testing.assert_allclose(model.probability(X), customers["churn_probability"], rtol=0, atol=1e-9)


def test_shap_in_chunks_equals_one_pass(run_model: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    from insight.models import explain

    model, X = run_model["model"], run_model["X"][:300]
    whole = shap_values(model, X)
    monkeypatch.setattr(explain, "CHUNK_ROWS", 70)
    chunked = shap_values(model, X)
    np.testing.assert_array_equal(whole[0], chunked[0])
    np.testing.assert_array_equal(whole[1], chunked[1])


def test_shap_agrees_with_the_shap_package(run_model: dict) -> None:
    import shap

    model, X = run_model["model"], run_model["X"][:100]
    ours, base = shap_values(model, X)
    explainer = shap.TreeExplainer(model.booster)
    theirs = np.asarray(explainer.shap_values(X))
    theirs = theirs[..., 1] if theirs.ndim == 3 else theirs
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-6)
    assert float(np.ravel(explainer.expected_value)[-1]) == pytest.approx(base[0], abs=1e-6)


def test_shap_agrees_with_shaps_own_tree_algorithm(numeric_model: tuple[ChurnModel, np.ndarray]) -> None:
    """An independent implementation: shap's C TreeSHAP on the parsed trees, not LightGBM's pred_contrib."""
    import shap

    model, X = numeric_model
    sample = X[:200]
    ours, base = shap_values(model, sample)
    explainer = shap.TreeExplainer(model.booster)
    if explainer.model.trees is None:
        pytest.skip("this shap version cannot parse the LightGBM trees")
    explainer.model.model_type = "internal"  # route around the LightGBM shortcut to shap's own algorithm
    theirs = np.asarray(explainer.shap_values(sample))
    theirs = theirs[..., 1] if theirs.ndim == 3 else theirs
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-6)
    np.testing.assert_allclose(ours.sum(axis=1) + base, model.raw_score(sample), atol=1e-6)


def test_probability_points(run_model: dict) -> None:
    model, X = run_model["model"], run_model["X"][:500]
    values, _ = shap_values(model, X)
    raw = model.raw_score(X)
    points = probability_points(raw, values, model.calibration)
    assert points.shape == values.shape
    assert np.all(np.sign(points[values > 1e-9]) == 1)
    assert np.all(np.sign(points[values < -1e-9]) == -1)
    assert np.all(points[values == 0] == 0)
    assert np.all(np.abs(points) <= 100)
    # one contribution at a time (1-D) gives the same numbers
    np.testing.assert_allclose(probability_points(raw, values[:, 0], model.calibration), points[:, 0])
    cal = Calibration(1.0, 0.0)
    assert probability_points(np.array([0.0]), np.array([0.0]), cal)[0] == 0
    assert probability_points(np.array([0.0]), np.array([np.log(3)]), cal)[0] == pytest.approx(25.0)


def test_reason_frame(run_model: dict) -> None:
    model, X, fmap = run_model["model"], run_model["X"][:400], run_model["fmap"]
    values, _ = shap_values(model, X)
    reasons = reason_frame(X, values, model.raw_score(X), fmap, model.calibration)
    assert list(reasons.columns) == ["reason_1", "reason_2", "reason_3", "top_reason"]
    assert len(reasons) == 400
    pattern = re.compile(r"^[A-Z][^:]*: .+ — (raises risk by [\d.]+ points?|lowers risk by [\d.]+ points?|"
                         r"barely changes risk)$")
    for col in ("reason_1", "reason_2", "reason_3"):
        assert reasons[col].map(lambda s: bool(pattern.match(s))).all(), reasons[col].iloc[0]
    top = np.asarray(fmap.names)[np.argmax(np.abs(values), axis=1)]
    assert (reasons["top_reason"].to_numpy() == top).all()
    # the sign in words follows the SHAP value
    j = np.argmax(np.abs(values), axis=1)
    sign = values[np.arange(len(X)), j]
    words = reasons["reason_1"].str.contains("raises").to_numpy()
    assert np.all(words[sign > 0.01]) and not np.any(words[sign < -0.01])
    # the largest reason comes first
    def pts(s: str) -> float:
        m = re.search(r"by ([\d.]+) point", s)
        return float(m.group(1)) if m else 0.0
    assert all(pts(a) >= pts(b) - 1 for a, b in zip(reasons["reason_1"], reasons["reason_2"], strict=True))


def test_reason_text_format() -> None:
    tickets = Feature("support_tickets_90d", Role.NUMERIC, median=1.0)
    assert reason_text(tickets, 6.0, 9.2) == "Support tickets 90d: 6 (typical 1) — raises risk by 9 points"
    assert reason_text(tickets, 1.0, -1.2) == "Support tickets 90d: 1 — lowers risk by 1.2 points"
    assert reason_text(tickets, float("nan"), 3.0) == "Support tickets 90d: missing — raises risk by 3 points"
    plan = Feature("plan", Role.CATEGORICAL, categories=("Pro", "Personal", OTHER), mode="Pro")
    assert reason_text(plan, 1.0, -4.0) == "Plan: Personal (typical Pro) — lowers risk by 4 points"
    flag = Feature("auto_renew", Role.BOOLEAN, median=1.0)
    assert reason_text(flag, 0.0, 12.4) == "Auto renew: no (typical yes) — raises risk by 12 points"
    date = Feature("signup_date", Role.DATE, reference_date="2026-06-30", median=400.0)
    assert reason_text(date, 30.0, 2.0).startswith("Signup date: 2026-05-31 (typical 2025-05-26) — raises")


def test_effect_words() -> None:
    assert effect_words(1.0) == "raises risk by 1.0 points"
    assert effect_words(1.6) == "raises risk by 2 points"
    assert effect_words(-0.4) == "lowers risk by 0.4 points"
    assert effect_words(0.01) == "barely changes risk"
    assert effect_words(-11.0) == "lowers risk by 11 points"
    assert effect_words(0.0) == "barely changes risk"


def test_shap_frame_and_global_importance() -> None:
    values = np.array([[0.5, -1.0], [-0.5, 0.2]])
    frame = shap_frame(pd.Series(["a", "b"], name="customer_id"), values, np.array([-1.0, -1.0]), ["x", "y"])
    assert list(frame.columns) == ["customer_id", "x", "y", BASE_VALUE]
    assert frame["customer_id"].tolist() == ["a", "b"] and frame[BASE_VALUE].tolist() == [-1.0, -1.0]
    imp = global_importance(values, ["x", "y"])
    assert imp["feature"].tolist() == ["y", "x"]
    assert imp["mean_abs_shap"].tolist() == pytest.approx([0.6, 0.5])


def test_strongest_interaction_finds_the_planted_partner() -> None:
    from insight.models.explain import strongest_interaction

    rng = np.random.default_rng(1)
    n = 2000
    values = pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n), "c": rng.choice(["x", "y"], n)})
    # a's effect flips sign with c: the spread of a's SHAP at equal a is explained by c, not b
    sign = np.where(values["c"] == "x", 1.0, -1.0)
    shap = pd.DataFrame({"a": values["a"] * sign * 0.5, "b": values["b"] * 0.1, "c": sign * 0.05})
    assert strongest_interaction("a", shap, values) == "c"
