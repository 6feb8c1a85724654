"""The uplift model's figures as tables and sentences: plain functions of the manifest (no Streamlit), for
the Model page (insight.ui.uplift_section)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from insight import formatting as fmt
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
