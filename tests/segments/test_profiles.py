"""insight.segments.profiles: segment profiles with churn intervals, and unique readable names."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from insight.segments.profiles import churn_level, describe_trait, segment_profiles, unique_names
from insight.segments.clustering import UNASSIGNED, UNASSIGNED_NAME

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
    assert [p.id for p in profiles] == [0, 1, 2, UNASSIGNED]
    assert profiles[-1].name == UNASSIGNED_NAME
    assert sum(p.size for p in profiles) == len(frame)
    assert sum(p.share for p in profiles) == pytest.approx(1.0)


def test_names_are_unique_and_readable(profiled: tuple) -> None:
    profiles = profiled[0]
    names = [p.name for p in profiles]
    assert len(set(names)) == len(names)
    assert all(n and n == n.strip() for n in names)
    assert profiles[0].name.endswith("· low churn")
    assert profiles[1].name.endswith("· high churn")
    assert "Enterprise plan" in profiles[0].name or "High seats" in profiles[0].name


def test_churn_rate_and_interval(profiled: tuple) -> None:
    profiles, frame, labels = profiled
    for p in profiles:
        inside = labels == p.id
        y = frame.loc[inside, "churned"].dropna()
        assert p.churn_rate == pytest.approx(y.mean())
        low, high = p.churn_rate_ci
        assert 0 <= low <= p.churn_rate <= high <= 1
        assert p.mean_churn_probability == pytest.approx(frame.loc[inside, "churn_probability"].mean())
        assert p.expected_churners == pytest.approx(frame.loc[inside, "churn_probability"].sum())
        revenue = frame.loc[inside, "revenue"]
        assert p.revenue_at_risk == pytest.approx(frame.loc[inside, "revenue_at_risk"].sum())
        assert p.targets["revenue"] == pytest.approx(revenue.mean())


def test_distinctive_features_and_drivers(profiled: tuple) -> None:
    profiles = profiled[0]
    one = profiles[1]
    features = [d["feature"] for d in one.distinctive]
    assert "plan" in features and "auto_renew" in features
    assert "noise" not in features
    assert all(d["p_adjusted"] < 0.05 for d in one.distinctive)
    assert one.shap_drivers[0]["feature"] == "auto_renew"
    assert one.shap_drivers[0]["mean_shap"] > 0.5


def test_profiles_are_json(profiled: tuple) -> None:
    text = json.dumps([p.to_dict() for p in profiled[0]], allow_nan=False)
    assert json.loads(text)[0]["id"] == 0


def test_no_unassigned_profile_when_everyone_is_assigned(profiled: tuple) -> None:
    _, frame, labels = profiled
    labels = np.where(labels == UNASSIGNED, 2, labels)
    profiles = segment_profiles(frame, labels, features=FEATURES, target="churned", aux_targets=(),
                                revenue_column=None, shap_values=np.zeros((len(frame), 4)),
                                feature_names=list(FEATURES))
    assert [p.id for p in profiles] == [0, 1, 2]
    assert UNASSIGNED_NAME not in [p.name for p in profiles]
    assert profiles[0].revenue_at_risk is None


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
        assert_acceptable(p["name"])
        inside = customers[customers["segment_id"] == p["id"]]
        assert (inside["segment_name"] == p["name"]).all()
        assert p["churn_rate"] == pytest.approx(inside["churned"].mean())


# --- names a stakeholder would write ------------------------------------------------------------------------

NAME_STOP_WORDS = {"and", "with", "of", "the", "a", "no", "on", "in", "low", "high", "average", "churn",
                   "service"}


def assert_acceptable(name: str) -> None:
    """No '_', at most 60 characters, and no word but the stop words said twice."""
    assert "_" not in name and len(name) <= 60, name
    for words in (re.findall(r"[^\W_]+", name.lower()), [w.strip(",.·()") for w in name.lower().split()]):
        words = [w for w in words if w and w not in NAME_STOP_WORDS]
        assert len(words) == len(set(words)), name


def telco_like(n: int = 1500, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray, dict[str, str]]:
    """Telco's shape: OnlineSecurity and StreamingTV say 'No internet service' exactly where InternetService
    is 'No', MultipleLines says 'No phone service' exactly where PhoneService is 0."""
    rng = np.random.default_rng(seed)
    internet = rng.choice(["No", "DSL", "Fiber optic"], n, p=[0.25, 0.35, 0.4])
    phone = (rng.random(n) < np.where(internet == "DSL", 0.7, 1.0)).astype(float)
    frame = pd.DataFrame({
        "InternetService": internet,
        "OnlineSecurity": np.where(internet == "No", "No internet service", rng.choice(["Yes", "No"], n)),
        "StreamingTV": np.where(internet == "No", "No internet service", rng.choice(["Yes", "No"], n)),
        "PhoneService": phone,
        "MultipleLines": np.where(phone == 0, "No phone service", rng.choice(["Yes", "No"], n)),
        "Contract": rng.choice(["Month-to-month", "One year", "Two year"], n),
        "MonthlyCharges": np.where(internet == "No", 20.0, np.where(internet == "DSL", 55.0, 85.0))
        + rng.normal(0, 5, n),
    })
    labels = np.select([internet == "No", phone == 0], [0, 1], 2)
    churn_p = np.select([labels == 0, labels == 1], [0.07, 0.25], 0.35)
    frame["Churn"] = (rng.random(n) < churn_p).astype(float)
    frame["churn_probability"] = churn_p
    roles = {"InternetService": "categorical", "OnlineSecurity": "categorical", "StreamingTV": "categorical",
             "PhoneService": "boolean", "MultipleLines": "categorical", "Contract": "categorical",
             "MonthlyCharges": "numeric"}
    return frame, labels, roles


def profile_names(frame: pd.DataFrame, labels: np.ndarray, roles: dict[str, str],
                  target: str = "Churn") -> list[str]:
    profiles = segment_profiles(frame, labels, features=roles, target=target, aux_targets=(),
                                revenue_column=None, shap_values=np.zeros((len(frame), 1)),
                                feature_names=["x"])
    json.dumps([p.to_dict() for p in profiles], allow_nan=False)  # segments.json stays JSON
    return [p.name for p in profiles]


def test_a_fact_another_implies_is_left_out() -> None:
    frame, labels, roles = telco_like()
    no_internet, no_phone, _ = profile_names(frame, labels, roles)
    assert no_internet.startswith("No internet service")
    assert no_internet.lower().count("internet") == 1
    assert "security" not in no_internet.lower() and "streaming" not in no_internet.lower()
    assert no_phone.startswith("No phone service")
    assert "multiple lines" not in no_phone.lower() and no_phone.lower().count("phone") == 1
    # all no-phone customers have DSL here: 'No phone service' implies it
    assert "DSL" not in no_phone


def test_same_customers_under_other_words_are_named_once() -> None:
    """Nothing in the words tells that an account manager comes with the enterprise plan; the rows do."""
    rng = np.random.default_rng(1)
    n = 1200
    labels = rng.choice([0, 1, 2], n, p=[0.2, 0.4, 0.4])
    frame = pd.DataFrame({
        "plan": np.where(labels == 0, "enterprise", rng.choice(["pro", "personal"], n)),
        "has_account_manager": (labels == 0).astype(float),
        "region": np.where(labels == 0, rng.choice(["emea", "apac"], n, p=[0.9, 0.1]),
                           rng.choice(["emea", "apac"], n, p=[0.3, 0.7])),
        "churned": (rng.random(n) < 0.2).astype(float),
        "churn_probability": 0.2,
    })
    roles = {"plan": "categorical", "has_account_manager": "boolean", "region": "categorical"}
    name = profile_names(frame, labels, roles, target="churned")[0]
    assert name.startswith("Enterprise plan") or name.startswith("Account manager")
    assert not ("Enterprise plan" in name and "ccount manager" in name), name
    assert name.endswith(", emea region · average churn"), name


def test_category_and_column_labels_are_readable() -> None:
    def category(column: str, value: str) -> str | None:
        return describe_trait({"feature": column, "role": "categorical", "effect": 0.5, "value": value})

    assert category("industry", "film_animation") == "Film animation industry"
    assert category("industry", "none") == "No industry"
    assert category("industry", "other") is None and category("industry", "Unknown") is None
    assert category("industry", "n/a") is None
    assert category("InternetService", "Fiber optic") == "Fiber optic internet service"
    assert category("InternetService", "No") == "No internet service"
    assert category("OnlineSecurity", "No internet service") == "No internet service"
    assert category("OnlineSecurity", "Yes") == "Online security"
    assert category("PaymentMethod", "Electronic check") == "Electronic check payment"
    assert category("PaymentMethod", "Bank transfer (automatic)") == "Bank transfer payment"
    assert category("Contract", "Month-to-month") == "Monthly contract"
    assert category("StreamingTV", "No") == "No streaming TV"
    assert category("plan", "Pro plan") == "Pro plan"
    assert category("company_size", "2-10") == "Company size 2-10"
    assert category("payment_method", "bank_transfer") == "Bank transfer payment"
    assert category("CUSTOMER_SEGMENT", "SMALL_BUSINESS") == "Small business customer"
    assert category("company_size", "solo") == "Solo company"
    assert category("membership_tier", "Gold") == "Gold membership"
    numeric = describe_trait({"feature": "MonthlyCharges", "role": "numeric", "effect": -1.0, "value": None})
    assert numeric == "Low monthly charges"
    since = {"feature": "last_login_days_ago", "role": "numeric", "effect": 1.0, "value": None}
    assert describe_trait(since) == "Long since last login"


def test_flag_phrases() -> None:
    def flag(column: str, effect: float) -> str | None:
        return describe_trait({"feature": column, "role": "boolean", "effect": effect, "value": "yes"})

    assert (flag("is_app_user", 1), flag("is_app_user", -1)) == ("App user", "Not app user")
    assert (flag("app_user", 1), flag("app_user", -1)) == ("App user", "Not app user")
    assert (flag("in_arrears", 1), flag("in_arrears", -1)) == ("In arrears", "Not in arrears")
    assert (flag("has_mobile_app", 1), flag("has_mobile_app", -1)) == ("Mobile app", "No mobile app")
    assert (flag("PaperlessBilling", 1), flag("PaperlessBilling", -1)) == ("Paperless billing",
                                                                          "No paperless billing")
    assert flag("SeniorCitizen", -1) == "Not senior citizen"
    assert flag("trial_converted", -1) == "Trial not converted"
    assert flag("uses_version_control", -1) == "No version control"


def test_names_repeat_no_word() -> None:
    education = [{"feature": "plan", "role": "categorical", "effect": 2.6, "value": "Education"},
                 {"feature": "referral_source", "role": "categorical", "effect": 2.2,
                  "value": "education_program"},
                 {"feature": "industry", "role": "categorical", "effect": 2.0, "value": "education"},
                 {"feature": "discount_pct", "role": "numeric", "effect": 5.4, "value": None}]
    lines = [{"feature": "PhoneService", "role": "boolean", "effect": -3.1, "value": "yes"},
             {"feature": "MultipleLines", "role": "categorical", "effect": 3.1, "value": "No phone service"},
             {"feature": "InternetService", "role": "categorical", "effect": 2.0, "value": "DSL"}]
    names = unique_names([{"id": 0, "churn_level": "average churn", "distinctive": education},
                          {"id": 1, "churn_level": "average churn", "distinctive": lines}])
    assert names == ["Education plan, high discount · average churn",
                     "No phone service, DSL internet service · average churn"]


def test_names_fit_and_are_unique() -> None:
    long_fact = {"feature": "primary_acquisition_marketing_channel_name", "role": "categorical",
                 "effect": 1.0, "value": "partner_webinar_series_with_extended_follow_up_campaign"}
    other = {"feature": "average_monthly_active_collaborators_90d", "role": "numeric", "effect": 0.8,
             "value": None}
    same = [{"id": i, "churn_level": "average churn", "distinctive": [long_fact, other]} for i in range(12)]
    names = unique_names(same)
    assert len(set(names)) == len(names)
    for name in names:
        assert_acceptable(name)


def test_segments_with_the_same_facts_are_told_apart_by_a_fact_not_only_the_churn_level() -> None:
    plan = {"feature": "plan", "role": "categorical", "effect": 1.0, "value": "Personal"}
    billing = {"feature": "billing_cycle", "role": "categorical", "effect": 0.8, "value": "annual"}
    logins = {"feature": "logins_30d", "role": "numeric", "effect": -0.6, "value": None}
    high = {"id": 0, "churn_level": "high churn", "distinctive": [plan, billing, logins]}
    average = {"id": 1, "churn_level": "average churn", "distinctive": [plan, billing]}
    first, second = unique_names([high, average])
    assert first.split(" · ")[0] != second.split(" · ")[0]


def test_names_are_deterministic_and_acceptable() -> None:
    frame, labels, roles = telco_like(seed=3)
    rng = np.random.default_rng(0)
    many = rng.integers(0, 9, len(frame))  # segments that share most of their facts
    for segs in (labels, many, np.where(labels == 2, many, labels)):
        names = profile_names(frame, segs, roles)
        assert names == profile_names(frame, segs, roles)
        assert len(set(names)) == len(names)
        for name in names:
            assert_acceptable(name)
