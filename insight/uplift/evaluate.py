"""An uplift model on held-out campaign customers: the figures and curves for the manifest and the Model page.

`evaluate_uplift` ranks the held-out customers by the model's uplift, by churn risk (when given) and at
random (the straight line), and returns plain JSON-ready numbers: the Qini coefficient and AUUC of each
ranking (insight.uplift.metrics, propensity-weighted when the propensity is not constant), and the uplift and
Qini curves at `points` evenly spaced numbers of customers targeted for the model, risk, random and the
perfect ranking.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from insight.uplift import metrics
from insight.uplift.model import UpliftModel

log = logging.getLogger(__name__)

CURVE_POINTS = 101


def _rounded(a: np.ndarray) -> list[float]:
    return [round(float(v), 6) for v in a]


def evaluate_uplift(model: UpliftModel, X: np.ndarray, treatment: np.ndarray, churn: np.ndarray, *,
                    risk: np.ndarray | None = None, propensity: np.ndarray | None = None,
                    points: int = CURVE_POINTS) -> dict[str, Any]:
    """{"customers", "treated", "scores": {ranking: {"qini", "auuc"}}, "curves": {"uplift"|"qini":
    {"customers": [...], ranking: [...], "random": [...], "perfect": [...]}}}."""
    t = np.asarray(treatment, dtype=float)
    y = np.asarray(churn, dtype=float)
    e = None if propensity is None or np.ptp(np.asarray(propensity, dtype=float)) == 0 else np.asarray(propensity, dtype=float)
    rankings = {"model": model.predict(X)}
    if risk is not None:
        rankings["risk"] = np.asarray(risk, dtype=float)
    scores = metrics.ranking_scores(y, t, rankings, propensity=e)
    scores["random"] = {"qini": 0.0, "auuc": 0.0}
    curves: dict[str, dict[str, list[float]]] = {}
    for name, curve, perfect in (("uplift", metrics.uplift_curve, metrics.perfect_uplift_curve),
                                 ("qini", metrics.qini_curve, metrics.perfect_qini_curve)):
        out: dict[str, list[float]] = {}
        grid = None
        for ranking, score in rankings.items():
            grid, values = metrics.curve_points(*curve(y, score, t, propensity=e), points=points)
            out[ranking] = _rounded(values)
        grid, best = metrics.curve_points(*perfect(y, t, propensity=e), points=points)
        out["perfect"] = _rounded(best)
        out["random"] = _rounded(np.linspace(0.0, out["perfect"][-1], len(grid)))
        out["customers"] = _rounded(grid)
        curves[name] = out
    log.info("uplift on %d held-out customers: Qini %s", len(y), {k: round(v["qini"], 4) for k, v in scores.items()})
    return {"customers": int(len(y)), "treated": int(t.sum()),
            "scores": {k: {m: round(float(v), 6) for m, v in s.items()} for k, s in scores.items()}, "curves": curves}
