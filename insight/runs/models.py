"""A saved run's models, loaded back as `insight.models.recipe.Models` (what `score` takes).

LightGBM from its text model and the calibration from JSON; the multi-task network (torch, only when asked
for) from its state_dict with `weights_only=True`. The logistic baseline is not stored: its test scores are.
"""

from __future__ import annotations

import logging

from insight.data.features import FeatureMap
from insight.models.churn import Calibration, ChurnModel
from insight.models.recipe import Models
from insight.runs import layout
from insight.runs.run import Run

log = logging.getLogger(__name__)


def load_models(run: Run, *, multitask: bool = False) -> Models:
    """The churn model and its encoding (LightGBM only, no torch); with `multitask`, the network too."""
    calibration = Calibration.from_dict(run.json(layout.CALIBRATION))
    churn = ChurnModel.from_text(run.text(layout.CHURN_MODEL), calibration)
    network = None
    if multitask:
        from insight.models.multitask import MultitaskModel

        network = MultitaskModel.from_saved(run.json(layout.MULTITASK_SHAPE), run.bytes(layout.MULTITASK_WEIGHTS))
    log.debug("loaded the models of run %s", run.id)
    return Models(fmap=FeatureMap.from_dict(run.json(layout.FEATURES)), churn=churn, multitask=network)
