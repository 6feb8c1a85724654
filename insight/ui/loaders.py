"""Cached access to runs: the verified run and its store are shared resources (one per run version), small
query results are cached data, keyed by the run's fingerprint so that a changed run is verified again."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from insight.errors import RunError
from insight.ui.context import ActiveRun, open_active_run, run_fingerprint


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
def selection_contrast(key: str, ids: tuple[str, ...], _active: ActiveRun) -> pd.DataFrame:
    """What distinguishes the map customers in `ids` from the other map customers (insight.contrast)."""
    from insight.contrast import contrast

    del key
    points = _active.map_frame
    mask = points[_active.id_column].astype(str).isin(set(ids)).to_numpy()
    features = {f: _active.roles[f] for f in _active.features if f in points.columns and f in _active.roles}
    return contrast(points, mask, features)
