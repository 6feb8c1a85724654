"""Numbers and cells as stakeholders read them: 1,234 customers, 12.3 %, 1.23 M, 'yes', 2024-05-01.

The one place the dashboard's figures, tables and pages format a value. Plain Python with numpy and pandas, no
Streamlit, so that `insight.figures` and `insight.ui` share it.
"""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np
import pandas as pd

DASH = "—"
"""A figure that is not known (a metric tile, a table cell of totals)."""
MISSING = "missing"
"""A customer's value that is not known (a feature cell, a hover line)."""


def _missing(value: Any) -> bool:
    try:
        return value is None or math.isnan(float(value))
    except (TypeError, ValueError):
        return True


def count(value: Any) -> str:
    """A whole number with thousands separators: 1,234."""
    return DASH if _missing(value) else f"{round(float(value)):,}"


def pct(value: Any, digits: int = 1) -> str:
    """A share (0-1) as a percentage: 0.123 -> '12.3 %'."""
    return DASH if _missing(value) else f"{100 * float(value):.{digits}f} %"


def points(change: float) -> str:
    """A change of a share (0-1) in signed percentage points: 0.042 -> '+4.2 points'."""
    return f"{100 * float(change):+.1f} points"


def amount(value: Any) -> str:
    """A money-like total: 987 -> '987', 12,345 -> '12,345', 1,234,567 -> '1.23 M'."""
    if _missing(value):
        return DASH
    v = float(value)
    if abs(v) >= 1e9:
        return f"{v / 1e9:,.2f} B"
    if abs(v) >= 1e6:
        return f"{v / 1e6:,.2f} M"
    return f"{v:,.0f}"


def score(value: Any, digits: int = 3) -> str:
    """A model score such as an AUC: 0.8123 -> '0.812'."""
    return DASH if _missing(value) else f"{float(value):.{digits}f}"


def duration(value: Any, unit: str, *, infinite: str = "not reached") -> str:
    """A time in the survival duration's unit: (7, 'months') -> '7 months', (1, 'months') -> '1 month',
    (6.93, 'months') -> '6.9 months'; `infinite` for inf (a median the curve never falls to), DASH when unknown."""
    if _missing(value):
        return DASH
    v = float(value)
    if math.isinf(v):
        return infinite
    text = number(round(v, 1) if abs(v) >= 1 else v)
    word = unit[:-1] if text == "1" and unit.endswith("s") else unit
    return f"{text} {word}"


def number(value: float) -> str:
    """A number as a person would write it: whole numbers 1,234; from 100 no decimals; from 1 one decimal;
    below 1 two significant digits (3, 12.5, 1,234, 0.042)."""
    v = float(value)
    if v == int(v) and abs(v) < 1e15:
        return f"{int(v):,}"
    if abs(v) >= 100:
        return f"{v:,.0f}"
    if abs(v) >= 1:
        return f"{v:,.1f}"
    return f"{v:.2g}"


def numbers(values: np.ndarray) -> np.ndarray:
    """`number` of many values at once (an object array of text; NaN as MISSING), for 100,000s of map
    points."""
    v = np.asarray(values, dtype=float)
    out = np.full(v.shape, MISSING, dtype=object)
    known = ~np.isnan(v)
    whole = known & (v == np.round(v)) & (np.abs(v) < 1e15)
    big = known & ~whole & (np.abs(v) >= 100)
    mid = known & ~whole & ~big & (np.abs(v) >= 1)
    small = known & ~whole & ~big & ~mid
    out[whole] = [f"{int(x):,}" for x in v[whole]]
    out[big] = [f"{x:,.0f}" for x in v[big]]
    out[mid] = [f"{x:,.1f}" for x in v[mid]]
    out[small] = [f"{x:.2g}" for x in v[small]]
    return out


def d3_number_format(values: np.ndarray) -> str:
    """The d3 format (for plotly hovers) of a column of numbers, chosen from its typical size the way `number`
    chooses per value: whole numbers and values from 100 without decimals, from 1 one, below 1 two significant
    digits."""
    v = np.asarray(values, dtype=float)
    finite = np.abs(v[np.isfinite(v)])
    if not len(finite) or np.all(finite == np.round(finite)) or np.median(finite) >= 100:
        return ",.0f"
    return ",.1f" if np.median(finite) >= 1 else ".2~g"


def display_value(value: Any, role: str | None = None) -> str:
    """A cell as a person reads it: 'yes'/'no' for flags, dates without time, numbers as `number`, MISSING for
    missing values."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA or value is pd.NaT:
        return MISSING
    if role == "boolean":
        try:
            return "yes" if float(value) >= 0.5 else "no"
        except (TypeError, ValueError):
            return str(value)
    if isinstance(value, pd.Timestamp) or hasattr(value, "isoformat"):
        return str(value)[:10]
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
        return number(value)
    return str(value)


def label(name: str) -> str:
    """A column name as words: 'support_tickets_90d' -> 'Support tickets 90d'."""
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", str(name)).replace("_", " ").strip()
    return spaced[:1].upper() + spaced[1:]


MARKDOWN_SPECIAL = frozenset("\\`*_{}[]()<>#+-.!|~$:=&")
"""The characters `markdown_text` escapes: Markdown's and Streamlit's own (links, emphasis, HTML, lists,
headings, tables, maths, `:color[...]` and `:material/icon:` directives, entities, bare-URL autolinks)."""


def markdown_text(value: Any) -> str:
    """Data-derived text (a column name, a category, a segment name, a reason, a `?run=` value) made safe for
    Streamlit's Markdown (st.markdown, st.caption, st.info, widget labels, help): shown literally, never as a
    link, emphasis, HTML or a directive. Newlines become spaces. Everything data-derived that reaches Markdown
    goes through this function, and nothing else does."""
    text = " ".join(str(value).splitlines())
    return "".join("\\" + c if c in MARKDOWN_SPECIAL else c for c in text)
