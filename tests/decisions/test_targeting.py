"""insight.decisions.targeting: expected net benefit of contacting the riskiest customers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from insight.decisions.targeting import (
    OfferEconomics,
    benefit_curve,
    best_cut,
    customer_worth,
    expected_benefit,
    plan,
    typical_value,
)


def test_benefit_curve_by_hand() -> None:
    p = np.array([0.1, 0.8, 0.5])
    value = np.array([1000.0, 100.0, 300.0])
    curve = benefit_curve(p, value, OfferEconomics(cost_per_contact=20, save_rate=0.5))
    # ranked: 0.8 (100), 0.5 (300), 0.1 (1000)
    assert curve["expected_value_saved"].tolist() == pytest.approx([0, 40, 115, 165])
    assert curve["net_benefit"].tolist() == pytest.approx([0, 20, 75, 105])
    assert best_cut(curve) == 3


def test_no_offer_pays_when_it_costs_more_than_it_saves() -> None:
    p = np.linspace(0.01, 0.9, 200)
    curve = benefit_curve(p, None, OfferEconomics(cost_per_contact=50, save_rate=0.3, value_per_customer=100))
    assert best_cut(curve) == 0
    cheap = benefit_curve(p, None, OfferEconomics(cost_per_contact=5, save_rate=0.3, value_per_customer=100))
    k = best_cut(cheap)
    # contact exactly those whose expected saving exceeds the cost: p * 0.3 * 100 > 5
    assert k == int((p * 30 > 5).sum())
    assert isinstance(cheap, pd.DataFrame) and cheap["net_benefit"].iloc[k] == cheap["net_benefit"].max()


def test_bad_economics_are_refused() -> None:
    with pytest.raises(ValueError, match="share between 0 and 1"):
        OfferEconomics(cost_per_contact=1, save_rate=1.5)


def test_worth_and_benefit_by_hand() -> None:
    own = OfferEconomics(cost_per_contact=10, save_rate=0.5)
    fixed = OfferEconomics(cost_per_contact=10, save_rate=0.5, value_per_customer=200)
    values = np.array([100.0, np.nan, -50.0])
    assert customer_worth(values, 3, own).tolist() == [100.0, 0.0, 0.0]  # missing and negative: nothing
    assert customer_worth(values, 3, fixed).tolist() == [200.0] * 3
    assert customer_worth(None, 2, own).tolist() == [0.0, 0.0]
    p = np.array([0.8, 0.1, 0.5])
    assert expected_benefit(p, customer_worth(values, 3, own), own).tolist() == pytest.approx([30, -10, -10])


def test_the_plan_is_the_curve_and_its_best_cut() -> None:
    p = np.array([0.1, 0.8, 0.5])
    value = np.array([1000.0, 100.0, 300.0])
    offer = plan(p, value, OfferEconomics(cost_per_contact=20, save_rate=0.5))
    assert offer.contacted == 3 and offer.customers == 3 and offer.share == 1.0
    assert offer.best["net_benefit"] == pytest.approx(105)
    # the benefit of each customer, in rank order, adds up to the curve's net benefit
    ranked = np.argsort(-p, kind="stable")
    each = expected_benefit(p[ranked], value[ranked], OfferEconomics(cost_per_contact=20, save_rate=0.5))
    assert np.cumsum(each).tolist() == pytest.approx(offer.curve["net_benefit"].iloc[1:].tolist())


def test_typical_value() -> None:
    assert typical_value(np.array([10.0, np.nan, 30.0])) == 20.0
    assert typical_value(None) == 100.0 and typical_value(np.array([np.nan])) == 100.0
