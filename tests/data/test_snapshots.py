"""insight.data.snapshots: reading the time column, --as-of, ids per snapshot, and which snapshots train, test
out of time and are shown (on demo snapshots from tests/conftest.py)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from insight.config import DataSpec, TrainConfig
from insight.data import schema
from insight.data.demo import demo_spec
from insight.data.snapshots import parse_date, snapshot_dates, snapshot_plan, snapshot_rows
from insight.errors import InputError


def _spec() -> DataSpec:
    return dataclasses.replace(demo_spec(), time_column="snapshot_date")


def _plan(table: pd.DataFrame, as_of: str | None = None):  # noqa: ANN202
    frame = snapshot_rows(table, "snapshot_date", as_of=as_of)
    y, _ = schema.clean_target(frame["churned"], "churned")
    return frame, y.to_numpy(), snapshot_plan(frame["snapshot_date"], y.to_numpy(), time_column="snapshot_date",
                                              as_of=as_of)


def test_dates_in_mixed_spellings_read_as_days() -> None:
    dates = snapshot_dates(pd.Series(["2026-01-31", " 2026/02/28 ", "2026-03-31T00:00:00", "31 Mar 2026"]), "d")
    assert [str(d.date()) for d in dates] == ["2026-01-31", "2026-02-28", "2026-03-31", "2026-03-31"]
    already = snapshot_dates(pd.Series(pd.to_datetime(["2026-01-31 13:45"])), "d")
    assert str(already.iloc[0]) == "2026-01-31 00:00:00"  # a time of day does not make its own snapshot


def test_a_value_that_is_not_a_date_is_named_with_its_row() -> None:
    with pytest.raises(InputError, match=r"time column 'when' has 1 values that are not dates \(e.g. 'soon' in "
                                         r"row 3\)"):
        snapshot_dates(pd.Series(["2026-01-31", "2026-02-28", "soon"]), "when")
    with pytest.raises(InputError, match=r"'when' is empty in 1 rows \(e.g. row 2\)"):
        snapshot_dates(pd.Series(["2026-01-31", " "]), "when")


def test_a_missing_time_column_suggests_the_close_name(snapshot_table: pd.DataFrame) -> None:
    with pytest.raises(InputError, match=r"--time column 'snapshot' is not in the table \(did you mean "
                                         r"'snapshot_date'\?\)"):
        snapshot_rows(snapshot_table, "snapshot")


def test_as_of_leaves_out_later_snapshots_and_refuses_a_date_before_the_first(snapshot_table: pd.DataFrame) -> None:
    frame = snapshot_rows(snapshot_table, "snapshot_date", as_of="2026-02-28")
    assert sorted(frame["snapshot_date"].dt.strftime("%Y-%m-%d").unique()) == ["2026-01-31", "2026-02-28"]
    assert len(frame) == 2 * (snapshot_table["snapshot_date"] == "2026-01-31").sum()
    between = snapshot_rows(snapshot_table, "snapshot_date", as_of="2026-03-15")  # mid-month: up to February
    assert between["snapshot_date"].max() == pd.Timestamp("2026-02-28")
    with pytest.raises(InputError, match=r"--as-of 2025-12-31 is before the first snapshot \(2026-01-31\); give "
                                         r"a date from 2026-01-31 to 2026-04-30"):
        snapshot_rows(snapshot_table, "snapshot_date", as_of="2025-12-31")
    with pytest.raises(InputError, match=r"--as-of 'March' is not a date"):
        parse_date("March")


def test_ids_repeat_across_snapshots_but_not_within_one(snapshot_table: pd.DataFrame) -> None:
    frame = snapshot_rows(snapshot_table, "snapshot_date")
    schema.validate_spec(frame, _spec())  # C000001 appears once in each of four snapshots
    twice = pd.concat([frame, frame.iloc[[700]]], ignore_index=True)
    who = frame["customer_id"].iloc[700]
    with pytest.raises(InputError, match=rf"1 ids repeated within one snapshot \(e.g. '{who}' twice on "
                                         r"'2026-02-28' in 'snapshot_date'\)"):
        schema.validate_spec(twice, _spec())
    with pytest.raises(InputError, match="duplicated values"):  # without --time the ids must be unique
        schema.validate_spec(frame, demo_spec())


def test_the_time_column_is_never_a_feature(snapshot_table: pd.DataFrame) -> None:
    table = schema.clean_table(snapshot_rows(snapshot_table, "snapshot_date"), _spec())
    assert "snapshot_date" not in table.features
    assert table.schema.role("snapshot_date") is schema.Role.EXCLUDED
    plain = schema.clean_table(snapshot_table.iloc[:500], demo_spec())  # one month without --time: a date
    assert plain.schema.role("snapshot_date") is schema.Role.CONSTANT


def test_blank_latest_labels_make_the_snapshot_before_it_the_out_of_time_test(snapshot_table: pd.DataFrame) -> None:
    frame, y, plan = _plan(snapshot_table)
    assert [str(d.date()) for d in plan.labelled] == ["2026-01-31", "2026-02-28", "2026-03-31"]
    assert str(plan.out_of_time.date()) == "2026-03-31" and str(plan.latest.date()) == "2026-04-30"
    assert str(plan.trained_through.date()) == "2026-02-28"
    month = frame["snapshot_date"].dt.strftime("%Y-%m-%d").to_numpy()
    training = ~np.isnan(plan.training_labels(y))
    assert set(month[training]) == {"2026-01-31", "2026-02-28"}
    assert set(month[plan.out_of_time_rows(y)]) == {"2026-03-31"}
    assert len(plan.out_of_time_rows(y)) == (month == "2026-03-31").sum()
    latest = plan.latest_rows()
    assert set(month[latest]) == {"2026-04-30"} and frame["customer_id"].iloc[latest].is_unique
    assert plan.to_dict()["snapshots"][-1] == {"date": "2026-04-30", "rows": 500, "labelled": 0}


def test_a_partly_labelled_snapshot_counts_when_it_holds_both_classes(snapshot_table: pd.DataFrame) -> None:
    table = snapshot_table.copy()
    april = np.flatnonzero(table["snapshot_date"] == "2026-04-30")
    table.loc[april[:300], "churned"] = snapshot_table.loc[april[:300] - 500, "churned"].to_numpy()
    _, y, plan = _plan(table)
    assert str(plan.out_of_time.date()) == "2026-04-30" and len(plan.out_of_time_rows(y)) == 300


def test_one_labelled_snapshot_is_an_error_that_says_what_to_do(snapshot_table: pd.DataFrame) -> None:
    with pytest.raises(InputError, match=r"at least two labelled snapshots .* but only 2026-01-31 is labelled up "
                                         r"to --as-of 2026-01-31\. Train without --time"):
        _plan(snapshot_table, as_of="2026-01-31")


def test_a_spec_and_config_without_time_record_as_before() -> None:
    assert "time_column" not in demo_spec().to_dict() and "as_of" not in TrainConfig().to_dict()
    spec, config = _spec(), TrainConfig(as_of="2026-03-31")
    assert DataSpec.from_dict(spec.to_dict()) == spec
    assert TrainConfig.from_dict(config.to_dict()) == config
