"""insight.decisions.whatif: edits re-scored by the saved model, and the retention suggestion."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from insight.data.demo import ACTIONABLE
from insight.decisions.whatif import candidate_values, suggest, what_if
from insight.models.recipe import Models
from insight.runs.models import load_models
from insight.runs.run import open_run


@pytest.fixture(scope="module")
def saved(demo_run: Path) -> Models:
    return load_models(open_run(demo_run))


@pytest.fixture(scope="module")
def customers(demo_run: Path) -> pd.DataFrame:
    return pd.read_parquet(demo_run / "customers.parquet")


def test_support_tickets_raise_risk_as_planted(saved: Models, customers: pd.DataFrame) -> None:
    # The demo plants churn among professionals with many tickets, slow resolutions and poor satisfaction.
    pros = customers[(customers["plan"].isin(["Pro", "Studio"])) & (customers["support_tickets_90d"] >= 1)]
    row = pros.iloc[0]
    calm = what_if(saved, row, {"support_tickets_90d": 0, "avg_resolution_hours": np.nan, "csat_score": np.nan})
    angry = what_if(saved, row, {"support_tickets_90d": 12, "avg_resolution_hours": 120, "csat_score": 1})
    assert angry["churn_probability"] > calm["churn_probability"] + 0.05
    assert "Support tickets 90d" in " ".join(angry[["reason_1", "reason_2", "reason_3"]])


def test_what_if_without_edits_is_the_stored_score(saved: Models, customers: pd.DataFrame) -> None:
    row = customers.iloc[7]
    assert what_if(saved, row, {})["churn_probability"] == pytest.approx(row["churn_probability"], abs=1e-9)


def test_suggestion_probability_is_the_model_score_of_the_suggested_row(saved: Models,
                                                                         customers: pd.DataFrame) -> None:
    risky = customers.sort_values("churn_probability", ascending=False).head(20)
    found = 0
    for _, row in risky.iterrows():
        s = suggest(saved, row, list(ACTIONABLE), population=customers)
        if s is None:
            continue
        found += 1
        assert s.probability_after < s.probability_before
        rescored = what_if(saved, row, {s.feature: s.proposed})["churn_probability"]
        assert s.probability_after == pytest.approx(rescored, abs=1e-12)
        assert s.probability_before == pytest.approx(row["churn_probability"], abs=1e-9)
        assert s.feature in ACTIONABLE
    assert found >= 10  # the riskiest customers nearly always have a lever


def test_candidate_values_cover_each_kind(saved: Models, customers: pd.DataFrame) -> None:
    plan = saved.fmap["plan"]
    assert set(candidate_values(plan, "Pro")) == set(plan.categories) - {"Pro", "Other"}
    assert candidate_values(saved.fmap["auto_renew"], 1.0) == [0.0]
    numbers = candidate_values(saved.fmap["discount_pct"], 0.0, customers["discount_pct"])
    assert numbers and 0.0 not in numbers and numbers == sorted(numbers)
