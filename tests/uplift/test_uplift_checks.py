from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from upliftkit import campaign, frame

from insight.errors import InputError
from insight.uplift.checks import MIN_GROUP, check_treatment, treatment_flags


def test_a_randomised_campaign_passes_with_the_treated_share_as_its_propensity(train_data):
    check = check_treatment(train_data["treatment"], frame(train_data), name="retention_offer")
    share = train_data["treatment"].mean()
    assert check.randomised and np.allclose(check.propensity, share)
    assert check.treated + check.control == len(train_data["treatment"])
    assert 0.4 < check.auc < 0.6  # the features tell nothing about a random offer
    assert check.to_dict()["treated"] == int(train_data["treatment"].sum())


def test_a_treatment_that_is_not_0_1_is_refused_naming_the_values_seen():
    t = pd.Series([0, 1, 2, 1, np.nan, 0] * 100)
    with pytest.raises(InputError) as e:
        treatment_flags(t, name="retention_offer")
    message = str(e.value)
    assert "retention_offer" in message and "2.0" in message and "missing" in message and "200 rows" in message
    with pytest.raises(InputError, match="'yes'"):
        treatment_flags(pd.Series(["yes", "no"] * 300))
    assert treatment_flags(pd.Series([True, False])).tolist() == [1, 0]
    assert treatment_flags(np.array([1.0, 0.0])).dtype == np.int8
    assert treatment_flags(pd.Series(["1", "0"])).tolist() == [1, 0]  # a text column of 0/1 reads as numbers
    with pytest.raises(InputError, match="1 rows hold other values: missing"):
        treatment_flags(pd.Series([True, None, False], dtype="boolean"))


def test_a_small_group_is_refused_with_its_size_and_the_minimum(train_data):
    t = np.zeros(4000, dtype=int)
    t[:150] = 1
    with pytest.raises(InputError) as e:
        check_treatment(t, train_data["X"], name="retention_offer")
    assert "150 treated" in str(e.value) and f"at least {MIN_GROUP}" in str(e.value) and "treated group" in str(e.value)
    with pytest.raises(InputError, match="control group needs at least 50"):
        check_treatment(1 - np.r_[np.zeros(3970), np.ones(30)], train_data["X"], min_group=50)


def test_a_targeted_campaign_is_refused_with_its_auc_unless_a_propensity_is_given():
    rng = np.random.default_rng(3)
    d = campaign(3000, seed=3)
    tenure = d["X"][:, 1]
    e = np.where(tenure < 20, 0.97, 0.03)  # offered to new customers only
    t = (rng.random(3000) < e).astype(int)
    with pytest.raises(InputError) as err:
        check_treatment(t, frame(d), name="retention_offer")
    message = str(err.value)
    auc = float(message.split("AUC ")[1].split(",")[0])
    assert auc >= 0.9 and "--propensity" in message
    given = check_treatment(t, frame(d), propensity=e)
    assert not given.randomised and given.auc is None and np.array_equal(given.propensity, e)


def test_a_propensity_outside_0_1_is_refused(train_data):
    e = np.full(4000, 0.5)
    e[10] = 1.0
    e[11] = np.nan
    with pytest.raises(InputError, match="strictly between 0 and 1; 2 rows do not"):
        check_treatment(train_data["treatment"], train_data["X"], propensity=e, propensity_name="offer_probability")
    with pytest.raises(InputError, match="for example -0.1"):
        check_treatment(train_data["treatment"], train_data["X"], propensity=np.r_[-0.1, np.full(3999, 0.5)])
