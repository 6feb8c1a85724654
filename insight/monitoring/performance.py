"""How well a model does on a scored batch: estimated without labels, and realised once the labels arrive.

The estimate is confidence-based performance estimation (CBPE), the method of NannyML
(`nannyml.performance_estimation.confidence_based`): when the probabilities are calibrated, a customer with
probability p churns with probability p, so p is the expected value of the customer's label. Every count of
the confusion matrix at a threshold then has an expected value (flagged customers add p to the true and 1 - p
to the false positives; the others add p to the false negatives and 1 - p to the true negatives), and so do
precision and recall. The expected ROC curve takes the same soft labels: customers sorted by probability,
highest first, the cumulative sums of p and of 1 - p are the expected true- and false-positive counts at every
threshold, and the estimate is the area under that curve. Customers with tied probabilities form one step (as
the realised ROC AUC counts ties half, `insight.models.metrics.roc_auc`); NannyML orders ties arbitrarily,
which is the same for distinct probabilities.

The method is only as good as the calibration: the run's probabilities are Platt-calibrated out of fold at
training (`insight.models.churn`), and drift that breaks the calibration (the same features meaning a
different risk) breaks the estimate. NannyML recalibrates on a labelled reference set when it judges it
needed; here the run's own calibration is the reference's. Feature drift is reported beside the estimate
for this reason (`insight.monitoring.drift`).

The threshold is the Targeting page's default cut (`insight.decisions.targeting.default_threshold`): its
default offer pays for a contact when probability x save rate x value exceeds the cost, so it contacts the
customers whose probability is at least the break-even cost / (save rate x value).
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from insight.errors import InputError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Performance:
    """A model's performance on a batch at a threshold: estimated (`kind` "estimated") or realised."""

    kind: str
    rows: int
    threshold: float
    roc_auc: float
    precision: float
    recall: float
    churn_rate: float
    """Estimated: the mean probability (the expected share who churn); realised: the share who churned."""
    share_flagged: float
    mean_probability: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe: NaN (undefined, e.g. no churners) becomes None."""
        return {k: (None if isinstance(v, float) and not np.isfinite(v) else v) for k, v in asdict(self).items()}


def _probabilities(p: np.ndarray) -> np.ndarray:
    p = np.asarray(p, dtype=float)
    if p.size and (not np.isfinite(p).all() or p.min() < 0 or p.max() > 1):
        raise ValueError("probabilities must be finite and between 0 and 1")
    return p


def expected_roc_auc(p: np.ndarray) -> float:
    """The CBPE estimate of ROC AUC: the area under the ROC curve whose true- and false-positive counts are
    the cumulative sums of p and 1 - p, customers sorted by p from the highest (ties one step). NaN for
    fewer than two customers or when every p is 0 or every p is 1."""
    p = _probabilities(p)
    order = np.argsort(-p, kind="mergesort")
    ps = p[order]
    last = np.r_[np.flatnonzero(np.diff(ps)), len(ps) - 1] if len(ps) else np.array([], dtype=int)
    tps = np.cumsum(ps)[last]
    fps = np.cumsum(1 - ps)[last]
    if len(p) < 2 or tps[-1] <= 0 or fps[-1] <= 0:
        return float("nan")
    return float(np.trapezoid(np.r_[0, tps] / tps[-1], np.r_[0, fps] / fps[-1]))


def expected_confusion(p: np.ndarray, threshold: float) -> dict[str, float]:
    """Expected tp, fp, fn and tn when customers with p >= `threshold` are flagged and each churns with
    probability p."""
    p = _probabilities(p)
    flagged = p >= threshold
    return {"tp": float(p[flagged].sum()), "fp": float((1 - p[flagged]).sum()),
            "fn": float(p[~flagged].sum()), "tn": float((1 - p[~flagged]).sum())}


def _ratio(a: float, b: float) -> float:
    return a / b if b > 0 else float("nan")


def estimate_performance(p: np.ndarray, threshold: float) -> Performance:
    """The CBPE estimate: expected ROC AUC, expected precision tp / (tp + fp) and recall tp / (tp + fn) of
    the expected confusion matrix at `threshold`, the expected churn rate (the mean probability)."""
    p = _probabilities(p)
    c = expected_confusion(p, threshold)
    mean = float(p.mean()) if len(p) else float("nan")
    return Performance(kind="estimated", rows=int(len(p)), threshold=float(threshold), roc_auc=expected_roc_auc(p),
                       precision=_ratio(c["tp"], c["tp"] + c["fp"]), recall=_ratio(c["tp"], c["tp"] + c["fn"]),
                       churn_rate=mean, share_flagged=_ratio(float((p >= threshold).sum()), len(p)),
                       mean_probability=mean)


def realised_performance(y: np.ndarray, p: np.ndarray, threshold: float) -> Performance:
    """ROC AUC, precision and recall at `threshold` and churn rate of the customers whose label is known
    (`y` 0/1, NaN unknown); NaN where undefined (one class only, nobody flagged)."""
    from insight.models.metrics import roc_auc, threshold_report

    y, p = np.asarray(y, dtype=float), _probabilities(p)
    known = ~np.isnan(y)
    y, p = y[known], p[known]
    both = len(np.unique(y)) == 2
    at = threshold_report(y, p, threshold)
    return Performance(kind="realised", rows=int(len(y)), threshold=float(threshold),
                       roc_auc=roc_auc(y, p) if both else float("nan"), precision=float(at["precision"]),
                       recall=float(at["recall"]), churn_rate=float(y.mean()) if len(y) else float("nan"),
                       share_flagged=float(at["share_flagged"]),
                       mean_probability=float(p.mean()) if len(p) else float("nan"))


def batch_labels(series: pd.Series, name: str, positive_label: str) -> np.ndarray:
    """A scored batch's churn labels as 0/1 (NaN where blank), read as the run's training read its target:
    `positive_label` (the run's schema) is the churned value; numbers are 0/1 unless the run's churned
    value is another number. InputError when the column cannot be read so."""
    from insight.data.schema import NEGATIVE_TOKENS

    s = series.astype("float64") if pd.api.types.is_bool_dtype(series) else series
    if pd.api.types.is_numeric_dtype(s):
        values = sorted(float(v) for v in pd.unique(s.dropna()))
        number = pd.to_numeric(pd.Series([positive_label]), errors="coerce").iloc[0]
        if pd.isna(number) or positive_label == "1":  # 0/1 as training read them (another number: 2 values)
            number = 1.0
            wrong = not set(values) <= {0.0, 1.0}
        else:
            wrong = len(values) > 2 or (len(values) == 2 and number not in values)
        if wrong:
            raise InputError(f"--labels {name!r} must hold the run's churn values (churned = {positive_label!r}) "
                             f"but has {[f'{v:g}' for v in values[:6]]}; pass the column with the same values the "
                             "run was trained on.")
        return (s == number).astype("float64").where(s.notna()).to_numpy()
    text = s.astype("string").str.strip()
    lower = text.mask(text == "").str.lower()
    values = sorted(set(lower.dropna()))
    positive = positive_label.strip().lower()
    stray = [v for v in values if v != positive and v not in NEGATIVE_TOKENS]
    if len(values) > 2 or (positive not in values and stray) or len(stray) > 1:
        raise InputError(f"--labels {name!r} must hold the run's churn values (churned = {positive_label!r}) but "
                         f"has {values[:6]}; pass the column with the same values the run was trained on.")
    return (lower == positive).astype("float64").where(lower.notna()).to_numpy()
