"""Uplift and Qini curves, AUUC and the Qini coefficient of a ranking, from held-out campaign outcomes.

Customers are ranked by a score (highest first: the model's uplift, churn risk, anything); ties form one
block, as in scikit-uplift. At each block's end, with k customers targeted, n_t and n_c treated and control
among them and C_t, C_c their churners:

- uplift curve: (C_c / n_c - C_t / n_t) * k: the churners the offer would prevent among those k (the control's
  churn rate minus the treated's, times k);
- Qini curve: C_c * n_t / n_c - C_t: the churners prevented among the treated of those k.

With a propensity e per customer, treated customers weigh 1/e and control ones 1/(1 - e) (inverse probability
weights, scaled within each group to sum to its count, so a constant propensity changes nothing) in the
n_* and C_* sums.

They are scikit-uplift 0.5.1's curves with the response "stayed" = 1 - churn (so its positive uplift is our
prevented churn), computed as it does, in stayers: (S_t / n_t - S_c / n_c) * k and S_t - S_c * n_t / n_c
(the same as above wherever both groups are among the k; where one is not, its rate counts as 0, as there);
the coefficients are its normalised areas: AUUC = uplift_auc_score and the Qini coefficient
= qini_auc_score (negative_effect=True): (area - random's) / (perfect's - random's), random targeting being
the straight line to the curve's end and `perfect` the ranking that knows the outcomes (scikit-uplift's
perfect curves). 0 is random, 1 perfect. tests/uplift/test_uplift_metrics.py checks all of it against
figures frozen from scikit-uplift (tests/fixtures/uplift_reference.py).
"""

from __future__ import annotations

import logging

import numpy as np

log = logging.getLogger(__name__)


def _arrays(churn: np.ndarray, score: np.ndarray, treatment: np.ndarray, propensity: np.ndarray | None
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    y = np.asarray(churn, dtype=float)
    s = np.asarray(score, dtype=float)
    t = np.asarray(treatment, dtype=float)
    if not (len(y) == len(s) == len(t)):
        raise ValueError("churn, score and treatment need one value per customer")
    if not np.isin(y, (0, 1)).all() or not np.isin(t, (0, 1)).all():
        raise ValueError("churn and treatment must be 0/1")
    if np.isnan(s).any():
        raise ValueError("the score has missing values")
    w = np.ones(len(y))
    if propensity is not None:
        e = np.asarray(propensity, dtype=float)
        if len(e) != len(y) or not ((e > 0) & (e < 1)).all():
            raise ValueError("the propensity needs one value in (0, 1) per customer")
        if np.ptp(e) > 0:
            w = np.where(t == 1, 1 / e, 1 / (1 - e))
            for flag in (0, 1):
                g = t == flag
                if g.any():
                    w[g] *= g.sum() / w[g].sum()
    return y, s, t, w


def _blocks(churn: np.ndarray, score: np.ndarray, treatment: np.ndarray, propensity: np.ndarray | None
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """k, n_t, n_c, S_t, S_c (the treated and control customers who stayed) at the end of each block of tied
    scores, highest score first."""
    y, s, t, w = _arrays(churn, score, treatment, propensity)
    order = np.argsort(s, kind="mergesort")[::-1]
    y, s, t, w = y[order], s[order], t[order], w[order]
    ends = np.r_[np.flatnonzero(np.diff(s)), len(s) - 1]
    n_t = np.cumsum(w * t)[ends]
    n_c = np.cumsum(w * (1 - t))[ends]
    s_t = np.cumsum(w * t * (1 - y))[ends]
    s_c = np.cumsum(w * (1 - t) * (1 - y))[ends]
    return (ends + 1).astype(float), n_t, n_c, s_t, s_c


def _ratio(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.divide(a, b, out=np.zeros_like(a), where=b != 0)


def _from_zero(k: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if k.size == 0 or v[0] != 0 or k[0] != 0:
        return np.r_[0.0, k], np.r_[0.0, v]
    return k, v


def uplift_curve(churn: np.ndarray, score: np.ndarray, treatment: np.ndarray, *,
                 propensity: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(customers targeted, churners prevented among them), from (0, 0)."""
    k, n_t, n_c, s_t, s_c = _blocks(churn, score, treatment, propensity)
    return _from_zero(k, (_ratio(s_t, n_t) - _ratio(s_c, n_c)) * k)


def qini_curve(churn: np.ndarray, score: np.ndarray, treatment: np.ndarray, *,
               propensity: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(customers targeted, churners prevented among the treated of them), from (0, 0)."""
    k, n_t, n_c, s_t, s_c = _blocks(churn, score, treatment, propensity)
    return _from_zero(k, s_t - s_c * _ratio(n_t, n_c))


def perfect_uplift_curve(churn: np.ndarray, treatment: np.ndarray, *,
                         propensity: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The uplift curve of the ranking that knows the outcomes (scikit-uplift's perfect_uplift_curve)."""
    stayed = 1 - np.asarray(churn, dtype=float)
    t = np.asarray(treatment, dtype=float)
    control_stayers = np.sum((stayed == 1) & (t == 0))
    treated_churners = np.sum((stayed == 0) & (t == 1))
    summand = stayed if control_stayers > treated_churners else t
    return uplift_curve(churn, 2 * (stayed == t) + summand, treatment, propensity=propensity)


def perfect_qini_curve(churn: np.ndarray, treatment: np.ndarray, *,
                       propensity: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The Qini curve of the ranking that knows the outcomes: treated stayers first, control stayers last
    (scikit-uplift's perfect_qini_curve with negative_effect=True)."""
    stayed = 1 - np.asarray(churn, dtype=float)
    t = np.asarray(treatment, dtype=float)
    return qini_curve(churn, stayed * t - stayed * (1 - t), treatment, propensity=propensity)


def _normalised(x: np.ndarray, y: np.ndarray, x_best: np.ndarray, y_best: np.ndarray) -> float:
    baseline = float(np.trapezoid([0.0, y_best[-1]], [0.0, x_best[-1]]))
    best = float(np.trapezoid(y_best, x_best)) - baseline
    if best <= 0:
        return float("nan")
    return (float(np.trapezoid(y, x)) - baseline) / best


def auuc(churn: np.ndarray, score: np.ndarray, treatment: np.ndarray, *,
         propensity: np.ndarray | None = None) -> float:
    """Area under the uplift curve above random's, over the perfect ranking's (scikit-uplift's uplift_auc_score)."""
    return _normalised(*uplift_curve(churn, score, treatment, propensity=propensity),
                       *perfect_uplift_curve(churn, treatment, propensity=propensity))


def qini_coefficient(churn: np.ndarray, score: np.ndarray, treatment: np.ndarray, *,
                     propensity: np.ndarray | None = None) -> float:
    """Area under the Qini curve above random's, over the perfect ranking's (scikit-uplift's qini_auc_score)."""
    return _normalised(*qini_curve(churn, score, treatment, propensity=propensity),
                       *perfect_qini_curve(churn, treatment, propensity=propensity))


def ranking_scores(churn: np.ndarray, treatment: np.ndarray, scores: dict[str, np.ndarray], *,
                   propensity: np.ndarray | None = None) -> dict[str, dict[str, float]]:
    """{name: {"qini": ..., "auuc": ...}} for each ranking score (random targeting scores 0 on both)."""
    return {name: {"qini": qini_coefficient(churn, s, treatment, propensity=propensity),
                   "auuc": auuc(churn, s, treatment, propensity=propensity)} for name, s in scores.items()}


def true_gain_share(score: np.ndarray, true_uplift: np.ndarray) -> float:
    """With a known true uplift (simulated data): the share of the gain over random targeting that ranking by
    the true uplift achieves which ranking by `score` achieves. The gain of a ranking is the area between its
    cumulative true uplift (expected churners prevented by treating its top k) and random targeting's line,
    summed over k (a Qini on expected values); 1 for the true ranking, about 0 for a random one."""
    tau = np.asarray(true_uplift, dtype=float)
    s = np.asarray(score, dtype=float)
    if len(s) != len(tau):
        raise ValueError("score and true_uplift need one value per customer")
    random = np.arange(1, len(tau) + 1) * tau.mean()

    def gain(order: np.ndarray) -> float:
        return float((np.cumsum(tau[order]) - random).sum())

    best = gain(np.argsort(-tau, kind="stable"))
    return gain(np.argsort(-s, kind="stable")) / best if best > 0 else float("nan")


def curve_points(x: np.ndarray, y: np.ndarray, points: int = 101) -> tuple[np.ndarray, np.ndarray]:
    """The curve at `points` evenly spaced counts of customers (linear between its blocks), for a figure."""
    grid = np.linspace(0.0, float(x[-1]), points)
    return grid, np.interp(grid, x, y)
