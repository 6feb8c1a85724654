from __future__ import annotations

import numpy as np
import pytest

from insight.uplift.model import UpliftModel


def test_json_round_trip_predicts_the_same(learners, test_data):
    X = test_data["X"][:500]
    for kind, model in learners.items():
        back = UpliftModel.from_json(model.to_json())
        assert back.kind == kind and back.feature_names == model.feature_names and back.report == model.report
        assert np.array_equal(back.predict(X), model.predict(X))
        assert np.array_equal(back.interval(X)[1], model.interval(X)[1])
        assert np.array_equal(back.control_churn(X), model.control_churn(X))
    with pytest.raises(ValueError, match="not an uplift model"):
        UpliftModel.from_json('{"format": "something else"}')


def test_shap_of_the_uplift_is_exact_and_additive(learners, test_data):
    X = test_data["X"][:800]
    for kind in ("x", "dr"):
        model = learners[kind]
        values, base = model.shap(X)
        assert values.shape == X.shape
        assert np.abs(base + values.sum(axis=1) - model.predict(X)).max() < 1e-9
        importance = np.abs(values).mean(axis=0)  # segment and tenure move the effect; noise does not
        assert importance.argmax() == 0 and importance[0] > 3 * importance[3], (kind, importance)
        assert importance[1] > importance[3], (kind, importance)
    with pytest.raises(ValueError, match="no exact tree SHAP"):
        learners["t"].shap(X)
    assert not learners["t"].explainable and learners["dr"].explainable


def test_the_compiled_treeshap_gives_the_same_values_on_a_large_table(learners, test_data):
    from insight.models.explain import FAST_TREESHAP_ROWS

    X = np.tile(test_data["X"], (FAST_TREESHAP_ROWS // len(test_data["X"]) + 1, 1))[:FAST_TREESHAP_ROWS]
    model = learners["dr"]
    fast, base = model.shap(X)
    small, small_base = model.shap(X[:300])
    assert np.abs(fast[:300] - small).max() < 1e-9 and np.abs(base[:300] - small_base).max() < 1e-9
    assert np.abs(base + fast.sum(axis=1) - model.predict(X)).max() < 1e-9


def test_the_control_churn_probability_follows_the_truth(learners, test_data):
    p = learners["t"].control_churn(test_data["X"])
    assert np.corrcoef(p, test_data["p0"])[0, 1] > 0.85


def test_a_matrix_of_the_wrong_width_is_refused(learners, test_data):
    with pytest.raises(ValueError, match="4 feature columns"):
        learners["x"].predict(test_data["X"][:, :3])
    with pytest.raises(ValueError, match="between 0 and 1"):
        learners["x"].interval(test_data["X"][:5], level=1.5)
