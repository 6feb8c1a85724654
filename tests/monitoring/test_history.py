"""insight.monitoring.history: a run's lineage (runs of the same table, id and target) in as-of or creation
order, and its batch records as a table."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from insight.monitoring.batches import write_batch_record
from insight.monitoring.history import batch_history, lineage
from insight.runs.run import read_manifest
from runkit import rewritten_run


def _variant(source: Path, runs_dir: Path, name: str, **changes: object) -> Path:
    """A copy of `source` under another id with manifest fields changed (config.as_of, source.name, ...)."""
    def edit(manifest: dict) -> None:
        for key, value in changes.items():
            block, _, field = key.partition("__")
            if field:
                manifest[block][field] = value
            else:
                manifest[block] = value

    return rewritten_run(source, runs_dir, name, edit)


@pytest.fixture(scope="module")
def runs(demo_run: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("lineage")
    shutil.copytree(demo_run, folder / demo_run.name)
    return folder


def test_lineage_by_as_of_date_when_every_run_has_one(runs: Path, demo_run: Path) -> None:
    folder = runs / "as-of"
    folder.mkdir()
    # created in the opposite order of their as-of dates: the as-of date decides
    _variant(demo_run, folder, "b-late", config__as_of="2026-05-31", created="2020-01-01T00:00:00+00:00")
    _variant(demo_run, folder, "a-early", config__as_of="2026-03-31", created="2021-01-01T00:00:00+00:00")
    _variant(demo_run, folder, "c-other-table", source__name="other.csv", config__as_of="2026-04-30")
    frame = lineage(folder, read_manifest(folder / "b-late"))
    assert frame["run_id"].tolist() == ["a-early", "b-late"]
    assert frame["current"].tolist() == [False, True]
    assert str(frame["when"].iloc[0].date()) == "2026-03-31"
    assert frame["test_auc"].notna().all() and frame["out_of_time_auc"].isna().all()


def test_lineage_by_creation_otherwise(runs: Path, demo_run: Path) -> None:
    manifest = read_manifest(runs / demo_run.name)
    _variant(demo_run, runs, "older", created="2020-01-01T00:00:00+00:00")
    frame = lineage(runs, manifest)
    assert frame["run_id"].tolist() == ["older", demo_run.name]


def test_batch_history(tmp_path: Path) -> None:
    assert batch_history(tmp_path, "r1").empty
    write_batch_record(tmp_path, "r1", {"rows": 5, "estimated": {"roc_auc": 0.8, "churn_rate": 0.2},
                                        "realised": None, "drift": {"features": 3, "drifted": 1, "top": [
                                            {"feature": "fee", "drifted": True}, {"feature": "x", "drifted": False}]}})
    frame = batch_history(tmp_path, "r1")
    row = frame.iloc[0]
    assert (row["rows"], row["estimated_auc"], row["drifted"], row["top_drift"]) == (5, 0.8, 1, "fee")
    assert pd.isna(row["realised_auc"]) and row["data"] is None
