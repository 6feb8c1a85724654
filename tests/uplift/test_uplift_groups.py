from __future__ import annotations

import numpy as np
import pytest

from insight.uplift.groups import LOST_CAUSE, PERSUADABLE, SLEEPING_DOG, SURE_THING, uplift_groups


def test_the_rule():
    lower = np.array([0.01, -0.20, -0.05, -0.05, 0.00])
    upper = np.array([0.20, -0.01, 0.05, 0.05, 0.10])
    p0 = np.array([0.9, 0.1, 0.2, 0.7, 0.5])
    assert list(uplift_groups(lower, upper, p0)) == [PERSUADABLE, SLEEPING_DOG, SURE_THING, LOST_CAUSE, LOST_CAUSE]
    assert list(uplift_groups(lower, upper, p0, churn_threshold=0.8))[3] == SURE_THING
    with pytest.raises(ValueError, match="lower end"):
        uplift_groups(np.array([0.2]), np.array([0.1]), np.array([0.5]))


def test_the_groups_find_the_simulated_persuadables_and_sleeping_dogs(learners, test_data):
    model = learners["x"]
    lo, hi = model.interval(test_data["X"])
    groups = uplift_groups(lo, hi, model.control_churn(test_data["X"]))
    segment = test_data["X"][:, 0]
    tau = test_data["tau"]
    # segment 0 is persuadable, 1 sleeping dogs, 2 unmoved with low churn, 3 unmoved with high churn
    assert np.mean(tau[groups == PERSUADABLE] > 0) >= 0.8
    assert np.mean(tau[groups == SLEEPING_DOG] < 0) >= 0.8
    assert np.mean(groups[segment == 1] == SLEEPING_DOG) >= 0.5
    assert np.mean(groups[(segment == 0) & (tau > 0.2)] == PERSUADABLE) >= 0.8
    assert np.mean(groups[segment == 2] == SURE_THING) >= 0.7
    assert np.mean(groups[segment == 3] == LOST_CAUSE) >= 0.7
