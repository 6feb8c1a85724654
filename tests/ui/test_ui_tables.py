"""insight.ui.tables: the survival columns' headers and cells, and the target list by either ranking."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from insight import formatting as fmt
from insight.decisions.targeting import OfferEconomics
from insight.runs import layout
from insight.ui.tables import survival_cells, survival_columns, survival_time, target_list

SURVIVAL = {"unit": "months", "horizons": [1.0, 3.0, 12.0], "main_horizon": 12.0, "duration_column": "tenure",
            "period_value_column": "monthly_fee"}


def test_a_run_without_survival_has_no_survival_columns() -> None:
    assert survival_columns(None) == {} and survival_columns({}) == {}


def test_survival_headers_read_as_words() -> None:
    columns = survival_columns(SURVIVAL)
    headers = {name: c.header for name, c in columns.items()}
    assert headers["churn_within_3"] == "Churn within 3 months"
    assert headers["churn_within_1"] == "Churn within 1 month"
    assert headers["expected_leave_in"] == "Expected to leave in"
    assert headers["value_lost_12"] == "Value at risk (12 months)"
    assert headers["expected_lifetime_12"] == "Expected stay within 12 months"
    assert columns["churn_within_12"].kind == "share" and columns["expected_leave_in"].kind == "time"
    assert "monthly fee per month" in columns["value_lost_12"].help
    assert all(not h.lower().startswith(("churn_", "value_", "expected_")) for h in headers.values())
    # without a period value there is no value at risk
    assert not any(n.startswith("value_lost") for n in survival_columns({**SURVIVAL, "period_value_column": None}))


def test_survival_times_never_read_inf() -> None:
    assert survival_time(4.25, "months", last_time=72) == "4.2 months"
    assert survival_time(float("inf"), "months", last_time=72) == "beyond 72 months"
    assert survival_time(130.0, "months", last_time=72) == "beyond 72 months"  # past the data: extrapolated
    assert survival_time(float("inf"), "days", last_time=None) == "beyond the data"
    assert survival_time(float("nan"), "months", last_time=72) == fmt.DASH


def test_survival_cells_format_times_and_keep_the_rest() -> None:
    rows = pd.DataFrame({"id": ["a", "b"], "churn_within_3": [0.25, 0.5], "expected_leave_in": [3.0, np.inf],
                         "value_lost_12": [12.346, 0.0], "expected_lifetime_12": [10.5, 12.0]})
    cells = survival_cells(rows, survival_columns(SURVIVAL), unit="months", last_time=72.0)
    assert cells["expected_leave_in"].tolist() == ["3 months", "beyond 72 months"]
    assert cells["value_lost_12"].tolist() == [12.35, 0.0]
    assert cells["churn_within_3"].tolist() == [0.25, 0.5] and cells["expected_lifetime_12"].tolist() == [10.5, 12]
    assert rows["expected_leave_in"].tolist() == [3.0, np.inf]  # the input is left alone


def _rows() -> pd.DataFrame:
    return pd.DataFrame({"id": ["a", "b", "c"], layout.CHURN_PROBABILITY: [0.9, 0.5, 0.2],
                         layout.RISK_BAND: ["very high", "high", "low"], "revenue": [100.0, 300.0, np.nan],
                         "churn_within_12": [0.8, 0.4, 0.1], "value_lost_12": [400.0, np.nan, -3.0],
                         "reason_1": ["x", "y", "z"]})


def test_target_list_by_probability_is_as_before() -> None:
    offer = OfferEconomics(cost_per_contact=10, save_rate=0.5)
    out = target_list(_rows(), id_column="id", value_column="revenue", economics=offer)
    assert list(out.columns) == ["id", layout.CHURN_PROBABILITY, layout.RISK_BAND, "value", "expected_benefit",
                                 "reason_1"]
    assert out["expected_benefit"].tolist() == pytest.approx([35, 65, -10])  # p x 0.5 x value - 10


def test_target_list_by_value_at_risk() -> None:
    offer = OfferEconomics(cost_per_contact=10, save_rate=0.5)
    out = target_list(_rows(), id_column="id", value_column="revenue", economics=offer,
                      value_at_risk="value_lost_12", within="churn_within_12")
    assert list(out.columns) == ["id", layout.CHURN_PROBABILITY, layout.RISK_BAND, "churn_within_12",
                                 "value_lost_12", "expected_benefit", "reason_1"]
    assert out["value_lost_12"].tolist() == [400.0, 0.0, 0.0]  # missing and negative: nothing at risk
    assert out["expected_benefit"].tolist() == pytest.approx([190, -10, -10])  # 0.5 x value at risk - 10
