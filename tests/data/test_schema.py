"""insight.data.schema: column roles, cleaning of what real exports contain, and validation errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from insight.config import DataSpec
from insight.errors import InputError
from insight.data.schema import (
    MIN_ROWS,
    Role,
    Schema,
    clean_aux_target,
    clean_table,
    clean_target,
    coerce_column,
    infer_column,
)

N = 1000


def bank_like(n: int = N, seed: int = 0) -> pd.DataFrame:
    """A bank-churn-like export: row number, customer number, surname, text numbers, flags, dates, a leak."""
    rng = np.random.default_rng(seed)
    exited = rng.random(n) < 0.3
    total = rng.gamma(2.0, 500.0, n)
    return pd.DataFrame({
        "RowNumber": np.arange(1, n + 1),
        "CustomerId": rng.choice(np.arange(15_000_000, 16_000_000), n, replace=False),
        "Surname": [f"Name{i}" for i in rng.integers(0, 300, n)],  # ~30 % distinct
        "TotalCharges": [" " if i % 50 == 0 else f"{v:.2f}" for i, v in enumerate(total)],
        "Partner": rng.choice(["Yes", "No"], n),
        "SeniorCitizen": rng.integers(0, 2, n),
        "signup_date": (pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 1500, n), unit="D"))
        .strftime("%Y-%m-%d"),
        "source_system": "crm",
        "Balance": rng.normal(1000, 300, n).round(2),
        "Geography": rng.choice(["France", "Germany", "Spain"], n),
        "closed_reason_code": np.where(rng.random(n) < 0.02, ~exited, exited).astype(int) * 10
        + rng.integers(0, 3, n),
        "Exited": exited.astype(int),
        "account": [f"AC-{i:05d}" for i in range(n)],
    })


@pytest.fixture(scope="module")
def bank() -> pd.DataFrame:
    return bank_like()


@pytest.fixture(scope="module")
def bank_table(bank: pd.DataFrame):  # noqa: ANN201
    return clean_table(bank, DataSpec(id_column="account", target="Exited"))


# --- role inference -------------------------------------------------------------------------------------


def test_numbers_stored_as_text_with_blanks_become_numeric(bank_table) -> None:  # noqa: ANN001
    assert bank_table.schema.role("TotalCharges") is Role.NUMERIC
    col = bank_table.frame["TotalCharges"]
    assert col.dtype == np.float64
    assert col.isna().sum() == N // 50  # the " " cells, and only those
    assert col.dropna().min() > 0


def test_telco_total_charges(telco_frame: pd.DataFrame) -> None:
    raw = telco_frame["TotalCharges"]
    blanks = int((raw.astype(str).str.strip() == "").sum())
    assert blanks > 0  # the real export has " " for new customers
    series, role, _ = infer_column(raw, "TotalCharges")
    assert role is Role.NUMERIC
    assert series.dtype == np.float64 and int(series.isna().sum()) == blanks
    assert infer_column(telco_frame["SeniorCitizen"], "SeniorCitizen")[1] is Role.BOOLEAN
    assert infer_column(telco_frame["Partner"], "Partner")[1] is Role.BOOLEAN
    assert infer_column(telco_frame["InternetService"], "InternetService")[1] is Role.CATEGORICAL


@pytest.mark.parametrize("values", [
    ["Yes", "No", "yes", " NO ", None, ""],
    ["True", "False", "true", "false", None, "true"],
    ["Y", "N", "y", "n", "Y", "N"],
])
def test_yes_no_text_becomes_boolean(values: list[str | None]) -> None:
    series, role, _ = infer_column(pd.Series(values * 20, dtype=object), "flag")
    assert role is Role.BOOLEAN
    first = series.iloc[:len(values)]
    expected = [1.0 if str(v).strip().lower() in {"yes", "true", "y"} else
                (np.nan if v in (None, "") else 0.0) for v in values]
    np.testing.assert_array_equal(first.to_numpy(), np.array(expected))


def test_zero_one_ints_and_bools_become_boolean() -> None:
    s, role, _ = infer_column(pd.Series([0, 1, 1, 0] * 30), "SeniorCitizen")
    assert role is Role.BOOLEAN and s.dtype == np.float64 and set(s.unique()) == {0.0, 1.0}
    s, role, _ = infer_column(pd.Series([True, False] * 60), "is_active")
    assert role is Role.BOOLEAN and s.tolist()[:2] == [1.0, 0.0]


def test_iso_date_strings_become_dates(bank_table) -> None:  # noqa: ANN001
    assert bank_table.schema.role("signup_date") is Role.DATE
    col = bank_table.frame["signup_date"]
    assert pd.api.types.is_datetime64_any_dtype(col)
    assert col.min() >= pd.Timestamp("2020-01-01") and col.notna().all()


def test_dates_with_blanks_and_junk_keep_missing() -> None:
    values = pd.Series(["2024-01-05", "2024-02-10", "", "2023-12-31"] * 50 + ["not a date"] * 3)
    series, role, _ = infer_column(values, "renewal")
    assert role is Role.DATE
    assert series.iloc[0] == pd.Timestamp("2024-01-05")
    assert pd.isna(series.iloc[2]) and pd.isna(series.iloc[-1])
    assert int(series.isna().sum()) == 50 + 3


def test_row_number_customer_number_and_surname_are_dropped(bank_table) -> None:  # noqa: ANN001
    schema = bank_table.schema
    assert schema.role("RowNumber") is Role.ID
    assert schema.role("CustomerId") is Role.ID
    assert schema.role("Surname") is Role.TEXT
    for name in ("RowNumber", "CustomerId", "Surname"):
        assert name not in schema.features
        assert name not in bank_table.frame.columns
    dropped = {c.name: c.reason for c in schema.dropped}
    assert "distinct" in dropped["RowNumber"] and "distinct" in dropped["Surname"]


def test_shuffled_row_numbers_without_an_id_name_are_dropped() -> None:
    values = pd.Series(np.random.default_rng(1).permutation(np.arange(1, 301)))
    assert infer_column(values, "n")[1] is Role.ID


def test_ordinary_whole_numbers_stay_numeric() -> None:
    rng = np.random.default_rng(0)
    assert infer_column(pd.Series(rng.integers(0, 50, 500)), "logins_30d")[1] is Role.NUMERIC
    assert infer_column(pd.Series(rng.normal(size=500)), "balance_id_ratio")[1] is Role.NUMERIC


def test_string_ids_with_an_id_name() -> None:
    ids = pd.Series([f"7590-{i:05d}" for i in range(200)])
    assert infer_column(ids, "customerID")[1] is Role.ID


def test_constant_columns_are_dropped(bank_table) -> None:  # noqa: ANN001
    assert bank_table.schema.role("source_system") is Role.CONSTANT
    assert infer_column(pd.Series([np.nan] * 200), "empty")[1] is Role.CONSTANT
    assert infer_column(pd.Series([" ", ""] * 100), "blank")[1] is Role.CONSTANT
    assert infer_column(pd.Series([3.0] * 100 + [np.nan] * 100), "three")[1] is Role.CONSTANT


def test_low_cardinality_text_is_categorical(bank_table) -> None:  # noqa: ANN001
    assert bank_table.schema.role("Geography") is Role.CATEGORICAL
    assert set(bank_table.frame["Geography"].dropna()) == {"France", "Germany", "Spain"}


def test_leaking_column_is_dropped_and_keep_overrides(bank: pd.DataFrame, bank_table) -> None:  # noqa: ANN001
    assert bank_table.schema.role("closed_reason_code") is Role.LEAKAGE
    reason = next(c.reason for c in bank_table.schema.dropped if c.name == "closed_reason_code")
    assert "leakage" in reason and "--keep" in reason
    assert "closed_reason_code" not in bank_table.frame.columns
    # an honest signal is not called leakage
    assert bank_table.schema.role("Balance") is Role.NUMERIC

    kept = clean_table(bank, DataSpec(id_column="account", target="Exited", keep=("closed_reason_code",)))
    assert kept.schema.role("closed_reason_code") in {Role.NUMERIC, Role.BOOLEAN, Role.CATEGORICAL}
    assert "closed_reason_code" in kept.features
    assert "closed_reason_code" in kept.frame.columns


def test_noisy_copy_of_the_target_is_leakage() -> None:
    rng = np.random.default_rng(3)
    y = rng.random(600) < 0.25
    frame = pd.DataFrame({"id": [f"c{i}" for i in range(600)], "churn": np.where(y, "Yes", "No"),
                          "cancel_date_known": np.where(rng.random(600) < 0.01, ~y, y),
                          "usage": rng.normal(size=600) + y})
    table = clean_table(frame, DataSpec(id_column="id", target="churn"))
    assert table.schema.role("cancel_date_known") is Role.LEAKAGE
    assert table.schema.role("usage") is Role.NUMERIC


def test_keep_forces_an_id_like_column(bank: pd.DataFrame) -> None:
    table = clean_table(bank, DataSpec(id_column="account", target="Exited", keep=("CustomerId",)))
    assert "CustomerId" in table.features


def test_exclude(bank: pd.DataFrame) -> None:
    table = clean_table(bank, DataSpec(id_column="account", target="Exited", exclude=("Balance",)))
    assert table.schema.role("Balance") is Role.EXCLUDED
    assert "Balance" not in table.frame.columns


def test_targets_are_never_features(bank: pd.DataFrame) -> None:
    frame = bank.assign(revenue=np.random.default_rng(0).gamma(2, 10, len(bank)))
    table = clean_table(frame, DataSpec(id_column="account", target="Exited", aux_targets=("revenue",)))
    assert "Exited" not in table.features and "revenue" not in table.features
    assert table.frame["revenue"].dtype == np.float64
    assert table.frame["Exited"].dtype == np.float64


def test_an_aux_target_also_kept_is_a_feature_in_one_float_column(bank: pd.DataFrame) -> None:
    rng = np.random.default_rng(1)
    frame = bank.assign(revenue=rng.gamma(2, 10, len(bank)),  # a future outcome: --aux alone
                        tenure=rng.integers(0, 72, len(bank)),  # present state, whole numbers
                        fee=[f"${v:,.2f}" for v in rng.gamma(2, 600, len(bank))],  # a number stored as text
                        upgraded=rng.choice(["Yes", "No"], len(bank)),  # a yes/no flag
                        single=1.0)  # constant: a guard would drop it, --keep keeps it
    kept = ("tenure", "fee", "upgraded", "single")
    spec = DataSpec(id_column="account", target="Exited", aux_targets=("revenue", *kept), keep=kept)
    table = clean_table(frame, spec)
    assert set(kept) <= set(table.features) and "revenue" not in table.features
    assert "Exited" not in table.features
    assert list(table.frame.columns).count("tenure") == 1 and list(table.frame.columns).count("fee") == 1
    roles = {n: table.schema.role(n) for n in kept}
    assert roles == {"tenure": Role.NUMERIC, "fee": Role.NUMERIC, "upgraded": Role.BOOLEAN,
                     "single": Role.NUMERIC}
    for name in kept:  # the feature is the aux target's float values, and reads back the same at scoring
        assert table.frame[name].dtype == np.float64, name
        pd.testing.assert_series_equal(coerce_column(frame[name], roles[name], name), table.frame[name],
                                       check_names=False)
    assert table.frame["fee"].iloc[0] == float(frame["fee"].iloc[0].replace("$", "").replace(",", ""))
    assert not {c.name for c in table.schema.dropped} & set(kept)
    assert "revenue" not in {c.name for c in table.schema.columns}  # an outcome: not a column role at all


def test_a_kept_aux_target_must_still_be_a_number_or_a_flag(bank: pd.DataFrame) -> None:
    with pytest.raises(InputError, match="aux target 'Geography' is not numeric"):
        clean_table(bank, _spec(aux_targets=("Geography",), keep=("Geography",)))


def test_exclude_wins_over_keep_for_an_aux_target(bank: pd.DataFrame) -> None:
    spec = _spec(aux_targets=("Balance",), keep=("Balance",), exclude=("Balance",))
    table = clean_table(bank, spec)
    assert "Balance" not in table.features and table.frame["Balance"].dtype == np.float64


def test_kept_aux_targets_alone_leave_the_multitask_network_no_input(bank: pd.DataFrame) -> None:
    frame = bank[["account", "Exited", "Balance"]]
    with pytest.raises(InputError, match="every feature is also an aux target"):
        clean_table(frame, _spec(aux_targets=("Balance",), keep=("Balance",)))


def test_schema_round_trip(bank_table) -> None:  # noqa: ANN001
    again = Schema.from_dict(bank_table.schema.to_dict())
    assert again == bank_table.schema


# --- the target -------------------------------------------------------------------------------------------


def _target(values: list[object], times: int = 20) -> pd.Series:
    return pd.Series(values * times)


@pytest.mark.parametrize("values,positive", [
    (["Yes", "No", "no", " YES"], "yes"),
    (["True", "False", "false", "true"], "true"),
    (["Churned", "Stayed", "Stayed", "Churned"], "churned"),
    (["Attrited Customer", "Existing Customer", "Existing Customer", "Attrited Customer"],
     "attrited customer"),
    (["left", "active", "active", "left"], "left"),
])
def test_text_targets(values: list[str], positive: str) -> None:
    y, got = clean_target(_target(values), "churn")
    assert got == positive
    expected = [1.0 if v.strip().lower() == positive else 0.0 for v in values] * 20
    assert y.tolist() == expected


@pytest.mark.parametrize("values", [[0, 1, 1, 0], [0.0, 1.0, 1.0, 0.0], [False, True, True, False]])
def test_numeric_and_bool_targets(values: list[object]) -> None:
    y, positive = clean_target(_target(values), "churn")
    assert positive == "1"
    assert y.tolist() == [float(v) for v in values] * 20


def test_blank_and_missing_targets_are_unknown() -> None:
    y, _ = clean_target(_target(["Yes", "No", "", None, "No"]), "churn")
    assert y.isna().sum() == 40
    assert y.dropna().isin([0.0, 1.0]).all()


def test_explicit_positive_label() -> None:
    y, positive = clean_target(_target(["Gold", "Silver", "Silver"]), "status", positive_label="silver")
    assert positive == "silver"
    assert y.tolist() == [0.0, 1.0, 1.0] * 20
    # the explicit label also wins over the usual reading of yes/no
    y, _ = clean_target(_target(["Yes", "No", "No"]), "renewed", positive_label="No")
    assert y.tolist() == [0.0, 1.0, 1.0] * 20


def test_explicit_positive_label_on_a_numeric_target() -> None:
    """A 0/1 column where 0 means churned: --positive 0 must flip it, not be ignored."""
    y, positive = clean_target(_target([0, 1, 1, 1]), "active", positive_label="0")
    assert positive == "0"
    assert y.tolist() == [1.0, 0.0, 0.0, 0.0] * 20
    y, _ = clean_target(_target([0.0, 1.0, np.nan, 1.0]), "active", positive_label="0")
    assert y.tolist()[:2] == [1.0, 0.0] and np.isnan(y.iloc[2])
    y, _ = clean_target(_target([1, 2, 2, 2]), "status", positive_label="2")  # 1 = stays, 2 = leaves
    assert y.tolist() == [0.0, 1.0, 1.0, 1.0] * 20
    with pytest.raises(InputError, match="--positive 'yes' is not a value"):
        clean_target(_target([0, 1]), "churn", positive_label="yes")


def test_positive_label_must_be_a_value() -> None:
    with pytest.raises(InputError, match="--positive 'maybe' is not a value"):
        clean_target(_target(["Yes", "No"]), "churn", positive_label="maybe")


def test_ambiguous_two_values_ask_for_positive() -> None:
    with pytest.raises(InputError, match="cannot tell which value.*--positive"):
        clean_target(_target(["Gold", "Silver"]), "tier")


def test_more_than_two_values_is_not_binary() -> None:
    with pytest.raises(InputError, match="must be binary"):
        clean_target(_target(["Yes", "No", "Maybe"]), "churn")
    with pytest.raises(InputError, match="must be binary"):
        clean_target(_target([0, 1, 2]), "churn")


@pytest.mark.parametrize("values", [["No"], ["Yes"], [0], [1], ["No", ""]])
def test_one_class_target(values: list[object]) -> None:
    with pytest.raises(InputError, match="one class only"):
        clean_target(_target(values), "churn")


def test_empty_target() -> None:
    with pytest.raises(InputError, match="no values"):
        clean_target(pd.Series([None, "", " "] * 40, dtype=object), "churn")


def test_too_few_in_one_class() -> None:
    with pytest.raises(InputError, match="only 3 customers in one class"):
        clean_target(pd.Series(["Yes"] * 3 + ["No"] * 200), "churn")


def test_aux_targets() -> None:
    assert clean_aux_target(pd.Series(["$1,200.50", " 30 ", ""]), "revenue").tolist()[:2] == [1200.5, 30.0]
    assert np.isnan(clean_aux_target(pd.Series(["$1,200.50", " 30 ", ""]), "revenue").iloc[2])
    assert clean_aux_target(pd.Series(["Yes", "No"]), "upgraded").tolist() == [1.0, 0.0]
    assert clean_aux_target(pd.Series([3, 4]), "seats").dtype == np.float64
    with pytest.raises(InputError, match="aux target 'region' is not numeric"):
        clean_aux_target(pd.Series(["north", "south", "east"]), "region")


def test_coerce_column_for_scoring() -> None:
    assert coerce_column(pd.Series(["1,234", " "]), Role.NUMERIC, "fee").tolist()[0] == 1234.0
    assert coerce_column(pd.Series(["Yes", "no", None]), Role.BOOLEAN, "flag").tolist()[:2] == [1.0, 0.0]
    with pytest.raises(InputError, match="column 'fee' should hold numeric values"):
        coerce_column(pd.Series(["cheap", "dear", "n/a"]), Role.NUMERIC, "fee")


# --- validation: errors a person can act on ------------------------------------------------------------


def _spec(**kw: object) -> DataSpec:
    return DataSpec(**{"id_column": "account", "target": "Exited", **kw})  # type: ignore[arg-type]


def test_empty_table(bank: pd.DataFrame) -> None:
    with pytest.raises(InputError, match="empty"):
        clean_table(bank.head(0), _spec())
    with pytest.raises(InputError, match="empty"):
        clean_table(pd.DataFrame(), _spec())


def test_missing_id_column_suggests_the_close_match(bank: pd.DataFrame) -> None:
    with pytest.raises(InputError) as info:
        clean_table(bank, _spec(id_column="customerid"))
    message = str(info.value)
    assert "id column 'customerid' is not in the table" in message
    assert "did you mean 'CustomerId'" in message
    with pytest.raises(InputError, match="did you mean 'account'"):
        clean_table(bank, _spec(id_column="acount"))


def test_missing_target(bank: pd.DataFrame) -> None:
    with pytest.raises(InputError, match="target column 'Churn' is not in the table.*Columns are:.*Exited"):
        clean_table(bank, _spec(target="Churn"))


def test_missing_aux_and_keep_columns(bank: pd.DataFrame) -> None:
    with pytest.raises(InputError, match="aux target column 'revenue'"):
        clean_table(bank, _spec(aux_targets=("revenue",)))
    with pytest.raises(InputError, match="--keep column 'Surnme'.*did you mean 'Surname'"):
        clean_table(bank, _spec(keep=("Surnme",)))


def test_target_with_one_class(bank: pd.DataFrame) -> None:
    with pytest.raises(InputError, match="one class only"):
        clean_table(bank.assign(Exited=0), _spec())
    with pytest.raises(InputError, match="one class only"):
        clean_table(bank.assign(Exited="No"), _spec())


def test_duplicate_ids(bank: pd.DataFrame) -> None:
    frame = bank.copy()
    frame.loc[5, "account"] = frame.loc[4, "account"]
    with pytest.raises(InputError, match="1 duplicated values.*'AC-00004'.*unique"):
        clean_table(frame, _spec())


def test_missing_ids(bank: pd.DataFrame) -> None:
    frame = bank.copy()
    frame.loc[[3, 9], "account"] = None
    with pytest.raises(InputError, match="2 empty values"):
        clean_table(frame, _spec())


def test_non_numeric_aux_target(bank: pd.DataFrame) -> None:
    with pytest.raises(InputError, match="aux target 'Surname' is not numeric"):
        clean_table(bank, _spec(aux_targets=("Surname",)))


def test_target_same_as_id_or_aux(bank: pd.DataFrame) -> None:
    with pytest.raises(InputError, match="must be different columns"):
        clean_table(bank, _spec(aux_targets=("Exited",)))
    with pytest.raises(InputError, match="given twice"):
        clean_table(bank, _spec(aux_targets=("Balance", "Balance")))


def test_too_few_rows(bank: pd.DataFrame) -> None:
    with pytest.raises(InputError, match=f"at least {MIN_ROWS} customers"):
        clean_table(bank.head(MIN_ROWS - 1), _spec())


def test_no_usable_features() -> None:
    n = 200
    frame = pd.DataFrame({"id": range(n), "churn": ["Yes", "No"] * (n // 2), "const": 1,
                          "row": np.arange(n)})
    with pytest.raises(InputError, match="no usable feature columns"):
        clean_table(frame, DataSpec(id_column="id", target="churn"))


# --- item-7 inputs: an unknown --exclude, names the run writes itself, infinities, left-out columns ---------


def test_an_unknown_exclude_column_is_an_error_naming_the_closest_columns(bank: pd.DataFrame) -> None:
    with pytest.raises(InputError, match=r"--exclude column 'Balanse' is not in the table \(did you mean "
                                         r"'Balance'\?\)\. Columns are: RowNumber"):
        clean_table(bank, _spec(exclude=("Balanse",)))
    with pytest.raises(InputError, match=r"--exclude column 'Surnames' .*did you mean 'Surname'"):
        clean_table(bank, _spec(exclude=("Surnames",)))


@pytest.mark.parametrize("name", ["risk_band", "churn_probability", "x", "y", "segment_id", "reason_1", "split",
                                  "base_value"])
def test_a_column_named_like_an_output_is_refused_or_left_out_by_exclude(bank: pd.DataFrame, name: str) -> None:
    frame = bank.rename(columns={"Balance": name})
    with pytest.raises(InputError, match=rf"column '{name}' has the name of a column the run writes itself .*"
                                         rf"rename it in the table, or pass --exclude {name} to leave it out"):
        clean_table(frame, _spec())
    table = clean_table(frame, _spec(exclude=(name,)))
    assert name not in table.frame.columns and name not in [c.name for c in table.schema.columns]


def test_an_id_or_target_named_like_an_output_must_be_renamed(bank: pd.DataFrame) -> None:
    with pytest.raises(InputError, match=r"column 'segment_id' has the name .*; rename it in the table\.$"):
        clean_table(bank.rename(columns={"account": "segment_id"}), _spec(id_column="segment_id"))
    with pytest.raises(InputError, match=r"column 'z0' has the name .*; rename it in the table\.$"):
        clean_table(bank.rename(columns={"account": "z0"}), _spec(id_column="z0"))
    with pytest.raises(InputError, match=r"column 'predicted_Balance' has the name"):
        clean_table(bank.assign(predicted_Balance=1.0), _spec(aux_targets=("Balance",)))


def test_infinities_and_huge_numbers_are_missing_with_a_warning(bank: pd.DataFrame,
                                                                caplog: pytest.LogCaptureFixture) -> None:
    """inf (as CSV's 'inf' or a float) and 1e308 become missing values, so nothing downstream overflows."""
    frame = bank.copy()
    frame["Balance"] = frame["Balance"].astype(float)
    frame.loc[[1, 2, 3], "Balance"] = [np.inf, -np.inf, 1e308]
    frame["TotalCharges"] = frame["TotalCharges"].astype(object)
    frame.loc[[4, 5], "TotalCharges"] = ["inf", "1e308"]
    with caplog.at_level("WARNING", logger="insight"):
        table = clean_table(frame, _spec())
    for name, rows in (("Balance", [1, 2, 3]), ("TotalCharges", [4, 5])):
        values = table.frame[name]
        assert values.iloc[rows].isna().all() and np.isfinite(values.dropna()).all()
        assert values.dropna().std() < 1e6 and np.isfinite((values.dropna() ** 2).sum())
    assert "column 'Balance': 3 value(s) are infinite or beyond ±1e+100 (e.g. inf) and are treated as missing" \
        in caplog.text
    assert "column 'TotalCharges': 2 value(s) are infinite" in caplog.text
    scored = coerce_column(pd.Series([1.0, np.inf, 1e308, -2.5], name="Balance"), Role.NUMERIC, "Balance")
    assert scored.isna().tolist() == [False, True, True, False]


def test_a_column_left_out_when_read_says_why_when_it_is_asked_for(bank: pd.DataFrame) -> None:
    frame = bank.copy()
    frame.attrs["insight_left_out"] = {"tags": "holds lists or structures (list<string>), not one value per "
                                               "customer; flatten it into plain columns to use it"}
    with pytest.raises(InputError, match=r"--keep column 'tags' cannot be used: it holds lists or structures"):
        clean_table(frame, _spec(keep=("tags",)))
    assert "tags" not in clean_table(frame, _spec(exclude=("tags",))).frame.columns


@pytest.mark.parametrize("reorder", ["shuffled", "sliced"])
def test_rows_keep_their_own_values_whatever_the_frames_index(reorder: str) -> None:
    """A frame whose index is not 0..n-1 (shuffled, or a slice) keeps every value with its own customer."""
    rng = np.random.default_rng(3)
    n = 300
    frame = pd.DataFrame({"customer_id": [f"c{i}" for i in range(n)], "churned": rng.integers(0, 2, n),
                          "seats": np.arange(n, dtype=float) * 2.0,
                          "plan": rng.choice(["basic", "pro", "team"], n)})
    frame = frame.sample(frac=1.0, random_state=0) if reorder == "shuffled" else frame.iloc[50:]
    table = clean_table(frame, DataSpec(id_column="customer_id", target="churned"))
    out = table.frame
    expected = frame.set_index("customer_id")
    got = out.set_index("customer_id")
    assert got["seats"].to_dict() == expected["seats"].to_dict()
    assert got["plan"].astype(str).to_dict() == expected["plan"].to_dict()
    assert got["churned"].astype(int).to_dict() == expected["churned"].to_dict()
