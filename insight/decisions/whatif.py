"""What-if edits and retention suggestions for one customer, scored by the saved churn model through the one
scoring path (`insight.models.recipe.score`)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from insight.data.features import Feature
from insight.data.schema import Role
from insight.models.recipe import Models, explanation_frame, score

log = logging.getLogger(__name__)

NUMERIC_STEPS = (0.1, 0.25, 0.5, 0.75, 0.9)
"""Quantiles of the population tried as new values for a numeric actionable feature."""


@dataclass(frozen=True)
class Suggestion:
    feature: str
    current: Any
    proposed: Any
    probability_before: float
    probability_after: float

    @property
    def drop_points(self) -> float:
        return 100 * (self.probability_before - self.probability_after)


def what_if(models: Models, row: pd.Series, edits: dict[str, Any]) -> pd.Series:
    """The customer's explanation (`recipe.explanation_frame`) after applying `edits` (feature -> new value)
    to `row`."""
    edited = row.copy()
    for name, value in edits.items():
        edited[name] = value
    frame = pd.DataFrame([edited[models.feature_names].to_dict()])
    return explanation_frame(models, score(models, frame, explain=True), frame.index).iloc[0]


def candidate_values(feature: Feature, current: Any, population: pd.Series | None = None) -> list[Any]:
    """Values worth trying for one actionable feature: every other category, the other flag value, or a few
    population quantiles of a number."""
    if feature.role is Role.CATEGORICAL:
        return [c for c in feature.categories if c != current and c != "Other"]
    if feature.role is Role.BOOLEAN:
        return [v for v in (0.0, 1.0) if not (pd.notna(current) and float(current) == v)]
    if feature.role is Role.DATE or population is None:
        return []
    values = pd.to_numeric(population, errors="coerce").dropna()
    if values.empty:
        return []
    quantiles = sorted(set(np.round(values.quantile(list(NUMERIC_STEPS)).to_numpy(), 6)))
    return [q for q in quantiles if pd.isna(current) or q != float(current)]


def suggest(models: Models, row: pd.Series, actionable: list[str], *,
            population: pd.DataFrame | None = None, min_drop_points: float = 0.5) -> Suggestion | None:
    """The single change to one actionable feature that lowers this customer's churn probability most.

    Every candidate value of every actionable feature is scored by the model (one batch); among changes that
    lower the risk by at least `min_drop_points`, the largest drop wins, and among equal drops the smallest
    change (closest quantile or fewest categories away) is kept by trying values in order. The returned
    `probability_after` is exactly the model's score of the suggested row.
    """
    base = row[models.feature_names].to_dict()
    candidates: list[tuple[str, Any]] = []
    for name in actionable:
        if name not in models.feature_names:
            continue
        pop = population[name] if population is not None and name in population.columns else None
        for value in candidate_values(models.fmap[name], base[name], pop):
            candidates.append((name, value))
    if not candidates:
        return None
    rows = [base] + [{**base, name: value} for name, value in candidates]
    probs = score(models, pd.DataFrame(rows)).probability
    before, after = float(probs[0]), probs[1:]
    best = int(np.argmin(after))
    if 100 * (before - after[best]) < min_drop_points:
        return None
    name, value = candidates[best]
    return Suggestion(feature=name, current=base[name], proposed=value, probability_before=before,
                      probability_after=float(after[best]))
