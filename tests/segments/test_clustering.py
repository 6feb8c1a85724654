"""insight.segments.clustering: UMAP projection and target-aware clusters whose number comes from the data."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score

from insight.config import SegmentConfig
from insight.segments.clustering import (
    UNASSIGNED,
    Clustering,
    Projection,
    _absorb_small,
    _order_by_size,
    cluster,
    merge_islands,
    place_by_neighbours,
    project,
    trustworthiness_of,
    within_island_whitening,
)

CONFIG = SegmentConfig(n_neighbors=30, n_epochs=200, fit_sample=1200, trustworthiness_sample=1000)


def blobs(k: int, *, n: int = 1500, dim: int = 16, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """k well-separated Gaussian blobs of unequal sizes in a latent-like space."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 1, (k, dim))
    centres *= 12 / np.linalg.norm(centres, axis=1, keepdims=True)
    sizes = rng.dirichlet(np.full(k, 8.0)) * n
    truth = np.repeat(np.arange(k), np.round(sizes).astype(int))[:n]
    truth = np.concatenate([truth, np.full(n - len(truth), k - 1)])
    rng.shuffle(truth)
    z = centres[truth] + rng.normal(0, 1.0, (n, dim))
    return z.astype(np.float32), truth


@pytest.fixture(scope="module")
def five() -> tuple[np.ndarray, np.ndarray, Projection, Clustering]:
    z, truth = blobs(5, seed=0)
    projection = project(z, config=CONFIG, seed=0)
    churn = planted_churn(truth, [0.05, 0.2, 0.4, 0.6, 0.85])
    return z, truth, projection, cluster(z, projection, config=CONFIG, seed=0, targets={"churned": churn})


@pytest.fixture(scope="module")
def three() -> tuple[np.ndarray, np.ndarray, Projection, Clustering]:
    z, truth = blobs(3, n=1300, seed=1)
    projection = project(z, config=CONFIG, seed=0)
    churn = planted_churn(truth, [0.1, 0.4, 0.8])
    return z, truth, projection, cluster(z, projection, config=CONFIG, seed=0, targets={"churned": churn})


@pytest.mark.slow
def test_projection_shape_and_sample(five: tuple) -> None:
    z, _, projection, _ = five
    assert projection.xy.shape == (len(z), 2) and projection.xy.dtype == np.float32
    assert np.isfinite(projection.xy).all()
    assert len(projection.fit_rows) == CONFIG.fit_sample
    assert np.all(np.diff(projection.fit_rows) > 0)
    info = projection.info
    assert info["fit_rows"] == CONFIG.fit_sample and info["rows"] == len(z)


@pytest.mark.slow
def test_projection_is_trustworthy(five: tuple) -> None:
    z, _, projection, _ = five
    assert projection.info["trustworthiness"] >= 0.9
    # the customers placed by neighbours (not fitted by UMAP) are as trustworthy as the rest
    rest = np.setdiff1d(np.arange(len(z)), projection.fit_rows)
    assert len(rest) == len(z) - CONFIG.fit_sample
    assert trustworthiness_of(z[rest], projection.xy[rest], sample=len(rest), seed=0) >= 0.85


@pytest.mark.slow
def test_clusters_recover_five_planted_blobs(five: tuple) -> None:
    z, truth, projection, clustering = five
    labels = clustering.labels
    assert labels.shape == (len(z),)
    assert clustering.info["n_segments"] == 5
    assert adjusted_rand_score(truth, labels) >= 0.9
    assert clustering.info["unassigned_share"] <= 0.05
    assert (labels == UNASSIGNED).mean() <= 0.05
    # the customers outside the UMAP sample are assigned as well as the fitted ones
    rest = np.setdiff1d(np.arange(len(z)), projection.fit_rows)
    assert adjusted_rand_score(truth[rest], labels[rest]) >= 0.9


@pytest.mark.slow
def test_number_of_segments_comes_from_the_data(three: tuple, five: tuple) -> None:
    z, truth, _, clustering = three
    assert clustering.info["n_segments"] == 3
    assert adjusted_rand_score(truth, clustering.labels) >= 0.9
    assert clustering.info["unassigned_share"] <= 0.05
    assert five[3].info["n_segments"] != clustering.info["n_segments"]


@pytest.mark.slow
def test_segments_are_numbered_by_size(five: tuple) -> None:
    labels = five[3].labels
    ids, counts = np.unique(labels[labels != UNASSIGNED], return_counts=True)
    assert ids.tolist() == list(range(len(ids)))
    assert np.all(np.diff(counts) <= 0)


@pytest.mark.slow
def test_projection_separates_blobs(five: tuple) -> None:
    _, truth, projection, _ = five
    xy = projection.xy
    centres = np.array([xy[truth == k].mean(axis=0) for k in range(5)])
    spread = max(np.linalg.norm(xy[truth == k] - centres[k], axis=1).mean() for k in range(5))
    gaps = [np.linalg.norm(centres[a] - centres[b]) for a in range(5) for b in range(a + 1, 5)]
    assert min(gaps) > 2 * spread


@pytest.mark.slow
def test_place_by_neighbours_puts_a_fitted_point_on_itself(five: tuple) -> None:
    z, _, projection, _ = five
    rows = projection.fit_rows
    placed = place_by_neighbours(z[rows], projection.xy[rows], z[rows[:50]])
    span = np.ptp(projection.xy, axis=0).max()
    assert np.abs(placed - projection.xy[rows[:50]]).max() < 1e-3 * span


def test_place_by_neighbours_interpolates() -> None:
    fitted = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])
    xy = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]], dtype=np.float32)
    out = place_by_neighbours(fitted, xy, np.array([[0.1, 0.0], [5.0, 0.0]]), k=2)
    assert out.shape == (2, 2) and out.dtype == np.float32
    assert np.linalg.norm(out[0]) < 0.05  # next to the first point
    np.testing.assert_allclose(out[1], [0.5, 0.0], atol=1e-4)  # halfway between two


def test_trustworthiness_of() -> None:
    rng = np.random.default_rng(0)
    plane = rng.normal(size=(600, 2))
    z = np.hstack([plane, np.zeros((600, 6))])
    assert trustworthiness_of(z, plane, sample=600, seed=0) == pytest.approx(1.0)
    assert trustworthiness_of(rng.normal(size=(600, 8)), plane, sample=600, seed=0) < 0.7


def test_order_by_size() -> None:
    labels = np.array([3, 3, 7, 7, 7, -1, 1, 3, 7])
    assert _order_by_size(labels).tolist() == [1, 1, 0, 0, 0, -1, 2, 1, 0]


def test_absorb_small_joins_the_nearest_segment() -> None:
    z = np.array([[0.0], [0.1], [0.2], [10.0], [10.1], [10.2], [9.0]] * 10)
    labels = np.array([0, 0, 0, 1, 1, 1, 2] * 10)
    out = _absorb_small(z, labels, min_share=0.2)
    assert set(out) == {0, 1} and np.all(out[labels == 2] == 1)
    assert np.array_equal(_absorb_small(z, labels, min_share=0.01), labels)


def crossed_islands(k: int, *, n: int = 3000, dim: int = 8,
                    seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """k planted segments, each split into two islands by a detail shared by every segment (think monthly vs
    annual billing): a wide latent direction in which the two halves sit further apart than the segments
    do."""
    rng = np.random.default_rng(seed)
    segment, side = rng.integers(0, k, n), rng.integers(0, 2, n)
    centres = np.zeros((k, dim))
    centres[np.arange(k), 1 + np.arange(k)] = 6.0  # segments ~8.5 apart in dims 1..k
    z = centres[segment] + rng.normal(0, 1, (n, dim))
    z[:, 0] = rng.normal(0, 4, n) + np.where(side == 1, 8.0, -8.0)  # the shared detail: 16 apart, spread 4
    return z, segment, segment * 2 + side


def planted_churn(segment: np.ndarray, rates: list[float], seed: int = 0) -> np.ndarray:
    return (np.random.default_rng(seed).random(len(segment)) < np.asarray(rates)[segment]).astype(float)


def merge(z: np.ndarray, islands: np.ndarray, targets: dict[str, np.ndarray] | None) -> tuple[np.ndarray, dict]:
    ids = np.unique(islands[islands != UNASSIGNED])
    return merge_islands(z, islands, ids, targets)


@pytest.mark.parametrize("k", [3, 4])
def test_merge_islands_sees_through_a_detail_shared_by_every_segment(k: int) -> None:
    # The two halves of every segment lie further apart (in plain distances) than the segments; they churn
    # alike, the segments do not: the halves join, the segments stay apart.
    for seed in range(3):
        z, segment, islands = crossed_islands(k, seed=seed)
        churn = planted_churn(segment, [0.05, 0.25, 0.6, 0.85][:k], seed=seed)
        labels, report = merge(z, islands, {"churned": churn})
        assert len(np.unique(labels)) == k, report
        assert adjusted_rand_score(segment, labels) == pytest.approx(1.0)


def overlapping_pair(shift: float, *, n: int = 4000, dim: int = 8, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Two groups `shift` within-group standard deviations apart along one latent direction."""
    rng = np.random.default_rng(seed)
    group = rng.integers(0, 2, n)
    z = rng.normal(0, 1, (n, dim))
    z[:, 0] += shift * group
    return z, group


def test_groups_that_look_alike_but_churn_differently_stay_apart() -> None:
    z, group = overlapping_pair(7.0)  # 2.5 island radii (sqrt(8) whitened units) apart
    apart, report = merge(z, group, {"churned": planted_churn(group, [0.10, 0.45])})
    assert len(np.unique(apart)) == 2 and "churned" in report["kept_apart"][0]["because"]
    joined, _ = merge(z, group, {"churned": planted_churn(group, [0.30, 0.31])})
    assert len(np.unique(joined)) == 1


def test_pieces_of_one_segment_join_even_when_a_trigger_moves_their_churn() -> None:
    z, group = overlapping_pair(3.0)  # 1.06 radii: closer than ALIKE_RADII
    labels, _ = merge(z, group, {"churned": planted_churn(group, [0.10, 0.45])})
    assert len(np.unique(labels)) == 1


def test_a_value_difference_keeps_groups_apart_and_a_small_one_does_not() -> None:
    z, group = overlapping_pair(7.0, seed=1)
    rng = np.random.default_rng(2)
    revenue = np.exp(rng.normal(5 + 1.5 * group, 0.6))  # skewed: compared on the log scale
    churn = planted_churn(group, [0.2, 0.2])
    apart, report = merge(z, group, {"churned": churn, "revenue": revenue})
    assert len(np.unique(apart)) == 2 and "revenue" in report["kept_apart"][0]["because"]
    alike = np.exp(rng.normal(5 + 0.05 * group, 0.6))
    assert len(np.unique(merge(z, group, {"churned": churn, "revenue": alike})[0])) == 1


def test_far_apart_groups_stay_apart_even_when_they_churn_alike() -> None:
    z, group = overlapping_pair(40.0, seed=3)
    labels, _ = merge(z, group, {"churned": planted_churn(group, [0.3, 0.3])})
    assert len(np.unique(labels)) == 2


def test_unknown_outcomes_do_not_count() -> None:
    z, group = overlapping_pair(7.0, seed=4)
    churn = planted_churn(group, [0.10, 0.45])
    churn[group == 1] = np.nan  # the second group's outcomes are all held out: nothing tells them apart
    labels, _ = merge(z, group, {"churned": churn})
    assert len(np.unique(labels)) == 1


def test_merge_islands_keeps_unassigned() -> None:
    z, segment, islands = crossed_islands(3, seed=5)
    islands = islands.copy()
    islands[:40] = UNASSIGNED
    labels, report = merge(z, islands, {"churned": planted_churn(segment, [0.05, 0.3, 0.7])})
    assert np.all(labels[:40] == UNASSIGNED) and np.all(labels[40:] != UNASSIGNED)
    assert report["segments"] == 3


def test_within_island_whitening_gives_unit_spread_and_survives_a_dead_unit() -> None:
    rng = np.random.default_rng(0)
    z = rng.normal(0, 1, (4000, 4)) * np.array([5.0, 1.0, 0.2, 0.0])  # the last unit is dead
    position = rng.integers(0, 3, len(z))
    centres = np.array([z[position == i].mean(axis=0) for i in range(3)])
    whiten = within_island_whitening(z, position, centres)
    assert np.isfinite(whiten).all()
    spread = ((z - centres[position]) @ whiten)[:, :].std(axis=0)
    assert np.sum(np.abs(spread - 1) < 0.05) == 3  # the three live units come out with unit spread
