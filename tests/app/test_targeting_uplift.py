"""Targeting on a run trained with --treatment (AppTest on a real uplift run, no mocks): ranked by the offer's
effect by default, the plan contacts exactly the customers whose estimated uplift x value pays for the offer and
never a sleeping dog, the list and its export carry both the reasons for risk and for responding, the riskiest
first's curve is drawn beside it valued by the same estimates, and ranking by churn risk is still offered."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from appkit import array, assert_clean, metric, open_page, plain, plotly_figure
from runkit import rewritten_run, runs_folder

from insight import formatting as fmt
from insight.decisions.targeting import RANK_BY_PROBABILITY, RANK_BY_UPLIFT

PAGE = "pages/targeting.py"
COST, VALUE = 6.0, 120.0
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory, uplift_run: Path, demo_run: Path) -> Path:
    return runs_folder(tmp_path_factory.mktemp("targeting-uplift-runs"), demo_run, uplift_run, latest=uplift_run)


DOGS = 5
"""Customers of a copy of the run re-labelled sleeping dogs: the five the offer is estimated to move most."""


@pytest.fixture(scope="module")
def dog_run(runs: Path, uplift_run: Path) -> Path:
    """The uplift run with its five most-moved customers labelled sleeping dogs (a small run's intervals are too
    wide to call any): the label alone must keep them off the list, whatever their estimated effect."""
    frame = pd.read_parquet(uplift_run / "customers.parquet")
    top = frame["uplift"].nlargest(DOGS).index
    frame.loc[top, "uplift_group"] = "sleeping dog"
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    return rewritten_run(uplift_run, runs, "uplift-with-dogs", lambda m: None,
                         replace={"customers.parquet": buffer.getvalue()})


@pytest.fixture(scope="module")
def customers(uplift_run: Path) -> pd.DataFrame:
    return pd.read_parquet(uplift_run / "customers.parquet")


def _export(downloads: dict, run: Path) -> pd.DataFrame:
    return pd.read_csv(io.BytesIO(downloads[f"target-list-{run.name}.csv"]()), encoding="utf-8-sig")


def test_ranked_by_the_offers_effect_without_a_sleeping_dog(monkeypatch: pytest.MonkeyPatch, runs: Path,
                                                            dog_run: Path, downloads: dict) -> None:
    customers = pd.read_parquet(dog_run / "customers.parquet")
    dogs = customers["uplift_group"] == "sleeping dog"
    assert dogs.sum() >= DOGS and (customers.loc[dogs, "uplift"] * VALUE > COST).sum() >= DOGS
    at = open_page(monkeypatch, runs, dog_run, PAGE)
    rank = at.button_group(key="target_rank_by")
    assert rank.value == RANK_BY_UPLIFT and len(rank.options) == 2  # the offer's effect first, churn risk too
    assert at.slider(key="target_save_rate").disabled  # the uplift says how much the offer keeps each customer
    at.number_input(key="target_cost").set_value(COST)
    at.number_input(key="target_value").set_value(VALUE).run()
    assert_clean(at, "ranked by the offer's effect")

    pays = (customers["uplift"] * VALUE > COST) & ~dogs
    k = int(pays.sum())
    assert 0 < k < len(customers)
    assert metric(at, "Customers to contact") == fmt.count(k)
    assert metric(at, "Expected customers saved") == fmt.count(customers.loc[pays, "uplift"].sum())

    export = _export(downloads, dog_run)
    # the most moved first; equal estimates (a small run's trees give many) the riskiest first, then by id
    expected = customers[pays].sort_values(["uplift", "churn_probability", "customer_id"],
                                           ascending=[False, False, True])
    assert export["customer_id"].tolist() == expected["customer_id"].tolist()
    assert not export["uplift_group"].eq("sleeping dog").any()
    assert export["expected_benefit"].to_numpy() == pytest.approx(
        np.round(expected["uplift"].to_numpy() * VALUE - COST, 2), abs=0.006)
    assert (export["expected_benefit"] > 0).all()
    for column in ("churn_probability", "uplift", "uplift_lower", "uplift_upper", "uplift_group", "value",
                   "reason_1", "response_reason_1", "response_reason_3"):
        assert column in export.columns, column
    assert export["response_reason_1"].str.contains("offer's effect|barely changes").all()
    assert export["reason_1"].notna().all()
    preview = at.dataframe[0].value
    assert preview["customer_id"].tolist() == expected["customer_id"].head(len(preview)).tolist()


def test_the_riskiest_first_beside_it(monkeypatch: pytest.MonkeyPatch, runs: Path, uplift_run: Path,
                                      customers: pd.DataFrame) -> None:
    at = open_page(monkeypatch, runs, uplift_run, PAGE)
    at.number_input(key="target_cost").set_value(COST)
    at.number_input(key="target_value").set_value(VALUE).run()
    figure = plotly_figure(at, "target_uplift_curves")
    lines = {t["name"]: t for t in figure["data"] if t.get("mode") == "lines"}
    assert set(lines) == {"By the offer's effect", "By churn risk"}
    riskiest = customers.sort_values(["churn_probability", "customer_id"], ascending=[False, True])
    net = np.cumsum(riskiest["uplift"].to_numpy() * VALUE - COST)
    risk_y = array(lines["By churn risk"]["y"])
    assert risk_y[-1] == pytest.approx(net[-1])  # every customer contacted: the same total both ways
    assert array(lines["By the offer's effect"]["y"])[-1] == pytest.approx(net[-1])
    risk_k = int(np.argmax(np.r_[0.0, net]))
    on_risk_list = int((riskiest["uplift_group"].head(risk_k) == "sleeping dog").sum())
    said = next(plain(m.value).replace("**", "") for m in at.markdown
                if plain(m.value).startswith("Ranked by the offer's effect"))
    assert f"would do best at {fmt.count(risk_k)} customer" in said
    if on_risk_list:
        assert f"would hold {fmt.count(on_risk_list)} sleeping dogs" in said
    # contacting those the offer moves most first is never worse at its best than the riskiest first at theirs
    assert np.max(array(lines["By the offer's effect"]["y"])) >= np.max(risk_y) - 1e-6
    assert "Qini coefficient" in said


def test_each_customers_own_value_and_ranking_by_risk(monkeypatch: pytest.MonkeyPatch, runs: Path,
                                                       uplift_run: Path, customers: pd.DataFrame,
                                                       downloads: dict) -> None:
    at = open_page(monkeypatch, runs, uplift_run, PAGE)
    at.number_input(key="target_cost").set_value(COST)
    at.toggle(key="target_own_value").set_value(True).run()
    assert_clean(at, "own values")
    own = customers["predicted_revenue_next_12m"].fillna(0).clip(lower=0)
    pays = (customers["uplift"] * own > COST) & (customers["uplift_group"] != "sleeping dog")
    assert metric(at, "Customers to contact") == fmt.count(int(pays.sum()))

    at.toggle(key="target_own_value").set_value(False)
    at.button_group(key="target_rank_by").set_value(RANK_BY_PROBABILITY).run()
    assert_clean(at, "ranked by churn risk")
    assert not at.slider(key="target_save_rate").disabled
    export = _export(downloads, uplift_run)
    riskiest = customers.sort_values(["churn_probability", "customer_id"], ascending=[False, True])
    assert export["customer_id"].tolist() == riskiest["customer_id"].head(len(export)).tolist()
    assert "uplift" not in export.columns and "response_reason_1" not in export.columns


def test_only_customers_the_offer_is_shown_to_move(monkeypatch: pytest.MonkeyPatch, runs: Path, uplift_run: Path,
                                                   customers: pd.DataFrame, downloads: dict) -> None:
    at = open_page(monkeypatch, runs, uplift_run, PAGE)
    at.number_input(key="target_cost").set_value(COST)
    at.number_input(key="target_value").set_value(VALUE)
    at.toggle(key="target_shown_to_move").set_value(True).run()
    assert_clean(at, "only those shown to move")
    pays = (customers["uplift"] * VALUE > COST) & (customers["uplift_group"] != "sleeping dog")
    shown = pays & (customers["uplift_lower"] > 0)
    assert 0 < shown.sum() < pays.sum()  # a real cut: some customers that pay are not shown to move
    assert metric(at, "Customers to contact") == fmt.count(int(shown.sum()))
    export = _export(downloads, uplift_run)
    assert set(export["customer_id"]) == set(customers.loc[shown, "customer_id"])
    assert (export["uplift_lower"] > 0).all()
