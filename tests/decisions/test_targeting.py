"""insight.decisions.targeting: expected net benefit of contacting the riskiest customers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from insight.decisions.targeting import (
    RANK_BY_PROBABILITY,
    RANK_BY_UPLIFT,
    RANK_BY_VALUE,
    OfferEconomics,
    benefit_curve,
    best_cut,
    customer_worth,
    expected_benefit,
    plan,
    ranking_order,
    typical_value,
    uplift_benefit,
    uplift_plan,
    value_benefit,
)


def test_benefit_curve_by_hand() -> None:
    p = np.array([0.1, 0.8, 0.5])
    value = np.array([1000.0, 100.0, 300.0])
    curve = benefit_curve(p, value, OfferEconomics(cost_per_contact=20, save_rate=0.5))
    # each customer's own value: ranked by expected saving 0.5 x 300 = 150, 0.1 x 1000 = 100, 0.8 x 100 = 80
    # (x the save rate 0.5: 75, 50, 40), not by probability (0.8 first would bring 40 where 75 is to be had)
    assert curve["expected_value_saved"].tolist() == pytest.approx([0, 75, 125, 165])
    assert curve["net_benefit"].tolist() == pytest.approx([0, 55, 85, 105])
    assert curve["expected_saved"].tolist() == pytest.approx([0, 0.25, 0.30, 0.70])
    assert best_cut(curve) == 3
    fixed = benefit_curve(p, None, OfferEconomics(cost_per_contact=20, save_rate=0.5, value_per_customer=100))
    # one value for everyone: the riskiest first (0.8, 0.5, 0.1 bring 40, 25, 5)
    assert fixed["net_benefit"].tolist() == pytest.approx([0, 20, 25, 10])


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
    # the benefit of each customer, in rank order (by expected saving), adds up to the curve's net benefit
    ranked = np.argsort(-p * value, kind="stable")
    assert offer.order.tolist() == ranked.tolist() == [2, 0, 1]
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
    assert offer.curve["net_benefit"].tolist() == pytest.approx([0, 55, 85, 105])  # as by hand above


def test_uplift_plan_by_hand() -> None:
    uplift = np.array([0.02, 0.30, -0.10, 0.10, np.nan])  # the offer's estimated effect on churn
    p = np.array([0.90, 0.40, 0.70, 0.20, 0.95])  # churn risk: the riskiest are not those it moves
    offer = OfferEconomics(cost_per_contact=5, save_rate=0.3, value_per_customer=100)  # the save rate is unused
    result = uplift_plan(uplift, None, offer)
    # gains 2, 30, -10, 10, 0 (a missing uplift: no effect): contact order 30, 10, 2, 0, -10
    assert result.order.tolist() == [1, 3, 0, 4, 2] and result.rank_by == RANK_BY_UPLIFT
    assert result.curve["net_benefit"].tolist() == pytest.approx([0, 25, 30, 27, 22, 7])
    assert result.curve["expected_saved"].tolist() == pytest.approx([0, 0.3, 0.4, 0.42, 0.42, 0.32])
    assert result.contacted == 2
    # the risk ranking valued by the same estimates: 0.95, 0.90, 0.70, 0.40, 0.20 bring 0, 2, -10, 30, 10
    by_risk = uplift_plan(uplift, None, offer, order_by=p)
    assert by_risk.order.tolist() == [4, 0, 2, 1, 3] and by_risk.rank_by == RANK_BY_PROBABILITY
    assert by_risk.curve["net_benefit"].tolist() == pytest.approx([0, -5, -8, -23, 2, 7])
    assert by_risk.contacted == 5 and by_risk.best["net_benefit"] < result.best["net_benefit"]
    each = uplift_benefit(uplift[result.order], np.full(5, 100.0), offer)
    assert np.cumsum(each).tolist() == pytest.approx(result.curve["net_benefit"].iloc[1:].tolist())


def test_uplift_plan_values_each_customer_by_their_own_worth() -> None:
    uplift = np.array([0.30, 0.05, 0.10])
    value = np.array([10.0, 1000.0, 200.0])  # gains 3, 50, 20
    result = uplift_plan(uplift, value, OfferEconomics(cost_per_contact=4, save_rate=0.3))
    assert result.order.tolist() == [1, 2, 0] and result.contacted == 2
    assert result.best["expected_value_saved"] == pytest.approx(70)


def test_a_sleeping_dog_is_never_on_the_list() -> None:
    rng = np.random.default_rng(7)
    uplift = rng.normal(0.05, 0.1, 400)
    dog = rng.uniform(size=400) < 0.2
    uplift[:5] = 0.5  # flagged sleeping dogs with a large estimated effect still stay off the list
    dog[:5] = True
    for cost in (0.0, 2.0):
        result = uplift_plan(uplift, None, OfferEconomics(cost_per_contact=cost, save_rate=0.3,
                                                          value_per_customer=100), sleeping_dog=dog)
        listed = result.order[:result.contacted]
        assert 0 < result.contacted < 400 and not dog[listed].any()
        assert (uplift[listed] * 100 > cost).all()  # and only customers whose effect pays for the offer
        assert result.contacted == int(((uplift * 100 > cost) & ~dog).sum())
    free = uplift_plan(uplift, None, OfferEconomics(cost_per_contact=0, save_rate=0.3, value_per_customer=0))
    assert free.contacted == 0  # nothing to gain: nobody is contacted


def test_uplift_plan_can_list_only_customers_shown_to_move() -> None:
    uplift = np.array([0.30, 0.20, 0.10, 0.05])
    lower = np.array([0.10, -0.05, 0.02, np.nan])  # the second's interval holds 0; a missing one is not shown
    offer = OfferEconomics(cost_per_contact=1, save_rate=0.3, value_per_customer=100)
    assert uplift_plan(uplift, None, offer).contacted == 4
    shown = uplift_plan(uplift, None, offer, lower=lower)
    assert shown.contacted == 2 and set(shown.order[:2]) == {0, 2}
