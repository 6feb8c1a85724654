"""Model quality on held-out test customers, overall or in one segment: what the Model quality page shows.

`scope_quality` measures the scope once (the churn model's metrics, the auxiliary heads against the training
mean); `at_threshold` adds what depends on the threshold a person picks (the confusion matrix, the three
models side by side). Both are plain functions of the run's test frame
(`insight.runs.store.RunStore.test_frame`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from insight.models.metrics import binary_metrics, compare_models, head_baselines, threshold_report
from insight.runs import layout

MODELS = {layout.CHURN_PROBABILITY: "LightGBM (the model of record)",
          layout.MULTITASK_CHURN_PROBABILITY: "Multi-task network, churn head",
          layout.LOGISTIC_CHURN_PROBABILITY: "Logistic regression (baseline)"}
"""The churn models a run may store test probabilities of, with their names."""


@dataclass(frozen=True, eq=False)
class ScopeQuality:
    """The held-out test customers of one scope and how the models do on them."""

    y: np.ndarray
    """The known outcome, 0/1."""
    p: np.ndarray
    """The churn model's probability."""
    metrics: dict[str, float]
    """`insight.models.metrics.binary_metrics` of the churn model."""
    scores: dict[str, np.ndarray] = field(default_factory=dict)
    """Each stored model's probabilities, by its name (MODELS)."""
    missing: tuple[str, ...] = ()
    """The names of the models whose test probabilities the run does not store."""
    heads: pd.DataFrame = field(default_factory=pd.DataFrame)
    """`insight.models.metrics.head_baselines`: each auxiliary head against the training mean."""

    @property
    def customers(self) -> int:
        return len(self.y)

    @property
    def churners(self) -> int:
        return int(self.y.sum())

    @property
    def both_outcomes(self) -> bool:
        """Whether the scope has churners and stayers (ranking curves need both)."""
        return 0 < self.churners < self.customers


@dataclass(frozen=True)
class ThresholdQuality:
    """What flagging customers at one threshold gives."""

    report: dict[str, Any]
    """`insight.models.metrics.threshold_report` of the churn model."""
    comparison: pd.DataFrame
    """`insight.models.metrics.compare_models` of every stored model at the threshold."""


def segment_sizes(frame: pd.DataFrame) -> dict[int, int]:
    """How many test customers each segment has."""
    return {int(k): int(v) for k, v in frame[layout.SEGMENT_ID].value_counts().items()}


def scope_rows(frame: pd.DataFrame, segment: int | None) -> pd.DataFrame:
    """The test customers of one segment (all of them for None)."""
    return frame if segment is None else frame[frame[layout.SEGMENT_ID] == segment]


def scope_quality(frame: pd.DataFrame, *, kinds: dict[str, str],
                  train_means: dict[str, float | None]) -> ScopeQuality | None:
    """The models measured on the test customers of `frame` (None when it has none): `kinds` names the
    auxiliary heads (`insight.models.metrics.head_kinds`), `train_means` their training means."""
    if frame.empty:
        return None
    y = frame["y"].to_numpy(dtype=float)
    p = frame[layout.CHURN_PROBABILITY].to_numpy(dtype=float)
    scores = {name: frame[c].to_numpy(dtype=float) for c, name in MODELS.items() if c in frame.columns}
    return ScopeQuality(y=y, p=p, metrics=binary_metrics(y, p), scores=scores,
                        missing=tuple(name for c, name in MODELS.items() if c not in frame.columns),
                        heads=head_baselines(frame, kinds, train_means))


def at_threshold(quality: ScopeQuality, threshold: float) -> ThresholdQuality:
    """The churn model's confusion matrix and the models side by side when flagging at `threshold`."""
    return ThresholdQuality(report=threshold_report(quality.y, quality.p, threshold),
                            comparison=compare_models(quality.y, quality.scores, threshold=threshold))
