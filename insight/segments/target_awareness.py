"""How much a segmentation tells about the business targets, measured on held-out customers.

Segments are target-aware when knowing a customer's segment says something about whether they will churn and
what they are worth. Three figures, each fitted on the training customers and measured on the test customers
(so that many small segments cannot score by memorising):

- `churn_log_loss_gain`: the share of the log loss of the overall churn rate that per-segment churn rates
  remove (0 = segments say nothing about churn, 1 = they predict it perfectly);
- `churn_nmi`: the normalised mutual information between segment and churn outcome (arithmetic mean
  normalisation, as scikit-learn's default);
- `value_variance_share[target]`: for each numeric auxiliary target, the share of its variance that the
  segments' means explain (a held-out R^2 of predicting the target by its segment's training mean).

Unassigned customers count as one more group.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from insight.formatting import label

SMOOTHING = 1.0
"""Pseudo-customers at the overall rate added to each segment's churn rate (a segment of three customers
does not get a rate of 0 or 1)."""


def target_awareness(labels: np.ndarray, churn: np.ndarray, values: dict[str, np.ndarray], *,
                     train_rows: np.ndarray, test_rows: np.ndarray) -> dict[str, Any]:
    """The figures of the module docstring for segment `labels` (one per customer); `churn` is 0/1 with NaN
    where unknown, `values` maps target names to floats with NaN where unknown."""
    labels = np.asarray(labels)
    out: dict[str, Any] = {"test_customers": int(len(test_rows))}
    train_y = _known(churn, labels, train_rows)
    test_y = _known(churn, labels, test_rows)
    if len(train_y[0]) and len(test_y[0]):
        out["churn_log_loss_gain"] = round(churn_log_loss_gain(*train_y, *test_y), 4)
        out["churn_nmi"] = round(normalised_mutual_information(test_y[1], test_y[0]), 4)
    shares = {}
    for name, v in values.items():
        tr, te = _known(v, labels, train_rows), _known(v, labels, test_rows)
        if len(tr[0]) > 1 and len(te[0]) > 1:
            shares[name] = round(variance_share(*tr, *te), 4)
    out["value_variance_share"] = shares
    return out


def churn_log_loss_gain(train_y: np.ndarray, train_labels: np.ndarray, test_y: np.ndarray,
                        test_labels: np.ndarray) -> float:
    """1 - log loss of smoothed per-segment churn rates / log loss of the overall rate, on the test rows."""
    overall = float(np.clip(train_y.mean(), 1e-6, 1 - 1e-6))
    rates = {}
    for seg in np.unique(train_labels):
        inside = train_y[train_labels == seg]
        rates[seg] = (inside.sum() + SMOOTHING * overall) / (len(inside) + SMOOTHING)
    p = np.array([rates.get(seg, overall) for seg in test_labels], dtype=np.float64)
    p = np.clip(p, 1e-6, 1 - 1e-6)
    base = _log_loss(test_y, np.full(len(test_y), overall))
    return float(1 - _log_loss(test_y, p) / base) if base > 0 else 0.0


def variance_share(train_v: np.ndarray, train_labels: np.ndarray, test_v: np.ndarray,
                   test_labels: np.ndarray) -> float:
    """Held-out R^2 of predicting a value by its segment's training mean (the training mean for a segment with
    no training customers), against the training mean."""
    overall = float(train_v.mean())
    means = {seg: float(train_v[train_labels == seg].mean()) for seg in np.unique(train_labels)}
    predicted = np.array([means.get(seg, overall) for seg in test_labels], dtype=np.float64)
    total = float(((test_v - overall) ** 2).sum())
    return float(1 - ((test_v - predicted) ** 2).sum() / total) if total > 0 else 0.0


def normalised_mutual_information(labels: np.ndarray, outcome: np.ndarray) -> float:
    """NMI with the arithmetic mean of the two entropies (scikit-learn's default normalisation)."""
    _, a = np.unique(labels, return_inverse=True)
    _, b = np.unique(outcome, return_inverse=True)
    joint = np.zeros((a.max() + 1, b.max() + 1))
    np.add.at(joint, (a, b), 1)
    joint /= joint.sum()
    pa, pb = joint.sum(axis=1), joint.sum(axis=0)
    nz = joint > 0
    mi = float((joint[nz] * np.log(joint[nz] / np.outer(pa, pb)[nz])).sum())
    ha, hb = _entropy(pa), _entropy(pb)
    if ha == 0 or hb == 0:
        return 1.0 if ha == hb else 0.0
    return max(0.0, mi / ((ha + hb) / 2))


def _entropy(p: np.ndarray) -> float:
    p = p[p > 0]
    return float(-(p * np.log(p)).sum())


def _log_loss(y: np.ndarray, p: np.ndarray) -> float:
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))


def _known(v: np.ndarray, labels: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    v = np.asarray(v, dtype=np.float64)[rows]
    keep = ~np.isnan(v)
    return v[keep], labels[rows][keep]


def describe(report: dict[str, Any]) -> str:
    """One sentence for the dashboard: 'Segments explain 14% of churn's log loss and 38% of the variance of
    revenue next 12m on held-out customers.'"""
    parts = []
    if "churn_log_loss_gain" in report:
        parts.append(f"{report['churn_log_loss_gain']:.0%} of churn's log loss")
    for name, share in report.get("value_variance_share", {}).items():
        if math.isfinite(share):
            parts.append(f"{share:.0%} of the variance of {label(name).lower()}")
    if not parts:
        return ""
    return "Segments explain " + ", ".join(parts[:-1]) + (" and " if len(parts) > 1 else "") + parts[-1] \
        + " on held-out customers."
