"""The uplift parts of a run (`insight train --treatment COL [--propensity COL]`): check the campaign, choose
and fit the uplift model on the run's training customers, evaluate it on the test customers, and derive what
the run stores. Called by insight.pipeline only; no file I/O (insight.runs.writer writes).

- the check (insight.uplift.checks): a 0/1 treatment, treated and control groups large enough, a propensity in
  (0, 1), and without one a treatment the features cannot predict (else randomisation cannot be assumed);
- the model: the X- or DR-learner with the best Qini coefficient on a validation part of the training
  customers (insight.uplift.select), refitted on all of them; the test customers stay unseen. The T-learner
  is left out of a run's candidates: a run explains each customer's uplift ("what makes this customer
  respond"), and the T-learner's difference of two classifiers' probabilities has no exact additive SHAP
  values (the X-learner also ranked best in every comparison on simulated and demo campaigns, see
  insight.uplift.select);
- evaluation on the test customers (insight.uplift.evaluate): Qini and AUUC of the model, of the churn model's
  risk ranking and of random targeting, with the curves, in `metrics.uplift`;
- per customer: the uplift with its interval, churn if not offered and the group (insight.uplift.predict), and
  what makes the customer respond in words (`response_reason_1..3`, from the uplift's exact SHAP values, for
  the X- and DR-learners).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from insight.config import DataSpec
from insight.data.features import FeatureMap
from insight.errors import InputError
from insight.models.explain import feature_value_text
from insight.runs import layout
from insight.uplift.model import UpliftModel

log = logging.getLogger(__name__)

RUN_LEARNERS = ("x", "dr")
"""The learners a run chooses among: those with exact SHAP values of the uplift."""
BARELY = 0.0005
"""|SHAP| below half a tenth of a point barely changes the offer's effect."""


@dataclass(frozen=True)
class UpliftParts:
    model: UpliftModel
    columns: pd.DataFrame
    """The customers.parquet columns, row for row with the customers."""
    metrics: dict[str, Any]
    """metrics.uplift."""
    setup: dict[str, Any]
    """The manifest's `uplift` section."""


def checked_campaign(spec: DataSpec, frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray | None]:
    """The treatment flags (and propensity) of the table as given, before any fit: InputError when they are not
    columns, or (insight.uplift.checks.treatment_flags) not 0/1."""
    from insight.uplift.checks import treatment_flags

    assert spec.treatment_column
    if spec.time_column:
        raise InputError("--treatment with --time is not supported yet: train the uplift model on one snapshot.")
    for option, column in (("--treatment", spec.treatment_column), ("--propensity", spec.propensity_column)):
        if column and column not in frame.columns:
            raise InputError(f"{option} column {column!r} is not a column of the table.")
        if column and column in spec.targets:
            raise InputError(f"{option} column {column!r} is a target: name the campaign's own column.")
    treatment = treatment_flags(frame[spec.treatment_column], name=spec.treatment_column)
    propensity = (pd.to_numeric(frame[spec.propensity_column], errors="coerce").to_numpy(dtype=float)
                  if spec.propensity_column else None)
    return treatment, propensity


def fit_uplift(spec: DataSpec, X: np.ndarray, fmap: FeatureMap, treatment: np.ndarray, propensity: np.ndarray | None,
               y: np.ndarray, risk: np.ndarray, *, train_rows: np.ndarray, test_rows: np.ndarray, seed: int,
               threads: int | None = None) -> UpliftParts:
    """Check, choose, fit and evaluate (see the module docstring); `risk` is the churn model's probability."""
    from insight.uplift.checks import check_treatment
    from insight.uplift.evaluate import evaluate_uplift
    from insight.uplift.learners import Campaign
    from insight.uplift.predict import uplift_columns
    from insight.uplift.select import select_learner

    name = str(spec.treatment_column)
    check = check_treatment(treatment[train_rows], X[train_rows],
                            None if propensity is None else propensity[train_rows],
                            categorical=fmap.categorical_indices, name=name,
                            propensity_name=str(spec.propensity_column or "propensity"), seed=seed)
    if propensity is not None:  # the test customers' propensities are checked too (they weight the evaluation)
        check_treatment(treatment[test_rows], X[test_rows], propensity[test_rows], name=name, min_group=1,
                        propensity_name=str(spec.propensity_column), seed=seed)
    campaign = Campaign.of(X[train_rows], check.treatment, y[train_rows], feature_names=fmap.names,
                           categorical=fmap.categorical_indices, propensity=check.propensity)
    selection = select_learner(campaign, risk=risk[train_rows], candidates=RUN_LEARNERS, seed=seed, threads=threads)
    model = selection.model
    metrics: dict[str, Any] = {"validation": selection.scores, "chosen": selection.chosen}
    if len(test_rows) and treatment[test_rows].any() and not treatment[test_rows].all():
        metrics["test"] = evaluate_uplift(model, X[test_rows], treatment[test_rows], y[test_rows],
                                          risk=risk[test_rows],
                                          propensity=None if propensity is None else propensity[test_rows])
    else:
        metrics["note"] = "no held-out customers in both the treated and the control group"
    columns = uplift_columns(model, X)
    columns = pd.concat([columns, response_reasons(model, X, fmap, threads=threads)], axis=1)
    setup = {"treatment_column": name, "propensity_column": spec.propensity_column, "learner": model.name,
             "kind": model.kind, "check": check.to_dict(), "selection": selection.report}
    log.info("uplift: %s chosen (validation Qini %s)", model.name,
             {k: round(v.get("qini", float("nan")), 4) for k, v in selection.scores.items()})
    return UpliftParts(model=model, columns=columns, metrics=metrics, setup=setup)


def response_effect_words(value: float) -> str:
    """'adds 4 points to the offer's effect', 'takes 2.5 points off it' (probability points of uplift)."""
    points = abs(value) * 100
    if abs(value) < BARELY:
        return "barely changes how the offer works"
    amount = f"{points:.0f}" if points >= 1.5 else f"{points:.1f}"
    unit = "point" if amount == "1" else "points"
    return (f"adds {amount} {unit} to the offer's effect" if value > 0
            else f"takes {amount} {unit} off the offer's effect")


def response_reasons(model: UpliftModel, X: np.ndarray, fmap: FeatureMap, *, threads: int | None = None,
                     k: int = len(layout.RESPONSE_REASONS)) -> pd.DataFrame:
    """`response_reason_1..k`: the largest SHAP values of each customer's uplift in words (empty for the
    T-learner, whose difference of two classifiers' probabilities has no exact additive SHAP)."""
    if not model.explainable:
        return pd.DataFrame({name: [""] * len(X) for name in layout.RESPONSE_REASONS})
    values, _ = model.shap(X, threads=threads)
    k = min(k, values.shape[1])
    order = np.argsort(-np.abs(values), axis=1, kind="stable")[:, :k]
    rows = np.arange(len(X))[:, None]
    shap, cells = values[rows, order], X[rows, order]
    out = {layout.RESPONSE_REASONS[j]: [f"{feature_value_text(fmap.features[f], c)} — {response_effect_words(float(v))}"
                                        for f, c, v in zip(order[:, j], cells[:, j], shap[:, j], strict=True)]
           for j in range(k)}
    for name in layout.RESPONSE_REASONS[k:]:
        out[name] = [""] * len(X)
    return pd.DataFrame(out)
