"""One side of a comparison: a verified run with the customer columns a comparison needs, and what a reader
is told about it (id, when, on what data, as of which snapshot).

Runs are opened through `insight.runs.run.open_run` (checksums verified: a damaged run is a RunError); its
tables are read from the files the manifest lists, with the columns the comparison uses only.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.parquet as pq

from insight.errors import InputError
from insight.runs import layout
from insight.runs.manifest import Manifest
from insight.runs.run import Run, open_run

log = logging.getLogger(__name__)

SCORE_COLUMNS = (layout.CHURN_PROBABILITY, layout.RISK_BAND, layout.SEGMENT_ID, layout.SEGMENT_NAME)
KEY = "__key"
"""The customer id as text: runs are matched on it (one run may read ids as numbers, another as text)."""


@dataclass(frozen=True)
class RunSide:
    """A verified run, its feature roles and its customers (the id as text in KEY, the features present in
    customers.parquet, the scores, band and segment)."""

    run: Run
    roles: dict[str, str]
    customers: pd.DataFrame

    @property
    def id(self) -> str:
        return self.run.id

    @property
    def manifest(self) -> Manifest:
        return self.run.manifest

    @property
    def id_column(self) -> str:
        return self.manifest.spec.id_column

    @property
    def features(self) -> list[str]:
        """The model's features that customers.parquet holds, in the model's order."""
        return [f for f in self.manifest.features if f in self.customers.columns]


def load_side(path: Path) -> RunSide:
    """The run at `path`, verified (RunError when damaged), with its customers' features and scores."""
    run = open_run(Path(path), verify=True)
    spec = run.manifest.spec
    roles: dict[str, str] = {}
    if run.listed(layout.FEATURES):
        roles = {f["name"]: f["role"] for f in run.json(layout.FEATURES).get("features", [])}
    available = set(pq.ParquetFile(run.file(layout.CUSTOMERS)).schema_arrow.names)
    wanted = [spec.id_column, *run.manifest.features, *SCORE_COLUMNS,
              *([spec.time_column] if spec.time_column else [])]
    columns = [c for c in dict.fromkeys(wanted) if c in available]
    if spec.id_column not in available:
        raise InputError(f"run {run.id} has no id column {spec.id_column!r} in its customers; retrain it.")
    customers = pd.read_parquet(run.file(layout.CUSTOMERS), columns=columns)
    customers[KEY] = customers[spec.id_column].astype(str)
    if layout.RISK_BAND in customers:
        customers[layout.RISK_BAND] = customers[layout.RISK_BAND].astype("object")
    log.info("run %s: %d customers, %d features", run.id, len(customers), len(run.manifest.features))
    return RunSide(run=run, roles=roles, customers=customers)


def describe(side: RunSide) -> dict[str, Any]:
    """What a reader is told about a run: id, created, source, rows, customers, and with a time column the
    as-of date and the snapshot the customers are from."""
    m = side.manifest
    spec = m.spec
    out: dict[str, Any] = {"id": side.id, "created": m.created, "source": m.source.name,
                           "rows": m.source.rows, "customers": int(len(side.customers)),
                           "id_column": spec.id_column, "target": spec.target,
                           "features": len(m.features), "segments": _segment_count(m)}
    if spec.time_column:
        plan = m.metrics.get("time") if isinstance(m.metrics.get("time"), dict) else {}
        out["time_column"] = spec.time_column
        out["as_of"] = m.config.get("as_of") or plan.get("as_of")
        out["trained_through"] = plan.get("trained_through")
        out["out_of_time_snapshot"] = plan.get("out_of_time_snapshot")
        out["snapshot"] = plan.get("latest_snapshot")
        if out["snapshot"] is None and spec.time_column in side.customers:
            dates = pd.to_datetime(side.customers[spec.time_column], errors="coerce").dropna()
            out["snapshot"] = None if dates.empty else dates.max().date().isoformat()
    return out


def segment_identity(side: RunSide) -> dict[str, Any] | None:
    """How the run's segments were matched to an earlier run's (insight.segments.identity: previous_run,
    matched, new, vanished), or None when the run records no match."""
    found = side.manifest.segment_report.get("identity")
    return found if isinstance(found, dict) else None


def _segment_count(m: Manifest) -> int | None:
    n = m.segment_report.get("n_segments")
    return None if n is None else int(n)


def shap_rows(side: RunSide, keys: list[str], features: list[str]) -> pd.DataFrame:
    """SHAP values of `features` for the customers whose id (as text) is in `keys`, indexed by KEY; empty when
    the run has no SHAP values."""
    path = side.run.listed(layout.SHAP)
    if path is None or not keys:
        return pd.DataFrame(columns=features, dtype="float64")
    available = set(pq.ParquetFile(path).schema_arrow.names)
    native = side.customers.loc[side.customers[KEY].isin(keys), side.id_column].tolist()
    table = pq.read_table(path, columns=[side.id_column, *(f for f in features if f in available)],
                          filters=[(side.id_column, "in", native)])
    frame = table.to_pandas()
    frame.index = frame.pop(side.id_column).astype(str).rename(KEY)
    return frame.reindex(columns=features).astype("float64")
