"""Target-aware segments: project the multi-task latent space to 2-D, cluster it, profile and name it.

Clustering works in two steps that each do what they are good at:

1. islands: HDBSCAN on the 2-D UMAP map finds tight groups of customers (UMAP keeps local structure);
2. segments: islands are joined nearest first (average linkage of their centres in the latent space, in units
   of the islands' own spread: Mahalanobis distance under the pooled within-island covariance) while they lie
   close and do not differ in what the business cares about (churn, each auxiliary target). A latent direction
   along which customers of one island already vary a lot (a detail that splits every segment alike, such as a
   billing cycle) counts for little; groups that look alike but churn or are worth differently stay apart.
   The number of segments follows; `merge_islands` says why this rule and not a score over k.

Customers HDBSCAN leaves out, and customers outside the fitted sample, take the segment most of their
nearest neighbours in the latent space have; where the neighbours disagree they stay Unassigned (-1).
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from insight.config import SegmentConfig
from insight.models.metrics import skewness

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
    from insight.segments.umap_cache import cached_umap

    umap = cached_umap()
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


def cluster(latent: np.ndarray, projection: Projection, *, config: SegmentConfig, seed: int = 0,
            targets: dict[str, np.ndarray] | None = None) -> Clustering:
    """Segments of the latent space; their number is chosen from the data (see `merge_islands`).

    `targets` maps each business target (churn first, then the auxiliary targets) to one value per customer,
    NaN where unknown; pass NaN for held-out customers, whose outcomes must not shape the segments.
    """
    from sklearn.cluster import HDBSCAN

    del seed  # every step is deterministic given the map
    rows = projection.fit_rows
    z, xy = latent[rows].astype(np.float64), projection.xy[rows]
    min_size = max(15, int(round(config.island_share * len(rows))))
    islands = HDBSCAN(min_cluster_size=min_size, min_samples=10, copy=True).fit_predict(xy)
    island_ids = np.array(sorted(set(islands) - {UNASSIGNED}))
    if len(island_ids) == 0:
        island_ids, islands = np.array([0]), np.zeros(len(rows), dtype=int)
    sample_targets = {name: np.asarray(v, dtype=np.float64)[rows] for name, v in (targets or {}).items()}
    sample_labels, report = merge_islands(z, islands, island_ids, sample_targets)
    sample_labels = _absorb_small(z, sample_labels, config.min_cluster_share)
    labels = np.full(len(latent), UNASSIGNED, dtype=np.int64)
    labels[rows] = sample_labels
    labels = _assign_by_neighbours(latent, labels, rows)
    labels = _order_by_size(labels)
    k = int(labels.max() + 1) if (labels >= 0).any() else 0
    info = {"method": "hdbscan islands on the map, joined nearest first (within-island-whitened latent space) "
                      "while they lie within a few islands' radii and do not differ in any target",
            "islands": int(len(island_ids)), "n_segments": k, "choice": report,
            "unassigned_share": round(float((labels == UNASSIGNED).mean()), 4), "min_island_size": min_size}
    log.info("segments: %d islands -> %d segments, %.1f%% unassigned", len(island_ids), k,
             100 * info["unassigned_share"])
    return Clustering(labels=labels, info=info)


MERGE_RADII = 3.0
"""Islands join only while their centres (average linkage) lie within this many within-island radii of each
other, measured in the whitened latent space, where an island's radius is sqrt(latent dimensions)."""
ALIKE_RADII = 1.25
"""Islands closer than this join whatever their targets: pieces of one segment whose members differ in one trigger
of its churn (a price rise, say) stay one segment, the trigger shows in their reasons."""
DIFFERENCE_Z = 4.0
"""A target difference counts only when its test statistic passes this (two-sided p < 1e-4: a merge sequence
makes about a hundred comparisons, and a segment boundary must not rest on chance)."""
CHURN_LOG_ODDS = 0.4
"""... and when it is material: a binary target's rates differ by at least this in log-odds (odds ratio 1.5),"""
VALUE_SPREAD = 1.0
"""... or a numeric target's means by at least this many of its standard deviations (after a log for a skewed,
non-negative target such as revenue)."""


def merge_islands(z: np.ndarray, islands: np.ndarray, island_ids: np.ndarray,
                  targets: dict[str, np.ndarray] | None = None) -> tuple[np.ndarray, dict[str, Any]]:
    """Join islands into segments; the number of segments follows from two questions asked of every join.

    HDBSCAN's islands on the UMAP map are tight groups, often pieces of one segment (split by a detail such as a
    billing cycle that every segment shares). They are joined nearest first, by average linkage of their
    centres in the latent space whitened by the pooled within-island covariance (`within_island_whitening`,
    where a detail that varies inside islands counts for little), and a join happens only when

    1. the two groups lie close: their linkage distance is at most MERGE_RADII island radii; and
    2. they do not differ in what the business cares about: no target's rate or mean differs between them
       significantly (DIFFERENCE_Z) and materially (CHURN_LOG_ODDS, VALUE_SPREAD). Groups closer than
       ALIKE_RADII join without this question: they are pieces of one segment, split where one of its own
       churn triggers (a price rise) is on or off, and the trigger shows in its members' reasons.

    Joining stops when no allowed pair is left. Why this rather than a score over the number of segments:
    Calinski-Harabasz, silhouette and their kin reward the split with the widest gap, which on customer data is
    often a detail (billing, a product line) or one far-away group, and they chose 2 segments where 6 were
    planted on data the rule was not shaped on. The two questions above need no k: groups close in the latent
    space with the same churn and value are one segment, groups that churn or are worth differently are kept
    apart even when they look alike (target-aware), and far-apart groups stay apart. On the segment benchmark
    suite (`python -m benchmarks segments`) the rule was chosen on a tuning half and confirmed on a second half
    drawn with other seeds and parameters.

    Returns the label of each row of `z` (UNASSIGNED where `islands` is) and a report of the choice.
    """
    n = len(island_ids)
    report: dict[str, Any] = {"rule": "join the nearest islands while close and alike in every target",
                              "merge_radii": MERGE_RADII, "alike_radii": ALIKE_RADII, "difference_z": DIFFERENCE_Z,
                              "churn_log_odds": CHURN_LOG_ODDS, "value_spread": VALUE_SPREAD, "kept_apart": []}
    if n <= 1:
        return islands.copy(), report
    assigned = np.flatnonzero(islands != UNASSIGNED)
    position = np.searchsorted(island_ids, islands[assigned])
    centres = np.array([z[assigned][position == i].mean(axis=0) for i in range(n)])
    whiten = within_island_whitening(z[assigned], position, centres)
    wc = centres @ whiten
    radius = math.sqrt(z.shape[1])
    stats = _island_target_stats(targets or {}, assigned, position, n)

    members = {i: [i] for i in range(n)}
    distance = np.linalg.norm(wc[:, None] - wc[None], axis=2)
    np.fill_diagonal(distance, np.inf)
    apart = np.zeros((n, n), dtype=bool)
    alive = np.ones(n, dtype=bool)
    while alive.sum() > 1:
        allowed = np.where(apart | ~alive[:, None] | ~alive[None, :], np.inf, distance)
        a, b = np.unravel_index(int(np.argmin(allowed)), allowed.shape)
        closest = float(allowed[a, b])
        if not np.isfinite(closest) or closest > MERGE_RADII * radius:
            break
        reason = _target_difference(stats, members[a], members[b]) if closest > ALIKE_RADII * radius else None
        if reason:
            apart[a, b] = apart[b, a] = True
            report["kept_apart"].append({"islands": [len(members[a]), len(members[b])],
                                         "distance_radii": round(closest / radius, 2), "because": reason})
            continue
        size_a, size_b = len(members[a]), len(members[b])
        distance[a] = (size_a * distance[a] + size_b * distance[b]) / (size_a + size_b)  # average linkage
        distance[:, a] = distance[a]
        distance[a, a] = np.inf
        apart[a] |= apart[b]
        apart[:, a] = apart[a]
        members[a] += members.pop(b)
        alive[b] = False
    groups = np.empty(n, dtype=np.int64)
    for g, key in enumerate(sorted(members)):
        groups[members[key]] = g
    while len(members) > MAX_SEGMENTS:  # too many: the closest groups join regardless
        groups = _join_closest(wc, groups)
        members = {g: list(np.flatnonzero(groups == g)) for g in np.unique(groups)}
    labels = np.full(len(islands), UNASSIGNED, dtype=np.int64)
    labels[assigned] = groups[position]
    report["segments"] = int(len(np.unique(groups)))
    report["kept_apart"] = report["kept_apart"][:20]
    log.info("%d islands joined into %d segments (%d joins refused for a target difference)", n,
             report["segments"], int(apart.sum() // 2))
    return labels, report


def _island_target_stats(targets: dict[str, np.ndarray], assigned: np.ndarray, position: np.ndarray,
                         n: int) -> list[tuple[str, bool, np.ndarray]]:
    """Per target: (name, binary?, (n islands, 3) array of known count, sum and sum of squares per island), on
    the values the test uses (a log for skewed non-negative ones, then standardised)."""
    out = []
    for name, values in targets.items():
        v = np.asarray(values, dtype=np.float64)[assigned]
        known = ~np.isnan(v)
        if known.sum() < 2:
            continue
        present = v[known]
        binary = bool(set(np.unique(present)) <= {0.0, 1.0})
        if not binary:
            if present.min() >= 0 and skewness(present) > 1.0:
                v = np.log1p(np.clip(v, 0, None))
                present = v[known]
            spread = float(present.std())
            if spread <= 0:
                continue
            v = (v - float(present.mean())) / spread
        table = np.zeros((n, 3))
        np.add.at(table, (position[known], 0), 1.0)
        np.add.at(table, (position[known], 1), v[known])
        np.add.at(table, (position[known], 2), v[known] ** 2)
        out.append((name, binary, table))
    return out


def _target_difference(stats: list[tuple[str, bool, np.ndarray]], a: list[int], b: list[int]) -> str | None:
    """Why groups `a` and `b` (lists of islands) must stay apart, or None when they are alike in every target."""
    for name, binary, table in stats:
        (na, sa, qa), (nb, sb, qb) = table[a].sum(axis=0), table[b].sum(axis=0)
        if na < 2 or nb < 2:
            continue
        if binary:
            ra, rb = (sa + 0.5) / (na + 1), (sb + 0.5) / (nb + 1)
            pooled = (sa + sb) / (na + nb)
            se = math.sqrt(max(pooled * (1 - pooled), 1e-12) * (1 / na + 1 / nb))
            gap = abs(math.log(ra / (1 - ra)) - math.log(rb / (1 - rb)))
            if abs(sa / na - sb / nb) / se >= DIFFERENCE_Z and gap >= CHURN_LOG_ODDS:
                return f"{name}: {sa / na:.1%} vs {sb / nb:.1%}"
        else:
            ma, mb = sa / na, sb / nb
            va, vb = max(qa / na - ma**2, 0.0), max(qb / nb - mb**2, 0.0)
            se = math.sqrt(va / na + vb / nb) or 1e-12
            if abs(ma - mb) / se >= DIFFERENCE_Z and abs(ma - mb) >= VALUE_SPREAD:
                return f"{name}: {ma:+.2f} vs {mb:+.2f} standard deviations"
    return None


def _join_closest(points: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """Join the two groups (of rows of `points`) whose centres lie closest."""
    ids = np.unique(groups)
    centres = np.array([points[groups == g].mean(axis=0) for g in ids])
    d = np.linalg.norm(centres[:, None] - centres[None], axis=2)
    np.fill_diagonal(d, np.inf)
    a, b = np.unravel_index(int(np.argmin(d)), d.shape)
    out = groups.copy()
    out[out == ids[b]] = ids[a]
    return np.unique(out, return_inverse=True)[1]


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
