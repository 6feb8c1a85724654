"""A DataSpec resolved against the table it trains on: the revenue column and the actionable features used."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Collection

from insight.config import DataSpec
from insight.errors import InputError

REVENUE_WORDS = frozenset({"revenue", "value", "spend", "sales", "arr", "mrr", "ltv", "charges", "amount", "income"})


def guess_revenue_column(aux_targets: tuple[str, ...]) -> str | None:
    """The first aux target whose name has a money word as a token ('revenue_next_12m', 'MonthlyCharges')."""
    for name in aux_targets:
        spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", name).lower()
        if set(re.split(r"[^a-z0-9]+", spaced)) & REVENUE_WORDS:
            return name
    return None


def revenue_column(spec: DataSpec, columns: Collection[str]) -> str | None:
    """--revenue, else the first aux target named like money; InputError when it is not a column of the clean
    table (a dropped column cannot be used)."""
    chosen = spec.revenue_column or guess_revenue_column(spec.aux_targets)
    if chosen and chosen not in columns:
        raise InputError(f"--revenue column {chosen!r} is not a feature or aux target of this table "
                         "(dropped columns cannot be used).")
    return chosen


def resolved_spec(spec: DataSpec, *, revenue: str | None, features: Collection[str]) -> DataSpec:
    """The spec a run records: the revenue column used, and only the actionable columns that are features."""
    return dataclasses.replace(spec, revenue_column=revenue,
                               actionable=tuple(f for f in spec.actionable if f in features))
