"""Turn clean feature columns into the model matrix, with the encoding saved as JSON.

Every input column becomes exactly one model feature with the same name, so that SHAP values, reasons
and what-if edits speak about the columns people know. Categories are coded by frequency (rare ones pooled
into "Other"); dates become "days before the reference date" (the newest date seen in training).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from insight.data.schema import Role, Schema
from insight.formatting import number

log = logging.getLogger(__name__)

OTHER = "Other"
MIN_CATEGORY_COUNT = 10
MAX_CATEGORIES = 60


@dataclass(frozen=True)
class Feature:
    name: str
    role: Role
    categories: tuple[str, ...] = ()
    """For categoricals: the coded categories, most frequent first; OTHER last if rare ones were pooled."""
    reference_date: str | None = None
    """For dates: the ISO date that day counts are measured back from."""
    median: float | None = None
    """A typical value (median of the encoded feature) for numbers, booleans and dates."""
    mode: str | None = None
    """The most frequent category, for categoricals."""

    @property
    def is_categorical(self) -> bool:
        return self.role is Role.CATEGORICAL


@dataclass(frozen=True)
class FeatureMap:
    """The fitted encoding of every feature, in model column order."""

    features: tuple[Feature, ...]
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def names(self) -> list[str]:
        return [f.name for f in self.features]

    @property
    def categorical_indices(self) -> list[int]:
        return [i for i, f in enumerate(self.features) if f.is_categorical]

    def __getitem__(self, name: str) -> Feature:
        for f in self.features:
            if f.name == name:
                return f
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        return {"features": [{"name": f.name, "role": str(f.role), "categories": list(f.categories),
                              "reference_date": f.reference_date, "median": f.median, "mode": f.mode}
                             for f in self.features]}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> FeatureMap:
        return cls(features=tuple(Feature(name=f["name"], role=Role(f["role"]), categories=tuple(f["categories"]),
                                          reference_date=f.get("reference_date"), median=f.get("median"),
                                          mode=f.get("mode"))
                                  for f in d["features"]))


def fit_feature_map(frame: pd.DataFrame, schema: Schema, *, fit_rows: np.ndarray | None = None) -> FeatureMap:
    """Learn category codes and date references from the rows in `fit_rows` (default: all rows)."""
    rows = frame if fit_rows is None else frame.iloc[fit_rows]
    features = []
    for name in schema.features:
        role = schema.role(name)
        col = rows[name]
        if role is Role.CATEGORICAL:
            counts = col.value_counts(dropna=True)
            common = counts[counts >= MIN_CATEGORY_COUNT].index[:MAX_CATEGORIES].tolist()
            if not common:
                common = counts.index[:1].tolist()
            cats = [str(c) for c in common]
            if len(common) < len(counts):
                cats.append(OTHER if OTHER not in cats else f"{OTHER} ")
            features.append(Feature(name, role, categories=tuple(cats), mode=str(counts.index[0])))
        elif role is Role.DATE:
            ref = col.max()
            ref_text = (ref if pd.notna(ref) else pd.Timestamp("1970-01-01")).normalize().date().isoformat()
            days = (pd.Timestamp(ref_text) - col).dt.days
            features.append(Feature(name, role, reference_date=ref_text, median=_median(days)))
        else:
            features.append(Feature(name, role, median=_median(col.astype("float64"))))
    return FeatureMap(features=tuple(features))


def encode(frame: pd.DataFrame, fmap: FeatureMap) -> np.ndarray:
    """The model matrix (float64, rows x features) of clean feature columns; missing stays NaN."""
    out = np.empty((len(frame), len(fmap.features)), dtype=np.float64)
    for j, feat in enumerate(fmap.features):
        out[:, j] = encode_column(frame[feat.name], feat)
    return out


def encode_column(col: pd.Series, feat: Feature) -> np.ndarray:
    if feat.role is Role.CATEGORICAL:
        lookup = {c: i for i, c in enumerate(feat.categories)}
        other = lookup.get(OTHER, lookup.get(f"{OTHER} "))
        text = col.astype("string")
        codes = pd.Index(list(feat.categories), dtype="string").get_indexer(text).astype(np.float64)
        present = text.notna().to_numpy()
        codes[(codes < 0) & present] = np.nan if other is None else other
        codes[~present] = np.nan
        return codes
    if feat.role is Role.DATE:
        days = (pd.Timestamp(feat.reference_date) - pd.to_datetime(col)).dt.days
        return days.to_numpy(dtype=np.float64, na_value=np.nan)
    return col.to_numpy(dtype=np.float64, na_value=np.nan)


def decode_value(feat: Feature, value: float) -> str:
    """A model-matrix value back in the words of its column (category name, date, yes/no, number)."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "missing"
    if feat.role is Role.CATEGORICAL:
        idx = int(value)
        return feat.categories[idx] if 0 <= idx < len(feat.categories) else OTHER
    if feat.role is Role.BOOLEAN:
        return "yes" if value >= 0.5 else "no"
    if feat.role is Role.DATE:
        return (pd.Timestamp(feat.reference_date) - pd.Timedelta(days=float(value))).date().isoformat()
    return number(value)


def _median(values: pd.Series) -> float | None:
    m = values.median()
    return None if pd.isna(m) else float(m)
