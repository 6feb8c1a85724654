"""Target-aware segments: project the multi-task latent space to 2-D, cluster it, profile and name it.

Clustering works in two steps that each do what they are good at:

1. islands: HDBSCAN on the 2-D UMAP map finds tight groups of customers (UMAP keeps local structure);
2. segments: the islands' centres in the latent space are joined by average linkage, and the cut with the
   best Calinski-Harabasz score decides how many segments there are. Both measure the latent space in units
   of the islands' own spread (Mahalanobis distance under the pooled within-island covariance): a latent
   direction along which customers of one island already vary a lot (a detail that splits every segment the
   same way, such as a billing cycle) counts for little, a direction that islands differ in but customers
   within an island do not counts for much. Islands that differ in one detail merge; groups that differ in
   what matters stay apart.

Customers HDBSCAN leaves out, and customers outside the fitted sample, take the segment most of their
nearest neighbours in the latent space have; where the neighbours disagree they stay Unassigned (-1).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from insight.config import SegmentConfig

log = logging.getLogger(__name__)

UNASSIGNED = -1
UNASSIGNED_NAME = "Unassigned"
MAX_SEGMENTS = 12
NEIGHBOURS = 15
MIN_AGREEMENT = 0.5


@dataclass(frozen=True)
class Projection:
    xy: np.ndarray
    """(n, 2) float32 map coordinates."""
    fit_rows: np.ndarray
    """Rows UMAP was fitted on (the rest were mapped with its transform)."""
    info: dict[str, Any]


def project(latent: np.ndarray, *, config: SegmentConfig, seed: int = 0) -> Projection:
    """UMAP of the latent space into 2-D, fitted on a sample; the other customers are placed by their
    nearest fitted neighbours in the latent space (see `place_by_neighbours`)."""
    import umap

    n = len(latent)
    fit_rows = fit_sample_rows(n, sample=config.fit_sample, seed=seed)
    started = time.perf_counter()
    neighbours = min(config.n_neighbors, len(fit_rows) - 1)
    sample = latent[fit_rows]
    # Exact neighbours from scikit-learn instead of UMAP's approximate search: on samples this size they are
    # as fast, exact, and spare pynndescent's numba compilation (about a minute in every fresh process).
    from sklearn.neighbors import NearestNeighbors

    dist, idx = NearestNeighbors(n_neighbors=neighbours).fit(sample).kneighbors(sample)
    reducer = umap.UMAP(n_neighbors=neighbours, min_dist=config.min_dist, n_components=2,
                        n_epochs=config.n_epochs, random_state=seed, n_jobs=1, precomputed_knn=(idx, dist, None))
    xy = np.empty((n, 2), dtype=np.float32)
    xy[fit_rows] = reducer.fit_transform(sample)
    fitted_seconds = time.perf_counter() - started
    rest = np.setdiff1d(np.arange(n), fit_rows, assume_unique=True)
    if len(rest):
        xy[rest] = place_by_neighbours(latent[fit_rows], xy[fit_rows], latent[rest])
    seconds = time.perf_counter() - started
    info = {"method": "umap on a sample, the rest placed by nearest neighbours in the latent space",
            "n_neighbors": neighbours, "min_dist": config.min_dist, "fit_rows": int(len(fit_rows)),
            "rows": int(n), "fit_seconds": round(fitted_seconds, 2), "seconds": round(seconds, 2),
            "trustworthiness": trustworthiness_of(latent, xy, sample=config.trustworthiness_sample, seed=seed)}
    log.info("UMAP: %d rows (%d fitted) in %.1f s, trustworthiness %.3f", n, len(fit_rows), seconds,
             info["trustworthiness"])
    return Projection(xy=xy, fit_rows=fit_rows, info=info)


def fit_sample_rows(n: int, *, sample: int, seed: int) -> np.ndarray:
    """The rows (sorted) UMAP is fitted on among `n` customers; the same rows for the same n, sample and seed,
    so a saved run's fitted sample can be found again when new customers are placed on its map."""
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(n, size=min(n, sample), replace=False))


def place_by_neighbours(fitted_latent: np.ndarray, fitted_xy: np.ndarray, latent: np.ndarray, *,
                        k: int = 10) -> np.ndarray:
    """Map positions of new points: the inverse-distance weighted mean position of their k nearest fitted
    neighbours in the latent space (a non-parametric mapping that reproduces the fitted UMAP)."""
    from sklearn.neighbors import NearestNeighbors

    k = min(k, len(fitted_latent))
    index = NearestNeighbors(n_neighbors=k).fit(fitted_latent)
    out = np.empty((len(latent), 2), dtype=np.float32)
    for start in range(0, len(latent), 50_000):
        chunk = latent[start:start + 50_000]
        dist, idx = index.kneighbors(chunk)
        weights = 1.0 / (dist + 1e-6)
        weights /= weights.sum(axis=1, keepdims=True)
        out[start:start + len(chunk)] = np.einsum("nk,nkd->nd", weights, fitted_xy[idx])
    return out


def trustworthiness_of(latent: np.ndarray, xy: np.ndarray, *, sample: int, seed: int) -> float:
    """scikit-learn's trustworthiness (n_neighbors=10) of the map on a random sample of customers."""
    from sklearn.manifold import trustworthiness

    rng = np.random.default_rng(seed + 1)
    rows = rng.choice(len(latent), size=min(sample, len(latent)), replace=False)
    return round(float(trustworthiness(latent[rows], xy[rows], n_neighbors=10)), 4)


@dataclass(frozen=True)
class Clustering:
    labels: np.ndarray
    """Segment id per customer, 0 = largest segment, -1 = Unassigned."""
    info: dict[str, Any]


def cluster(latent: np.ndarray, projection: Projection, *, config: SegmentConfig, seed: int = 0) -> Clustering:
    """Segments of the latent space; their number is chosen from the data."""
    from sklearn.cluster import HDBSCAN

    rows = projection.fit_rows
    z, xy = latent[rows].astype(np.float64), projection.xy[rows]
    min_size = max(15, int(round(config.island_share * len(rows))))
    islands = HDBSCAN(min_cluster_size=min_size, min_samples=10, copy=True).fit_predict(xy)
    island_ids = np.array(sorted(set(islands) - {UNASSIGNED}))
    if len(island_ids) == 0:
        island_ids, islands = np.array([0]), np.zeros(len(rows), dtype=int)
    centres = np.array([z[islands == i].mean(axis=0) for i in island_ids])
    merged, scores = merge_islands(z, islands, island_ids, centres, seed=seed)
    sample_labels = merged
    sample_labels = _absorb_small(z, sample_labels, config.min_cluster_share)
    labels = np.full(len(latent), UNASSIGNED, dtype=np.int64)
    labels[rows] = sample_labels
    labels = _assign_by_neighbours(latent, labels, rows)
    labels = _order_by_size(labels)
    k = int(labels.max() + 1) if (labels >= 0).any() else 0
    info = {"method": "hdbscan islands on the map, merged in the within-island-whitened latent space; "
                      "the number of segments by calinski-harabasz",
            "islands": int(len(island_ids)), "n_segments": k, "score_by_k": scores,
            "unassigned_share": round(float((labels == UNASSIGNED).mean()), 4), "min_island_size": min_size}
    log.info("segments: %d islands -> %d segments, %.1f%% unassigned", len(island_ids), k,
             100 * info["unassigned_share"])
    return Clustering(labels=labels, info=info)


def merge_islands(z: np.ndarray, islands: np.ndarray, island_ids: np.ndarray, centres: np.ndarray, *,
                  seed: int) -> tuple[np.ndarray, dict[str, float]]:
    """Join islands by average linkage of their centres and keep the cut with the best Calinski-Harabasz
    score, both in the latent space whitened by the pooled within-island covariance
    (`within_island_whitening`).

    Why not the plain latent space and the silhouette: on a large run the latent space spends much of its
    spread on details that split every segment alike (monthly vs annual billing, say); in plain distances
    those sub-islands sit as far apart as real segments, and the silhouette then prefers merging two close
    segments over keeping them apart. Whitening by the within-island spread discounts those details, and the
    Calinski-Harabasz score uses every customer of the sample (no probe to be dominated by a few large
    islands, no sampling noise) at linear cost. `seed` is kept for the signature; the choice is deterministic.
    """
    from scipy.cluster.hierarchy import fcluster, linkage
    from sklearn.metrics import calinski_harabasz_score

    del seed
    if len(island_ids) <= 2:
        return islands.copy(), {}
    assigned = np.flatnonzero(islands != UNASSIGNED)
    position = np.searchsorted(island_ids, islands[assigned])
    whiten = within_island_whitening(z[assigned], position, centres)
    tree = linkage(centres @ whiten, method="average")
    zw = z[assigned] @ whiten
    best_k, best_score, best_labels, scores = 0, -np.inf, islands, {}
    for k in range(2, min(MAX_SEGMENTS, len(island_ids)) + 1):
        groups = fcluster(tree, k, criterion="maxclust") - 1
        if len(np.unique(groups)) < 2:
            continue
        score = float(calinski_harabasz_score(zw, groups[position]))
        scores[str(k)] = round(score, 2)
        if score > best_score * (1 + 1e-9):
            labels = np.full(len(islands), UNASSIGNED, dtype=np.int64)
            labels[assigned] = groups[position]
            best_k, best_score, best_labels = k, score, labels
    log.info("islands merged into %d segments (calinski-harabasz %.1f)", best_k, best_score)
    return best_labels, scores


def within_island_whitening(z: np.ndarray, position: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """The (d, d) matrix W such that Euclidean distances of `z @ W` are Mahalanobis distances under the pooled
    covariance of the customers around their own island's centre (`position` indexes `centres`). Directions in
    which islands hardly vary inside are floored at 1e-4 of the largest variance, so a dead latent unit does
    not blow up."""
    residual = z - centres[position]
    dof = max(1, len(z) - len(centres))
    covariance = residual.T @ residual / dof
    values, vectors = np.linalg.eigh(covariance)
    values = np.maximum(values, 1e-4 * max(float(values.max()), 1e-12))
    return vectors / np.sqrt(values)


def _absorb_small(z: np.ndarray, labels: np.ndarray, min_share: float) -> np.ndarray:
    """Segments smaller than `min_share` of the customers join the segment with the nearest centre."""
    labels = labels.copy()
    while True:
        ids, counts = np.unique(labels[labels != UNASSIGNED], return_counts=True)
        small = ids[counts < min_share * len(labels)]
        if len(ids) <= 1 or len(small) == 0:
            return labels
        victim = small[np.argmin(counts[np.isin(ids, small)])]
        centres = {i: z[labels == i].mean(axis=0) for i in ids}
        others = [i for i in ids if i != victim]
        nearest = min(others, key=lambda i: float(np.linalg.norm(centres[i] - centres[victim])))
        labels[labels == victim] = nearest


def _assign_by_neighbours(latent: np.ndarray, labels: np.ndarray, fitted: np.ndarray) -> np.ndarray:
    """Label every customer without a segment by a vote of its nearest labelled neighbours."""
    known = fitted[labels[fitted] != UNASSIGNED]
    todo = np.flatnonzero(labels == UNASSIGNED)
    if len(known) < NEIGHBOURS or len(todo) == 0:
        return labels
    out = labels.copy()
    out[todo] = vote_by_neighbours(latent[known], labels[known], latent[todo])
    return out


def vote_by_neighbours(known_latent: np.ndarray, known_labels: np.ndarray, latent: np.ndarray) -> np.ndarray:
    """The segment of each row of `latent` by a vote of its NEIGHBOURS nearest labelled customers; rows whose
    neighbours disagree (no segment above MIN_AGREEMENT) stay UNASSIGNED. Used for customers outside the
    fitted sample, in training and when a saved run scores new customers."""
    from sklearn.neighbors import KNeighborsClassifier

    out = np.full(len(latent), UNASSIGNED, dtype=np.int64)
    if len(known_latent) < NEIGHBOURS or len(latent) == 0:
        return out
    knn = KNeighborsClassifier(n_neighbors=NEIGHBOURS).fit(known_latent, known_labels)
    for start in range(0, len(latent), 50_000):
        chunk = latent[start:start + 50_000]
        proba = knn.predict_proba(chunk)
        best = proba.argmax(axis=1)
        confident = proba[np.arange(len(chunk)), best] > MIN_AGREEMENT
        out[start:start + len(chunk)] = np.where(confident, knn.classes_[best], UNASSIGNED)
    return out


def _order_by_size(labels: np.ndarray) -> np.ndarray:
    """Renumber segments 0..k-1 from the largest down (ties by old id), keeping -1."""
    ids, counts = np.unique(labels[labels != UNASSIGNED], return_counts=True)
    order = ids[np.lexsort((ids, -counts))]
    out = np.full(len(labels), UNASSIGNED, dtype=np.int64)
    for new, old in enumerate(order):
        out[labels == old] = new
    return out
