"""How well segments recover planted ones (demo and benchmark data, where the truth is known)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

KMEANS_BASELINE_ROWS = 200_000


def recovery_report(ids: pd.Series, truth: pd.DataFrame | None, X: np.ndarray, labels: np.ndarray,
                    seed: int) -> dict[str, Any]:
    """With planted segments known (`truth`: the id column and `segment`): the ARI of the segments, and of
    k-means with the true k on the standardised raw features (a baseline that is given the answer)."""
    id_column = str(ids.name)
    if truth is None or "segment" not in truth.columns or id_column not in truth.columns:
        return {}
    from sklearn.cluster import KMeans
    from sklearn.metrics import adjusted_rand_score

    planted = ids.to_frame().merge(truth[[id_column, "segment"]], on=id_column, how="left")["segment"]
    known = planted.notna().to_numpy()
    if known.sum() < 10:
        return {}
    rows = np.flatnonzero(known)
    if len(rows) > KMEANS_BASELINE_ROWS:  # the baseline on a seeded sample: k-means on a million rows is slow
        rows = np.sort(np.random.default_rng(seed).choice(rows, size=KMEANS_BASELINE_ROWS, replace=False))
    Xs = X[rows]
    Xs = np.where(np.isnan(Xs), np.nanmedian(Xs, axis=0), Xs)
    Xs = (Xs - Xs.mean(axis=0)) / np.where(Xs.std(axis=0) > 0, Xs.std(axis=0), 1.0)
    k = max(2, int(planted.nunique()))
    kmeans = KMeans(n_clusters=k, n_init=4, random_state=seed).fit_predict(Xs)
    return {"planted_segments": int(planted.nunique()),
            "ari_vs_planted": round(float(adjusted_rand_score(planted[known], labels[known])), 4),
            "kmeans_raw_ari_vs_planted": round(float(adjusted_rand_score(planted.to_numpy()[rows], kmeans)), 4),
            "kmeans_rows": int(len(rows))}
