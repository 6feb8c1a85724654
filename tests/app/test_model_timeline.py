"""The Model page's timeline (AppTest, real runs and real scored batches): the runs trained on the same data
and the batches the run scored, estimated beside realised AUC; without either, how to get there."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from appkit import array, assert_clean, open_page, plotly_figure, table_with

from insight.batch.scoring import score_dataset
from insight.data.demo import demo_data
from insight.runs.run import set_latest
from runkit import rewritten_run

PAGE = "pages/model.py"


def _earlier(source: Path, runs_dir: Path, name: str, created: str, test_auc: float,
             out_of_time_auc: float | None = None) -> Path:
    """A run of the same data as `source`, created earlier, with other test (and out-of-time) figures."""
    def edit(manifest: dict) -> None:
        manifest["created"] = created
        manifest["metrics"]["lightgbm"]["test"]["roc_auc"] = test_auc
        if out_of_time_auc is not None:
            manifest["metrics"]["lightgbm"]["out_of_time"] = {"roc_auc": out_of_time_auc, "snapshot": "2026-01-31"}

    return rewritten_run(source, runs_dir, name, edit)


@pytest.fixture(scope="module")
def history(demo_run: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, list[dict]]:
    """A runs folder with the demo run, two earlier runs of the same data, and two batches the demo run
    scored (the second with its labels); returns the folder, the run and the two monitoring reports."""
    runs = tmp_path_factory.mktemp("timeline-runs")
    run = Path(shutil.copytree(demo_run, runs / demo_run.name))
    _earlier(demo_run, runs, "20200101-000000-older", "2020-01-01T00:00:00+00:00", 0.71)
    _earlier(demo_run, runs, "20200201-000000-old", "2020-02-01T00:00:00+00:00", 0.74, out_of_time_auc=0.69)
    set_latest(runs, run.name)
    data = tmp_path_factory.mktemp("timeline-data")
    demo_data(rows=400, seed=5).customers.to_csv(data / "batch.csv", index=False)
    reports = []
    for i, labels in enumerate((None, "churned")):
        done = score_dataset(run, data / "batch.csv", data / f"scores-{i}", labels=labels, runs_dir=runs)
        assert done.monitoring is not None
        reports.append(done.monitoring)
    return runs, run, reports


def test_the_timeline_shows_the_lineage_and_the_batches(monkeypatch: pytest.MonkeyPatch,
                                                        history: tuple[Path, Path, list[dict]]) -> None:
    runs, run, reports = history
    at = open_page(monkeypatch, runs, run, PAGE)
    assert_clean(at, "model timeline")
    assert any(s.value == "The model over time" for s in at.subheader)
    lineage = table_with(at, "Test AUC")
    assert lineage["Run"].tolist() == ["20200101-000000-older", "20200201-000000-old", f"{run.name} (this run)"]
    assert lineage["Test AUC"].tolist()[:2] == [0.71, 0.74]
    assert lineage["Out-of-time AUC"].tolist()[1] == 0.69

    batches = table_with(at, "Estimated AUC")
    assert len(batches) == 2 and batches["Customers"].tolist() == [400, 400]
    assert batches["Estimated AUC"].tolist() == pytest.approx([r["estimated"]["roc_auc"] for r in reports])
    assert batches["Realised AUC"].isna().tolist() == [True, False]
    assert batches["Realised AUC"].iloc[1] == pytest.approx(reports[1]["realised"]["roc_auc"])
    assert batches["Drifted features"].tolist() == [r["drift"]["drifted"] for r in reports]

    figure = plotly_figure(at, "model_timeline")
    traces = {t["name"]: t for t in figure["data"]}
    assert array(traces["Batch: estimated AUC"]["y"]) == pytest.approx([r["estimated"]["roc_auc"] for r in reports])
    assert array(traces["Batch: realised AUC"]["y"]) == pytest.approx([reports[1]["realised"]["roc_auc"]])
    assert len(array(traces["Run: held-out test AUC"]["y"])) == 3
    assert array(traces["Run: out-of-time AUC"]["y"]) == pytest.approx([0.69])


def test_without_history_the_page_says_how_to_get_there(monkeypatch: pytest.MonkeyPatch, demo_run: Path,
                                                        tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    run = Path(shutil.copytree(demo_run, runs / demo_run.name))
    at = open_page(monkeypatch, runs, run, PAGE)
    assert_clean(at, "no history")
    hint = [i.value for i in at.info if "insight score" in i.value]
    assert hint and "--labels" in hint[0] and run.name in hint[0]
    assert not [c for c in at.get("plotly_chart") if c.proto.id.endswith("model_timeline")]
