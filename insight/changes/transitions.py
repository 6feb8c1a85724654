"""Segment migration between two runs for the customers in both: who went from which segment to which.

Segment ids are compared as they are: where the newer run matched its segments to the earlier run's (they
keep their ids, names and colours), a customer who stayed in "the same" segment shows as from_id == to_id.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from insight.runs import layout
from insight.runs.tables import python_value


def segment_transitions(both: pd.DataFrame, *, only_a: int = 0, only_b: int = 0,
                        identity: dict[str, Any] | None = None, run_a: str | None = None) -> dict[str, Any]:
    """For the customers of `both` (insight.changes.risk.overlap): `transitions`, a list of {from_id,
    from_name, to_id, to_name, customers}, the largest first; `from_totals` and `to_totals` (the table's row
    and column sums: id, name, customers); `customers` (their sum); `stayed` (customers whose segment id is
    the same in both); `only_a` / `only_b`, the customers in one run only (left, or new); and `identity`,
    B's record of how its segments were matched to an earlier run's (`identity_against_a`: whether that run is
    A), with `new_ids` and `vanished_ids` when it is."""
    sa, sb = f"{layout.SEGMENT_ID}_a", f"{layout.SEGMENT_ID}_b"
    na, nb = f"{layout.SEGMENT_NAME}_a", f"{layout.SEGMENT_NAME}_b"
    out: dict[str, Any] = {"customers": int(len(both)), "stayed": 0, "only_a": int(only_a), "only_b": int(only_b),
                           "transitions": [], "from_totals": [], "to_totals": [], "identity": identity,
                           "identity_against_a": bool(identity and run_a and identity.get("previous_run") == run_a),
                           "new_ids": [], "vanished_ids": []}
    if out["identity_against_a"] and identity is not None:
        out["new_ids"] = [int(i) for i in identity.get("new_ids", [])]
        out["vanished_ids"] = [int(i) for i in identity.get("vanished_ids", [])]
    if both.empty or sa not in both or sb not in both:
        return out
    frame = both[[sa, sb]].copy()
    frame[na] = both[na] if na in both else None
    frame[nb] = both[nb] if nb in both else None
    names_a = _names(frame, sa, na)
    names_b = _names(frame, sb, nb)
    counts = frame.groupby([sa, sb]).size().reset_index(name="customers")
    rows = [{"from_id": python_value(r[sa]), "from_name": names_a.get(r[sa]), "to_id": python_value(r[sb]),
             "to_name": names_b.get(r[sb]), "customers": int(r["customers"])} for r in counts.to_dict("records")]
    rows.sort(key=lambda r: (-r["customers"], r["from_id"], r["to_id"]))
    out["transitions"] = rows
    out["from_totals"] = _totals(frame[sa], names_a)
    out["to_totals"] = _totals(frame[sb], names_b)
    out["stayed"] = int((frame[sa] == frame[sb]).sum())
    return out


def _names(frame: pd.DataFrame, id_col: str, name_col: str) -> dict[Any, str | None]:
    pairs = frame[[id_col, name_col]].drop_duplicates(id_col)
    return {k: python_value(v) for k, v in zip(pairs[id_col], pairs[name_col])}


def _totals(ids: pd.Series, names: dict[Any, str | None]) -> list[dict[str, Any]]:
    counts = ids.value_counts()
    rows = [{"id": python_value(k), "name": names.get(k), "customers": int(n)} for k, n in counts.items()]
    rows.sort(key=lambda r: (-r["customers"], r["id"]))
    return rows
