"""Simulated customers with a known exponential time to churn per group, censored at random."""

from __future__ import annotations

import numpy as np
import pandas as pd

RATES = {"short": 1 / 5, "mid": 1 / 12, "long": 1 / 30}
"""Churn rate per unit of time of each group: median lifetime ln 2 / rate."""


def exponential_groups(n: int = 6000, *, seed: int = 0, censor_max: float = 40.0
                       ) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """(frame with `group`, `spend`, `noise`; duration; event), censoring uniform on [0, censor_max]."""
    rng = np.random.default_rng(seed)
    group = rng.choice(list(RATES), size=n)
    rate = np.array([RATES[g] for g in group])
    churn_time = rng.exponential(1 / rate)
    censor = rng.uniform(0, censor_max, size=n)
    duration = np.minimum(churn_time, censor)
    event = churn_time <= censor
    frame = pd.DataFrame({"group": group, "spend": rng.gamma(2.0, 30.0, size=n), "noise": rng.normal(size=n)})
    return frame, duration, event


def true_median(group: str) -> float:
    return float(np.log(2) / RATES[group])
