"""insight.decisions.targeting: expected net benefit of contacting the riskiest customers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from insight.decisions.targeting import OfferEconomics, benefit_curve, best_cut


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
