"""A customer frame as matrices: one for trees (numbers as they are, categories as integer codes, missing
as NaN) and one for linear models (numbers median-imputed and standardised, categories one-hot with the
most frequent level dropped, missing as the most frequent level)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

log = logging.getLogger(__name__)


def _is_numeric(series: pd.Series) -> bool:
    return bool(pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series))


@dataclass
class SurvivalEncoder:
    """Fitted on a training frame (`fit`), then encodes any frame with the same columns the same way."""

    features: list[str]
    numeric_: list[str] = field(default_factory=list)
    categories_: dict[str, list[str]] = field(default_factory=dict)
    medians_: dict[str, float] = field(default_factory=dict)
    scales_: dict[str, tuple[float, float]] = field(default_factory=dict)

    def fit(self, frame: pd.DataFrame) -> SurvivalEncoder:
        missing = [c for c in self.features if c not in frame.columns]
        if missing:
            raise ValueError(f"the frame lacks feature columns {missing}; pass features that it holds")
        self.numeric_, self.categories_ = [], {}
        for col in self.features:
            s = frame[col]
            if _is_numeric(s):
                x = pd.to_numeric(s, errors="coerce").to_numpy(dtype=float)
                self.numeric_.append(col)
                med = float(np.nanmedian(x)) if np.isfinite(x).any() else 0.0
                self.medians_[col] = med
                filled = np.where(np.isnan(x), med, x)
                sd = float(filled.std())
                self.scales_[col] = (float(filled.mean()), sd if sd > 0 else 1.0)
            else:
                counts = s.dropna().astype(str).value_counts(sort=True)
                self.categories_[col] = list(counts.index)  # most frequent first
        return self

    @property
    def categorical_indices(self) -> list[int]:
        """Positions of the categorical columns in `tree_matrix`'s columns."""
        return [i for i, c in enumerate(self.features) if c in self.categories_]

    def tree_matrix(self, frame: pd.DataFrame) -> np.ndarray:
        """float64 matrix, one column per feature in `features` order; unseen categories are NaN."""
        out = np.empty((len(frame), len(self.features)), dtype=np.float64)
        for j, col in enumerate(self.features):
            if col in self.categories_:
                codes = _codes(frame[col], self.categories_[col]).astype(np.float64)
                codes[codes < 0] = np.nan
                out[:, j] = codes
            else:
                out[:, j] = pd.to_numeric(frame[col], errors="coerce").to_numpy(dtype=float)
        return out

    def linear_frame(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Standardised numbers and one-hot categories (most frequent level dropped), no missing values."""
        cols: dict[str, np.ndarray] = {}
        for col in self.features:
            if col in self.categories_:
                levels = self.categories_[col]
                codes = _codes(frame[col], levels)
                for i, level in enumerate(levels[1:], start=1):
                    cols[f"{col}={level}"] = (codes == i).astype(float)  # missing and unseen: the first level
            else:
                x = pd.to_numeric(frame[col], errors="coerce").to_numpy(dtype=float)
                x = np.where(np.isnan(x), self.medians_[col], x)
                mean, sd = self.scales_[col]
                cols[col] = (x - mean) / sd
        return pd.DataFrame(cols, index=frame.index)


def _codes(series: pd.Series, levels: list[str]) -> np.ndarray:
    """Each value's position in `levels` (compared as text), -1 when missing or unseen."""
    text = series.astype("string")
    return np.asarray(pd.Index(levels, dtype="string").get_indexer(text), dtype=np.int64)


def event_indicator(values: pd.Series | np.ndarray) -> np.ndarray:
    """The event flag as booleans: numbers (non-zero is an event), booleans, or yes/true/churned... text."""
    s = pd.Series(values)
    if pd.api.types.is_bool_dtype(s):
        return s.to_numpy(dtype=bool)
    if pd.api.types.is_numeric_dtype(s):
        x = s.to_numpy(dtype=float)
        if np.isnan(x).any():
            raise ValueError("the event column has missing values; every customer needs churned or not")
        return x != 0
    text = s.astype(str).str.strip().str.lower()
    yes = {"yes", "y", "true", "t", "1", "churn", "churned", "left", "event"}
    no = {"no", "n", "false", "f", "0", "stayed", "active", "censored", "retained"}
    unknown = sorted(set(text) - yes - no)
    if unknown:
        raise ValueError(f"cannot read {unknown[:3]} as churned or not; use yes/no, true/false or 1/0")
    return text.isin(yes).to_numpy()
