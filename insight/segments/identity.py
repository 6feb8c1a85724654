"""Segments that keep their identity from one run to the next.

A retrained network has a latent space of its own, so a new run's segments come out numbered afresh (0 the
largest) and named afresh, and the same customers would change number, name and colour at every retrain.
Latent distances of two networks cannot be compared; the customers two runs share can. When a run is trained,

- the earlier run is the newest run in the runs folder with the same id column whose customers include at
  least MIN_SHARED (20 %) of this run's customers (the newest MAX_CANDIDATES such runs are looked at; a run
  that fails its checks is passed over with a warning);
- over the customers both runs hold, every pair (segment of this run, segment of the earlier run) gets the
  Jaccard index of its members; a one-to-one assignment maximises the total (the Hungarian method,
  scipy.optimize.linear_sum_assignment), and a pair under MIN_JACCARD (0.3) is no match;
- a matched segment takes the earlier segment's id and name, and with the id its colour (colours follow the id:
  insight.figures.charts.segment_colors); an unmatched segment is new: it gets the lowest id never used in the
  lineage (the earlier run's ids and every id it recorded as used), so an id never changes meaning, and keeps
  its own name unless an earlier segment had that name (then its id is added); an earlier segment that nothing
  matched has vanished (the report says which segment holds most of its customers now, if any).

Unassigned customers (-1) stay -1. A run with no earlier run to match keeps its numbering as it is. The match
is recorded in the manifest under metrics["segments"]["identity"] (`Identity.report`).
"""

from __future__ import annotations

import dataclasses
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from insight.errors import RunError
from insight.runs import layout
from insight.runs.manifest import SegmentProfile
from insight.segments.clustering import UNASSIGNED

log = logging.getLogger(__name__)

MIN_SHARED = 0.2
"""The share of this run's customers an earlier run must hold to be matched against."""
MIN_JACCARD = 0.3
"""The smallest Jaccard index (over shared customers) of a matched pair of segments."""
MAX_CANDIDATES = 10
RULE = (f"the newest run with the same id column holding at least {MIN_SHARED:.0%} of this run's customers; "
        "segments matched one to one (Hungarian assignment) by the Jaccard index of the customers both runs "
        f"hold, a pair under {MIN_JACCARD} being no match")


@dataclass(frozen=True)
class Earlier:
    """The earlier run's segments: one row per customer (id as text, segment id), names and ids used."""

    run_id: str
    members: pd.DataFrame
    names: dict[int, str]
    ids_used: tuple[int, ...]


@dataclass(frozen=True)
class Identity:
    ids: dict[int, int]
    """This run's segment label -> the id it keeps (Unassigned maps to itself)."""
    names: dict[int, str]
    """Final id -> name."""
    report: dict[str, Any]
    """metrics["segments"]["identity"]: previous_run, rule, shared customers, matched, new, vanished, ids_used."""


def keep_identity(customers: pd.DataFrame, profiles: list[SegmentProfile], *, runs_dir: Path | None,
                  id_column: str) -> tuple[list[SegmentProfile], dict[str, Any]]:
    """Give this run's segments the ids and names of the earlier run's segments they match (see the module's
    notes): `customers`' segment id and name columns are rewritten in place; returns the profiles renumbered
    (by id, Unassigned last) and the report for the manifest. Without an earlier run: `profiles` unchanged and
    an empty report."""
    ids = customers[id_column]
    earlier = earlier_segments(runs_dir, id_column, ids)
    if earlier is None:
        return profiles, {}
    labels = customers[layout.SEGMENT_ID].to_numpy(dtype=np.int64)
    identity = match_segments(ids, labels, earlier, names={p.id: p.name for p in profiles})
    customers[layout.SEGMENT_ID] = np.array([identity.ids[int(s)] for s in labels], dtype=np.int64)
    customers[layout.SEGMENT_NAME] = customers[layout.SEGMENT_ID].map(identity.names)
    renamed = [dataclasses.replace(p, id=identity.ids[p.id], name=identity.names[identity.ids[p.id]])
               for p in profiles]
    renamed.sort(key=lambda p: (p.id == UNASSIGNED, p.id))
    report = identity.report
    log.info("segments matched to run %s: %d kept, %d new, %d vanished", earlier.run_id, len(report["matched"]),
             len(report["new"]), len(report["vanished"]))
    return renamed, report


def earlier_segments(runs_dir: Path | None, id_column: str, ids: pd.Series) -> Earlier | None:
    """The earlier run to match against (the module's rule), or None."""
    from insight.runs.run import list_runs, open_run, read_manifest, resolve_runs_dir

    mine = pd.Index(_as_text(ids)).unique()
    looked = 0
    for path in list_runs(resolve_runs_dir(runs_dir)):
        try:
            manifest = read_manifest(path)
        except (OSError, RunError):
            continue
        if manifest.spec.id_column != id_column:
            continue
        looked += 1
        if looked > MAX_CANDIDATES:
            break
        try:
            members = _members(path, id_column)
        except (OSError, ValueError, KeyError) as e:
            log.warning("run %s: cannot read its segments (%s); not matching segments to it", path.name, e)
            continue
        if members is None or mine.empty or mine.isin(members["id"]).mean() < MIN_SHARED:
            continue
        try:
            run = open_run(path)
        except RunError as e:
            log.warning("%s; not matching segments to it", e)
            continue
        used = run.manifest.segment_report.get("identity", {}).get("ids_used", [])
        names = members.drop_duplicates("segment").set_index("segment")["name"].astype(str).to_dict()
        ids_used = {int(i) for i in used} | {int(s) for s in names if s != UNASSIGNED}
        return Earlier(run_id=path.name, members=members[["id", "segment"]],
                       names={int(k): v for k, v in names.items()}, ids_used=tuple(sorted(ids_used)))
    return None


def _members(path: Path, id_column: str) -> pd.DataFrame | None:
    """(id as text, segment, name) of a run's customers, one row per id (the last); None without segments."""
    import pyarrow.parquet as pq

    file = path / layout.CUSTOMERS
    columns = set(pq.read_schema(file).names)
    if not {id_column, layout.SEGMENT_ID, layout.SEGMENT_NAME} <= columns:
        return None
    table = pq.read_table(file, columns=[id_column, layout.SEGMENT_ID, layout.SEGMENT_NAME]).to_pandas()
    out = pd.DataFrame({"id": _as_text(table[id_column]), "segment": table[layout.SEGMENT_ID].astype(np.int64),
                        "name": table[layout.SEGMENT_NAME]})
    return out.drop_duplicates("id", keep="last").reset_index(drop=True)


def match_segments(ids: pd.Series, labels: np.ndarray, earlier: Earlier, *, names: dict[int, str]) -> Identity:
    """Match this run's segments (`labels`, one per customer in `ids`; `names` by label) to `earlier`'s."""
    from scipy.optimize import linear_sum_assignment

    now = pd.DataFrame({"id": _as_text(ids), "label": np.asarray(labels, dtype=np.int64)})
    now = now.drop_duplicates("id", keep="last")
    shared = now.merge(earlier.members, on="id", how="inner")
    mine = sorted(set(now["label"]) - {UNASSIGNED})
    theirs = sorted(s for s in earlier.names if s != UNASSIGNED)
    counts = pd.crosstab(shared["label"], shared["segment"]).reindex(index=mine, columns=theirs, fill_value=0)
    overlap = counts.to_numpy(dtype=np.float64)
    size_mine = shared["label"].value_counts().reindex(mine, fill_value=0).to_numpy(dtype=np.float64)
    size_theirs = shared["segment"].value_counts().reindex(theirs, fill_value=0).to_numpy(dtype=np.float64)
    union = size_mine[:, None] + size_theirs[None, :] - overlap
    jaccard = np.divide(overlap, union, out=np.zeros_like(overlap), where=union > 0)
    rows, cols = linear_sum_assignment(-jaccard) if jaccard.size else (np.array([], int), np.array([], int))
    kept = {int(r): int(c) for r, c in zip(rows, cols, strict=True) if jaccard[r, c] >= MIN_JACCARD}

    out_ids: dict[int, int] = {UNASSIGNED: UNASSIGNED}
    out_names: dict[int, str] = {UNASSIGNED: names.get(UNASSIGNED, "Unassigned")}
    matched = []
    for r, c in sorted(kept.items(), key=lambda rc: theirs[rc[1]]):
        label, old = mine[r], theirs[c]
        out_ids[label], out_names[old] = old, earlier.names[old]
        matched.append({"id": old, "name": earlier.names[old], "label": int(label), "shared": int(overlap[r, c]),
                        "jaccard": round(float(jaccard[r, c]), 4),
                        "share_of_segment": round(float(overlap[r, c] / size_mine[r]), 4),
                        "share_of_previous": round(float(overlap[r, c] / size_theirs[c]), 4)})
    used = set(earlier.ids_used)
    taken = set(earlier.names.values())
    new = []
    for r, label in enumerate(mine):
        if r in kept:
            continue
        fresh = _lowest_unused(used)
        used.add(fresh)
        name = _distinct(_renumbered(names.get(label, f"Segment {label}"), label, fresh), fresh, taken)
        taken.add(name)
        out_ids[label], out_names[fresh] = fresh, name
        best = int(np.argmax(jaccard[r])) if len(theirs) else None
        new.append({"id": fresh, "name": name, "label": int(label), "shared": int(size_mine[r]),
                    "best_jaccard": round(float(jaccard[r, best]), 4) if best is not None else 0.0})
    matched_old = {theirs[c] for c in kept.values()}
    vanished = []
    for c, old in enumerate(theirs):
        if old in matched_old:
            continue
        gone: dict[str, Any] = {"id": old, "name": earlier.names[old], "shared": int(size_theirs[c])}
        if size_theirs[c] > 0 and len(mine):  # where most of its customers are now (merged into another?)
            r = int(np.argmax(overlap[:, c]))
            gone["mostly_in"] = {"id": out_ids[mine[r]], "name": out_names[out_ids[mine[r]]],
                                 "share": round(float(overlap[r, c] / size_theirs[c]), 4)}
        vanished.append(gone)
    report = {"previous_run": earlier.run_id, "rule": RULE, "shared_customers": int(len(shared)),
              "shared_share": round(float(len(shared) / max(len(now), 1)), 4), "matched": matched, "new": new,
              "vanished": vanished, "new_ids": [n["id"] for n in new], "vanished_ids": [v["id"] for v in vanished],
              "ids_used": sorted(used)}
    return Identity(ids=out_ids, names=out_names, report=report)


def _lowest_unused(used: set[int]) -> int:
    fresh = 0
    while fresh in used:
        fresh += 1
    return fresh


def _renumbered(name: str, label: int, new_id: int) -> str:
    """A name that says its segment's number ('Segment 3 · high churn', 'Pro plan (3) · low churn') with the
    new id instead."""
    name = re.sub(rf"^Segment {label}\b", f"Segment {new_id}", name)
    return name.replace(f" ({label}) · ", f" ({new_id}) · ")


def _distinct(name: str, new_id: int, taken: set[str]) -> str:
    """`name`, or `name` with the segment's id added, so that no earlier segment's name is reused."""
    if name not in taken:
        return name
    body, sep, level = name.partition(" · ")
    tagged = f"{body} ({new_id}){sep}{level}"
    return tagged if tagged not in taken else f"{body} (new {new_id}){sep}{level}"


def _as_text(ids: pd.Series) -> np.ndarray:
    """Ids compared as text, so that an id read as a number in one run and as text in another still matches."""
    return pd.Series(ids).astype("string").fillna("").to_numpy(dtype=object)
