"""The Model page of runs trained with --time (AppTest on real runs, tests/conftest.py's snapshot_runs): the
random-split and out-of-time ROC AUCs side by side with their snapshot dates; a run without --time shows
neither."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from appkit import assert_clean, metric, new_app, open_page, table_with

from insight import formatting as fmt

PAGE = "pages/model.py"


def _metrics(run: Path) -> dict:
    return json.loads((run / "manifest.json").read_text())["metrics"]


@pytest.mark.slow
def test_both_aucs_with_their_snapshots_when_the_latest_snapshot_is_unlabelled(
        monkeypatch: pytest.MonkeyPatch, snapshot_runs: dict[str, Path]) -> None:
    run = snapshot_runs["all"]
    at = open_page(monkeypatch, run.parent, run, PAGE)
    metrics = _metrics(run)
    assert metric(at, "ROC AUC, random split") == fmt.score(metrics["lightgbm"]["test"]["roc_auc"])
    assert metric(at, "ROC AUC, out of time (2026-03-31)") == fmt.score(metrics["lightgbm"]["out_of_time"]["roc_auc"])
    table = table_with(at, "Snapshots")
    assert table["Test"].tolist() == ["Random split", "Out of time"] * 2
    assert table["Snapshots"].tolist() == ["2026-01-31 to 2026-02-28", "2026-03-31"] * 2
    assert table["Customers"].tolist() == [metrics["lightgbm"]["test"]["n"], 500] * 2
    assert table["ROC AUC"].iloc[3] == pytest.approx(metrics["logistic"]["out_of_time"]["roc_auc"])
    assert "Trained on the snapshots up to 2026-02-28" in at.caption[0].value
    assert any("2026-04-30" in i.value and "not known yet" in i.value for i in at.info)  # no curves: no outcomes


@pytest.mark.slow
def test_the_curves_measure_the_out_of_time_customers_when_they_are_the_runs(
        monkeypatch: pytest.MonkeyPatch, snapshot_runs: dict[str, Path]) -> None:
    run = snapshot_runs["as_of_march"]
    at = open_page(monkeypatch, run.parent, run, PAGE)
    late = _metrics(run)["lightgbm"]["out_of_time"]
    assert metric(at, "ROC AUC, out of time (2026-03-31)") == fmt.score(late["roc_auc"])
    assert metric(at, "ROC AUC") == fmt.score(late["roc_auc"])  # the curves' customers: March's, out of time
    assert metric(at, "Test customers") == fmt.count(500)
    assert "out-of-time customers of that snapshot" in at.caption[0].value


@pytest.mark.slow
def test_a_run_without_time_shows_no_out_of_time_figures(monkeypatch: pytest.MonkeyPatch, demo_run: Path) -> None:
    at = open_page(monkeypatch, demo_run.parent, demo_run, PAGE)
    assert not [m for m in at.metric if "out of time" in m.label or "random split" in m.label]
    assert not any("Snapshots" in df.value.columns for df in at.dataframe)
    assert at.caption[0].value.startswith("Measured on held-out test customers")


@pytest.mark.slow
@pytest.mark.parametrize("which", ["all", "as_of_march"])
def test_every_page_renders_a_time_aware_run(monkeypatch: pytest.MonkeyPatch, snapshot_runs: dict[str, Path],
                                             which: str) -> None:
    """The dashboard shows the latest snapshot's customers, whose outcomes ("all") may be unknown yet."""
    run = snapshot_runs[which]
    at = new_app(monkeypatch, run.parent)
    at.query_params["run"] = run.name
    at.run()
    assert_clean(at, "app.py")
    for page in sorted(p.name for p in (Path(__file__).resolve().parents[2] / "pages").glob("*.py")):
        if page != "upload.py":
            at.switch_page(f"pages/{page}").run()
            assert_clean(at, page)
