"""Which customers the dashboard's map draws: every customer up to `MAP_POINTS`, beyond that a fixed random
sample of `MAP_SAMPLE` over a density layer of all of them.

A run of more than `MAP_POINTS` customers stores that sample as `map.parquet` (the same columns as
customers.parquet), so the dashboard reads 100,000 rows instead of drawing a sample out of millions. The
same sample stands in for the population where a page needs a typical value or a percentile quickly.
"""

from __future__ import annotations

import numpy as np

MAP_POINTS = 200_000
"""Up to this many customers the map draws every one of them."""
MAP_SAMPLE = 100_000
"""Beyond MAP_POINTS the map draws a fixed random sample of this many."""
"""A large run stores that sample as `insight.runs.layout.MAP` and its SHAP values as `layout.MAP_SHAP`."""


def map_sample_rows(n: int, *, seed: int = 0) -> np.ndarray | None:
    """The rows (sorted) of a table of `n` customers that the map draws, or None when it draws all of them."""
    if n <= MAP_POINTS:
        return None
    return np.sort(np.random.default_rng(seed).choice(n, size=MAP_SAMPLE, replace=False))
