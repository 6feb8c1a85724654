"""insight.formatting: numbers and cells as stakeholders read them, one way everywhere."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from insight import formatting as fmt


@pytest.mark.parametrize(("value", "role", "shown"), [
    (1.0, "boolean", "yes"), (0.0, "boolean", "no"), (None, None, "missing"),
    (float("nan"), "numeric", "missing"),
    (1234.0, "numeric", "1,234"), (12.34, "numeric", "12.3"), (0.0421, "numeric", "0.042"),
    (1234.5, "numeric", "1,234"), (np.int64(7), None, "7"),
    (pd.Timestamp("2025-03-04"), "date", "2025-03-04"), ("Pro", "categorical", "Pro"),
])
def test_display_value(value: object, role: str | None, shown: str) -> None:
    assert fmt.display_value(value, role) == shown


def test_numbers_at_once_are_each_as_display_value() -> None:
    values = np.array([3.0, 12.5, 1234.0, 1234.5, 0.042, -7.25, np.nan])
    assert fmt.numbers(values).tolist() == [fmt.display_value(v, "numeric") for v in values.tolist()]
    assert fmt.numbers(values).tolist() == ["3", "12.5", "1,234", "1,234", "0.042", "-7.2", "missing"]


def test_number_formats_follow_the_size_of_the_values() -> None:
    assert fmt.d3_number_format(np.array([1.0, 20.0, 300.0])) == ",.0f"  # whole numbers
    assert fmt.d3_number_format(np.array([150.5, 990.2])) == ",.0f"
    assert fmt.d3_number_format(np.array([1.25, 7.5, np.nan])) == ",.1f"
    assert fmt.d3_number_format(np.array([0.042, 0.31])) == ".2~g"
    assert fmt.d3_number_format(np.array([np.nan])) == ",.0f"


def test_figures_for_metric_tiles() -> None:
    assert fmt.count(1234.4) == "1,234" and fmt.count(None) == fmt.DASH
    assert fmt.pct(0.1234) == "12.3 %" and fmt.pct(0.5, 0) == "50 %" and fmt.pct(float("nan")) == fmt.DASH
    assert fmt.amount(987) == "987" and fmt.amount(12_345) == "12,345"
    assert fmt.amount(1_234_567) == "1.23 M" and fmt.amount(-2.5e9) == "-2.50 B"
    assert fmt.amount("x") == fmt.DASH
    assert fmt.score(0.81234) == "0.812" and fmt.score(None) == fmt.DASH
    assert fmt.points(0.042) == "+4.2 points" and fmt.points(-0.1) == "-10.0 points"


def test_figures_and_the_segment_contrast_format_through_it() -> None:
    from insight.figures import charts, mapfigure
    from insight.segments import contrast

    assert charts.display_value is fmt.display_value and mapfigure.display_value is fmt.display_value
    assert contrast.number is fmt.number


def test_label() -> None:
    assert fmt.label("support_tickets_90d") == "Support tickets 90d"
    assert fmt.label("MonthlyCharges") == "Monthly Charges"
    assert fmt.label("tenure") == "Tenure"


@pytest.mark.parametrize(("text", "escaped"), [
    ("[click](http://evil.example)", r"\[click\]\(http\://evil\.example\)"),
    ("**bold** _it_ `code` <b>x</b>", r"\*\*bold\*\* \_it\_ \`code\` \<b\>x\</b\>"),
    (":red[alarm] :material/home: $x$", r"\:red\[alarm\] \:material/home\: \$x\$"),
    ("# heading\n- item", r"\# heading \- item"),
    ("Plain text, 12 %", r"Plain text, 12 %"),
])
def test_markdown_text_shows_data_literally(text: str, escaped: str) -> None:
    assert fmt.markdown_text(text) == escaped


def test_duration() -> None:
    assert fmt.duration(7, "months") == "7 months" and fmt.duration(1.0, "months") == "1 month"
    assert fmt.duration(6.93, "months") == "6.9 months" and fmt.duration(365, "days") == "365 days"
    assert fmt.duration(0.25, "years") == "0.25 years" and fmt.duration(1, "weeks") == "1 week"
    assert fmt.duration(1234.4, "days") == "1,234 days"
    assert fmt.duration(float("inf"), "months") == "not reached"
    assert fmt.duration(float("inf"), "months", infinite="never") == "never"
    assert fmt.duration(float("nan"), "months") == fmt.DASH and fmt.duration(None, "days") == fmt.DASH
