"""benchmarks/targeting.py: the lists it compares on a population whose answer is known, and one small real run
end to end (the must-show figures at 20,000 customers are the benchmark's, run by hand:
`python -m benchmarks targeting --rows 20000 --seed 0 1 2`)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from benchmarks.targeting import compare_lists, list_facts, main
from insight.decisions.targeting import OfferEconomics


def test_list_facts_by_hand() -> None:
    true_uplift = np.array([0.5, -0.2, 0.1, 0.0])
    worth = np.array([100.0, 100.0, 50.0, 10.0])
    facts = list_facts(np.array([0, 1, 2]), true_uplift, worth, cost=5.0)
    assert facts == {"customers": 3, "saves": pytest.approx(0.4), "true_net_benefit": pytest.approx(50 - 20 + 5 - 15),
                     "negative_share": pytest.approx(1 / 3)}


def test_the_uplift_list_against_the_riskiest_on_a_planted_population() -> None:
    # 100 persuadables (+0.4, middling risk), 100 sleeping dogs (-0.2, the riskiest), 800 unmoved (0, low risk)
    true_uplift = np.r_[np.full(100, 0.4), np.full(100, -0.2), np.zeros(800)]
    frame = pd.DataFrame({
        "churn_probability": np.r_[np.full(100, 0.5), np.full(100, 0.9), np.full(800, 0.1)],
        "uplift": true_uplift + np.linspace(0, 0.01, 1000),  # a good estimate
        "uplift_group": ["persuadable"] * 100 + ["sleeping dog"] * 100 + ["sure thing"] * 800})
    frame["uplift_lower"] = frame["uplift"] - np.r_[np.full(50, 0.1), np.full(50, 0.5), np.full(900, 0.1)]
    result = compare_lists(frame, true_uplift, None, OfferEconomics(cost_per_contact=10, save_rate=0.3,
                                                                    value_per_customer=100))
    lists = result["lists"]
    assert lists["uplift"]["customers"] == 100 and lists["uplift"]["saves"] == pytest.approx(40)
    assert lists["uplift"]["negative_share"] == 0
    assert lists["risk_same_budget"]["saves"] == pytest.approx(-20)  # the riskiest 100 are the sleeping dogs
    assert lists["risk_same_budget"]["negative_share"] == 1
    # the page's risk plan (p x 0.3 x 100 > 10, i.e. p > 1/3) contacts the dogs and the persuadables
    assert lists["risk_own_cut"]["customers"] == 200 and lists["risk_own_cut"]["saves"] == pytest.approx(20)
    assert lists["true_uplift_same_budget"]["saves"] == pytest.approx(40)
    assert lists["uplift_shown_to_move"]["customers"] == 50  # half the persuadables' intervals hold 0
    assert result["saves_ratio_best_budget"] < 0 and not result["saves_ok"]  # negative saves: no ratio to pass


@pytest.mark.slow
def test_a_small_real_run_end_to_end(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "targeting.json"
    assert main(["--rows", "1200", "--seed", "3", "--json", str(out)]) == 0
    result = json.loads(out.read_text())
    page = result["fixed_value"]
    assert page["customers"] == 1200 and page["cost_per_contact"] == pytest.approx(0.1 * result["typical_value"],
                                                                                   abs=0.01)
    uplift, risk = page["lists"]["uplift"], page["lists"]["risk_same_budget"]
    assert uplift["customers"] == risk["customers"] > 0
    assert uplift["saves"] > risk["saves"]  # even a small campaign's uplift model beats risk at its own budget
    assert result["test_customers"]["customers"] < 1200
    assert "saves at the best budget, uplift / risk" in capsys.readouterr().out
