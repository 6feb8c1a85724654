"""Targeting on a run trained with --duration and a period value: rank by churn probability (as before) or by
the value at risk within the main horizon; the plan, the list and its export follow the ranking (AppTest on a
real survival run); a run without survival offers no choice."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from appkit import assert_clean, metric, open_page

from insight import formatting as fmt
from insight.decisions.targeting import RANK_BY_VALUE, OfferEconomics, benefit_curve, best_cut
from insight.runs import layout
from runkit import runs_folder

COST, SAVE = 20.0, 30


@pytest.fixture(scope="module")
def targeting_runs(tmp_path_factory: pytest.TempPathFactory, survival_run: Path, demo_run: Path) -> Path:
    return runs_folder(tmp_path_factory.mktemp("targeting-survival-runs"), survival_run, demo_run, latest=survival_run)


def _main(run: Path) -> float:
    return float(json.loads((run / "manifest.json").read_text())["survival"]["main_horizon"])


def test_ranking_by_value_at_risk_changes_the_list(monkeypatch: pytest.MonkeyPatch, targeting_runs: Path,
                                                   survival_run: Path, downloads: dict) -> None:
    main = _main(survival_run)
    at_risk, within = layout.value_lost(main), layout.churn_within(main)
    frame = pd.read_parquet(survival_run / "customers.parquet")
    at = open_page(monkeypatch, targeting_runs, survival_run, "pages/targeting.py")
    rank = at.button_group(key="target_rank_by")
    assert rank.value == "probability" and len(rank.options) == 2
    at.number_input(key="target_cost").set_value(COST)
    at.slider(key="target_save_rate").set_value(SAVE).run()
    by_probability = at.dataframe[0].value["customer_id"].tolist()

    at.button_group(key="target_rank_by").set_value(RANK_BY_VALUE).run()
    assert_clean(at, "ranked by value at risk")
    worth = frame[at_risk].fillna(0).clip(lower=0)
    ranked = frame.assign(_worth=worth).sort_values(["_worth", "customer_id"], ascending=[False, True])
    k = int((SAVE / 100 * worth > COST).sum())  # exactly the customers whose saving pays for the offer
    assert 0 < k < len(frame)
    assert metric(at, "Customers to contact") == fmt.count(k)
    curve = benefit_curve(ranked[within].to_numpy(), None, OfferEconomics(cost_per_contact=COST,
                                                                          save_rate=SAVE / 100),
                          value_at_risk=ranked["_worth"].to_numpy())
    assert best_cut(curve) == k
    assert metric(at, "Expected net benefit") == fmt.amount(curve["net_benefit"].iloc[k])
    preview = at.dataframe[0].value
    assert preview["customer_id"].tolist() == ranked["customer_id"].head(len(preview)).tolist()
    assert preview["customer_id"].tolist() != by_probability
    assert preview[at_risk].is_monotonic_decreasing
    export = pd.read_csv(io.BytesIO(downloads[f"target-list-{survival_run.name}.csv"]()), encoding="utf-8-sig")
    assert export["customer_id"].tolist() == ranked["customer_id"].head(k).tolist()
    assert export["expected_benefit"].to_numpy() == pytest.approx(
        np.round(SAVE / 100 * ranked["_worth"].head(k).to_numpy() - COST, 2), abs=0.011)
    assert at.number_input(key="target_value").disabled  # the value at risk is each customer's worth


def test_ranking_by_probability_is_as_before(monkeypatch: pytest.MonkeyPatch, targeting_runs: Path,
                                             survival_run: Path) -> None:
    frame = pd.read_parquet(survival_run / "customers.parquet").sort_values(
        ["churn_probability", "customer_id"], ascending=[False, True])
    at = open_page(monkeypatch, targeting_runs, survival_run, "pages/targeting.py")
    at.number_input(key="target_cost").set_value(COST)
    at.slider(key="target_save_rate").set_value(SAVE)
    at.number_input(key="target_value").set_value(150.0).run()
    k = best_cut(benefit_curve(frame["churn_probability"].to_numpy(), None,
                               OfferEconomics(cost_per_contact=COST, save_rate=SAVE / 100, value_per_customer=150)))
    assert metric(at, "Customers to contact") == fmt.count(k)
    assert at.dataframe[0].value["customer_id"].tolist() == frame["customer_id"].head(min(k, 20)).tolist()


def test_a_run_without_survival_offers_no_choice(monkeypatch: pytest.MonkeyPatch, targeting_runs: Path,
                                                 demo_run: Path) -> None:
    at = open_page(monkeypatch, targeting_runs, demo_run, "pages/targeting.py")
    assert "target_rank_by" not in [b.key for b in at.button_group]
    assert list(at.dataframe[0].value.columns) == ["customer_id", "churn_probability", "risk_band", "value",
                                                   "expected_benefit", "reason_1", "reason_2", "reason_3"]
    assert not any("value at risk" in c.value.lower() for c in at.caption)
