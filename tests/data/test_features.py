"""insight.data.features: the model matrix, category codes, date offsets, and the JSON encoding."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from insight.data.features import (
    MIN_CATEGORY_COUNT,
    OTHER,
    Feature,
    FeatureMap,
    decode_value,
    encode,
    fit_feature_map,
)
from insight.data.schema import ColumnRole, Role, Schema


def _schema(**roles: Role) -> Schema:
    return Schema(columns=tuple(ColumnRole(n, r) for n, r in roles.items()), positive_label="yes")


@pytest.fixture
def frame() -> pd.DataFrame:
    plan = ["pro"] * 50 + ["basic"] * 30 + ["team"] * 12 + ["legacy"] * 5 + ["trial"] * 3
    n = len(plan)
    rng = np.random.default_rng(0)
    dates = pd.Timestamp("2024-06-30") - pd.to_timedelta(rng.integers(0, 400, n), unit="D")
    dates = pd.Series(dates).where(np.arange(n) % 10 != 0)  # every 10th missing
    return pd.DataFrame({
        "plan": pd.Series(plan, dtype="string").where(np.arange(n) != 1),  # one missing plan
        "signup": dates.astype("datetime64[ns]"),
        "seats": np.where(np.arange(n) % 7 == 0, np.nan, rng.integers(1, 20, n).astype(float)),
        "auto_renew": (np.arange(n) % 2).astype(float),
    })


@pytest.fixture
def schema() -> Schema:
    return _schema(plan=Role.CATEGORICAL, signup=Role.DATE, seats=Role.NUMERIC, auto_renew=Role.BOOLEAN)


def test_categories_by_frequency_with_rare_ones_pooled(frame: pd.DataFrame, schema: Schema) -> None:
    fmap = fit_feature_map(frame, schema)
    plan = fmap["plan"]
    assert plan.categories == ("pro", "basic", "team", OTHER)  # legacy (5) and trial (3) < 10 are pooled
    assert plan.mode == "pro"
    assert fmap.categorical_indices == [0]
    X = encode(frame, fmap)
    col = X[:, fmap.names.index("plan")]
    expect = {"pro": 0, "basic": 1, "team": 2, "legacy": 3, "trial": 3}
    for i, v in enumerate(frame["plan"]):
        if pd.isna(v):
            assert np.isnan(col[i])
        else:
            assert col[i] == expect[v]


def test_no_other_when_nothing_is_rare() -> None:
    frame = pd.DataFrame({"c": pd.Series(["a"] * 20 + ["b"] * 15, dtype="string")})
    fmap = fit_feature_map(frame, _schema(c=Role.CATEGORICAL))
    assert fmap["c"].categories == ("a", "b")


def test_min_count_is_the_pooling_boundary() -> None:
    values = ["a"] * 20 + ["b"] * MIN_CATEGORY_COUNT + ["c"] * (MIN_CATEGORY_COUNT - 1)
    frame = pd.DataFrame({"c": pd.Series(values, dtype="string")})
    assert fit_feature_map(frame, _schema(c=Role.CATEGORICAL))["c"].categories == ("a", "b", OTHER)


def test_unseen_categories_go_to_other_and_missing_stays_nan(frame: pd.DataFrame, schema: Schema) -> None:
    fmap = fit_feature_map(frame, schema)
    new = pd.DataFrame({"plan": pd.Series(["enterprise", "basic", None, "trial"], dtype="string"),
                        "signup": pd.to_datetime(["2024-06-30", None, "2024-06-01", "2023-06-30"]),
                        "seats": [3.0, np.nan, 1.0, 2.0], "auto_renew": [1.0, 0.0, np.nan, 1.0]})
    X = encode(new, fmap)
    other = fmap["plan"].categories.index(OTHER)
    j = fmap.names.index("plan")
    assert X[0, j] == other and X[1, j] == 1 and np.isnan(X[2, j]) and X[3, j] == other
    assert np.isnan(X[1, fmap.names.index("seats")])
    assert np.isnan(X[2, fmap.names.index("auto_renew")])
    assert np.isnan(X[1, fmap.names.index("signup")])


def test_fit_rows_limit_what_is_learned(frame: pd.DataFrame, schema: Schema) -> None:
    rows = np.flatnonzero(frame["plan"].fillna("").isin(["pro", "basic"]).to_numpy())
    fmap = fit_feature_map(frame, schema, fit_rows=rows)
    assert set(fmap["plan"].categories) == {"pro", "basic"}


def test_dates_become_days_before_the_reference(frame: pd.DataFrame, schema: Schema) -> None:
    fmap = fit_feature_map(frame, schema)
    ref = frame["signup"].max().normalize()
    assert fmap["signup"].reference_date == ref.date().isoformat()
    X = encode(frame, fmap)
    days = X[:, fmap.names.index("signup")]
    expected = (ref - frame["signup"]).dt.days.to_numpy(dtype=float, na_value=np.nan)
    np.testing.assert_array_equal(days, expected)
    assert np.nanmin(days) == 0 and np.nanmax(days) > 100
    assert np.isnan(days[0])  # missing dates stay missing
    later = encode(pd.DataFrame({**{c: frame[c].iloc[:1] for c in ("plan", "seats", "auto_renew")},
                                 "signup": [ref + pd.Timedelta(days=3)]}), fmap)
    assert later[0, fmap.names.index("signup")] == -3  # dates after the reference are negative, not clipped


def test_numbers_and_flags_pass_through(frame: pd.DataFrame, schema: Schema) -> None:
    fmap = fit_feature_map(frame, schema)
    X = encode(frame, fmap)
    np.testing.assert_array_equal(X[:, fmap.names.index("seats")], frame["seats"].to_numpy())
    np.testing.assert_array_equal(X[:, fmap.names.index("auto_renew")], frame["auto_renew"].to_numpy())
    assert fmap["seats"].median == pytest.approx(float(frame["seats"].median()))
    assert X.dtype == np.float64 and X.shape == (len(frame), 4)


def test_round_trip_through_json(frame: pd.DataFrame, schema: Schema) -> None:
    fmap = fit_feature_map(frame, schema)
    again = FeatureMap.from_dict(json.loads(json.dumps(fmap.to_dict())))
    assert again == fmap
    np.testing.assert_array_equal(encode(frame, again), encode(frame, fmap))


def test_decode_value() -> None:
    cat = Feature("plan", Role.CATEGORICAL, categories=("pro", "basic", OTHER))
    assert decode_value(cat, 1.0) == "basic"
    assert decode_value(cat, 2.0) == OTHER
    assert decode_value(cat, 7.0) == OTHER
    assert decode_value(cat, float("nan")) == "missing"
    flag = Feature("auto_renew", Role.BOOLEAN)
    assert decode_value(flag, 1.0) == "yes" and decode_value(flag, 0.0) == "no"
    date = Feature("signup", Role.DATE, reference_date="2024-06-30")
    assert decode_value(date, 30.0) == "2024-05-31"
    assert decode_value(Feature("fee", Role.NUMERIC), 1234.0) == "1,234"


