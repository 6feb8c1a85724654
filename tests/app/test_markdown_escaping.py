"""Data-derived text reaches the pages' Markdown escaped (insight.formatting.markdown_text): a category value,
a column name, a data file's name and a `?run=` value crafted as Markdown links show as literal text."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pandas as pd
import pytest
from appkit import assert_clean, new_app, open_page
from streamlit.testing.v1 import AppTest

from insight.config import SegmentConfig, TrainConfig
from insight.data.demo import demo_data, demo_spec
from insight.pipeline import train

EVIL = "[click](http://evil.example)"
EVIL_COLUMN = "Billing [cycle](http://evil.example)"
ESCAPED = r"\[click\]\(http\://evil\.example\)"
UNESCAPED_LINK = re.compile(r"(?<!\\)\]\((?!\\)|(?<!\\)<http")
"""A Markdown link's `](` (or an autolink's `<http`) that no backslash disarms."""
MARKDOWN = ("markdown", "caption", "info", "warning", "error", "success", "subheader", "title", "header")
LABELS = ("selectbox", "multiselect", "number_input", "text_input", "slider", "date_input", "button", "toggle")


@pytest.fixture(scope="module")
def crafted(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A real run on demo customers whose billing cycle 'monthly' reads as a Markdown link, whose billing-cycle
    column is named like one, and whose data file is too. Returns (runs folder, run)."""
    customers = demo_data(rows=800, seed=3).customers
    customers["billing_cycle"] = customers["billing_cycle"].replace({"monthly": EVIL})
    customers = customers.rename(columns={"billing_cycle": EVIL_COLUMN})
    spec = demo_spec()
    spec = dataclasses.replace(spec, actionable=tuple(EVIL_COLUMN if a == "billing_cycle" else a
                                                      for a in spec.actionable))
    runs = tmp_path_factory.mktemp("crafted-runs")
    config = TrainConfig(seed=0, threads=1, segments=SegmentConfig(fit_sample=800, trustworthiness_sample=800))
    run = train(customers, spec, config, runs_dir=runs, source_name="[data](http://evil.example).csv")
    return runs, run


def shown(at: AppTest) -> list[str]:
    """Every Markdown body and widget label the page shows (sidebar included)."""
    texts = [str(e.value) for kind in MARKDOWN for e in getattr(at, kind)]
    texts += [str(getattr(e, "label", "")) for kind in LABELS for e in getattr(at, kind)]
    texts += [str(m.label) + " " + str(m.help or "") for m in at.metric]
    return texts


def assert_literal(at: AppTest, where: str, *, must_show: str = ESCAPED) -> None:
    crafted_texts = [t for t in shown(at) if "evil" in t]
    assert any(must_show in t for t in crafted_texts), f"{where}: {crafted_texts}"
    for text in crafted_texts:
        assert not UNESCAPED_LINK.search(text), f"{where}: a live link in {text!r}"


def test_a_run_parameter_written_as_markdown_shows_literally(monkeypatch: pytest.MonkeyPatch,
                                                             crafted: tuple[Path, Path]) -> None:
    at = new_app(monkeypatch, crafted[0])
    at.query_params["run"] = "[x](http://evil.example) **bold**"
    at.run()
    warning = [w.value for w in at.sidebar.warning]
    assert warning == [r"Run \[x\]\(http\://evil\.example\) \*\*bold\*\* from the link does not exist here; "
                       "showing the latest run."]
    assert_literal(at, "?run=", must_show=r"\[x\]\(http\://evil\.example\)")


@pytest.mark.parametrize("page", ["pages/overview.py", "pages/drivers.py", "pages/segments.py"])
def test_category_values_column_names_and_file_names_show_literally(monkeypatch: pytest.MonkeyPatch,
                                                                     crafted: tuple[Path, Path], page: str) -> None:
    runs, run = crafted
    at = open_page(monkeypatch, runs, run, page)
    assert_literal(at, page, must_show=r"\[data\]\(http\://evil\.example\)\.csv")  # the sidebar's data name
    if page == "pages/drivers.py":  # "In words": the column's name and its category
        assert_literal(at, page, must_show=r"**Billing \[cycle\]\(http\://evil\.example\)**: '" + ESCAPED)


def test_the_customer_page_escapes_reasons_segment_and_what_if_labels(monkeypatch: pytest.MonkeyPatch,
                                                                      crafted: tuple[Path, Path]) -> None:
    runs, run = crafted
    frame = pd.read_parquet(run / "customers.parquet")
    reasons = frame[["reason_1", "reason_2", "reason_3"]].astype(str).agg(" ".join, axis=1)
    chosen = frame.loc[reasons.str.contains(EVIL, regex=False), "customer_id"].iloc[0]
    at = open_page(monkeypatch, runs, run, "pages/customer.py", customer=str(chosen))
    assert_clean(at, "customer")
    why = [m.value for m in at.markdown if m.value.startswith("- ")]
    assert any(r"Billing \[cycle\]\(http\://evil\.example\)" in w and ESCAPED in w for w in why), why
    assert_literal(at, "customer")
    labels = [s.label for s in at.selectbox]
    assert r"Billing \[cycle\]\(http\://evil\.example\)" in labels  # the what-if input of that column
