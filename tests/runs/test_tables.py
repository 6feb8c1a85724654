"""insight.runs.tables: the DuckDB views over a run's tables run within configurable memory and thread limits."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from insight.errors import InputError
from insight.runs.tables import RunTables


def tables(tmp_path: Path) -> RunTables:
    pd.DataFrame({"customer_id": ["A", "B"], "churned": [0, 1]}).to_parquet(tmp_path / "customers.parquet")
    return RunTables(tmp_path / "customers.parquet", id_column="customer_id", target="churned")


def test_the_connection_has_the_configured_memory_and_thread_limits(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INSIGHT_DUCKDB_MEMORY", "300MB")
    monkeypatch.setenv("INSIGHT_DUCKDB_THREADS", "1")
    got = tables(tmp_path).scalar_row("SELECT current_setting('memory_limit') AS m, "
                                      "current_setting('threads') AS t")
    assert got["m"] == "286.1 MiB" and int(got["t"]) == 1


def test_by_default_the_limits_are_set_and_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("INSIGHT_DUCKDB_MEMORY", raising=False)
    monkeypatch.delenv("INSIGHT_DUCKDB_THREADS", raising=False)
    got = tables(tmp_path).scalar_row("SELECT current_setting('memory_limit') AS m, "
                                      "current_setting('threads') AS t")
    assert got["m"] == "3.7 GiB" and 1 <= int(got["t"]) <= 4


@pytest.mark.parametrize(("name", "value", "words"), [("INSIGHT_DUCKDB_MEMORY", "lots", "is not a memory size"),
                                                      ("INSIGHT_DUCKDB_THREADS", "0", "is not a whole number")])
def test_a_bad_setting_is_an_error_that_says_what_to_write(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                          name: str, value: str, words: str) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(InputError, match=rf"{name}='{value}' {words}"):
        tables(tmp_path)
