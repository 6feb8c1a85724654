"""insight.data.demo_campaign: the demo with a past randomised retention campaign (`insight demo-data --campaign`),
on the default demo and the survival demo."""

from __future__ import annotations

import hashlib
from pathlib import Path

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import cross_val_predict
from typer.testing import CliRunner

from insight.cli import app
from insight.data.demo import ID_COLUMN, TARGET, demo_data, demo_spec, write_demo_data
from insight.data.demo_campaign import (GROUPS, OFFER_SHARE, TREATMENT, add_campaign, demo_campaign_data,
                                        write_demo_campaign_data)
from insight.data.demo_survival import demo_survival_data, write_demo_survival_data
from insight.data.features import encode, fit_feature_map
from insight.data.schema import clean_table

ROWS = 20_000
FROZEN_SHA256 = {  # customers.csv and truth.csv of the demos without the campaign, frozen before it existed
    ("default", 300, 0): ("2783ddddd4a884e35c0916b154139977ad97df6fac1bb40848bac611fb7f3635",
                          "7cfae09c2334b6958d6ced961d6503d1cb27c9854eb52365ed3267ef7689eede"),
    ("default", 2000, 1): ("0c27ce1395c985e9fc692644a7f6cb433beb2334444f5ba6613d1892b2d5ce19",
                           "bb89079396cadb787b248c20bc7685d39cc1e7bbd29441d83f9d6cb6e063c76d"),
    ("survival", 300, 0): ("4c5b40fbbc5d08ca20f0e0018cf64861d5d243cda8608dfe68a3381eeebc50b2",
                           "70a1d515b37ec138b2fb4a65fd8ae286b58db5fe09341d9a6a3ab8c092b1eef4"),
    ("survival", 2000, 1): ("86faaf026d36e2f317f55fa9843754feeaa282a6c2965b7fa402d42bdd90c19f",
                            "c3c1f1e90a395819fae80f0ced51a8c66610e299a9f247f7b5bfd21792be7bc7"),
}
HELPS = ("price_persuadable", "support_persuadable", "mild_responder")
NO_EFFECT = ("lost_cause", "sure_thing", "unmoved")


@pytest.fixture(scope="module")
def campaign() -> tuple[pd.DataFrame, pd.DataFrame]:
    d = demo_campaign_data(rows=ROWS, seed=0)
    return d.customers, d.truth


@pytest.fixture(scope="module")
def survival_campaign() -> tuple[pd.DataFrame, pd.DataFrame]:
    d = demo_campaign_data(rows=5_000, seed=0, survival=True)
    return d.customers, d.truth


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("key", sorted(FROZEN_SHA256))
def test_the_demos_without_the_campaign_are_unchanged(tmp_path: Path, key: tuple[str, int, int]) -> None:
    kind, rows, seed = key
    write = write_demo_data if kind == "default" else write_demo_survival_data
    customers, truth = write(tmp_path, rows=rows, seed=seed)
    assert (_sha(customers), _sha(truth)) == FROZEN_SHA256[key]


def test_same_seed_same_data_and_another_seed_other_data() -> None:
    a, b, c = (demo_campaign_data(rows=500, seed=s) for s in (3, 3, 4))
    pd.testing.assert_frame_equal(a.customers, b.customers)
    pd.testing.assert_frame_equal(a.truth, b.truth)
    assert not np.array_equal(a.customers[TREATMENT], c.customers[TREATMENT])


def test_control_customers_keep_every_value_and_only_the_campaign_columns_are_new(
        campaign: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    customers, truth = campaign
    base = demo_data(rows=ROWS, seed=0)
    assert [c for c in customers.columns if c != TREATMENT] == list(base.customers.columns)
    assert list(customers.columns).index(TREATMENT) == list(customers.columns).index(TARGET) - 1
    control = (customers[TREATMENT] == 0).to_numpy()
    pd.testing.assert_frame_equal(customers.drop(columns=TREATMENT)[control], base.customers[control])
    assert list(truth.columns) == [*base.truth.columns, "campaign_group", "churn_probability_control",
                                   "churn_probability_treated", "uplift"]
    # the offer changes outcomes only: every input of a treated customer is the demo's own
    inputs = [c for c in base.customers.columns if c not in (TARGET, "revenue_next_12m", "seat_change_next_12m")]
    pd.testing.assert_frame_equal(customers[inputs], base.customers[inputs])
    np.testing.assert_allclose(truth["churn_probability_control"], base.truth["churn_probability"], atol=1e-6)


def test_the_offer_is_randomised(campaign: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    customers, truth = campaign
    treated = customers[TREATMENT].to_numpy()
    assert set(np.unique(treated)) == {0, 1}
    assert abs(treated.mean() - OFFER_SHARE) < 3 * np.sqrt(OFFER_SHARE * (1 - OFFER_SHARE) / ROWS)
    # a propensity model on every input the churn model sees cannot tell the treated from the control
    table = clean_table(customers.drop(columns=TREATMENT), demo_spec())
    X = encode(table.frame, fit_feature_map(table.frame, table.schema))
    model = lgb.LGBMClassifier(n_estimators=100, learning_rate=0.05, num_leaves=15, verbose=-1, n_jobs=1)
    p = cross_val_predict(model, X, treated, cv=3, method="predict_proba")[:, 1]
    assert abs(roc_auc_score(treated, p) - 0.5) < 0.03
    # the same model does find the churn signal, so the check above has teeth
    churn = table.frame[TARGET].to_numpy(dtype=int)
    assert roc_auc_score(churn, cross_val_predict(model, X, churn, cv=3, method="predict_proba")[:, 1]) > 0.75
    for group in GROUPS:  # balanced within every planted group
        members = (truth["campaign_group"] == group).to_numpy()
        assert abs(treated[members].mean() - OFFER_SHARE) < 4 * np.sqrt(0.25 / members.sum()), group


def _churn_rates(customers: pd.DataFrame, members: np.ndarray) -> tuple[float, float, float]:
    churned = (customers[TARGET] == "Yes").to_numpy()
    treated = (customers[TREATMENT] == 1).to_numpy()
    t, c = churned[members & treated], churned[members & ~treated]
    se = float(np.sqrt(t.var() / len(t) + c.var() / len(c)))
    return float(t.mean()), float(c.mean()), se


def test_realised_churn_moves_in_the_planted_direction(campaign: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    customers, truth = campaign
    group = truth["campaign_group"].to_numpy()
    for name in HELPS:
        t, c, se = _churn_rates(customers, group == name)
        assert c - t > 3 * se, (name, t, c)
    t, c, se = _churn_rates(customers, group == "sleeping_dog")
    assert t - c > 3 * se and t - c > 0.1, (t, c)  # the reminder pushes sleeping dogs out
    for name in NO_EFFECT:
        t, c, se = _churn_rates(customers, group == name)
        assert abs(t - c) < 3 * se, (name, t, c)
    t, c, _ = _churn_rates(customers, group == "price_persuadable")
    assert c - t > 0.3  # the strongest responders


def test_truth_holds_both_arms_and_the_realised_one(campaign: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    customers, truth = campaign
    treated = (customers[TREATMENT] == 1).to_numpy()
    p0, p1 = truth["churn_probability_control"].to_numpy(), truth["churn_probability_treated"].to_numpy()
    np.testing.assert_allclose(truth["uplift"], p0 - p1, atol=1e-9)
    np.testing.assert_allclose(truth["churn_probability"], np.where(treated, p1, p0), atol=1e-9)
    group, uplift = truth["campaign_group"].to_numpy(), truth["uplift"].to_numpy()
    assert (uplift[group == "sleeping_dog"] < 0).all()
    assert all((uplift[group == g] > 0).all() for g in HELPS)
    assert all((uplift[group == g] == 0).all() for g in NO_EFFECT)
    assert set(group) == set(GROUPS)
    # the coupled draw is calibrated: the treated churn as their treated probabilities say
    churned = (customers[TARGET] == "Yes").to_numpy()
    expected = p1[treated]
    assert abs(churned[treated].mean() - expected.mean()) < 3 * np.sqrt((expected * (1 - expected)).sum()) / treated.sum()


def test_next_year_follows_the_realised_churn(campaign: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    customers, _ = campaign
    churned = (customers[TARGET] == "Yes").to_numpy()
    seats, change = customers["seats"].to_numpy(), customers["seat_change_next_12m"].to_numpy()
    assert (change[churned] == -seats[churned]).all()
    assert (seats[~churned] + change[~churned] >= 1).all()
    annual = (customers["billing_cycle"] == "annual").to_numpy()
    revenue = customers["revenue_next_12m"].to_numpy()
    assert (revenue[churned & annual] == 0).all() and (revenue[~churned] > 0).mean() > 0.99


def test_the_survival_demo_with_the_campaign(survival_campaign: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    customers, truth = survival_campaign
    base = demo_survival_data(rows=5_000, seed=0)
    treated = (customers[TREATMENT] == 1).to_numpy()
    pd.testing.assert_frame_equal(customers.drop(columns=TREATMENT)[~treated], base.customers[~treated])
    t, age = truth["time_to_churn"].to_numpy(), truth["months_since_signup"].to_numpy()
    assert ((customers[TARGET] == "Yes").to_numpy() == (t <= age)).all()
    np.testing.assert_allclose(customers["tenure_months"], np.round(np.minimum(t, age), 2), atol=0.006)
    # the treated's time to churn is their own draw stretched by the offer: longer where it helps
    t0 = base.truth["time_to_churn"].to_numpy()
    uplift, group = truth["uplift"].to_numpy(), truth["campaign_group"].to_numpy()
    helped = treated & np.isin(group, HELPS)
    assert (t[helped] > t0[helped]).all() and (t[treated & (group == "sleeping_dog")]
                                               < t0[treated & (group == "sleeping_dog")]).all()
    np.testing.assert_allclose(t[~treated], t0[~treated])
    p0 = 1 - np.exp(-((age / base.truth["weibull_scale"].to_numpy()) ** truth["weibull_shape"].to_numpy()))
    np.testing.assert_allclose(truth["churn_probability_control"], p0, atol=1e-5)
    assert (uplift[group == "sleeping_dog"] <= 0).all() and (uplift[helped] >= 0).all()
    assert (customers.loc[customers[TARGET] == "Yes", "revenue_next_12m"] == 0).all()


def test_bad_share_and_mismatched_tables() -> None:
    data = demo_data(rows=200, seed=0)
    with pytest.raises(ValueError, match="between 0 and 1"):
        add_campaign(data, share=1.0)
    shuffled = type(data)(customers=data.customers, truth=data.truth.iloc[::-1].reset_index(drop=True))
    with pytest.raises(ValueError, match="same customers"):
        add_campaign(shuffled)


def test_cli_demo_data_campaign(tmp_path: Path) -> None:
    runner = CliRunner()
    for extra, folder in (([], "plain"), (["--survival"], "survival")):
        result = runner.invoke(app, ["demo-data", "--campaign", *extra, "--rows", "300", "--seed", "2", "--out",
                                     str(tmp_path / folder)])
        assert result.exit_code == 0, result.output
        assert TREATMENT in result.output
        customers, truth = write_demo_campaign_data(tmp_path / f"{folder}-direct", rows=300, seed=2,
                                                    survival=bool(extra))
        assert _sha(tmp_path / folder / "customers.csv") == _sha(customers)
        assert _sha(tmp_path / folder / "truth.csv") == _sha(truth)
    written = pd.read_csv(tmp_path / "survival" / "customers.csv")
    assert {TREATMENT, "tenure_months", ID_COLUMN} <= set(written.columns)
    assert set(written[TREATMENT]) == {0, 1}


def test_cli_campaign_with_months_is_refused(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["demo-data", "--campaign", "--months", "3", "--out", str(tmp_path / "x")])
    assert result.exit_code == 2
    assert "not yet" in result.output
    assert not (tmp_path / "x").exists()
