"""The customers nearest to one customer in the multi-task latent space."""

from __future__ import annotations

import numpy as np


def nearest(latent: np.ndarray, row: int, k: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """Row indices of the `k` customers closest to `row` (Euclidean, itself excluded) and their distances."""
    diff = latent - latent[row]
    dist = np.sqrt(np.einsum("ij,ij->i", diff, diff))
    dist[row] = np.inf
    k = min(k, len(latent) - 1)
    idx = np.argpartition(dist, k)[:k]
    idx = idx[np.argsort(dist[idx], kind="stable")]
    return idx, dist[idx]
