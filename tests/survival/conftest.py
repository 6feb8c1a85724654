from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from survivalkit import exponential_groups  # noqa: E402


@pytest.fixture(scope="session")
def groups_data():
    return exponential_groups()


@pytest.fixture(scope="session")
def hazard_model(groups_data):
    from insight.survival.hazard import fit_hazard_model

    frame, duration, event = groups_data
    return fit_hazard_model(frame, duration, event, features=["group", "spend", "noise"], seed=0, threads=1)
