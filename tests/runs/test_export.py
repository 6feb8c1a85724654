"""CSV export: cells a spreadsheet would run as formulas are neutralised, everything else is untouched."""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from insight.runs.export import (
    FORMULA_PREFIXES,
    SELECTION_METADATA,
    csv_bytes,
    describe_selection,
    parquet_bytes,
    sanitize_cell,
    sanitize_frame,
    selection_csv,
    selection_frame,
    selection_method,
)
from insight.runs.store import ColumnFilter, RiskFilter, RunStore

HOSTILE = ["=1+2", "+SUM(A1)", "-2+3", "@cmd", "\tTAB", "\rCR", '=HYPERLINK("http://x","y")']


@pytest.mark.parametrize("text", HOSTILE)
def test_formula_cells_get_a_leading_quote(text: str) -> None:
    assert sanitize_cell(text) == "'" + text


@pytest.mark.parametrize("value", ["plain", "", " =not first", "a=b", "'=quoted", 12, -5.5, None, True])
def test_other_cells_are_unchanged(value: object) -> None:
    assert sanitize_cell(value) == value


def test_frame_sanitises_text_and_headers_but_not_numbers() -> None:
    frame = pd.DataFrame({
        "id": ["=cmd", "ok", None],
        "amount": [-5.0, 3.0, np.nan],
        "band": pd.Categorical(["-high", "low", "low"]),
        "=evil header": ["@x", "y", "z"],
        "flag": [True, False, True],
    })
    out = sanitize_frame(frame)
    assert out["id"].tolist()[:2] == ["'=cmd", "ok"] and pd.isna(out["id"].iloc[2])
    assert out["amount"].iloc[0] == -5.0  # a negative number is data, not a formula
    assert out["band"].tolist() == ["'-high", "low", "low"]
    assert "'=evil header" in out.columns and out["'=evil header"].iloc[0] == "'@x"
    assert out["flag"].tolist() == [True, False, True]
    assert frame["id"].iloc[0] == "=cmd"  # the input is not modified


def _cells(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def test_csv_has_no_cell_that_starts_a_formula() -> None:
    frame = pd.DataFrame({"text": HOSTILE, "n": range(len(HOSTILE))})
    rows = _cells(csv_bytes(frame))
    assert rows[0] == ["text", "n"]
    for row in rows[1:]:
        assert not row[0].startswith(FORMULA_PREFIXES)
        assert row[0].startswith("'")


def test_export_of_a_filtered_store_table_is_sanitised(tmp_path: Path) -> None:
    """The path the risk page's export takes: store query -> csv_bytes."""
    customers = pd.DataFrame({
        "customer_id": ["=HYPERLINK(\"http://evil\")", "+C2", "C3", "@C4"],
        "note": ["-rm", "fine", "\tx", "=1"],
        "churn_probability": [0.9, 0.8, 0.2, 0.7],
        "risk_band": ["very high", "very high", "low", "high"],
        "segment_id": [0, 0, 1, 1],
        "segment_name": ["=A", "=A", "B", "B"],
        "churned": [1.0, 0.0, 0.0, 1.0],
    })
    path = tmp_path / "customers.parquet"
    customers.to_parquet(path, index=False)
    store = RunStore(path, id_column="customer_id", target="churned")
    table = store.risk_table(RiskFilter(bands=("very high", "high")), limit=None)
    rows = _cells(csv_bytes(table))
    assert len(rows) == 1 + 3
    assert rows[1][0] == "'=HYPERLINK(\"http://evil\")"  # riskiest first
    for row in rows[1:]:
        for cell in row:
            assert not cell.startswith(FORMULA_PREFIXES), row


def test_csv_writes_dates_plainly_and_keeps_numbers() -> None:
    frame = pd.DataFrame({"day": pd.to_datetime(["2025-03-04", None]),
                          "at": pd.to_datetime(["2025-03-04 10:30", "2025-03-05 00:00"]),
                          "n": [-1.5, 2.0]})
    rows = _cells(csv_bytes(frame))
    assert rows[1] == ["2025-03-04", "2025-03-04 10:30:00", "-1.5"]
    assert rows[2][0] == ""


# ---------------------------------------------------------------------- selection export


def test_selection_method_reads_streamlits_selection_state() -> None:
    lasso = [{"x": [0, 1, 1], "y": [0, 0, 1]}]
    assert selection_method({"points": [{}], "box": [], "lasso": lasso}) == "lasso"
    assert selection_method({"points": [{}], "box": [{"x": [0, 1], "y": [0, 1]}], "lasso": []}) == "box"
    assert selection_method({"points": [{}], "box": [{"x": [0, 1]}], "lasso": [{"x": [0]}]}) == "box+lasso"
    assert selection_method({"points": [{}], "box": [], "lasso": []}) == "click"
    assert selection_method(None) == "click"


def test_a_selection_is_described_in_words() -> None:
    assert describe_selection(656, method="lasso") == "lasso of 656 customers on the segment map"
    assert describe_selection(1234, method="box") == "box selection of 1,234 customers on the segment map"
    assert describe_selection(3, method="click") == "clicked points of 3 customers on the segment map"
    assert describe_selection(2500, segment="Students · high churn") == \
        "segment 'Students · high churn' (2,500 customers)"
    with pytest.raises(ValueError, match="unknown selection method"):
        describe_selection(5, method="magic")


def _selected_rows() -> pd.DataFrame:
    return pd.DataFrame({
        "plan": ["=cmd", "Studio"],
        "reason_2": ["-less", "b"],
        "customer_id": ["@C1", "C2"],
        "churn_probability": [0.9, 0.4],
        "risk_band": pd.Categorical(["very high", "high"]),
        "segment_name": ["+Students", "Studios"],
        "reason_1": ["Support tickets: 6 (typical 0) — raises risk by 9 points", "a"],
        "seats": [1, 12],
    })


def test_selection_frame_leads_with_id_risk_and_reasons_and_ends_with_metadata() -> None:
    rows = _selected_rows()
    when = dt.datetime(2026, 3, 4, 10, 30, 5, tzinfo=dt.UTC)
    out = selection_frame(rows, id_column="customer_id", run_id="20260304-demo",
                          selection="lasso of 2 customers", exported_at=when)
    assert list(out.columns) == ["customer_id", "churn_probability", "risk_band", "segment_name", "reason_1",
                                 "reason_2", "plan", "seats", *SELECTION_METADATA]
    assert out["customer_id"].tolist() == ["@C1", "C2"]  # row order kept
    assert set(out["export_run_id"]) == {"20260304-demo"}
    assert set(out["export_selection"]) == {"lasso of 2 customers"}
    assert set(out["exported_at"]) == {"2026-03-04T10:30:05Z"}
    assert rows.columns[0] == "plan"  # the input is not modified
    with pytest.raises(ValueError, match="no id column 'id'"):
        selection_frame(rows, id_column="id", run_id="r", selection="s")


def test_selection_time_is_utc() -> None:
    local = dt.datetime(2026, 3, 4, 12, 0, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    out = selection_frame(_selected_rows(), id_column="customer_id", run_id="r", selection="s",
                          exported_at=local)
    assert out["exported_at"].iloc[0] == "2026-03-04T10:00:00Z"
    now = selection_frame(_selected_rows(), id_column="customer_id", run_id="r", selection="s")
    stamp = dt.datetime.strptime(now["exported_at"].iloc[0], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC)
    assert abs((dt.datetime.now(dt.UTC) - stamp).total_seconds()) < 60


def test_selection_csv_is_sanitised_and_parses_with_the_first_line_as_header() -> None:
    data = selection_csv(_selected_rows(), id_column="customer_id", run_id="run-1",
                         selection="box selection of 2 customers on the segment map")
    rows = _cells(data)
    assert rows[0][:4] == ["customer_id", "churn_probability", "risk_band", "segment_name"]
    assert rows[0][-3:] == list(SELECTION_METADATA)
    assert [r[0] for r in rows[1:]] == ["'@C1", "C2"]
    for row in rows[1:]:
        assert row[-3:-1] == ["run-1", "box selection of 2 customers on the segment map"]
        for cell in row:
            assert not cell.startswith(FORMULA_PREFIXES), row
    frame = pd.read_csv(io.BytesIO(data), encoding="utf-8-sig")
    assert len(frame) == 2 and frame["export_run_id"].eq("run-1").all()


def test_selection_export_of_a_real_run(demo_run: Path) -> None:
    """The path the segments page takes: the map's ids (or a segment) -> store query -> selection_csv."""
    from insight.runs.run import open_run

    store = RunStore.from_run(open_run(demo_run))
    customers = pd.read_parquet(demo_run / "customers.parquet")
    picked = customers.sample(40, random_state=1)["customer_id"]
    by_id = RiskFilter(conditions=(ColumnFilter("customer_id", "in", values=tuple(picked)),))
    table = store.risk_table(by_id, limit=None)
    frame = pd.read_csv(io.BytesIO(selection_csv(table, id_column="customer_id", run_id=demo_run.name,
                                                 selection=describe_selection(40, method="lasso"))),
                        encoding="utf-8-sig")
    assert set(frame["customer_id"]) == set(picked) and len(frame) == 40
    assert list(frame.columns[:7]) == ["customer_id", "churn_probability", "risk_band", "segment_name",
                                       "reason_1", "reason_2", "reason_3"]
    assert frame["churn_probability"].is_monotonic_decreasing
    assert set(customers.columns) <= set(frame.columns)  # every column the risk table exports
    assert frame["export_selection"].eq("lasso of 40 customers on the segment map").all()

    segment = int(customers["segment_id"].mode()[0])
    table = store.risk_table(RiskFilter(segments=(segment,)), limit=None)
    frame = pd.read_csv(io.BytesIO(selection_csv(table, id_column="customer_id", run_id=demo_run.name,
                                                 selection="segment")), encoding="utf-8-sig")
    assert len(frame) == int((customers["segment_id"] == segment).sum())
    assert frame["segment_id"].eq(segment).all() and frame["export_run_id"].eq(demo_run.name).all()


def test_parquet_export_keeps_values_and_types_exactly() -> None:
    frame = pd.DataFrame({"customer_id": ["=HYPERLINK(\"http://x\",\"y\")", "C2"],
                          "churn_probability": [0.9, 0.1], "day": pd.to_datetime(["2025-03-04", None]),
                          "risk_band": pd.Categorical(["very high", "low"])})
    back = pd.read_parquet(io.BytesIO(parquet_bytes(frame)))
    pd.testing.assert_frame_equal(back, frame)  # Parquet is read by programs: nothing is escaped
