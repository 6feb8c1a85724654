"""What `--duration` resolves to for one table: the unit, the horizons, the survival model's features (the
churn model's, less the duration and any feature that measures it) and the value per period.

A feature "measures the duration" when its rank correlation with the duration on the training customers is at
least `MEASURES_DURATION` in size: a total billed so far (Telco's TotalCharges, about tenure x monthly
charges), a count of months or days since signing up for current customers. Such a feature is known only once
the time it measures has passed, so a survival model that reads it predicts the past from itself; it stays a
feature of the churn model (which predicts the next window, not the time already stayed) and is named in the
manifest's `survival.left_out`.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from insight.config import DataSpec
from insight.data.features import FeatureMap
from insight.data.schema import Role
from insight.errors import InputError
from insight.survival.hazard import HORIZONS_BY_UNIT, horizons_for

log = logging.getLogger(__name__)

MEASURES_DURATION = 0.8
"""|Spearman rho| with the duration at or above which a feature is left out of the survival model."""

UNIT_WORDS = {"days": ("day", "daily"), "weeks": ("week", "weekly"), "months": ("month", "monthly", "mo"),
              "years": ("year", "yearly", "annual", "yr")}
"""Words in a column's name that give its unit (the duration's, or a value per period's)."""
VALUE_WORDS = ("charge", "charges", "fee", "price", "revenue", "spend", "amount", "value", "bill", "mrr", "arpu")


@dataclass(frozen=True)
class SurvivalSetup:
    duration_column: str
    unit: str
    horizons: tuple[float, ...]
    features: tuple[str, ...]
    left_out: dict[str, str] = field(default_factory=dict)
    period_value_column: str | None = None

    @property
    def main_horizon(self) -> float:
        """The longest horizon: the window of the timing reasons and of the value at risk."""
        return max(self.horizons)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> SurvivalSetup:
        """The setup a run's manifest records (its `survival` section)."""
        return cls(duration_column=str(d["duration_column"]), unit=str(d["unit"]),
                   horizons=tuple(float(h) for h in d["horizons"]), features=tuple(d["features"]),
                   left_out=dict(d.get("left_out", {})), period_value_column=d.get("period_value_column"))

    def to_dict(self) -> dict[str, Any]:
        return {"duration_column": self.duration_column, "unit": self.unit, "horizons": list(self.horizons),
                "main_horizon": self.main_horizon, "features": list(self.features), "left_out": self.left_out,
                "period_value_column": self.period_value_column}


def _words(name: str) -> set[str]:
    return set(re.findall(r"[a-z]+", re.sub(r"([a-z])([A-Z])", r"\1 \2", name).lower()))


def duration_unit(spec: DataSpec) -> str:
    """--duration-unit, else the unit the duration column's name mentions, else months."""
    if spec.duration_unit:
        if spec.duration_unit not in HORIZONS_BY_UNIT:
            raise InputError(f"--duration-unit {spec.duration_unit!r} is not a unit: use one of "
                             f"{', '.join(HORIZONS_BY_UNIT)}.")
        return spec.duration_unit
    words = _words(spec.duration_column or "")
    for unit, names in UNIT_WORDS.items():
        if words & {*names, unit}:
            return unit
    return "months"


def duration_values(data: pd.DataFrame, column: str) -> np.ndarray:
    """The duration as floats; InputError when it is not a column, not numbers, missing or negative."""
    if column not in data.columns:
        raise InputError(f"--duration column {column!r} is not a column of the table: name the column holding "
                         "how long each customer has been observed (tenure).")
    values = pd.to_numeric(data[column], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    bad = int(np.isnan(values).sum())
    if bad:
        raise InputError(f"--duration column {column!r} has {bad:,} missing or non-numeric values: every customer "
                         "needs the time they have been observed (fill or drop those rows).")
    negative = int((values < 0).sum())
    if negative:
        raise InputError(f"--duration column {column!r} has {negative:,} negative values: a duration is the time "
                         "observed so far, 0 or more.")
    if not (values > 0).any():
        raise InputError(f"--duration column {column!r} is 0 for every customer: nothing was observed over time.")
    return values


def measures_duration(X: np.ndarray, fmap: FeatureMap, duration: np.ndarray, rows: np.ndarray, *,
                      duration_column: str) -> dict[str, str]:
    """The features (not categories, not the duration itself) whose rank correlation with the duration is at
    least MEASURES_DURATION."""
    from scipy.stats import spearmanr

    out: dict[str, str] = {}
    for j, feat in enumerate(fmap.features):
        if feat.role is Role.CATEGORICAL or feat.name == duration_column:
            continue
        x = X[rows, j]
        ok = ~np.isnan(x)
        if ok.sum() < 10 or np.ptp(x[ok]) == 0:
            continue
        rho = float(spearmanr(x[ok], duration[rows][ok]).statistic)
        if abs(rho) >= MEASURES_DURATION:
            out[feat.name] = (f"measures the duration (rank correlation {rho:+.2f} with it): known only once that "
                              "time has passed")
    return out


def period_value_column(spec: DataSpec, unit: str, candidates: list[str], data: pd.DataFrame) -> str | None:
    """--period-value, else the first numeric candidate named like money per `unit` (MonthlyCharges,
    monthly_fee for months), else None (no value figures)."""
    if spec.period_value_column:
        col = spec.period_value_column
        if col not in data.columns or not pd.api.types.is_numeric_dtype(data[col]):
            raise InputError(f"--period-value column {col!r} is not a numeric column of the table: name the "
                             "column holding each customer's value per unit of the duration (monthly charges).")
        return col
    per = set(UNIT_WORDS[unit])
    for col in candidates:
        words = _words(col)
        if words & per and words & set(VALUE_WORDS) and pd.api.types.is_numeric_dtype(data[col]):
            return col
    return None


def checked_duration(spec: DataSpec, frame: pd.DataFrame) -> np.ndarray:
    """The --duration column of the table as given, checked before any fit (InputError when it cannot serve)."""
    assert spec.duration_column
    column = spec.duration_column
    if spec.time_column:
        raise InputError("--duration with --time is not supported yet: train the survival model on one snapshot "
                         "(the latest) without --time.")
    if column in spec.targets:
        raise InputError(f"--duration column {column!r} is a target: name the tenure column, not the outcome.")
    duration_unit(spec)
    if any(h <= 0 for h in spec.horizons):
        raise InputError("--horizons must be positive numbers in the duration's unit (e.g. 1,3,12 for months).")
    return duration_values(frame, column)


def survival_setup(spec: DataSpec, fmap: FeatureMap, X: np.ndarray, data: pd.DataFrame, duration: np.ndarray,
                   train_rows: np.ndarray) -> SurvivalSetup:
    """Resolve --duration for this table (see the module docstring): `data` the clean table, `X` the churn
    model's matrix, `duration` from `checked_duration`."""
    assert spec.duration_column
    column = spec.duration_column
    unit = duration_unit(spec)
    horizons = tuple(float(h) for h in spec.horizons) if spec.horizons else horizons_for(unit)
    leaks = measures_duration(X, fmap, duration, train_rows, duration_column=column)
    features = tuple(n for n in fmap.names if n != column and n not in leaks)
    if not features:
        raise InputError("the survival model has no features left once the duration and the features measuring "
                         "it are set aside.")
    value = period_value_column(spec, unit, [n for n in fmap.names if n != column], data)
    if leaks:
        log.info("left out of the survival model: %s", ", ".join(leaks))
    return SurvivalSetup(duration_column=column, unit=unit, horizons=tuple(sorted(set(horizons))),
                         features=features, left_out=leaks, period_value_column=value)


def survival_inputs(X: np.ndarray, fmap: FeatureMap, features: tuple[str, ...] | list[str]) -> pd.DataFrame:
    """The survival model's input frame from the churn model's matrix: numbers (dates as days, flags as 0/1)
    as they are, categories back as their names, so that the survival encoder codes them as categories."""
    index = {n: j for j, n in enumerate(fmap.names)}
    out: dict[str, Any] = {}
    for name in features:
        j = index[name]
        feat = fmap.features[j]
        col = X[:, j]
        if feat.is_categorical:
            cats = np.asarray(feat.categories, dtype=object)
            codes = np.where(np.isnan(col), -1, col).astype(int)
            out[name] = pd.array(np.where(codes >= 0, cats[np.clip(codes, 0, None)], None), dtype="string")
        else:
            out[name] = col
    return pd.DataFrame(out)
