"""Cross-validation of the whole training recipe: LightGBM, the multi-task churn head, and a logistic baseline.

Everything is fitted inside each fold, the column guards and category maps included; the held-out fold is
only ever scored.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from insight.config import DataSpec, TrainConfig

log = logging.getLogger(__name__)

METRICS = ("roc_auc", "pr_auc", "log_loss", "brier", "ece")
MODELS = ("lightgbm", "multitask", "logistic")


def cross_validate(frame: pd.DataFrame, spec: DataSpec, config: TrainConfig | None = None, *, folds: int = 5,
                   progress: Callable[[str, float], None] | None = None) -> dict[str, Any]:
    """Stratified k-fold CV (shuffle, random_state=config.seed); mean and std of each metric per model."""
    from sklearn.model_selection import StratifiedKFold

    from insight.data import schema

    config = config or TrainConfig()
    schema.validate_spec(frame, spec)
    y_all, _ = schema.clean_target(frame[spec.target], spec.target, spec.positive_label)
    labelled = np.flatnonzero(y_all.notna().to_numpy())
    y_lab = y_all.to_numpy()[labelled]
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=config.seed)
    per_fold: list[dict[str, dict[str, float]]] = []
    for k, (train_pos, test_pos) in enumerate(splitter.split(labelled, y_lab)):
        if progress:
            progress(f"fold {k + 1} of {folds}", k / folds)
        train_rows, test_rows = labelled[train_pos], labelled[test_pos]
        per_fold.append(evaluate_fold(frame, spec, config, train_rows, test_rows))
        log.info("fold %d: %s", k + 1, {m: round(v["roc_auc"], 4) for m, v in per_fold[-1].items()})
    if progress:
        progress("done", 1.0)
    summary = {model: {metric: {"mean": float(np.mean([f[model][metric] for f in per_fold])),
                                "std": float(np.std([f[model][metric] for f in per_fold]))}
                       for metric in METRICS}
               for model in MODELS}
    return {"models": summary, "rows": int(len(labelled)), "folds": folds, "seed": config.seed,
            "per_fold": per_fold}


def evaluate_fold(frame: pd.DataFrame, spec: DataSpec, config: TrainConfig, train_rows: np.ndarray,
                  test_rows: np.ndarray) -> dict[str, dict[str, float]]:
    """Fit the recipe on `train_rows` only and score `test_rows` with every model."""
    from insight.models import baseline, churn, multitask
    from insight.data import features, schema
    from insight import pipeline
    from insight.models.metrics import binary_metrics

    train_frame = frame.iloc[train_rows].reset_index(drop=True)
    test_frame = frame.iloc[test_rows].reset_index(drop=True)
    table = schema.clean_table(train_frame, spec)
    y = table.frame[spec.target].to_numpy(dtype=np.float64)
    inner = pipeline.split_rows(y, config, test_size=0.0)
    fmap = features.fit_feature_map(table.frame, table.schema, fit_rows=inner.train)
    X = features.encode(table.frame, fmap)
    X_test = features.encode(features.coerce_features(test_frame, fmap), fmap)
    y_test, _ = schema.clean_target(test_frame[spec.target], spec.target, table.schema.positive_label)
    y_test = y_test.to_numpy()

    model = churn.fit_churn_model(X, y, feature_names=fmap.names, categorical=fmap.categorical_indices,
                                  config=config.churn, seed=config.seed, threads=config.threads)
    targets = {spec.target: y, **{a: table.frame[a].to_numpy(dtype=np.float64) for a in spec.aux_targets}}
    mt = multitask.fit_multitask(X, targets, fmap, train_rows=inner.train, valid_rows=inner.valid,
                                 config=config.multitask, seed=config.seed, threads=config.threads)
    labelled = ~np.isnan(y)
    logistic = baseline.fit_logistic_baseline(X[labelled], y[labelled], fmap)
    scores = {"lightgbm": model.probability(X_test), "multitask": mt.predict(X_test)[spec.target],
              "logistic": logistic.probability(X_test)}
    return {name: {m: binary_metrics(y_test, p)[m] for m in METRICS} for name, p in scores.items()}
