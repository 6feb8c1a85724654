"""Numbers as stakeholders read them: 1,234 customers, 12.3 %, 1.2 M. Plain Python, no Streamlit."""

from __future__ import annotations

import math
from typing import Any

DASH = "—"


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
