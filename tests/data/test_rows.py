"""insight.data.rows: new rows cleaned the one way, strictly for new customers, with training's tolerance for
rows of the training table."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from insight.data.features import encode, fit_feature_map
from insight.data.rows import clean_rows, unseen_categories
from insight.data.schema import ColumnRole, Role, Schema
from insight.errors import InputError


@pytest.fixture
def frame() -> pd.DataFrame:
    n = 100
    rng = np.random.default_rng(0)
    return pd.DataFrame({
        "plan": pd.Series(["pro", "basic", "team", "legacy"] * 25, dtype="string"),
        "signup": pd.Series(pd.Timestamp("2024-06-30") - pd.to_timedelta(rng.integers(0, 400, n), unit="D")),
        "seats": rng.integers(1, 20, n).astype(float),
        "auto_renew": (np.arange(n) % 2).astype(float),
    })


@pytest.fixture
def schema() -> Schema:
    return Schema(columns=tuple(ColumnRole(n, r) for n, r in
                                {"plan": Role.CATEGORICAL, "signup": Role.DATE, "seats": Role.NUMERIC,
                                 "auto_renew": Role.BOOLEAN}.items()), positive_label="yes")


def test_clean_rows_brings_raw_columns_to_clean_dtypes(frame: pd.DataFrame, schema: Schema) -> None:
    fmap = fit_feature_map(frame, schema)
    raw = pd.DataFrame({"plan": [" pro ", "", "team"], "signup": ["2024-06-01", "", "2024-01-01"],
                        "seats": ["3", " ", "1,200"], "auto_renew": ["Yes", "no", None], "extra": [1, 2, 3]})
    clean = clean_rows(raw, fmap)
    assert list(clean.columns) == fmap.names  # extra columns are ignored
    X = encode(clean, fmap)
    assert X[0, fmap.names.index("plan")] == 0 and np.isnan(X[1, fmap.names.index("plan")])
    assert X[2, fmap.names.index("seats")] == 1200 and np.isnan(X[1, fmap.names.index("seats")])
    assert X[0, fmap.names.index("auto_renew")] == 1 and X[1, fmap.names.index("auto_renew")] == 0
    assert X[0, fmap.names.index("signup")] == (pd.Timestamp(fmap["signup"].reference_date)
                                                - pd.Timestamp("2024-06-01")).days


def test_missing_feature_columns_are_an_input_error(frame: pd.DataFrame, schema: Schema) -> None:
    fmap = fit_feature_map(frame, schema)
    with pytest.raises(InputError, match="lacks 2 feature column.*seats, auto_renew"):
        clean_rows(frame[["plan", "signup"]], fmap)


def test_an_unreadable_value_of_a_new_customer_is_refused_with_its_customer(frame: pd.DataFrame,
                                                                           schema: Schema) -> None:
    fmap = fit_feature_map(frame, schema)
    raw = frame.astype({"seats": "object"})
    raw.loc[2, "seats"] = "three"
    ids = pd.Series([f"c{i}" for i in range(len(raw))]).replace({"c2": "c"})
    with pytest.raises(InputError, match=r"column 'seats' should hold numbers .* e.g. 'three' \(customer 'c'"):
        clean_rows(raw, fmap, ids=ids)
    lenient = clean_rows(raw, fmap, ids=ids, strict=False)  # rows of the training table: 1 % is within its tolerance
    assert np.isnan(lenient.loc[2, "seats"]) and lenient.loc[0, "seats"] == frame.loc[0, "seats"]


def test_yes_no_and_dates_must_read_as_their_kind(frame: pd.DataFrame, schema: Schema) -> None:
    fmap = fit_feature_map(frame, schema)
    flags = frame.astype({"auto_renew": "object"}).head(3)
    flags.loc[1, "auto_renew"] = "maybe"
    with pytest.raises(InputError, match="auto_renew.*yes/no"):
        clean_rows(flags, fmap)
    dates = frame.astype({"signup": "object"}).head(3)
    dates.loc[0, "signup"] = "not a date"
    with pytest.raises(InputError, match="signup.*dates"):
        clean_rows(dates, fmap)


def test_unseen_categories_are_counted_not_refused(frame: pd.DataFrame, schema: Schema) -> None:
    fmap = fit_feature_map(frame, schema)
    raw = frame.head(3).astype({"plan": "object"})
    raw.loc[0, "plan"], raw.loc[1, "plan"] = "enterprise", None
    assert unseen_categories(raw["plan"], fmap["plan"]).tolist() == [True, False, False]
    assert clean_rows(raw, fmap)["plan"].isna().tolist() == [False, True, False]
