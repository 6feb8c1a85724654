"""insight.profiles: segment profiles with churn intervals, and unique readable names."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from insight.profiles import churn_level, describe_trait, segment_profiles, unique_names
from insight.segments import UNASSIGNED, UNASSIGNED_NAME

FEATURES = {"seats": "numeric", "plan": "categorical", "auto_renew": "boolean", "noise": "numeric"}


@pytest.fixture(scope="module")
def profiled() -> tuple[list[dict], pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(0)
    n = 1200
    labels = rng.choice([0, 1, 2, UNASSIGNED], n, p=[0.45, 0.3, 0.2, 0.05])
    churn_p = np.select([labels == 0, labels == 1, labels == 2], [0.05, 0.5, 0.2], 0.2)
    frame = pd.DataFrame({
        "churned": (rng.random(n) < churn_p).astype(float),
        "churn_probability": np.clip(churn_p + rng.normal(0, 0.05, n), 0.01, 0.99),
        "revenue": np.where(labels == 0, 5000.0, 300.0) * rng.lognormal(0, 0.2, n),
        "seats": np.where(labels == 0, 80, 2) + rng.poisson(2, n),
        "plan": np.where(labels == 1, "monthly", np.where(labels == 0, "enterprise", "annual")),
        "auto_renew": np.where(labels == 1, rng.random(n) < 0.2, rng.random(n) < 0.8).astype(float),
        "noise": rng.normal(size=n),
    })
    frame.loc[rng.random(n) < 0.03, "churned"] = np.nan  # a few unlabelled customers
    frame["revenue_at_risk"] = frame["churn_probability"] * frame["revenue"]
    shap = rng.normal(0, 0.1, (n, 4))
    shap[labels == 1, 2] += 1.0  # auto_renew drives the risk of segment 1
    profiles = segment_profiles(frame, labels, features=FEATURES, target="churned", aux_targets=("revenue",),
                                revenue_column="revenue", shap_values=shap,
                                feature_names=["seats", "plan", "auto_renew", "noise"])
    return profiles, frame, labels


def test_one_profile_per_segment_unassigned_last(profiled: tuple) -> None:
    profiles, frame, labels = profiled
    assert [p["id"] for p in profiles] == [0, 1, 2, UNASSIGNED]
    assert profiles[-1]["name"] == UNASSIGNED_NAME
    assert sum(p["size"] for p in profiles) == len(frame)
    assert sum(p["share"] for p in profiles) == pytest.approx(1.0)


def test_names_are_unique_and_readable(profiled: tuple) -> None:
    profiles = profiled[0]
    names = [p["name"] for p in profiles]
    assert len(set(names)) == len(names)
    assert all(n and n == n.strip() for n in names)
    assert profiles[0]["name"].endswith("· low churn")
    assert profiles[1]["name"].endswith("· high churn")
    assert "Enterprise plan" in profiles[0]["name"] or "High seats" in profiles[0]["name"]


def test_churn_rate_and_interval(profiled: tuple) -> None:
    profiles, frame, labels = profiled
    for p in profiles:
        inside = labels == p["id"]
        y = frame.loc[inside, "churned"].dropna()
        assert p["churn_rate"] == pytest.approx(y.mean())
        low, high = p["churn_rate_ci"]
        assert 0 <= low <= p["churn_rate"] <= high <= 1
        assert p["mean_churn_probability"] == pytest.approx(frame.loc[inside, "churn_probability"].mean())
        assert p["expected_churners"] == pytest.approx(frame.loc[inside, "churn_probability"].sum())
        revenue = frame.loc[inside, "revenue"]
        assert p["revenue_at_risk"] == pytest.approx(frame.loc[inside, "revenue_at_risk"].sum())
        assert p["targets"]["revenue"] == pytest.approx(revenue.mean())


def test_distinctive_features_and_drivers(profiled: tuple) -> None:
    profiles = profiled[0]
    one = profiles[1]
    features = [d["feature"] for d in one["distinctive"]]
    assert "plan" in features and "auto_renew" in features
    assert "noise" not in features
    assert all(d["p_adjusted"] < 0.05 for d in one["distinctive"])
    assert one["shap_drivers"][0]["feature"] == "auto_renew"
    assert one["shap_drivers"][0]["mean_shap"] > 0.5


def test_profiles_are_json(profiled: tuple) -> None:
    text = json.dumps(profiled[0], allow_nan=False)
    assert json.loads(text)[0]["id"] == 0


def test_no_unassigned_profile_when_everyone_is_assigned(profiled: tuple) -> None:
    _, frame, labels = profiled
    labels = np.where(labels == UNASSIGNED, 2, labels)
    profiles = segment_profiles(frame, labels, features=FEATURES, target="churned", aux_targets=(),
                                revenue_column=None, shap_values=np.zeros((len(frame), 4)),
                                feature_names=list(FEATURES))
    assert [p["id"] for p in profiles] == [0, 1, 2]
    assert UNASSIGNED_NAME not in [p["name"] for p in profiles]
    assert "revenue_at_risk" not in profiles[0]


def test_unique_names_when_traits_collide() -> None:
    trait = {"feature": "plan", "role": "categorical", "effect": 0.5, "value": "pro"}
    other = {"feature": "seats", "role": "numeric", "effect": -0.7, "value": None}
    profiles = [
        {"id": 0, "churn_level": "low churn", "distinctive": [trait, other]},
        {"id": 1, "churn_level": "low churn", "distinctive": [trait, other]},
        {"id": 2, "churn_level": "low churn", "distinctive": []},
        {"id": 3, "churn_level": "low churn", "distinctive": []},
        {"id": UNASSIGNED, "churn_level": "high churn", "distinctive": [trait]},
    ]
    names = unique_names(profiles)
    assert len(set(names)) == len(names)
    assert names[0] == "Pro plan, low seats · low churn"
    assert names[2] == "Segment 2 · low churn"
    assert names[-1] == UNASSIGNED_NAME


def test_describe_trait() -> None:
    assert describe_trait({"feature": "auto_renew", "role": "boolean", "effect": 0.4, "value": "yes"}) == \
        "Auto renew"
    assert describe_trait({"feature": "auto_renew", "role": "boolean", "effect": -0.4, "value": "yes"}) == \
        "No auto renew"
    assert describe_trait({"feature": "plan", "role": "categorical", "effect": 0.3, "value": "pro"}) == "Pro plan"
    # a category the segment lacks names nobody: it is left out of names
    assert describe_trait({"feature": "plan", "role": "categorical", "effect": -0.3, "value": "pro"}) is None
    assert describe_trait({"feature": "billing_cycle", "role": "categorical", "effect": 0.9,
                           "value": "monthly"}) == "Monthly billing"
    assert describe_trait({"feature": "signup_date", "role": "date", "effect": 0.3, "value": None}) == \
        "Recent signup date"
    tickets = {"feature": "support_tickets_90d", "role": "numeric", "effect": 1.2, "value": None}
    assert describe_trait(tickets) == "High support tickets"
    assert describe_trait({"feature": "discount_pct", "role": "numeric", "effect": 0.8, "value": None}) == \
        "High discount"


def test_churn_level() -> None:
    assert churn_level(0.5, 0.25) == "high churn"
    assert churn_level(0.1, 0.25) == "low churn"
    assert churn_level(0.25, 0.25) == "average churn"
    assert churn_level(None, 0.25) == "unknown churn"


def test_demo_run_profiles(demo_run: Path) -> None:
    segments = json.loads((demo_run / "segments.json").read_text())
    customers = pd.read_parquet(demo_run / "customers.parquet",
                                columns=["segment_id", "segment_name", "churned"])
    profiles = segments["segments"]
    names = [p["name"] for p in profiles]
    assert len(set(names)) == len(names) >= 2
    assert sum(p["size"] for p in profiles) == len(customers)
    for p in profiles:
        low, high = p["churn_rate_ci"]
        assert low <= p["churn_rate"] <= high
        if p["id"] == UNASSIGNED:
            assert p["name"] == UNASSIGNED_NAME
        inside = customers[customers["segment_id"] == p["id"]]
        assert (inside["segment_name"] == p["name"]).all()
        assert p["churn_rate"] == pytest.approx(inside["churned"].mean())
