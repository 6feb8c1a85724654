"""Meta-learners of the offer's effect on churn, on LightGBM (insight.uplift.boosting).

tau(x) = P(churn | x, no offer) - P(churn | x, offer) = mu0(x) - mu1(x), with mu0, mu1 the churn
probabilities of the control and the treated (positive = the offer helps).

- T-learner: mu0 on the control customers, mu1 on the treated; tau = mu0 - mu1.
- X-learner (Kunzel et al. 2019): the other group's outcome model imputes each customer's effect (a treated
  customer: D = mu0(x) - y; a control customer: D = y - mu1(x); each row is out of sample for the model that
  imputes it), one regressor per group on those effects, combined as tau = g tau0 + (1 - g) tau1 with g the
  mean propensity (the treated share of a randomised campaign; a constant, so a new customer needs no
  propensity).
- DR-learner (Kennedy 2023): cross-fitted outcome models (`folds` folds: each row's mu0 and mu1 come from
  models that did not see it) give the doubly robust pseudo-outcome
  phi = mu0 - mu1 + (1 - t)(y - mu0)/(1 - e) - t(y - mu1)/e, whose mean given x is tau(x) whenever the
  propensity e is right; one regressor of phi on x is tau. e is clipped to [PROPENSITY_CLIP, 1 - PROPENSITY_CLIP].

Interval: the learner refitted on `bootstrap` resamples of its rows (with replacement, within each
treatment group, the rounds found by the full fits reused); the interval is the estimate -/+ z bag standard
deviations (UpliftModel.interval). The T-learner's bag refits its two classifiers; the X-learner's refits both its
stages (the imputed effects come from the resample's own outcome models); the DR-learner's refits the final regressor on the fixed cross-fitted pseudo-outcomes
(their first stage's noise is second order there, and refitting the cross-fitting would cost 2 x folds fits
per member). None covers the bias of a regularised fit: tests/uplift measure the coverage of the true tau
on simulated campaigns.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import numpy as np

from insight.uplift.boosting import Booster, UpliftConfig, fit_booster, probability
from insight.uplift.model import KINDS, Difference, Effect, UpliftModel, WeightedSum

log = logging.getLogger(__name__)

LEARNERS = tuple(KINDS)
PROPENSITY_CLIP = 0.02


@dataclass(frozen=True)
class Campaign:
    """A past campaign's training customers: features, 0/1 treatment, 0/1 churn, propensity per customer."""

    X: np.ndarray
    treatment: np.ndarray
    churn: np.ndarray
    propensity: np.ndarray
    feature_names: list[str]
    categorical: list[int]

    @classmethod
    def of(cls, X: np.ndarray, treatment: np.ndarray, churn: np.ndarray, *, feature_names: list[str],
           categorical: list[int] | None = None, propensity: np.ndarray | None = None) -> Campaign:
        X = np.asarray(X, dtype=np.float64)
        t = np.asarray(treatment).astype(np.int8)
        y = np.asarray(churn, dtype=float)
        if X.ndim != 2 or X.shape[1] != len(feature_names):
            raise ValueError("X needs one column per feature name")
        if not (len(t) == len(y) == len(X)):
            raise ValueError("treatment and churn need one value per row of X")
        if not np.isin(t, (0, 1)).all() or not np.isin(y, (0.0, 1.0)).all():
            raise ValueError("treatment and churn must be 0/1 (insight.uplift.checks.check_treatment checks the treatment)")
        e = np.full(len(t), t.mean()) if propensity is None else np.asarray(propensity, dtype=float)
        return cls(X=X, treatment=t, churn=y, propensity=e, feature_names=list(feature_names),
                   categorical=list(categorical or []))

    def subset(self, rows: np.ndarray) -> Campaign:
        return Campaign(X=self.X[rows], treatment=self.treatment[rows], churn=self.churn[rows],
                        propensity=self.propensity[rows], feature_names=self.feature_names, categorical=self.categorical)


@dataclass(frozen=True)
class Outcomes:
    """mu0 (fitted on the control customers) and mu1 (on the treated): the T-learner, and the X-learner's first stage."""

    control: Booster
    treated: Booster


def _fit(c: Campaign, rows: np.ndarray, target: np.ndarray, objective: str, config: UpliftConfig, seed: int,
         threads: int | None, rounds: int | None = None) -> Booster:
    return fit_booster(c.X[rows], target, objective=objective, feature_names=c.feature_names,
                       categorical=c.categorical, config=config, seed=seed, threads=threads, rounds=rounds)


def fit_outcomes(c: Campaign, *, config: UpliftConfig, seed: int = 0, threads: int | None = None) -> Outcomes:
    ctrl, trt = np.flatnonzero(c.treatment == 0), np.flatnonzero(c.treatment == 1)
    return Outcomes(control=_fit(c, ctrl, c.churn[ctrl], "binary", config, seed, threads),
                    treated=_fit(c, trt, c.churn[trt], "binary", config, seed + 1, threads))


def _resample(treatment: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Row positions drawn with replacement within each treatment group."""
    parts = [rng.choice(idx, size=len(idx), replace=True) for idx in
             (np.flatnonzero(treatment == 0), np.flatnonzero(treatment == 1))]
    return np.sort(np.concatenate(parts))


def _model(kind: str, estimate: Effect, bag: list[Effect], c: Campaign, outcomes: Outcomes, config: UpliftConfig,
           started: float, extra: dict[str, object]) -> UpliftModel:
    report = {"learner": KINDS[kind], "customers": int(len(c.churn)), "treated": int(c.treatment.sum()),
              "control_rounds": outcomes.control.rounds, "treated_rounds": outcomes.treated.rounds,
              "bootstrap": len(bag), **extra, "seconds": round(time.perf_counter() - started, 2)}
    log.info("%s: %s", KINDS[kind], report)
    return UpliftModel(kind=kind, estimate=estimate, bag=tuple(bag), control=outcomes.control.booster,
                       feature_names=tuple(c.feature_names), interval_level=config.interval_level, report=report)


def fit_t_learner(c: Campaign, *, config: UpliftConfig | None = None, seed: int = 0, threads: int | None = None,
                  outcomes: Outcomes | None = None) -> UpliftModel:
    config = config or UpliftConfig()
    started = time.perf_counter()
    outcomes = outcomes or fit_outcomes(c, config=config, seed=seed, threads=threads)
    rng = np.random.default_rng(seed + 101)
    bag: list[Effect] = []
    for b in range(config.bootstrap):
        rows = _resample(c.treatment, rng)
        ctrl, trt = rows[c.treatment[rows] == 0], rows[c.treatment[rows] == 1]
        bag.append(Difference(
            control=_fit(c, ctrl, c.churn[ctrl], "binary", config, seed + 2 + b, threads, outcomes.control.rounds).booster,
            treated=_fit(c, trt, c.churn[trt], "binary", config, seed + 2 + b, threads, outcomes.treated.rounds).booster))
    estimate = Difference(control=outcomes.control.booster, treated=outcomes.treated.booster)
    return _model("t", estimate, bag, c, outcomes, config, started, {})


def fit_x_learner(c: Campaign, *, config: UpliftConfig | None = None, seed: int = 0, threads: int | None = None,
                  outcomes: Outcomes | None = None) -> UpliftModel:
    config = config or UpliftConfig()
    started = time.perf_counter()
    outcomes = outcomes or fit_outcomes(c, config=config, seed=seed, threads=threads)
    ctrl, trt = np.flatnonzero(c.treatment == 0), np.flatnonzero(c.treatment == 1)
    imputed = np.empty(len(c.churn))
    imputed[trt] = probability(outcomes.control.booster, c.X[trt]) - c.churn[trt]
    imputed[ctrl] = c.churn[ctrl] - probability(outcomes.treated.booster, c.X[ctrl])
    tau0 = _fit(c, ctrl, imputed[ctrl], "regression", config, seed + 3, threads)
    tau1 = _fit(c, trt, imputed[trt], "regression", config, seed + 4, threads)
    g = float(np.mean(c.propensity))
    weights = (g, 1.0 - g)
    rng = np.random.default_rng(seed + 102)
    bag: list[Effect] = []
    for b in range(config.bootstrap):  # the whole learner on each resample: both stages' noise
        rows = _resample(c.treatment, rng)
        r0, r1 = rows[c.treatment[rows] == 0], rows[c.treatment[rows] == 1]
        m0 = _fit(c, r0, c.churn[r0], "binary", config, seed + 5 + b, threads, outcomes.control.rounds).booster
        m1 = _fit(c, r1, c.churn[r1], "binary", config, seed + 5 + b, threads, outcomes.treated.rounds).booster
        d0 = c.churn[r0] - probability(m1, c.X[r0])
        d1 = probability(m0, c.X[r1]) - c.churn[r1]
        bag.append(WeightedSum(weights=weights, regressors=(
            _fit(c, r0, d0, "regression", config, seed + 5 + b, threads, tau0.rounds).booster,
            _fit(c, r1, d1, "regression", config, seed + 5 + b, threads, tau1.rounds).booster)))
    estimate = WeightedSum(weights=weights, regressors=(tau0.booster, tau1.booster))
    return _model("x", estimate, bag, c, outcomes, config, started,
                  {"weight_control_effect": round(g, 6), "tau0_rounds": tau0.rounds, "tau1_rounds": tau1.rounds})


def cross_fitted(c: Campaign, outcomes: Outcomes, *, config: UpliftConfig, seed: int = 0,
                 threads: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Each customer's mu0 and mu1 from outcome models fitted without their fold (the full fits' rounds)."""
    rng = np.random.default_rng(seed + 7)
    fold = np.empty(len(c.churn), dtype=int)
    for flag in (0, 1):  # folds stratified by the treatment
        idx = np.flatnonzero(c.treatment == flag)
        fold[rng.permutation(idx)] = np.arange(len(idx)) % config.folds
    mu0, mu1 = np.empty(len(c.churn)), np.empty(len(c.churn))
    for k in range(config.folds):
        out, fit = np.flatnonzero(fold == k), fold != k
        ctrl, trt = np.flatnonzero(fit & (c.treatment == 0)), np.flatnonzero(fit & (c.treatment == 1))
        m0 = _fit(c, ctrl, c.churn[ctrl], "binary", config, seed + 10 + k, threads, outcomes.control.rounds)
        m1 = _fit(c, trt, c.churn[trt], "binary", config, seed + 20 + k, threads, outcomes.treated.rounds)
        mu0[out], mu1[out] = probability(m0.booster, c.X[out]), probability(m1.booster, c.X[out])
    return mu0, mu1


def dr_pseudo_outcome(churn: np.ndarray, treatment: np.ndarray, propensity: np.ndarray, mu0: np.ndarray,
                      mu1: np.ndarray) -> np.ndarray:
    """phi = mu0 - mu1 + (1 - t)(y - mu0)/(1 - e) - t(y - mu1)/e (see the module docstring)."""
    e = np.clip(np.asarray(propensity, dtype=float), PROPENSITY_CLIP, 1 - PROPENSITY_CLIP)
    t = np.asarray(treatment, dtype=float)
    y = np.asarray(churn, dtype=float)
    return mu0 - mu1 + (1 - t) * (y - mu0) / (1 - e) - t * (y - mu1) / e


def fit_dr_learner(c: Campaign, *, config: UpliftConfig | None = None, seed: int = 0, threads: int | None = None,
                   outcomes: Outcomes | None = None) -> UpliftModel:
    config = config or UpliftConfig()
    started = time.perf_counter()
    outcomes = outcomes or fit_outcomes(c, config=config, seed=seed, threads=threads)
    mu0, mu1 = cross_fitted(c, outcomes, config=config, seed=seed, threads=threads)
    phi = dr_pseudo_outcome(c.churn, c.treatment, c.propensity, mu0, mu1)
    every = np.arange(len(phi))
    tau = _fit(c, every, phi, "regression", config, seed + 30, threads)
    rng = np.random.default_rng(seed + 103)
    bag: list[Effect] = []
    for b in range(config.bootstrap):
        rows = _resample(c.treatment, rng)
        bag.append(WeightedSum(weights=(1.0,), regressors=(
            _fit(c, rows, phi[rows], "regression", config, seed + 31 + b, threads, tau.rounds).booster,)))
    return _model("dr", WeightedSum(weights=(1.0,), regressors=(tau.booster,)), bag, c, outcomes, config, started,
                  {"folds": config.folds, "tau_rounds": tau.rounds})


FITTERS = {"t": fit_t_learner, "x": fit_x_learner, "dr": fit_dr_learner}


def fit_learner(kind: str, c: Campaign, *, config: UpliftConfig | None = None, seed: int = 0,
                threads: int | None = None, outcomes: Outcomes | None = None) -> UpliftModel:
    """Fit the learner `kind` ("t", "x" or "dr"); `outcomes` shares the first stage between learners."""
    if kind not in FITTERS:
        raise ValueError(f"unknown uplift learner {kind!r}; use one of {', '.join(LEARNERS)}")
    return FITTERS[kind](c, config=config, seed=seed, threads=threads, outcomes=outcomes)
