"""insight.segments.similar: nearest customers in the latent space."""

from __future__ import annotations

import numpy as np

from insight.segments.similar import nearest, squared_norms


def test_nearest_excludes_itself_and_is_sorted() -> None:
    rng = np.random.default_rng(0)
    latent = rng.normal(size=(500, 8)).astype(np.float32)
    latent[10:15] = latent[3] + rng.normal(0, 1e-3, (5, 8))  # five near-copies of row 3
    idx, dist = nearest(latent, 3, k=5)
    assert set(idx) == set(range(10, 15))
    assert 3 not in idx and np.all(np.diff(dist) >= 0)
    brute = np.argsort(np.linalg.norm(latent - latent[3], axis=1))[1:6]
    assert set(brute) == set(idx)


def test_the_fast_pass_with_norms_finds_the_same_neighbours() -> None:
    rng = np.random.default_rng(1)
    latent = rng.normal(size=(5_000, 16)).astype(np.float32)
    norms = squared_norms(latent)
    for row in (0, 17, 4_999):
        exact_idx, exact_dist = nearest(latent, row, k=10)
        fast_idx, fast_dist = nearest(latent, row, k=10, norms=norms)
        assert fast_idx.tolist() == exact_idx.tolist()
        np.testing.assert_allclose(fast_dist, exact_dist, rtol=1e-6)


def test_tiny_matrices() -> None:
    latent = np.array([[0.0, 0.0], [1.0, 0.0], [3.0, 0.0]], dtype=np.float32)
    idx, dist = nearest(latent, 0, k=10, norms=squared_norms(latent))
    assert idx.tolist() == [1, 2] and dist.tolist() == [1.0, 3.0]
    assert len(nearest(latent[:1], 0, k=3)[0]) == 0
