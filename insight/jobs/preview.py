"""What the upload page shows before a training starts, decided by the code `insight train` runs.

The table is read as the CLI reads a file (`insight.data.sources.read_table`); each column's role on its own
is `insight.data.schema.infer_column`'s; the guards' decisions for a chosen spec (ids, free text, constants
and leaking columns set aside, `--keep` overrides) and every validation error are `schema.clean_table`'s,
with the revenue column checked as the pipeline checks it. Nothing here re-implements a rule.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from insight.config import DataSpec
from insight.data import schema
from insight.data.demo import default_actionable
from insight.data.schema import ColumnRole, Role, Schema
from insight.data.sources import read_table
from insight.data.spec import revenue_column
from insight.errors import InputError

PREVIEW_ROWS = 20
MAX_TARGET_VALUES = 20
AUX_ROLES = frozenset({Role.NUMERIC, Role.BOOLEAN})
TARGET_WORDS = re.compile(r"churn|attrit|exited|cancel|left|lost|retained", re.IGNORECASE)


@dataclass(frozen=True)
class TablePreview:
    """An uploaded table at a glance: its size, first rows, each column's inferred role, and first guesses."""

    rows: int
    head: pd.DataFrame
    roles: tuple[ColumnRole, ...]
    id_guess: str | None
    target_guess: str | None

    @property
    def columns(self) -> list[str]:
        return [r.name for r in self.roles]

    def aux_candidates(self, *, id_column: str | None, target: str | None) -> list[str]:
        """Columns an aux target can be: numbers and yes/no flags, other than the id and the target."""
        return [r.name for r in self.roles if r.role in AUX_ROLES and r.name not in (id_column, target)]


def read_upload(path: Path, *, name: str) -> pd.DataFrame:
    """The uploaded table, read exactly as `insight train FILE` reads it; an InputError names the file as the
    analyst uploaded it (`name`), not where the server keeps it."""
    try:
        return read_table(path)
    except InputError as e:
        raise InputError(str(e).replace(str(path), name)) from e


def preview_table(frame: pd.DataFrame) -> TablePreview:
    """Each column's role on its own (before an id and target are chosen) and guesses for both."""
    roles = tuple(ColumnRole(str(name), *schema.infer_column(frame[name], str(name))[1:])
                  for name in frame.columns)
    ids = [r.name for r in roles if r.role is Role.ID]
    targets = [r.name for r in roles if r.role is Role.BOOLEAN and TARGET_WORDS.search(r.name)]
    return TablePreview(rows=len(frame), head=frame.head(PREVIEW_ROWS), roles=roles,
                        id_guess=ids[0] if ids else None, target_guess=targets[0] if targets else None)


def target_values(frame: pd.DataFrame, target: str) -> list[str]:
    """The distinct values of a target column as text (empty when there are too many to pick from)."""
    values = frame[target].dropna().astype(str).str.strip()
    distinct = sorted(set(values[values != ""]))
    return distinct if len(distinct) <= MAX_TARGET_VALUES else []


def training_spec(columns: Iterable[str], *, id_column: str, target: str, aux: Sequence[str] = (),
                  keep: Sequence[str] = (), exclude: Sequence[str] = (),
                  positive: str | None = None, duration: str | None = None) -> DataSpec:
    """The DataSpec `insight train --id --target --aux --keep --exclude --positive --duration` would build,
    with the demo data's levers as actionable features when the table has the demo's columns (as the CLI
    does)."""
    return DataSpec(id_column=id_column, target=target, aux_targets=tuple(aux), keep=tuple(keep),
                    exclude=tuple(exclude), positive_label=positive or None,
                    actionable=default_actionable(list(columns)), duration_column=duration or None)


def check_spec(frame: pd.DataFrame, spec: DataSpec) -> Schema:
    """Validate the table against the spec as training will (InputError with the CLI's message) and return
    the guards' decisions: the role of every column other than the id and the targets, with the reason for
    each column set aside."""
    table = schema.clean_table(frame, spec)
    revenue_column(spec, table.frame.columns)
    if spec.duration_column:
        from insight.survival.setup import checked_duration

        checked_duration(spec, frame)
    return table.schema
