"""The four customer groups of uplift modelling, from the uplift estimate's interval and the churn
probability without the offer.

- sleeping dog: the offer makes them more likely to leave, significantly (the interval's upper end < 0);
- persuadable: the offer makes them stay, significantly (the interval's lower end > 0);
- otherwise the interval holds 0 (no effect shown either way): a sure thing when their churn probability
  without the offer is below `churn_threshold` (they stay anyway), a lost cause when at or above it (they
  leave anyway).
"""

from __future__ import annotations

import numpy as np

PERSUADABLE = "persuadable"
SURE_THING = "sure thing"
LOST_CAUSE = "lost cause"
SLEEPING_DOG = "sleeping dog"
GROUPS = (PERSUADABLE, SURE_THING, LOST_CAUSE, SLEEPING_DOG)
CHURN_THRESHOLD = 0.5


def uplift_groups(lower: np.ndarray, upper: np.ndarray, control_churn: np.ndarray, *,
                  churn_threshold: float = CHURN_THRESHOLD) -> np.ndarray:
    """The group of each customer (object array of GROUPS' names)."""
    lo, hi, p0 = (np.asarray(a, dtype=float) for a in (lower, upper, control_churn))
    if not (lo.shape == hi.shape == p0.shape):
        raise ValueError("lower, upper and control_churn need one value per customer")
    if (lo > hi).any():
        raise ValueError("an interval's lower end lies above its upper end")
    out = np.where(p0 >= churn_threshold, LOST_CAUSE, SURE_THING).astype(object)
    out[lo > 0] = PERSUADABLE
    out[hi < 0] = SLEEPING_DOG
    return out
