"""Cached access to runs: the verified run and its store are shared resources (one per run version), small
query results are cached data, keyed by the run's fingerprint so that a changed run is verified again."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import streamlit as st

from insight.errors import RunError
from insight.segments.latent import LatentIndex
from insight.runs.store import RiskFilter
from insight.ui.context import ActiveRun, open_active_run, run_fingerprint

if TYPE_CHECKING:
    import plotly.graph_objects as go

    from insight.models.scoring import SavedChurnModel


@st.cache_resource(max_entries=8, show_spinner="Checking the run's files…")
def _open(path: str, fingerprint: str) -> ActiveRun:
    """Verified once per run version; a failed check raises and is not cached, so it is retried."""
    del fingerprint  # part of the cache key only
    return open_active_run(Path(path))


def load_run(path: Path) -> ActiveRun:
    """The verified run at `path` (RunError when it is missing, damaged or was modified)."""
    path = Path(path)
    if not path.is_dir():
        raise RunError(f"run {path.name} no longer exists in {path.parent}.")
    return _open(str(path.resolve()), run_fingerprint(path))


@st.cache_data(max_entries=64, show_spinner=False)
def segment_summary(key: str, _active: ActiveRun) -> pd.DataFrame:
    """Per-segment counts, churn and revenue (small: one row per segment)."""
    del key
    return _active.store.segment_summary()


@st.cache_data(max_entries=64, show_spinner=False)
def band_summary(key: str, _active: ActiveRun) -> pd.DataFrame:
    del key
    return _active.store.band_summary()


@st.cache_data(max_entries=64, show_spinner=False)
def risk_histogram(key: str, _active: ActiveRun) -> pd.DataFrame:
    del key
    return _active.store.risk_histogram()


@st.cache_data(max_entries=64, show_spinner=False)
def totals(key: str, _active: ActiveRun) -> dict:
    del key
    return _active.store.totals()


@st.cache_data(max_entries=64, show_spinner=False)
def test_rows(key: str, _active: ActiveRun) -> pd.DataFrame:
    """Held-out test customers' labels and probabilities (a fifth of the labelled rows)."""
    del key
    return _active.store.test_rows()


@st.cache_data(max_entries=64, show_spinner=False)
def test_frame(key: str, aux: tuple[str, ...], _active: ActiveRun) -> pd.DataFrame:
    """Held-out test customers with their segment, label, the three models' probabilities (those the run
    stores) and each `aux` target with its head's prediction, for the Model page."""
    del key
    return _active.store.test_frame(aux=list(aux))


@st.cache_data(max_entries=64, show_spinner=False)
def train_means(key: str, columns: tuple[str, ...], _active: ActiveRun) -> dict:
    """Each column's mean over the training customers: the baseline an auxiliary head must beat."""
    del key
    return _active.store.train_means(list(columns))


@st.cache_data(max_entries=64, show_spinner=False)
def feature_reference(key: str, _active: ActiveRun) -> dict:
    """The population's typical value of every feature."""
    del key
    return _active.store.feature_reference(_active.features)


@st.cache_data(max_entries=64, show_spinner="Sampling customers…")
def shap_sample(key: str, features: tuple[str, ...], n: int,
                _active: ActiveRun) -> tuple[pd.DataFrame, pd.DataFrame]:
    del key
    return _active.store.shap_sample(list(features), n)


@st.cache_data(max_entries=256, show_spinner=False)
def distinct_values(key: str, column: str, _active: ActiveRun) -> list:
    del key
    return _active.store.distinct_values(column)["value"].tolist()


@st.cache_data(max_entries=256, show_spinner=False)
def value_range(key: str, column: str, _active: ActiveRun) -> tuple:
    del key
    return _active.store.value_range(column)


@st.cache_data(max_entries=32, show_spinner="Comparing the selected customers with the rest…")
def selection_contrast(key: str, digest: str, _active: ActiveRun, _mask: np.ndarray) -> pd.DataFrame:
    """What distinguishes the map customers in `_mask` (over `ActiveRun.map_frame`; `digest` names it: see
    `mask_digest`) from the other map customers (insight.segments.contrast)."""
    from insight.segments.contrast import contrast

    del key, digest
    points = _active.map_frame
    features = {f: _active.roles[f] for f in _active.features if f in points.columns and f in _active.roles}
    return contrast(points, _mask, features)


def mask_digest(mask: np.ndarray) -> str:
    """A short name for a boolean mask, for cache keys (hashing a packed mask, not 100,000 ids)."""
    return hashlib.sha1(np.packbits(np.asarray(mask, dtype=bool)).tobytes()).hexdigest() + f":{len(mask)}"


# ---------------------------------------------------------------------- explanations that lead to action


@st.cache_resource(max_entries=8, show_spinner="Loading the churn model…")
def saved_model(key: str, _active: ActiveRun) -> SavedChurnModel:
    """The run's churn model for re-scoring edited rows (imports LightGBM: call it only when needed)."""
    from insight.models.scoring import SavedChurnModel

    del key
    return SavedChurnModel.from_run(_active.run)


@st.cache_resource(max_entries=8, show_spinner="Loading the customers' latent space…")
def latent_index(key: str, _active: ActiveRun) -> LatentIndex | None:
    """Every customer's latent vector (latent.parquet), shared by all sessions; None when the run has none."""
    del key
    path = _active.run.file("latent.parquet")
    return LatentIndex.from_parquet(path, id_column=_active.id_column) if path.exists() else None


@st.cache_data(max_entries=16, show_spinner=False)
def riskiest_ids(key: str, n: int, _active: ActiveRun) -> tuple[str, ...]:
    """The ids (as text) of the `n` riskiest customers, riskiest first."""
    del key
    return tuple(str(i) for i in _active.store.top_risk(n)[_active.id_column])


@st.cache_data(max_entries=64, show_spinner=False)
def top_reasons(key: str, _active: ActiveRun) -> pd.DataFrame:
    """The features that are some customer's main reason, with counts, most frequent first."""
    del key
    return _active.store.top_reasons()


@st.cache_data(max_entries=256, show_spinner=False)
def segment_reference(key: str, segment_id: int, features: tuple[str, ...], _active: ActiveRun) -> dict:
    """One segment's typical value of every feature."""
    del key
    return _active.store.segment_reference(segment_id, list(features))


@st.cache_data(max_entries=64, show_spinner="Averaging SHAP values…")
def scoped_importance(key: str, scope: str, _active: ActiveRun, _flt: RiskFilter | None) -> pd.DataFrame:
    """Mean |SHAP| per feature over the customers of a scope (`scope` names `_flt`: repr of the filter)."""
    del key, scope
    return _active.store.shap_importance(_flt)


@st.cache_data(max_entries=64, show_spinner="Sampling customers…")
def scoped_shap_sample(key: str, scope: str, features: tuple[str, ...], n: int, _active: ActiveRun,
                       _flt: RiskFilter | None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """SHAP and feature values of up to `n` customers of a scope (`scope` names `_flt`)."""
    del key, scope
    return _active.store.shap_sample_where(list(features), n, _flt)


@st.cache_data(max_entries=16, show_spinner=False)
def probability_and_value(key: str, _active: ActiveRun) -> pd.DataFrame:
    """Every customer's churn probability and value, riskiest first (for targeting)."""
    del key
    return _active.store.probability_and_value()


@st.cache_data(max_entries=64, show_spinner=False)
def population_sample(key: str, columns: tuple[str, ...], _active: ActiveRun, n: int = 5_000) -> pd.DataFrame:
    """Up to `n` customers' values of `columns` (the population a suggestion draws numeric values from)."""
    del key
    return _active.store.sample(list(columns), n)


# ---------------------------------------------------------------------- the segment map


@st.cache_resource(max_entries=8, show_spinner="Drawing the customer map…")
def map_figure(key: str, color_by: str, bands: tuple[str, ...], hover: tuple[str, ...],
               _active: ActiveRun) -> go.Figure:
    """The customer map of the run's map points in risk `bands` (all when empty), coloured by `color_by`:
    built once per view and shared by every session, since building it costs more than a rerun may
    (read-only: st.plotly_chart copies a figure before it sends it). A 100,000-point map holds about 30 MB,
    so the eight most recent views are kept."""
    from insight.figures.mapfigure import customer_map

    density = map_density(key, _active) if _active.map_is_sample else None
    return customer_map(map_points(_active, bands), id_column=_active.id_column, color_by=color_by,
                        roles=_active.roles, hover=list(hover), density=density)


def map_points(active: ActiveRun, bands: tuple[str, ...]) -> pd.DataFrame:
    """The map points in risk `bands` (every point when empty), with their row in `ActiveRun.map_frame` as the
    index; `map_figure` draws them in this order."""
    points = active.map_frame
    return points[points["risk_band"].astype(str).isin(bands)] if bands else points


@st.cache_data(max_entries=16, show_spinner="Shading where all customers lie…")
def map_density(key: str, _active: ActiveRun) -> pd.DataFrame:
    """Customers per cell of a grid over the whole map, for maps that draw a sample."""
    del key
    return _active.store.map_density()


@st.cache_data(max_entries=32, show_spinner="Comparing SHAP values of the selection with the rest…")
def selection_drivers(key: str, scope: str, ids: tuple[str, ...] | None, _active: ActiveRun,
                      _flt: RiskFilter | None) -> pd.DataFrame:
    """Mean SHAP per feature of the chosen customers (`_flt`, and with `ids` only those ids) against the rest
    (`scope` names `_flt`: its repr)."""
    del key, scope
    return _active.store.shap_contrast(_flt, ids=list(ids) if ids is not None else None)
