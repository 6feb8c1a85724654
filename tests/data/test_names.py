"""insight.data.names: output names refused as input names, and the feature names LightGBM is given."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from insight.config import ChurnConfig, DataSpec
from insight.data.names import check_output_names, model_feature_names
from insight.errors import InputError
from insight.models.churn import fit_churn_model

REFUSED = ['fee "EUR"', "plan{tier}", "seats:[n]", "tickets,\nlast 90d", "a\tb"]


def test_names_lightgbm_accepts_are_kept_and_others_made_safe_and_unique() -> None:
    assert model_feature_names(["tenure", "Städte", "x.1", "a-b"]) == ["tenure", "Städte", "x.1", "a-b"]
    safe = model_feature_names([*REFUSED, "plan_tier_", ""])
    assert safe[:5] == ["fee__EUR_", "plan_tier_", "seats__n_", "tickets__last_90d", "a_b"]
    assert len(set(safe)) == len(safe) and safe[5] != "plan_tier_" and safe[6] == "feature_6"


def test_lightgbm_trains_on_column_names_it_refuses_and_scores_the_same() -> None:
    """Without the mapping LightGBM raises 'Do not support special JSON characters in feature name'."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(600, len(REFUSED)))
    y = (X[:, 0] + 0.5 * X[:, 2] + rng.normal(scale=0.5, size=600) > 0).astype(float)
    config = replace(ChurnConfig(), num_leaves_grid=(4,), inner_folds=2, max_rounds=50)
    odd = fit_churn_model(X, y, feature_names=REFUSED, categorical=[], config=config, seed=0, threads=1)
    plain = fit_churn_model(X, y, feature_names=[f"f{i}" for i in range(len(REFUSED))], categorical=[],
                            config=config, seed=0, threads=1)
    np.testing.assert_array_equal(odd.raw_score(X), plain.raw_score(X))
    assert odd.feature_names == model_feature_names(REFUSED)


def test_only_the_id_may_not_look_like_a_latent_column() -> None:
    check_output_names(["z0", "customer_id"], DataSpec(id_column="customer_id", target="churned"))
    with pytest.raises(InputError, match="column 'z3' has the name of a column the run writes itself"):
        check_output_names(["z3", "churned"], DataSpec(id_column="z3", target="churned"))
