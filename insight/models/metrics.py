"""Binary-classification metrics and curves: ROC, PR, calibration, gains and lift; the confusion matrix at
a threshold; several models side by side; the multi-task network's auxiliary heads against the training
mean."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd

log = logging.getLogger(__name__)


def skewness(v: np.ndarray) -> float:
    """The (population) skewness of `v`; 0 for a constant."""
    s = v.std()
    return float(((v - v.mean()) ** 3).mean() / s**3) if s > 0 else 0.0


def expected_calibration_error(y: np.ndarray, p: np.ndarray, *, bins: int = 10) -> float:
    """ECE with equal-width bins: the share-weighted mean gap between predicted and observed rates."""
    y, p = np.asarray(y, dtype=float), np.asarray(p, dtype=float)
    idx = np.minimum((p * bins).astype(int), bins - 1)
    total = 0.0
    for b in range(bins):
        m = idx == b
        if m.any():
            total += m.sum() * abs(p[m].mean() - y[m].mean())
    return float(total / len(y))


def binary_metrics(y: np.ndarray, p: np.ndarray) -> dict[str, float]:
    """ROC AUC, PR AUC (average precision), log loss, Brier score and ECE (the same figures as scikit-learn's
    functions, computed here so that the dashboard does not import scikit-learn)."""
    y, p = np.asarray(y, dtype=float), np.clip(np.asarray(p, dtype=float), 1e-7, 1 - 1e-7)
    brier = float(np.mean((p - y) ** 2)) if len(y) else float("nan")
    if len(np.unique(y)) < 2:
        return {"roc_auc": float("nan"), "pr_auc": float("nan"), "log_loss": float("nan"), "brier": brier,
                "ece": expected_calibration_error(y, p), "n": int(len(y)), "positive_rate": float(y.mean())}
    return {
        "roc_auc": roc_auc(y, p),
        "pr_auc": average_precision(y, p),
        "log_loss": float(-np.mean(y * np.log(p) + (1 - y) * np.log1p(-p))),
        "brier": brier,
        "ece": expected_calibration_error(y, p),
        "n": int(len(y)),
        "positive_rate": float(y.mean()),
    }


def _threshold_counts(y: np.ndarray, p: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """False and true positives when flagging scores >= each distinct score, highest score first."""
    y, p = np.asarray(y, dtype=float), np.asarray(p, dtype=float)
    order = np.argsort(-p, kind="mergesort")
    p, y = p[order], y[order]
    last = np.r_[np.flatnonzero(np.diff(p)), len(p) - 1]
    tps = np.cumsum(y)[last]
    return 1 + last - tps, tps, p[last]


def roc_auc(y: np.ndarray, p: np.ndarray) -> float:
    """Area under the ROC curve (ties counted half, as scikit-learn's roc_auc_score)."""
    fps, tps, _ = _threshold_counts(y, p)
    if len(tps) == 0 or tps[-1] == 0 or fps[-1] == 0:
        return float("nan")
    return float(np.trapezoid(np.r_[0, tps] / tps[-1], np.r_[0, fps] / fps[-1]))


def average_precision(y: np.ndarray, p: np.ndarray) -> float:
    """Average precision: precision at each threshold weighted by the recall it adds (scikit-learn's
    average_precision_score)."""
    fps, tps, _ = _threshold_counts(y, p)
    if len(tps) == 0 or tps[-1] == 0:
        return float("nan")
    recall = tps / tps[-1]
    return float(np.sum(np.diff(np.r_[0, recall]) * tps / (tps + fps)))


def _thin(frame: pd.DataFrame, max_points: int) -> pd.DataFrame:
    """At most `max_points` rows of a curve, evenly spread, first and last kept (for drawing only)."""
    if len(frame) <= max_points:
        return frame
    keep = np.unique(np.linspace(0, len(frame) - 1, max_points).round().astype(int))
    return frame.iloc[keep].reset_index(drop=True)


def regression_metrics(y: np.ndarray, pred: np.ndarray, train_mean: float) -> dict[str, float]:
    """R² of the prediction and of the training mean (the baseline a head must beat), and MAE."""
    y, pred = np.asarray(y, dtype=float), np.asarray(pred, dtype=float)
    ss_tot = float(((y - y.mean()) ** 2).sum()) or 1.0
    return {"r2": 1 - float(((y - pred) ** 2).sum()) / ss_tot,
            "r2_of_train_mean": 1 - float(((y - train_mean) ** 2).sum()) / ss_tot,
            "mae": float(np.abs(y - pred).mean()), "n": int(len(y))}


def roc_curve_frame(y: np.ndarray, p: np.ndarray, *, max_points: int = 2_000) -> pd.DataFrame:
    """The ROC curve from (0, 0): false- and true-positive rates at each threshold, thinned for drawing."""
    fps, tps, thresholds = _threshold_counts(y, p)
    fpr = np.r_[0, fps] / max(fps[-1] if len(fps) else 0, 1)
    tpr = np.r_[0, tps] / max(tps[-1] if len(tps) else 0, 1)
    return _thin(pd.DataFrame({"fpr": fpr, "tpr": tpr, "threshold": np.r_[np.inf, thresholds]}), max_points)


def pr_curve_frame(y: np.ndarray, p: np.ndarray, *, max_points: int = 2_000) -> pd.DataFrame:
    """Precision against recall at each threshold, highest threshold first, ending at recall 1."""
    fps, tps, thresholds = _threshold_counts(y, p)
    precision = tps / np.maximum(tps + fps, 1)
    recall = tps / max(tps[-1] if len(tps) else 0, 1)
    return _thin(pd.DataFrame({"recall": recall, "precision": precision, "threshold": thresholds}), max_points)


def calibration_frame(y: np.ndarray, p: np.ndarray, *, bins: int = 10) -> pd.DataFrame:
    """Per equal-width bin: mean predicted probability, observed rate, count, and a 95 % Wilson interval."""
    y, p = np.asarray(y, dtype=float), np.asarray(p, dtype=float)
    idx = np.minimum((p * bins).astype(int), bins - 1)
    rows = []
    for b in range(bins):
        m = idx == b
        if m.any():
            lo, hi = wilson_interval(int(y[m].sum()), int(m.sum()))
            rows.append({"bin": b, "predicted": p[m].mean(), "observed": y[m].mean(), "count": int(m.sum()),
                         "low": lo, "high": hi})
    return pd.DataFrame(rows)


def lift_frame(y: np.ndarray, p: np.ndarray, *, groups: int = 10) -> pd.DataFrame:
    """Customers ranked by risk and cut into deciles: churn rate, lift and cumulative gain per decile."""
    y, p = np.asarray(y, dtype=float), np.asarray(p, dtype=float)
    order = np.argsort(-p, kind="stable")
    y_sorted = y[order]
    parts = np.array_split(np.arange(len(y)), groups)
    base = y.mean() if len(y) else 0.0
    total = y.sum() or 1.0
    rows, cum = [], 0.0
    for i, part in enumerate(parts, start=1):
        hits = y_sorted[part].sum()
        cum += hits
        rate = hits / max(len(part), 1)
        rows.append({"decile": i, "customers": len(part), "churners": int(hits), "churn_rate": rate,
                     "lift": rate / base if base else np.nan, "cumulative_gain": cum / total,
                     "cumulative_share": (part[-1] + 1) / len(y) if len(part) else 0.0})
    return pd.DataFrame(rows)


def confusion_at(y: np.ndarray, p: np.ndarray, threshold: float) -> dict[str, Any]:
    """Counts tp, fp, fn, tn when customers with `p` >= `threshold` are flagged, with precision and recall
    (NaN when nobody is flagged / there are no churners)."""
    y, pred = np.asarray(y).astype(int), (np.asarray(p) >= threshold).astype(int)
    tp, fp = int(((pred == 1) & (y == 1)).sum()), int(((pred == 1) & (y == 0)).sum())
    fn, tn = int(((pred == 0) & (y == 1)).sum()), int(((pred == 0) & (y == 0)).sum())
    return {"tp": tp, "fp": fp, "fn": fn, "tn": tn, "precision": tp / (tp + fp) if tp + fp else float("nan"),
            "recall": tp / (tp + fn) if tp + fn else float("nan")}


def wilson_interval(successes: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """95 % Wilson score interval for a proportion."""
    if n == 0:
        return (float("nan"), float("nan"))
    phat = successes / n
    denom = 1 + z * z / n
    centre = (phat + z * z / (2 * n)) / denom
    half = z * np.sqrt(phat * (1 - phat) / n + z * z / (4 * n * n)) / denom
    return (float(max(0.0, centre - half)), float(min(1.0, centre + half)))


def threshold_report(y: np.ndarray, p: np.ndarray, threshold: float) -> dict[str, Any]:
    """The confusion matrix when customers with `p` >= `threshold` are flagged, with its rates.

    Counts tp, fp, fn, tn; n, churners, stayers and flagged; share_flagged; precision, recall (= tpr), fpr,
    tnr (specificity), fnr, accuracy and f1 (2 tp / (2 tp + fp + fn), as scikit-learn). A rate whose
    denominator is zero is NaN (no churners: no recall; nobody flagged: no precision).
    """
    c = confusion_at(y, p, threshold)
    tp, fp, fn, tn = c["tp"], c["fp"], c["fn"], c["tn"]
    n, churners, stayers, flagged = tp + fp + fn + tn, tp + fn, fp + tn, tp + fp

    def ratio(a: float, b: float) -> float:
        return a / b if b else float("nan")

    precision, recall = ratio(tp, flagged), ratio(tp, churners)
    f1 = ratio(2 * tp, 2 * tp + fp + fn)  # = 2PR / (P + R) where both are defined; 0 when none is caught
    return {"threshold": float(threshold), "tp": tp, "fp": fp, "fn": fn, "tn": tn, "n": n,
            "churners": churners, "stayers": stayers, "flagged": flagged, "share_flagged": ratio(flagged, n),
            "precision": precision, "recall": recall, "tpr": recall, "fpr": ratio(fp, stayers),
            "tnr": ratio(tn, stayers), "fnr": ratio(fn, churners), "accuracy": ratio(tp + tn, n), "f1": f1}


def compare_models(y: np.ndarray, scores: dict[str, np.ndarray], *, threshold: float | None = None
                   ) -> pd.DataFrame:
    """`binary_metrics` of several models' probabilities on the same customers, one row per model (in the
    order given; column `model`); with `threshold`, also each model's precision, recall and share flagged
    there."""
    rows = []
    for name, p in scores.items():
        row: dict[str, Any] = {"model": name, **binary_metrics(y, p)}
        if threshold is not None:
            at = threshold_report(y, p, threshold)
            row.update(precision=at["precision"], recall=at["recall"], share_flagged=at["share_flagged"])
        rows.append(row)
    return pd.DataFrame(rows)


def head_kinds(multitask: dict[str, dict[str, Any]], *, target: str) -> dict[str, str]:
    """The multi-task network's auxiliary heads (every head but `target`'s) and their kind, 'regression' or
    'binary', read off their held-out metrics in the manifest (R² for one, ROC AUC for the other)."""
    kinds = {}
    for name, m in multitask.items():
        if name == target:
            continue
        if "r2" in m:
            kinds[name] = "regression"
        elif "roc_auc" in m:
            kinds[name] = "binary"
    return kinds


def aux_head_metrics(y: np.ndarray, pred: np.ndarray, *, kind: str, train_mean: float | None
                     ) -> dict[str, Any]:
    """One auxiliary head on held-out customers, against predicting the training mean.

    Regression: `regression_metrics` (R² of the head and of the training mean). Binary: `binary_metrics`, the
    ROC AUC of the training mean (0.5: a constant ranks nobody above anybody) and its Brier score. Both:
    `beats_train_mean`, True when the head ranks (binary) or predicts (regression) better, None when it
    cannot be told (no training mean, fewer than two customers, or one class only).
    """
    y, pred = np.asarray(y, dtype=float), np.asarray(pred, dtype=float)
    mean = float("nan") if train_mean is None else float(train_mean)
    if kind == "regression":
        if len(y) < 2:
            return {"r2": float("nan"), "r2_of_train_mean": float("nan"), "mae": float("nan"),
                    "n": int(len(y)), "beats_train_mean": None}
        m: dict[str, Any] = regression_metrics(y, pred, mean)
        m["beats_train_mean"] = None if np.isnan(m["r2_of_train_mean"]) or np.isnan(m["r2"]) \
            else bool(m["r2"] > m["r2_of_train_mean"])
        return m
    if kind != "binary":
        raise ValueError(f"kind must be 'regression' or 'binary', not {kind!r}")
    if len(y) == 0:
        return {"roc_auc": float("nan"), "roc_auc_of_train_mean": 0.5, "n": 0, "beats_train_mean": None}
    m = binary_metrics(y, pred)
    m["roc_auc_of_train_mean"] = 0.5
    m["brier_of_train_mean"] = float(np.mean((y - mean) ** 2))
    m["beats_train_mean"] = None if np.isnan(m["roc_auc"]) else bool(m["roc_auc"] > 0.5)
    return m


def head_baselines(frame: pd.DataFrame, kinds: dict[str, str], train_means: dict[str, float | None]
                   ) -> pd.DataFrame:
    """Does each auxiliary head beat predicting the training mean, on these customers?

    `frame` holds each target and its head's prediction (`predicted_<target>`). Regression heads: the head's
    R² against the R² of the training mean (the head wins when its squared error is smaller). Binary heads:
    the head's ROC AUC against 0.5, what any constant such as the training mean scores. One row per head
    (heads missing from `frame` are left out): target, kind, measure, model, baseline, beats (None when it
    cannot be told: fewer than two known values, no training mean, or one class only), n.
    """
    rows = []
    for name, kind in kinds.items():
        predicted = f"predicted_{name}"
        if name not in frame or predicted not in frame:
            log.info("head %s: no %s / %s column among the test customers", name, name, predicted)
            continue
        y = pd.to_numeric(frame[name], errors="coerce").to_numpy(dtype=float)
        pred = pd.to_numeric(frame[predicted], errors="coerce").to_numpy(dtype=float)
        known = ~np.isnan(y) & ~np.isnan(pred)
        mean = train_means.get(name)
        m = aux_head_metrics(y[known], pred[known], kind=kind,
                             train_mean=None if mean is None else float(mean))
        if kind == "regression":
            row = {"measure": "R²", "model": m["r2"], "baseline": m["r2_of_train_mean"]}
        else:
            row = {"measure": "ROC AUC", "model": m["roc_auc"], "baseline": m["roc_auc_of_train_mean"]}
        rows.append({"target": name, "kind": kind, **row, "beats": m["beats_train_mean"],
                     "n": int(known.sum())})
    return pd.DataFrame(rows, columns=["target", "kind", "measure", "model", "baseline", "beats", "n"])
