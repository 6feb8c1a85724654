"""`insight evaluate --duration`: the survival models cross-validated on a table, with the features a run
would give them (insight.survival.setup: the churn model's features encoded the run's way, less the duration
and the features measuring it).

The feature encoding (category codes, date references) and the choice of features left out are learnt on the
whole table once, as they need no outcome but the duration's rank correlations; every model is then fitted
on each fold's training customers only (insight.survival.evaluate.cross_validate_survival).
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd

from insight.config import DataSpec
from insight.errors import InputError

log = logging.getLogger(__name__)


def survival_cross_validation(frame: pd.DataFrame, spec: DataSpec, *, folds: int = 5, seed: int = 0,
                              threads: int | None = None) -> dict[str, Any]:
    """{"models": {survival, cox, kaplan_meier: {metric: {mean, std}}}, "survival": the setup, ...}."""
    from insight.data import schema
    from insight.data.features import encode, fit_feature_map
    from insight.survival.evaluate import cross_validate_survival
    from insight.survival.setup import checked_duration, survival_inputs, survival_setup

    duration = checked_duration(spec, frame)
    table = schema.clean_table(frame, spec)
    data = table.frame
    y = data[spec.target].to_numpy(dtype=np.float64)
    known = ~np.isnan(y)
    if known.sum() < 2 * folds or y[known].sum() < folds:
        raise InputError(f"too few customers with a known outcome ({int(known.sum())}, {int(np.nansum(y))} "
                         f"churned) for {folds}-fold cross-validation of the survival models.")
    fmap = fit_feature_map(data, table.schema)
    X = encode(data, fmap)
    setup = survival_setup(spec, fmap, X, data, duration, np.flatnonzero(known))
    inputs = survival_inputs(X[known], fmap, setup.features)
    result = cross_validate_survival(inputs, duration[known], y[known] > 0.5, list(setup.features), folds=folds,
                                     seed=seed, horizons=setup.horizons, threads=threads)
    result["survival"] = setup.to_dict()
    log.info("survival cross-validation: concordance %.4f (Cox %.4f), integrated Brier %.4f (Kaplan-Meier %.4f)",
             result["models"]["survival"]["concordance"]["mean"], result["models"]["cox"]["concordance"]["mean"],
             result["models"]["survival"]["integrated_brier"]["mean"],
             result["models"]["kaplan_meier"]["integrated_brier"]["mean"])
    return result
