"""The customers nearest to one customer in the multi-task latent space."""

from __future__ import annotations

import numpy as np

MARGIN = 32
"""Extra candidates the fast pass keeps, so rounding in it cannot push a true neighbour out."""


def squared_norms(latent: np.ndarray) -> np.ndarray:
    """Each row's squared length, computed once per latent matrix for `nearest`."""
    return np.einsum("ij,ij->i", latent, latent, dtype=np.float64).astype(latent.dtype)


def nearest(latent: np.ndarray, row: int, k: int = 10, *,
            norms: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Row indices of the `k` customers closest to `row` (Euclidean, itself excluded) and their distances.

    With `norms` (from `squared_norms`) a fast pass ranks every row by |x|² - 2 x·q (one matrix-vector
    product instead of a difference matrix), and exact distances are computed for the best k + MARGIN."""
    k = min(k, len(latent) - 1)
    if k <= 0:
        return np.empty(0, dtype=np.int64), np.empty(0)
    query = latent[row]
    if norms is None or len(latent) <= k + MARGIN + 1:
        candidates = np.arange(len(latent))
    else:
        score = norms - 2.0 * (latent @ query)
        score[row] = np.inf
        candidates = np.argpartition(score, k + MARGIN)[:k + MARGIN]
    diff = latent[candidates].astype(np.float64) - query
    dist = np.sqrt(np.einsum("ij,ij->i", diff, diff))
    dist[candidates == row] = np.inf
    best = np.argpartition(dist, k - 1)[:k] if k < len(dist) else np.arange(len(dist))
    best = best[np.argsort(dist[best], kind="stable")]
    return candidates[best], dist[best]
