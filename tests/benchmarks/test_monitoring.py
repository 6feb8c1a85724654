"""benchmarks/monitoring.py: which months it scores, and how it prints a result (the benchmark itself trains
real runs for minutes; it is run by hand, `python -m benchmarks monitoring`)."""

from __future__ import annotations

import pandas as pd
import pytest

from benchmarks.monitoring import print_monitoring, scored_months


def _snapshots(labelled: list[bool]) -> pd.DataFrame:
    months = [f"2026-0{i + 1}-28" for i in range(len(labelled))]
    return pd.DataFrame({"snapshot_date": [m for m in months for _ in range(3)],
                         "churned": [("Yes" if k else None) for k in labelled for _ in range(3)]})


def test_scored_months_need_a_labelled_next_month_and_two_labelled_snapshots() -> None:
    six = _snapshots([True] * 5 + [False])  # the demo's --months 6: the latest month unlabelled
    assert scored_months(six) == [("2026-02-28", "2026-03-28"), ("2026-03-28", "2026-04-28"),
                                  ("2026-04-28", "2026-05-28")]
    assert scored_months(_snapshots([True, True, False])) == []
    assert scored_months(_snapshots([True])) == []


def test_the_table_shows_estimate_beside_realised(capsys: pytest.CaptureFixture[str]) -> None:
    row = {"scored": "2026-05-31", "trained_as_of": "2026-04-30", "rows": 1040, "estimated_auc": 0.756,
           "realised_auc": 0.729, "auc_difference": 0.027, "within_tolerance": True, "estimated_precision": 0.4,
           "realised_precision": 0.45, "estimated_recall": 0.2, "realised_recall": 0.19, "drifted_features": 4,
           "train_seconds": 51.4, "score_seconds": 19.0}
    print_monitoring({"rows_per_month": 1000, "months": 4, "seed": 0, "tolerance": 0.03, "batches": [row],
                      "within_tolerance": 1, "max_abs_auc_difference": 0.027, "load_average_before": [1.0, 1, 1],
                      "load_average_after": [2.0, 2, 2]})
    out = capsys.readouterr().out
    assert "2026-05-31  2026-04-30    1,040    0.756     0.729  +0.027" in out
    assert "within 0.03 of the realised AUC: 1 of 1 month(s)" in out
