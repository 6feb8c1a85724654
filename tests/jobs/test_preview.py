"""The upload page's preview decides nothing itself: roles, guards and errors are insight.data.schema's."""

from __future__ import annotations

import io
import re

import pandas as pd
import pytest

from insight.data import schema
from insight.data.demo import ACTIONABLE, AUX_TARGETS, ID_COLUMN, TARGET
from insight.errors import InputError
from insight.jobs import preview
from insight.jobs.preview import training_spec


@pytest.fixture(scope="module")
def frame(table_csv: bytes) -> pd.DataFrame:
    return pd.read_csv(io.BytesIO(table_csv))


def test_roles_are_the_schema_s_and_the_id_and_target_are_guessed(frame: pd.DataFrame) -> None:
    table = preview.preview_table(frame)
    assert table.rows == len(frame) and len(table.head) == preview.PREVIEW_ROWS
    assert table.columns == list(frame.columns)
    for role in table.roles:
        _, expected, reason = schema.infer_column(frame[role.name], role.name)
        assert (role.role, role.reason) == (expected, reason)
    assert (table.id_guess, table.target_guess) == (ID_COLUMN, TARGET)
    aux = table.aux_candidates(id_column=ID_COLUMN, target=TARGET)
    assert set(AUX_TARGETS) <= set(aux) and ID_COLUMN not in aux and "country" not in aux


def test_the_spec_is_the_cli_s(frame: pd.DataFrame) -> None:
    spec = training_spec(frame.columns, id_column=ID_COLUMN, target=TARGET, aux=AUX_TARGETS, keep=["seats"],
                         exclude=["country"], positive="")
    assert (spec.aux_targets, spec.keep, spec.exclude, spec.positive_label) == (AUX_TARGETS, ("seats",),
                                                                                ("country",), None)
    assert spec.actionable == ACTIONABLE  # the demo's levers, as `insight train` picks them for this table
    assert training_spec(["a", "b", "c"], id_column="a", target="b").actionable == ()


def test_the_guards_decide_and_refuse_as_training_does(frame: pd.DataFrame) -> None:
    spec = training_spec(frame.columns, id_column=ID_COLUMN, target=TARGET, aux=AUX_TARGETS[:1])
    checked = preview.check_spec(frame, spec)
    assert checked == schema.clean_table(frame, spec).schema
    assert checked.role("seat_change_next_12m") is schema.Role.LEAKAGE  # it records the outcome
    kept = preview.check_spec(frame, training_spec(frame.columns, id_column=ID_COLUMN, target=TARGET,
                                                   keep=["seat_change_next_12m"]))
    assert kept.role("seat_change_next_12m") is schema.Role.NUMERIC
    for bad in (training_spec(frame.columns, id_column=ID_COLUMN, target="plan"),
                training_spec(frame.columns, id_column="country", target=TARGET),
                training_spec(frame.columns, id_column=ID_COLUMN, target=TARGET, aux=["country"])):
        with pytest.raises(InputError) as refused:
            schema.clean_table(frame, bad)
        with pytest.raises(InputError, match=f"^{re.escape(str(refused.value))}$"):
            preview.check_spec(frame, bad)


def test_target_values_are_offered_only_when_few(frame: pd.DataFrame) -> None:
    assert preview.target_values(frame, TARGET) == sorted(set(frame[TARGET].dropna().astype(str)))
    assert preview.target_values(frame, ID_COLUMN) == []


def test_a_duration_asks_for_the_survival_model_and_is_checked_as_training_does(frame: pd.DataFrame) -> None:
    spec = training_spec(frame.columns, id_column=ID_COLUMN, target=TARGET, aux=AUX_TARGETS,
                         duration="active_days_90d")
    assert spec.duration_column == "active_days_90d"
    assert training_spec(frame.columns, id_column=ID_COLUMN, target=TARGET).duration_column is None
    preview.check_spec(frame, spec)  # a good duration passes
    bad = frame.copy()
    bad.loc[:2, "active_days_90d"] = -1.0
    with pytest.raises(InputError, match="3 negative values"):
        preview.check_spec(bad, spec)
