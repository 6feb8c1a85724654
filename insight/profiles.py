"""Segment profiles (size, churn with its interval, targets, distinctive features, SHAP drivers) and
readable names built from those facts."""

from __future__ import annotations

import logging
import re
from typing import Any

import numpy as np
import pandas as pd

from insight.contrast import contrast
from insight.explain import label
from insight.metrics import wilson_interval
from insight.segments import UNASSIGNED, UNASSIGNED_NAME

log = logging.getLogger(__name__)

PROFILE_SAMPLE = 200_000
TOP_FEATURES = 6


def segment_profiles(
    frame: pd.DataFrame,
    labels: np.ndarray,
    *,
    features: dict[str, str],
    target: str,
    aux_targets: tuple[str, ...],
    revenue_column: str | None,
    shap_values: np.ndarray,
    feature_names: list[str],
    seed: int = 0,
) -> list[dict[str, Any]]:
    """One profile per segment (Unassigned last), each with a unique readable name."""
    labels = np.asarray(labels)
    rng = np.random.default_rng(seed)
    probe = np.arange(len(frame))
    if len(frame) > PROFILE_SAMPLE:
        probe = np.sort(rng.choice(len(frame), size=PROFILE_SAMPLE, replace=False))
    sample = frame.iloc[probe].reset_index(drop=True)
    sample_labels = labels[probe]
    overall_churn = float(frame[target].mean())
    profiles = []
    for seg in [*sorted(set(labels) - {UNASSIGNED}), *([UNASSIGNED] if (labels == UNASSIGNED).any() else [])]:
        inside = labels == seg
        y = frame.loc[inside, target].dropna()
        low, high = wilson_interval(int(y.sum()), len(y))
        prob = frame.loc[inside, "churn_probability"]
        profile: dict[str, Any] = {
            "id": int(seg),
            "size": int(inside.sum()),
            "share": float(inside.mean()),
            "churn_rate": float(y.mean()) if len(y) else None,
            "churn_rate_ci": [low, high],
            "mean_churn_probability": float(prob.mean()),
            "expected_churners": float(prob.sum()),
            "targets": {a: _mean(frame.loc[inside, a]) for a in aux_targets},
        }
        if revenue_column and "revenue_at_risk" in frame.columns:
            profile["revenue_at_risk"] = float(frame.loc[inside, "revenue_at_risk"].sum())
        diff = contrast(sample, sample_labels == seg, features)
        profile["distinctive"] = [
            {"feature": r.feature, "description": r.description, "effect": round(float(r.effect), 4),
             "p_adjusted": float(r.p_adjusted), "value": r.value if isinstance(r.value, str) else None,
             "role": r.role}
            for r in diff.head(TOP_FEATURES).itertuples() if r.significant
        ]
        mean_shap = shap_values[inside].mean(axis=0)
        top = np.argsort(-np.abs(mean_shap))[:5]
        profile["shap_drivers"] = [{"feature": feature_names[i], "mean_shap": round(float(mean_shap[i]), 5)}
                                   for i in top]
        profile["churn_level"] = churn_level(profile["churn_rate"], overall_churn)
        profiles.append(profile)
    for p, name in zip(profiles, unique_names(profiles), strict=True):
        p["name"] = name
    return profiles


def churn_level(rate: float | None, overall: float) -> str:
    if rate is None or overall <= 0:
        return "unknown churn"
    ratio = rate / overall
    if ratio >= 1.4:
        return "high churn"
    if ratio <= 0.6:
        return "low churn"
    return "average churn"


def describe_trait(item: dict[str, Any]) -> str | None:
    """One distinctive fact as a short phrase ('Enterprise plan', 'High support tickets', 'No auto renew'), or
    None for a fact that names nobody (a category the segment lacks)."""
    name, role, effect = item["feature"], item["role"], item["effect"]
    words = name_words(name)
    if role == "boolean":
        return words[:1].upper() + words[1:] if effect > 0 else f"No {words}"
    if role == "categorical":
        if effect <= 0:
            return None
        value = str(item["value"])
        return f"{value[:1].upper()}{value[1:]} {words}"
    if role == "date":
        return f"{'Recent' if effect > 0 else 'Early'} {words}"
    return f"{'High' if effect > 0 else 'Low'} {words}"


def name_words(column: str) -> str:
    """A column name shortened for segment names: 'support_tickets_90d' -> 'support tickets',
    'discount_pct' -> 'discount', 'billing_cycle' -> 'billing'."""
    words = [w for w in label(column).lower().split() if not re.fullmatch(r"\d+[dwmy]|pct|percent|cycle|method",
                                                                          w)]
    return " ".join(words) or label(column).lower()


def unique_names(profiles: list[dict[str, Any]]) -> list[str]:
    """'Enterprise plan, invoice payment · low churn': the two most distinctive facts that name members
    (categories first) and the churn level; unique across segments."""
    names: list[str] = []
    for p in profiles:
        if p["id"] == UNASSIGNED:
            names.append(UNASSIGNED_NAME)
            continue
        facts = [(t, describe_trait(t)) for t in p["distinctive"]]
        facts = [f for f in facts if f[1]]
        # categories and flags describe who the members are; lead with them, keep the effect-size order
        facts.sort(key=lambda f: f[0]["role"] not in ("categorical", "boolean"))
        traits = [text for _, text in facts]
        name = f"Segment {p['id']} · {p['churn_level']}"
        for used in range(2, max(2, len(traits)) + 1):
            if not traits:
                break
            body = ", ".join([traits[0], *[t[:1].lower() + t[1:] for t in traits[1:used]]])
            name = f"{body} · {p['churn_level']}"
            if name not in names:
                break
        if name in names:
            name = f"{name} ({p['id']})"
        names.append(name)
    return names


def _mean(series: pd.Series) -> float | None:
    m = pd.to_numeric(series, errors="coerce").mean()
    return None if pd.isna(m) else float(m)
