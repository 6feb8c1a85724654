"""The uplift model's figures as tables and sentences: plain functions of the manifest (no Streamlit), for
the Model page (insight.ui.uplift_section) and the Targeting page (insight.ui.targeting_sections)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from insight import formatting as fmt
from insight.decisions.targeting import TargetPlan
from insight.figures.uplift import RANKINGS
from insight.uplift.model import KINDS

QINI_TIE = 0.005
"""Qini coefficients closer than this are called about equal (a held-out Qini on a few thousand customers
moves by about that much between splits)."""


def score_table(scores: Mapping[str, Mapping[str, float]]) -> pd.DataFrame:
    """One row per ranking (the model, churn risk, random): Qini coefficient and AUUC on held-out customers."""
    rows = [{"Ranking": RANKINGS.get(name, name), "Qini coefficient": fmt.score(s.get("qini")),
             "AUUC": fmt.score(s.get("auuc"))} for name, s in scores.items()]
    return pd.DataFrame(rows, columns=["Ranking", "Qini coefficient", "AUUC"])


def validation_table(validation: Mapping[str, Mapping[str, float]], chosen: str) -> pd.DataFrame:
    """The learners tried on the validation customers, with the one chosen."""
    rows = [{"Learner": KINDS.get(name, RANKINGS.get(name, name)), "Qini coefficient": fmt.score(s.get("qini")),
             "Chosen": "yes" if name == chosen else ""} for name, s in validation.items() if name in KINDS]
    return pd.DataFrame(rows, columns=["Learner", "Qini coefficient", "Chosen"])


def verdict(scores: Mapping[str, Mapping[str, float]]) -> str:
    """Whether targeting by the model's uplift beats targeting by churn risk on the held-out customers."""
    model, risk = scores.get("model", {}).get("qini"), scores.get("risk", {}).get("qini")
    if model is None:
        return "The uplift model was not measured on held-out customers."
    if risk is None:
        return f"Targeting by the uplift model scores a Qini coefficient of {fmt.score(model)} (random: 0)."
    figures = f"Qini coefficient {fmt.score(model)} against {fmt.score(risk)}; random targeting scores 0"
    if model > risk + QINI_TIE:
        return f"Targeting by the uplift model prevents more churn than targeting the riskiest customers ({figures})."
    if risk > model + QINI_TIE:
        return f"Targeting the riskiest customers prevents more churn than the uplift model here ({figures})."
    return f"Targeting by the uplift model and by churn risk prevent about as much churn ({figures})."


def campaign_text(setup: Mapping[str, Any]) -> str:
    """What the uplift model learnt from, in words (Markdown-safe)."""
    check = setup.get("check", {})
    how = ("randomised (the features cannot tell who was offered: AUC "
           f"{fmt.score(check.get('propensity_auc'))})" if check.get("randomised")
           else f"weighted by **{fmt.markdown_text(setup.get('propensity_column'))}**")
    return (f"Campaign: **{fmt.markdown_text(setup.get('treatment_column'))}**, {fmt.count(check.get('treated'))} "
            f"offered and {fmt.count(check.get('control'))} not among the training customers, {how}. Learner: "
            f"**{fmt.markdown_text(setup.get('learner'))}**, chosen by the Qini coefficient on a validation part "
            "of the training customers.")


def targeting_comparison(by_uplift: TargetPlan, by_risk: TargetPlan, *, risk_sleeping_dogs: int,
                         held_out: Mapping[str, Mapping[str, float]] | None = None) -> str:
    """The Targeting page's reading of its two curves (Markdown): the best cut of the ranking by the offer's
    effect against the riskiest-first ranking's own best cut, valued by the same estimates, the sleeping dogs
    the risk ranking would contact, and the held-out Qini coefficients that say whether the estimates rank well."""
    mine, theirs = by_uplift.best, by_risk.best

    def customers(n: int) -> str:
        return f"**{fmt.count(n)}** customer{'' if n == 1 else 's'}"

    text = (f"Ranked by the offer's effect, contacting {customers(by_uplift.contacted)} is expected to prevent "
            f"**{fmt.count(mine['expected_saved'])}** departures for a net benefit of "
            f"**{fmt.amount(mine['net_benefit'])}**. The riskiest first would do best at "
            f"{customers(by_risk.contacted)}, preventing {fmt.count(theirs['expected_saved'])} for "
            f"**{fmt.amount(theirs['net_benefit'])}**")
    text += (f", and its list would hold **{fmt.count(risk_sleeping_dogs)}** sleeping dogs (customers the offer "
             "pushes to leave), who are never on this one." if risk_sleeping_dogs else ".")
    scores = held_out or {}
    model, risk = scores.get("model", {}).get("qini"), scores.get("risk", {}).get("qini")
    text += " Both curves use the uplift model's estimates"
    if model is not None and risk is not None:
        text += (f"; on held-out customers, whose outcomes it never saw, its ranking scored a Qini coefficient of "
                 f"{fmt.score(model)} against {fmt.score(risk)} for churn risk (Model page).")
    else:
        return text + "."
    return text
