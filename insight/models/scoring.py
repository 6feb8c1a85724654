"""Score customers with a saved run's churn model: probability, raw score, SHAP values and reasons.

Used for what-if edits in the dashboard and for scoring new tables. Loads LightGBM only (no torch, umap or
shap), so a page that re-scores a row stays light.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd

from insight.models.churn import Calibration, ChurnModel
from insight.models.explain import reason_frame, shap_values
from insight.data.features import FeatureMap, coerce_features, encode
from insight.runs.run import Run


@dataclass(frozen=True)
class SavedChurnModel:
    """A run's churn model with the encoding it was trained with."""

    model: ChurnModel
    fmap: FeatureMap

    @classmethod
    def from_run(cls, run: Run) -> SavedChurnModel:
        calibration = Calibration.from_dict(run.json("calibration.json"))
        model = ChurnModel.from_text(run.text("churn_model.txt"), calibration)
        return cls(model=model, fmap=FeatureMap.from_dict(run.json("features.json")))

    @cached_property
    def feature_names(self) -> list[str]:
        return self.fmap.names

    def matrix(self, frame: pd.DataFrame) -> np.ndarray:
        """The model matrix of a table of raw or clean feature columns (InputError if columns are missing)."""
        return encode(coerce_features(frame, self.fmap), self.fmap)

    def probability(self, frame: pd.DataFrame) -> np.ndarray:
        return self.model.probability(self.matrix(frame))

    def explain(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Per row: churn_probability, churn_score, reason_1..3, top_reason, and one SHAP column per feature
        (prefixed `shap_`)."""
        X = self.matrix(frame)
        raw = self.model.raw_score(X)
        values, base = shap_values(self.model, X)
        out = reason_frame(X, values, raw, self.fmap, self.model.calibration)
        out.insert(0, "churn_score", raw)
        out.insert(0, "churn_probability", self.model.calibration(raw))
        shap = pd.DataFrame(values, columns=[f"shap_{n}" for n in self.feature_names])
        shap["base_value"] = base
        out = pd.concat([out, shap], axis=1)
        out.index = frame.index
        return out
