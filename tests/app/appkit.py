"""What the AppTest files share: opening the app on a runs folder and reading what a page shows."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

PROJECT = Path(__file__).resolve().parents[2]
APP = str(PROJECT / "app.py")
TIMEOUT = 180


def new_app(monkeypatch: pytest.MonkeyPatch, runs_dir: Path) -> AppTest:
    monkeypatch.setenv("INSIGHT_RUNS_DIR", str(runs_dir))
    return AppTest.from_file(APP, default_timeout=TIMEOUT)


def assert_clean(at: AppTest, where: str) -> None:
    """No uncaught exception and no error box (the page guard turns exceptions into error boxes)."""
    assert not at.exception, f"{where}: {[e.value for e in at.exception]}"
    assert not at.error, f"{where}: {[e.value for e in at.error]}"


def plain(markdown: str) -> str:
    """Markdown as the reader sees it: the backslash escapes of `insight.formatting.markdown_text` gone."""
    return re.sub(r"\\(.)", r"\1", markdown)


def metric(at: AppTest, label: str) -> str:
    values = [m.value for m in at.metric if m.label == label]
    assert values, f"no metric {label!r} among {[m.label for m in at.metric]}"
    return values[0]


def table_with(at: AppTest, column: str) -> pd.DataFrame:
    for df in at.dataframe:
        if column in df.value.columns:
            return df.value
    raise AssertionError(f"no table with a {column!r} column")


def plotly_figure(at: AppTest, key: str) -> dict[str, Any]:
    """The plotly JSON of the chart with widget key `key` (its id ends with the key)."""
    for chart in at.get("plotly_chart"):
        if chart.proto.id.endswith(key):
            return json.loads(chart.proto.spec)
    raise AssertionError(f"no chart {key!r}")


def array(value: Any) -> np.ndarray:
    """A plotly JSON array: a plain list, or plotly's typed-array encoding ({"dtype", "bdata"[, "shape"]})."""
    if isinstance(value, dict) and "bdata" in value:
        data = np.frombuffer(base64.b64decode(value["bdata"]), dtype=np.dtype(value["dtype"]))
        shape = value.get("shape")
        return data.reshape([int(n) for n in str(shape).split(",")]) if shape else data
    return np.asarray(value)


def open_page(monkeypatch: pytest.MonkeyPatch, runs: Path, run: Path, page: str, **params: str) -> AppTest:
    at = new_app(monkeypatch, runs)
    at.query_params["run"] = run.name
    for key, value in params.items():
        at.query_params[key] = value
    at.run()
    at.switch_page(page).run()
    assert_clean(at, page)
    return at
