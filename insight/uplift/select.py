"""Choose the uplift learner by its Qini coefficient on held-out training customers.

`select_learner` splits the training customers into a fitting part and a validation part (`valid_share`,
stratified by treatment x churn), fits every candidate learner on the fitting part (the T- and X-learners
share their outcome models), and scores each on the validation part: the Qini coefficient and AUUC
(insight.uplift.metrics, with propensity weights when the propensity is not constant), beside random
targeting (0 by construction) and, when a churn probability is given, the ranking by churn risk. The learner
with the highest Qini coefficient is chosen and, with `refit` (the default), fitted again on every training
customer, with its bag (the candidates are fitted without one: only their point estimates are compared);
the validation figures describe the learner chosen, the model returned has seen all the data.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from insight.uplift.boosting import UpliftConfig
from insight.uplift.learners import LEARNERS, Campaign, fit_learner, fit_outcomes
from insight.uplift.metrics import ranking_scores
from insight.uplift.model import KINDS, UpliftModel

log = logging.getLogger(__name__)

VALID_SHARE = 0.3


@dataclass(frozen=True)
class Selection:
    model: UpliftModel
    """The chosen learner (refitted on every training customer with `refit`)."""
    chosen: str
    scores: dict[str, dict[str, float]]
    """Validation figures per ranking: each learner's kind, "risk" (when given) and "random"."""
    report: dict[str, Any] = field(default_factory=dict)


def validation_split(treatment: np.ndarray, churn: np.ndarray, share: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Positions for fitting and for validation, stratified by treatment x churn."""
    rng = np.random.default_rng(seed)
    hold = np.zeros(len(churn), dtype=bool)
    cell = 2 * np.asarray(treatment, dtype=int) + np.asarray(churn, dtype=int)
    for v in range(4):
        idx = np.flatnonzero(cell == v)
        hold[rng.choice(idx, size=int(round(share * len(idx))), replace=False)] = True
    return np.flatnonzero(~hold), np.flatnonzero(hold)


def select_learner(c: Campaign, *, risk: np.ndarray | None = None, candidates: tuple[str, ...] = LEARNERS,
                   config: UpliftConfig | None = None, valid_share: float = VALID_SHARE, refit: bool = True,
                   seed: int = 0, threads: int | None = None) -> Selection:
    """Fit `candidates` on part of `c`, keep the best Qini coefficient on the rest (see the module docstring).

    `risk`: each training customer's churn probability (the churn model's, out of fold where possible), for
    the comparison with ranking by risk."""
    unknown = [k for k in candidates if k not in KINDS]
    if unknown or not candidates:
        raise ValueError(f"unknown uplift learners {unknown}; use some of {', '.join(LEARNERS)}")
    config = config or UpliftConfig()
    started = time.perf_counter()
    fit_rows, valid_rows = validation_split(c.treatment, c.churn, valid_share, seed)
    fit_part, valid = c.subset(fit_rows), c.subset(valid_rows)
    # the candidates need no bag when the chosen one is fitted again: only their point estimates are compared
    candidate_config = replace(config, bootstrap=0) if refit else config
    outcomes = fit_outcomes(fit_part, config=candidate_config, seed=seed, threads=threads)
    models = {k: fit_learner(k, fit_part, config=candidate_config, seed=seed, threads=threads, outcomes=outcomes)
              for k in candidates}
    weights = valid.propensity if np.ptp(valid.propensity) > 0 else None
    rankings = {k: m.predict(valid.X) for k, m in models.items()}
    if risk is not None:
        r = np.asarray(risk, dtype=float)
        if len(r) != len(c.churn):
            raise ValueError("risk needs one churn probability per training customer")
        rankings["risk"] = r[valid_rows]
    scores = ranking_scores(valid.churn, valid.treatment, rankings, propensity=weights)
    scores["random"] = {"qini": 0.0, "auuc": 0.0}
    chosen = max(candidates, key=lambda k: (scores[k]["qini"], -candidates.index(k)))
    model = fit_learner(chosen, c, config=config, seed=seed, threads=threads) if refit else models[chosen]
    report = {"chosen": chosen, "learner": KINDS[chosen], "validation": scores, "fit_customers": int(len(fit_rows)),
              "validation_customers": int(len(valid_rows)), "refit": refit,
              "seconds": round(time.perf_counter() - started, 2)}
    log.info("uplift learner %s chosen: validation Qini %s", KINDS[chosen],
             {k: round(v["qini"], 4) for k, v in scores.items()})
    return Selection(model=model, chosen=chosen, scores=scores, report=report)
