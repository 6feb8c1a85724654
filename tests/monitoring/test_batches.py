"""insight.monitoring.batches: batch records beside the runs, appended atomically, read back oldest first."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from insight.monitoring.batches import BATCHES, list_batches, record_batch, write_batch_record

RUN = "20261202-010000-customers-abcd"


def _report(auc: float) -> dict:
    """A monitoring report as insight.monitoring.report writes it (the keys a record keeps)."""
    estimated = {"kind": "estimated", "rows": 10, "threshold": 1 / 3, "roc_auc": auc, "precision": 0.5,
                 "recall": 0.4, "churn_rate": 0.2, "share_flagged": 0.1, "mean_probability": 0.2}
    columns = [{"feature": f"f{i}", "psi": 0.5 / (i + 1), "level": "major", "drifted": i < 2, "p_adjusted": 0.01,
                "kind": "numeric"} for i in range(8)]
    return {"kind": "insight monitoring report", "run_id": RUN, "data": "postgresql://u:***@db/crm",
            "engine": "local", "rows": 10, "threshold": {"value": 1 / 3, "definition": "x"},
            "drift": {"features": 8, "drifted": 2, "rows": 10, "columns": columns}, "estimated": estimated,
            "labels": None, "realised": None, "difference": None}


def test_records_are_appended_and_listed_oldest_first(tmp_path: Path) -> None:
    start = datetime(2026, 12, 2, 1, 0, tzinfo=UTC)
    for i in range(3):
        write_batch_record(tmp_path, RUN, {"rows": i}, now=start + timedelta(minutes=10 * (2 - i)))
    records = list_batches(tmp_path, RUN)
    assert [r["rows"] for r in records] == [2, 1, 0]
    assert records[0]["created"] == "2026-12-02T01:00:00+00:00" and records[0]["kind"] == "insight scored batch"
    folder = tmp_path / BATCHES / RUN
    assert sorted(p.name for p in folder.iterdir()) == [r["file"] for r in records]  # nothing temporary left
    assert all(name.endswith(".json") and name[:8] == "20261202" for name in (r["file"] for r in records))


def test_two_records_in_the_same_instant_both_kept(tmp_path: Path) -> None:
    now = datetime(2026, 12, 2, 1, 0, tzinfo=UTC)
    write_batch_record(tmp_path, RUN, {"rows": 1}, now=now)
    write_batch_record(tmp_path, RUN, {"rows": 2}, now=now)
    assert sorted(r["rows"] for r in list_batches(tmp_path, RUN)) == [1, 2]


def test_a_record_keeps_the_summary_of_a_report(tmp_path: Path) -> None:
    path = record_batch(tmp_path, _report(0.81), out="/data/scores")
    assert path is not None
    record = json.loads(path.read_text())
    assert record["run_id"] == RUN and record["out"] == "/data/scores" and record["rows"] == 10
    assert record["data"] == "postgresql://u:***@db/crm"
    assert record["estimated"]["roc_auc"] == 0.81 and record["realised"] is None
    assert record["drift"]["drifted"] == 2 and [t["feature"] for t in record["drift"]["top"]] == \
        ["f0", "f1", "f2", "f3", "f4"]


def test_unreadable_and_foreign_files_are_skipped(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    write_batch_record(tmp_path, RUN, {"rows": 1})
    folder = tmp_path / BATCHES / RUN
    (folder / "20990101T000000000000Z-broken.json").write_text("{not json")
    (folder / "20990101T000000000001Z-other.json").write_text(json.dumps({"kind": "something else"}))
    (folder / ".20990101.tmp.json").write_text("{}")
    with caplog.at_level(logging.WARNING):
        records = list_batches(tmp_path, RUN)
    assert [r["rows"] for r in records] == [1]
    assert "broken" in caplog.text and "not a batch record" in caplog.text


def test_no_records_and_bad_run_ids(tmp_path: Path) -> None:
    assert list_batches(tmp_path, RUN) == []
    for bad in ("../x", ".hidden", "a/b", ""):
        with pytest.raises(ValueError, match="not a run id"):
            list_batches(tmp_path, bad)


def test_an_unwritable_runs_folder_costs_the_record_not_the_scores(tmp_path: Path,
                                                                  caplog: pytest.LogCaptureFixture) -> None:
    (tmp_path / BATCHES).write_text("a file where the records' folder would be")
    with caplog.at_level(logging.WARNING):
        assert record_batch(tmp_path, _report(0.7), out="scores") is None
    assert "the batch record could not be kept" in caplog.text
