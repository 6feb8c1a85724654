"""insight.decisions.targeting: expected net benefit of contacting the riskiest customers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from insight.decisions.targeting import (
    RANK_BY_PROBABILITY,
    RANK_BY_VALUE,
    OfferEconomics,
    benefit_curve,
    best_cut,
    customer_worth,
    expected_benefit,
    plan,
    ranking_order,
    typical_value,
    value_benefit,
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


# ---------------------------------------------------------------------------- ranking by value at risk

def test_the_ranking_follows_the_chosen_score() -> None:
    p = np.array([0.9, 0.2, 0.5, 0.5])
    at_risk = np.array([10.0, 400.0, 60.0, np.nan])  # a missing value at risk counts as nothing
    assert ranking_order(p).tolist() == [0, 2, 3, 1]  # ties keep the input order
    assert ranking_order(p, at_risk).tolist() == [1, 2, 0, 3]


def test_value_ranking_by_hand_picks_other_customers_than_probability() -> None:
    p = np.array([0.9, 0.2, 0.5])  # the chance of leaving within the horizon
    at_risk = np.array([10.0, 400.0, 60.0])  # value per period x lifetime lost within it
    offer = OfferEconomics(cost_per_contact=20, save_rate=0.5)
    by_value = plan(p, None, offer, value_at_risk=at_risk)
    # ranked 400, 60, 10: each is worth 0.5 x value at risk - 20 = 180, 10, -15
    assert by_value.curve["net_benefit"].tolist() == pytest.approx([0, 180, 190, 175])
    assert by_value.curve["expected_saved"].tolist() == pytest.approx([0, 0.1, 0.35, 0.8])
    assert by_value.contacted == 2 and by_value.rank_by == RANK_BY_VALUE
    # by probability with one value for everyone (100): 0.9, 0.5, 0.2 are worth 25, 5, -10
    by_probability = plan(p, None, OfferEconomics(cost_per_contact=20, save_rate=0.5, value_per_customer=100))
    assert by_probability.curve["net_benefit"].tolist() == pytest.approx([0, 25, 30, 20])
    assert by_probability.contacted == 2 and by_probability.rank_by == RANK_BY_PROBABILITY
    assert set(ranking_order(p)[:2]) == {0, 2} and set(ranking_order(p, at_risk)[:2]) == {1, 2}


def test_value_ranking_contacts_exactly_those_whose_saving_pays() -> None:
    rng = np.random.default_rng(3)
    p = rng.uniform(0, 1, 500)
    at_risk = rng.gamma(2.0, 40.0, 500) * p  # more value at risk where leaving is likelier, not in step
    at_risk[:20] = -5.0  # negative values at risk are worth nothing
    offer = OfferEconomics(cost_per_contact=15, save_rate=0.3)
    result = plan(p, None, offer, value_at_risk=at_risk)
    assert result.contacted == int((0.3 * at_risk > 15).sum())
    # the customers' benefits in contact order add up to the curve
    order = ranking_order(p, at_risk)
    each = value_benefit(at_risk[order], offer)
    assert np.cumsum(each).tolist() == pytest.approx(result.curve["net_benefit"].iloc[1:].tolist())
    # the best cut by value at risk gains at least what the same number of the likeliest leavers would
    likeliest = ranking_order(p)[:result.contacted]
    assert result.best["net_benefit"] >= value_benefit(at_risk[likeliest], offer).sum()


def test_value_ranking_refuses_a_second_value() -> None:
    with pytest.raises(ValueError, match="value=None"):
        benefit_curve(np.array([0.5]), np.array([10.0]), OfferEconomics(cost_per_contact=1, save_rate=0.5),
                      value_at_risk=np.array([3.0]))
    with pytest.raises(ValueError, match="one value per customer"):
        benefit_curve(np.array([0.5, 0.2]), None, OfferEconomics(cost_per_contact=1, save_rate=0.5),
                      value_at_risk=np.array([3.0]))


def test_the_default_ranking_is_by_probability() -> None:
    p = np.array([0.1, 0.8, 0.5])
    value = np.array([1000.0, 100.0, 300.0])
    offer = plan(p, value, OfferEconomics(cost_per_contact=20, save_rate=0.5))
    assert offer.rank_by == RANK_BY_PROBABILITY
    assert offer.curve["net_benefit"].tolist() == pytest.approx([0, 20, 75, 105])  # as by hand above
