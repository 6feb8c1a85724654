"""CSV export: cells a spreadsheet would run as formulas are neutralised, everything else is untouched."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from insight.export import FORMULA_PREFIXES, csv_bytes, sanitize_cell, sanitize_frame
from insight.store import RiskFilter, RunStore

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
