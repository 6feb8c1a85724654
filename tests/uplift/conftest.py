from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from upliftkit import CATEGORICAL, FEATURES, campaign  # noqa: E402


@pytest.fixture(scope="session")
def train_data():
    return campaign(4000, seed=0)


@pytest.fixture(scope="session")
def test_data():
    return campaign(4000, seed=1)


@pytest.fixture(scope="session")
def train_campaign(train_data):
    from insight.uplift.learners import Campaign

    d = train_data
    return Campaign.of(d["X"], d["treatment"], d["churn"], feature_names=FEATURES, categorical=CATEGORICAL)


@pytest.fixture(scope="session")
def learners(train_campaign):
    """The three learners fitted on the 4,000 training customers, sharing their outcome models."""
    from insight.uplift.boosting import UpliftConfig
    from insight.uplift.learners import LEARNERS, fit_learner, fit_outcomes

    config = UpliftConfig()
    outcomes = fit_outcomes(train_campaign, config=config, seed=0, threads=1)
    return {k: fit_learner(k, train_campaign, config=config, seed=0, threads=1, outcomes=outcomes) for k in LEARNERS}
