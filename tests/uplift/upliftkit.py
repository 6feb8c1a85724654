"""Simulated randomised retention campaigns with a known per-customer uplift (reduction in churn probability)."""

from __future__ import annotations

import numpy as np
import pandas as pd

FEATURES = ["segment", "tenure", "spend", "noise"]
CATEGORICAL = [0]
SEGMENTS = ("persuadable", "sleeping", "steady", "drifting")


def campaign(n: int = 4000, *, seed: int = 0, treated_share: float = 0.5,
             propensity: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """X (segment code, tenure, spend, noise), treatment, churn, the true uplift tau and the control churn p0.

    Segment 0 is persuadable (tau from 0.05 to 0.35, larger for short tenure), segment 1 sleeping dogs
    (tau -0.15), segments 2 and 3 are not moved (tau 0) with low and high churn."""
    rng = np.random.default_rng(seed)
    segment = rng.integers(0, 4, size=n)
    tenure = rng.uniform(0, 60, size=n)
    spend = rng.gamma(2.0, 30.0, size=n)
    noise = rng.normal(size=n)
    base = np.array([-0.2, -0.6, -1.6, 0.9])[segment] - 0.015 * (tenure - 30) + 0.004 * (spend - 60)
    p0 = 1 / (1 + np.exp(-base))
    tau = np.where(segment == 0, 0.05 + 0.30 * (1 - tenure / 60), 0.0)
    tau = np.where(segment == 1, -0.15, tau)
    tau = np.minimum(tau, p0 - 0.01)  # the treated churn probability stays in [0.01, 0.99]
    tau = np.maximum(tau, p0 - 0.99)
    p1 = p0 - tau
    e = np.full(n, treated_share) if propensity is None else np.asarray(propensity, dtype=float)
    t = (rng.random(n) < e).astype(np.int8)
    churn = (rng.random(n) < np.where(t == 1, p1, p0)).astype(float)
    X = np.column_stack([segment.astype(float), tenure, spend, noise])
    return {"X": X, "treatment": t, "churn": churn, "tau": tau, "p0": p0, "propensity": e}


def frame(data: dict[str, np.ndarray]) -> pd.DataFrame:
    X = data["X"]
    return pd.DataFrame({"segment": np.asarray(SEGMENTS)[X[:, 0].astype(int)], "tenure": X[:, 1],
                         "spend": X[:, 2], "noise": X[:, 3]})

