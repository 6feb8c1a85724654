"""Rolling-origin evaluation of the training recipe on a table of snapshots (`insight evaluate --time COL`).

For each labelled snapshot t but the last (`insight.data.snapshots`: one with enough churners and stayers),
the whole recipe (`insight.models.evaluate.evaluate_fold`: the column guards, the feature map, LightGBM with
its search and calibration, the multi-task network and the logistic baseline) is fitted on the labelled rows
of every snapshot up to t (an expanding window) and scored on the next labelled snapshot. Each origin reports
the three models' metrics; their mean and standard deviation over the origins say how well, and how
steadily, a model trained on the past predicts the next period. An origin whose training rows are too few
(fewer than `MIN_ROWS`, or under `MIN_PER_CLASS` of a class) is skipped and listed with the reason.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from insight.config import DataSpec, TrainConfig
from insight.errors import InputError
from insight.models.evaluate import METRICS, MODELS

log = logging.getLogger(__name__)


def rolling_origin(frame: pd.DataFrame, spec: DataSpec, config: TrainConfig | None = None, *,
                   progress: Callable[[str, float], None] | None = None) -> dict[str, Any]:
    """Evaluate by rolling origin (the module docstring) on the snapshots up to `config.as_of`:
    {"time_column", "as_of", "seed", "snapshots": [{date, rows, labelled}], "origins": [{"train_through",
    "test_snapshot", "train_rows", "rows", "models": {model: binary_metrics}}], "skipped": [{"train_through",
    "test_snapshot", "reason"}], "models": {model: {metric: {"mean", "std"}}}}. InputError when no origin
    can be evaluated."""
    from insight.data import schema
    from insight.data.snapshots import MIN_PER_CLASS, iso, snapshot_plan, snapshot_rows
    from insight.models.evaluate import evaluate_fold
    from insight.models.metrics import binary_metrics

    config = config or TrainConfig()
    if not spec.time_column:
        raise ValueError("rolling-origin evaluation needs spec.time_column")
    frame = snapshot_rows(frame, spec.time_column, as_of=config.as_of)
    schema.validate_spec(frame, spec)
    target, _ = schema.clean_target(frame[spec.target], spec.target, spec.positive_label)
    y = target.to_numpy(dtype=np.float64)
    plan = snapshot_plan(frame[spec.time_column], y, time_column=spec.time_column, as_of=config.as_of)
    dates, known = plan.dates, ~np.isnan(y)
    pairs = list(zip(plan.labelled[:-1], plan.labelled[1:], strict=True))
    origins: list[dict[str, Any]] = []
    skipped: list[dict[str, str]] = []
    for k, (through, tested) in enumerate(pairs):
        if progress:
            progress(f"origin {k + 1} of {len(pairs)}: test {iso(tested)}", k / len(pairs))
        train_rows = np.flatnonzero((dates <= np.datetime64(through)) & known)
        test_rows = np.flatnonzero((dates == np.datetime64(tested)) & known)
        churners = int(y[train_rows].sum())
        if len(train_rows) < schema.MIN_ROWS or min(churners, len(train_rows) - churners) < MIN_PER_CLASS:
            reason = (f"{len(train_rows):,} labelled training rows ({churners:,} churners): at least "
                      f"{schema.MIN_ROWS} with {MIN_PER_CLASS} of each class are needed")
            skipped.append({"train_through": iso(through), "test_snapshot": iso(tested), "reason": reason})
            log.info("origin %s -> %s skipped: %s", iso(through), iso(tested), reason)
            continue
        y_test, predicted = evaluate_fold(frame, spec, config, train_rows, test_rows)
        models = {name: binary_metrics(y_test, p) for name, p in predicted.items()}
        origins.append({"train_through": iso(through), "test_snapshot": iso(tested),
                        "train_rows": int(len(train_rows)), "rows": int(len(test_rows)), "models": models})
        log.info("origin %s -> %s: %s", iso(through), iso(tested),
                 {m: round(v["roc_auc"], 4) for m, v in models.items()})
    if progress:
        progress("done", 1.0)
    if not origins:
        raise InputError(f"no rolling origin could be evaluated: {skipped[0]['reason']} in the snapshots up to "
                         f"{skipped[-1]['train_through']}; add snapshots or rows.")
    return {"time_column": spec.time_column, "as_of": config.as_of, "seed": config.seed,
            "snapshots": list(plan.counts), "origins": origins, "skipped": skipped,
            "models": summary(origins)}


def summary(origins: list[dict[str, Any]]) -> dict[str, dict[str, dict[str, float]]]:
    """Per model and metric: the mean and standard deviation over the origins (NaN ones left out)."""
    out: dict[str, dict[str, dict[str, float]]] = {}
    for model in MODELS:
        out[model] = {}
        for metric in METRICS:
            values = np.array([o["models"][model][metric] for o in origins if model in o["models"]], dtype=float)
            values = values[~np.isnan(values)]
            out[model][metric] = ({"mean": float(values.mean()), "std": float(values.std())} if values.size
                                  else {"mean": float("nan"), "std": float("nan")})
    return out
