"""The Model page on real runs (AppTest, no mocks): the threshold's confusion matrix, the segment selector,
the three models side by side and the auxiliary heads, each checked against scikit-learn on the run's own
stored test customers."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from appkit import assert_clean, metric, new_app, table_with
from sklearn.metrics import (
    average_precision_score,
    brier_score_loss,
    confusion_matrix,
    log_loss,
    precision_score,
    recall_score,
    roc_auc_score,
)
from streamlit.testing.v1 import AppTest

from insight.formatting import label
from insight.models.metrics import expected_calibration_error
from insight.runs.run import MANIFEST_DIGEST, RunWriter, set_latest
from insight import formatting as fmt

PAGE = "pages/model.py"
MODELS = {"churn_probability": "LightGBM (the model of record)",
          "mt_churn_probability": "Multi-task network, churn head",
          "logistic_churn_probability": "Logistic regression (baseline)"}


@pytest.fixture(scope="module")
def model_runs(tmp_path_factory: pytest.TempPathFactory, demo_run: Path, telco_run: Path) -> Path:
    """A runs folder holding copies of both runs; LATEST points at the Telco run."""
    runs = tmp_path_factory.mktemp("model-runs")
    for run in (demo_run, telco_run):
        shutil.copytree(run, runs / run.name)
    set_latest(runs, telco_run.name)
    return runs


def open_page(monkeypatch: pytest.MonkeyPatch, runs_dir: Path, run: Path) -> AppTest:
    at = new_app(monkeypatch, runs_dir)
    at.query_params["run"] = run.name
    at.run()
    at.switch_page(PAGE).run()
    assert_clean(at, "model page")
    return at


def has_table_with(at: AppTest, column: str) -> bool:
    return any(column in df.value.columns for df in at.dataframe)


def plotly_figures(at: AppTest) -> list[dict[str, Any]]:
    return [json.loads(c.proto.spec) for c in at.get("plotly_chart")]


def held_out(run: Path) -> pd.DataFrame:
    """The run's held-out test customers with a known label, read straight from customers.parquet."""
    manifest = json.loads((run / "manifest.json").read_text())
    target = manifest["spec"]["target"]
    frame = pd.read_parquet(run / "customers.parquet")
    rows = frame[(frame["split"] == "test") & frame[target].notna()].copy()
    rows["y"] = rows[target].astype(float)
    return rows


def sklearn_scores(y: np.ndarray, p: np.ndarray) -> dict[str, float]:
    q = np.clip(p, 1e-7, 1 - 1e-7)
    return {"ROC AUC": roc_auc_score(y, p), "PR AUC": average_precision_score(y, p),
            "Log loss": log_loss(y, q, labels=[0, 1]), "Brier": brier_score_loss(y, q),
            "ECE": expected_calibration_error(y, q)}


def expected_confusion(y: np.ndarray, p: np.ndarray, threshold: float) -> pd.DataFrame:
    tn, fp, fn, tp = confusion_matrix(y, (p >= threshold).astype(int), labels=[0, 1]).ravel()
    return pd.DataFrame({"What happened": ["Churned", "Stayed", "All"], "Flagged": [tp, fp, tp + fp],
                         "Not flagged": [fn, tn, fn + tn], "All": [tp + fn, fp + tn, len(y)]})


def assert_confusion(at: AppTest, y: np.ndarray, p: np.ndarray, threshold: float) -> None:
    shown = table_with(at, "Flagged").reset_index(drop=True)
    expected = expected_confusion(y, p, threshold)
    assert shown["What happened"].tolist() == expected["What happened"].tolist()
    for col in ("Flagged", "Not flagged", "All"):
        assert shown[col].astype(int).tolist() == expected[col].astype(int).tolist(), col
    flagged = (p >= threshold).astype(int)
    assert metric(at, "Precision") == fmt.pct(precision_score(y, flagged, zero_division=np.nan))
    assert metric(at, "Recall") == fmt.pct(recall_score(y, flagged, zero_division=np.nan))
    assert metric(at, "Share flagged") == fmt.pct(flagged.mean())


def test_the_three_models_match_the_stored_test_probabilities(monkeypatch: pytest.MonkeyPatch,
                                                              model_runs: Path, telco_run: Path) -> None:
    at = open_page(monkeypatch, model_runs, telco_run)
    manifest = json.loads((telco_run / "manifest.json").read_text())
    metrics = manifest["metrics"]
    rows = held_out(telco_run)
    y = rows["y"].to_numpy()
    assert metric(at, "ROC AUC") == fmt.score(metrics["lightgbm"]["test"]["roc_auc"])
    assert metric(at, "Test customers") == fmt.count(len(rows)) == fmt.count(metrics["lightgbm"]["test"]["n"])

    table = table_with(at, "Model").set_index("Model")
    assert table.index.tolist() == list(MODELS.values())
    threshold = at.slider(key="model_threshold").value / 100
    for column, name in MODELS.items():
        p = rows[column].to_numpy(dtype=float)
        for score, value in sklearn_scores(y, p).items():
            assert table.loc[name, score] == pytest.approx(value, rel=1e-9, abs=1e-12), (name, score)
        assert table.loc[name, "Recall"] == pytest.approx(recall_score(y, p >= threshold))
        assert table.loc[name, "Customers"] == len(rows)
    # the same held-out figures as the manifest records for each model
    recorded = {MODELS["churn_probability"]: metrics["lightgbm"]["test"],
                MODELS["mt_churn_probability"]: metrics["multitask"]["Churn"],
                MODELS["logistic_churn_probability"]: metrics["logistic"]["test"]}
    for name, m in recorded.items():
        assert table.loc[name, "ROC AUC"] == pytest.approx(m["roc_auc"])
        assert table.loc[name, "Brier"] == pytest.approx(m["brier"])
        assert table.loc[name, "ECE"] == pytest.approx(m["ece"])
    # one ROC comparison chart with a curve per model
    compare = [f for f in plotly_figures(at)
               if f["layout"]["title"]["text"].startswith("ROC curves of the models")]
    assert len(compare) == 1
    names = [t.get("name", "") for t in compare[0]["data"]]
    for name in MODELS.values():
        assert any(n.startswith(name) for n in names), names


def test_auxiliary_heads_against_the_training_mean(monkeypatch: pytest.MonkeyPatch, model_runs: Path,
                                                   telco_run: Path) -> None:
    at = open_page(monkeypatch, model_runs, telco_run)
    heads = json.loads((telco_run / "manifest.json").read_text())["metrics"]["multitask"]
    table = table_with(at, "Beats the training mean").set_index("Target")
    assert table.index.tolist() == [label("tenure"), label("MonthlyCharges")]
    for (_, row), name in zip(table.iterrows(), ("tenure", "MonthlyCharges"), strict=True):
        m = heads[name]
        assert row["Measure"] == "R²"
        assert row["Head"] == pytest.approx(m["r2"])
        assert row["Training mean"] == pytest.approx(m["r2_of_train_mean"])
        assert row["Beats the training mean"] == ("yes" if m["r2"] > m["r2_of_train_mean"] else "no")
        assert m["beats_train_mean"] == (m["r2"] > m["r2_of_train_mean"])  # recorded in the manifest too
        assert row["Customers"] == m["n"]
    assert (table["Beats the training mean"] == "yes").all()  # both heads learn something real


def test_moving_the_threshold_changes_the_confusion_matrix(monkeypatch: pytest.MonkeyPatch, model_runs: Path,
                                                           demo_run: Path) -> None:
    at = open_page(monkeypatch, model_runs, demo_run)
    rows = held_out(demo_run)
    y, p = rows["y"].to_numpy(), rows["churn_probability"].to_numpy(dtype=float)
    slider = at.slider(key="model_threshold")
    churn_rate = json.loads((demo_run / "manifest.json").read_text())["churn_rate"]
    assert slider.value == round(100 * churn_rate)  # starts at the overall churn rate
    assert_confusion(at, y, p, slider.value / 100)
    before = table_with(at, "Flagged")["Flagged"].tolist()

    for cut in (10, 55, 90):
        at.slider(key="model_threshold").set_value(cut).run()
        assert_clean(at, f"threshold {cut}")
        assert_confusion(at, y, p, cut / 100)
        table = table_with(at, "Model").set_index("Model")
        for column, name in MODELS.items():
            flagged = rows[column].to_numpy(dtype=float) >= cut / 100
            assert table.loc[name, "Share flagged"] == pytest.approx(flagged.mean())
    assert table_with(at, "Flagged")["Flagged"].tolist() != before


def test_the_segment_selector_restricts_everything_to_that_segment(monkeypatch: pytest.MonkeyPatch,
                                                                   model_runs: Path, demo_run: Path) -> None:
    at = open_page(monkeypatch, model_runs, demo_run)
    rows = held_out(demo_run)
    segments = json.loads((demo_run / "segments.json").read_text())["segments"]
    counts = rows["segment_id"].value_counts()
    chosen = next(s for s in sorted(segments, key=lambda s: -counts.get(s["id"], 0))
                  if 0 < rows.loc[rows["segment_id"] == s["id"], "y"].sum() < counts.get(s["id"], 0))
    assert counts[chosen["id"]] < len(rows)
    scope = at.selectbox(key="model_scope")
    assert scope.value is None and len(scope.options) == len(segments) + 1
    assert any(chosen["name"] in o for o in scope.options)

    scope.set_value(chosen["id"]).run()
    assert_clean(at, f"segment {chosen['name']}")
    part = rows[rows["segment_id"] == chosen["id"]]
    y = part["y"].to_numpy()
    assert metric(at, "Test customers") == fmt.count(len(part))
    assert metric(at, "ROC AUC") == fmt.score(roc_auc_score(y, part["churn_probability"]))
    assert metric(at, "Brier score") == fmt.score(brier_score_loss(y, part["churn_probability"]))
    at.slider(key="model_threshold").set_value(35).run()
    assert_confusion(at, y, part["churn_probability"].to_numpy(dtype=float), 0.35)
    table = table_with(at, "Model").set_index("Model")
    for column, name in MODELS.items():
        assert table.loc[name, "Customers"] == len(part)
        assert table.loc[name, "ROC AUC"] == pytest.approx(roc_auc_score(y, part[column]))
    heads = table_with(at, "Beats the training mean")
    assert (heads["Customers"] <= len(part)).all()
    roc = next(f for f in plotly_figures(at) if f["layout"]["title"]["text"] == "ROC curve")
    assert f"AUC {roc_auc_score(y, part['churn_probability']):.3f}" in roc["data"][1]["name"]

    at.selectbox(key="model_scope").set_value(None).run()
    assert_clean(at, "back to all")
    assert metric(at, "Test customers") == fmt.count(len(rows))


def rewritten_run(source: Path, runs_dir: Path, customers: pd.DataFrame) -> Path:
    """A copy of `source` with another customers table, written and checksummed like any run."""
    manifest = json.loads((source / "manifest.json").read_text())
    with RunWriter(runs_dir, f"{source.name}-edited") as writer:
        for file in source.iterdir():
            if file.name not in ("manifest.json", "customers.parquet"):
                writer.write_bytes(file.name, file.read_bytes())
        writer.write_parquet("customers.parquet", customers)
        body = {k: v for k, v in manifest.items() if k not in ("schema_version", "run_id", "files",
                                                                 MANIFEST_DIGEST)}
        return writer.commit(body)


def test_one_class_segments_empty_segments_and_older_runs(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                          demo_run: Path) -> None:
    """A segment whose test customers all stayed, one without test customers, and a run that does not store
    the logistic baseline's probabilities: each is said in words, without an error."""
    frame = pd.read_parquet(demo_run / "customers.parquet")
    target = json.loads((demo_run / "manifest.json").read_text())["spec"]["target"]
    test = frame["split"] == "test"
    ids = frame.loc[test, "segment_id"].value_counts().index
    stayed, emptied = int(ids[0]), int(ids[1])
    frame.loc[test & (frame["segment_id"] == emptied), "segment_id"] = stayed
    frame.loc[test & (frame["segment_id"] == stayed), target] = 0.0
    run = rewritten_run(demo_run, tmp_path / "runs", frame.drop(columns=["logistic_churn_probability"]))

    at = open_page(monkeypatch, tmp_path / "runs", run)
    table = table_with(at, "Model")
    assert table["Model"].tolist() == [MODELS["churn_probability"], MODELS["mt_churn_probability"]]
    assert any("Logistic regression (baseline)" in c.value and "older run" in c.value for c in at.caption)

    at.selectbox(key="model_scope").set_value(stayed).run()
    assert_clean(at, "one-class segment")
    part = frame[test & (frame["segment_id"] == stayed)]
    assert any("stayed" in i.value and "need churners and stayers" in i.value for i in at.info)
    assert metric(at, "ROC AUC") == fmt.DASH
    assert metric(at, "Test customers") == fmt.count(len(part))
    at.slider(key="model_threshold").set_value(20).run()
    assert_clean(at, "one-class segment, threshold")
    confusion = table_with(at, "Flagged")
    flagged = int((part["churn_probability"] >= 0.2).sum())
    assert confusion["Flagged"].tolist() == [0, flagged, flagged]
    assert metric(at, "Recall") == fmt.DASH and metric(at, "Precision") == fmt.pct(0.0 if flagged else np.nan)
    assert not [f for f in plotly_figures(at) if f["layout"]["title"]["text"] == "ROC curve"]

    at.selectbox(key="model_scope").set_value(emptied).run()
    assert_clean(at, "segment without test customers")
    assert any("No held-out test customer" in i.value for i in at.info)
    assert not has_table_with(at, "Flagged")


def test_the_metrics_are_measured_once_per_run_and_scope(monkeypatch: pytest.MonkeyPatch, model_runs: Path,
                                                          demo_run: Path) -> None:
    """Moving the threshold or rerunning the page does not measure the models again (the run facade caches
    what insight.models.quality computes, per run and scope)."""
    import insight.models.quality as quality

    measured = []
    real = quality.binary_metrics

    def counted(y: np.ndarray, p: np.ndarray) -> dict[str, float]:
        measured.append(len(y))
        return real(y, p)

    monkeypatch.setattr(quality, "binary_metrics", counted)
    at = open_page(monkeypatch, model_runs, demo_run)
    first = len(measured)
    at.slider(key="model_threshold").set_value(45).run()
    at.run()
    assert_clean(at, "model page, threshold 45 %")
    assert metric(at, "Precision")  # the threshold's figures are shown...
    assert len(measured) == first  # ...without measuring the models again
