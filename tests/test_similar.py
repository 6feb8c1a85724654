"""insight.similar: nearest customers in the latent space."""

from __future__ import annotations

import numpy as np

from insight.similar import nearest


def test_nearest_excludes_itself_and_is_sorted() -> None:
    rng = np.random.default_rng(0)
    latent = rng.normal(size=(500, 8)).astype(np.float32)
    latent[10:15] = latent[3] + rng.normal(0, 1e-3, (5, 8))  # five near-copies of row 3
    idx, dist = nearest(latent, 3, k=5)
    assert set(idx) == set(range(10, 15))
    assert 3 not in idx and np.all(np.diff(dist) >= 0)
    brute = np.argsort(np.linalg.norm(latent - latent[3], axis=1))[1:6]
    assert set(brute) == set(idx)
