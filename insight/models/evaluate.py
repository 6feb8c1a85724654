"""Held-out evaluation: cross-validation of the whole training recipe (LightGBM, the multi-task churn head and
a logistic baseline), and a trained run's test metrics.

Everything is fitted inside each fold, the column guards and category maps included; the held-out fold is
only ever scored.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from insight.config import DataSpec, TrainConfig

if TYPE_CHECKING:
    from insight.data.snapshots import SnapshotPlan
    from insight.models.recipe import Models, Splits

log = logging.getLogger(__name__)

METRICS = ("roc_auc", "pr_auc", "log_loss", "brier", "ece")
MODELS = ("lightgbm", "multitask", "logistic")


def cross_validate(frame: pd.DataFrame, spec: DataSpec, config: TrainConfig | None = None, *, folds: int = 5,
                   progress: Callable[[str, float], None] | None = None) -> dict[str, Any]:
    """Stratified k-fold CV (shuffle, random_state=config.seed): per model and metric the mean and std over
    the folds, and the metric of the pooled out-of-fold predictions (every labelled customer scored once, by
    the models of the fold that held it out). The pooled figure is the steadier estimate where a metric is
    biased on small folds, as ECE is: each fold's ECE adds its sampling noise (about 0.02 on 1,400 rows)."""
    from insight.models.metrics import binary_metrics
    from sklearn.model_selection import StratifiedKFold

    from insight.data import schema

    config = config or TrainConfig()
    schema.validate_spec(frame, spec)
    y_all, _ = schema.clean_target(frame[spec.target], spec.target, spec.positive_label)
    labelled = np.flatnonzero(y_all.notna().to_numpy())
    y_lab = y_all.to_numpy()[labelled]
    check_folds(folds, y_lab, spec.target)
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=config.seed)
    per_fold: list[dict[str, dict[str, float]]] = []
    pooled_y: list[np.ndarray] = []
    pooled_p: dict[str, list[np.ndarray]] = {model: [] for model in MODELS}
    for k, (train_pos, test_pos) in enumerate(splitter.split(labelled, y_lab)):
        if progress:
            progress(f"fold {k + 1} of {folds}", k / folds)
        train_rows, test_rows = labelled[train_pos], labelled[test_pos]
        y_test, predicted = evaluate_fold(frame, spec, config, train_rows, test_rows)
        per_fold.append({name: {m: binary_metrics(y_test, p)[m] for m in METRICS} for name, p in predicted.items()})
        pooled_y.append(y_test)
        for name, p in predicted.items():
            pooled_p[name].append(p)
        log.info("fold %d: %s", k + 1, {m: round(v["roc_auc"], 4) for m, v in per_fold[-1].items()})
    if progress:
        progress("done", 1.0)
    y_oof = np.concatenate(pooled_y)
    pooled = {model: binary_metrics(y_oof, np.concatenate(pooled_p[model])) for model in MODELS}
    summary = {model: {metric: {"mean": float(np.mean([f[model][metric] for f in per_fold])),
                                "std": float(np.std([f[model][metric] for f in per_fold])),
                                "pooled": float(pooled[model][metric])}
                       for metric in METRICS}
               for model in MODELS}
    return {"models": summary, "rows": int(len(labelled)), "folds": folds, "seed": config.seed,
            "per_fold": per_fold}


def check_folds(folds: int, y: np.ndarray, target: str) -> None:
    """InputError unless every one of `folds` stratified folds can hold a customer of each class."""
    from insight.errors import InputError

    if folds < 2:
        raise InputError(f"--folds must be at least 2 (got {folds}).")
    if folds > len(y):
        raise InputError(f"--folds {folds} is more than the {len(y):,} labelled customers; use --folds "
                         f"{min(5, len(y))} (5 is usual).")
    smaller = int(min((y == 1).sum(), (y == 0).sum()))
    if folds > smaller:
        which = "churners" if (y == 1).sum() <= (y == 0).sum() else "non-churners"
        raise InputError(f"--folds {folds} is more than the {smaller:,} {which} in {target!r} (the smaller class): "
                         f"each fold needs at least one of each class; use --folds {min(5, smaller)} or at most "
                         f"{smaller}.")


def evaluate_fold(frame: pd.DataFrame, spec: DataSpec, config: TrainConfig, train_rows: np.ndarray,
                  test_rows: np.ndarray) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Fit the recipe on `train_rows` only and score `test_rows` with every model: the held-out labels and
    each model's churn probabilities."""
    from insight.data import schema
    from insight.models.recipe import fit_models, score, split_rows

    train_frame = frame.iloc[train_rows].reset_index(drop=True)
    test_frame = frame.iloc[test_rows].reset_index(drop=True)
    table = schema.clean_table(train_frame, spec)
    y = table.frame[spec.target].to_numpy(dtype=np.float64)
    inner = split_rows(y, config, test_size=0.0)
    fit = fit_models(table, spec, config, splits=inner, fit_rows=np.sort(inner.fit))
    # the held-out rows are rows of the same table: cleaned with training's tolerance, not refused
    scores = score(fit.models, test_frame, heads=True, strict=False, threads=config.threads)
    y_test, _ = schema.clean_target(test_frame[spec.target], spec.target, table.schema.positive_label)
    y_test = y_test.to_numpy()
    assert scores.logistic_probability is not None
    return y_test, {"lightgbm": scores.probability, "multitask": scores.heads[spec.target],
                    "logistic": scores.logistic_probability}


def held_out_metrics(y: np.ndarray, probability: np.ndarray, heads: dict[str, np.ndarray], data: pd.DataFrame,
                     spec: DataSpec, splits: Splits, tasks: list[Any]) -> dict[str, Any]:
    """A trained run's test metrics of both models; LightGBM's come first (the model of record). Each
    auxiliary head is measured against predicting its training mean (`metrics.aux_head_metrics`)."""
    from insight.models.metrics import aux_head_metrics, binary_metrics

    test, train = splits.test, splits.train
    out: dict[str, Any] = {
        "lightgbm": {"test": binary_metrics(y[test], probability[test])},
        "multitask": {spec.target: binary_metrics(y[test], heads[spec.target][test])},
        "split_sizes": {"train": int(len(train)), "valid": int(len(splits.valid)), "test": int(len(test))},
    }
    for task in tasks[1:]:
        values = data[task.name].to_numpy(dtype=np.float64)
        known = test[~np.isnan(values[test])]
        seen = values[train][~np.isnan(values[train])]
        train_mean = float(seen.mean()) if seen.size else None
        kind = "binary" if task.kind == "binary" else "regression"
        out["multitask"][task.name] = aux_head_metrics(values[known], heads[task.name][known], kind=kind,
                                                       train_mean=train_mean)
    return out


def snapshot_metrics(models: Models, X: np.ndarray, y: np.ndarray, data: pd.DataFrame, spec: DataSpec,
                     splits: Splits, plan: SnapshotPlan, *, threads: int | None = None) -> dict[str, Any]:
    """A time-aware run's held-out metrics (`insight.data.snapshots`): `held_out_metrics` and the logistic
    baseline's test metrics on the random split among the training snapshots, and `out_of_time` for LightGBM
    and the baseline: the same metrics on L's labelled rows, with L's date ("snapshot"), its row count and
    the last training snapshot ("trained_through"). The models never saw L. Only the rows measured are
    scored; `metrics.time` records the plan."""
    from insight.data.snapshots import iso
    from insight.models.metrics import binary_metrics
    from insight.models.recipe import score_matrix

    assert models.multitask is not None and models.logistic is not None
    late = plan.out_of_time_rows(y)
    rows = np.concatenate([splits.test, late])
    scores = score_matrix(models, X[rows], heads=True, threads=threads)
    assert scores.logistic_probability is not None

    def spread(values: np.ndarray) -> np.ndarray:  # row for row with the table, NaN where not scored
        out = np.full(len(y), np.nan)
        out[rows] = values
        return out

    probability, logistic = spread(scores.probability), spread(scores.logistic_probability)
    heads = {name: spread(values) for name, values in scores.heads.items()}
    metrics = held_out_metrics(y, probability, heads, data, spec, splits, models.multitask.tasks)
    when = {"snapshot": iso(plan.out_of_time), "rows": int(len(late)), "trained_through": iso(plan.trained_through)}
    metrics["lightgbm"]["out_of_time"] = {**binary_metrics(y[late], probability[late]), **when}
    metrics["logistic"] = {"test": binary_metrics(y[splits.test], logistic[splits.test]),
                           "out_of_time": {**binary_metrics(y[late], logistic[late]), **when}}
    metrics["time"] = plan.to_dict()
    return metrics
