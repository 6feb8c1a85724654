"""The Model page's "Time to churn" section on real survival runs (AppTest, no mocks): the survival model
against Cox PH and Kaplan-Meier on the held-out customers as the manifest records them, a verdict that names
the model that did better, calibration at each horizon, what the survival model left out (Telco's
TotalCharges), and nothing new for a run without --duration."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from appkit import array, open_page, plain, plotly_figure, table_with

from insight import formatting as fmt
from insight.runs import layout
from insight.runs.run import open_run
from runkit import runs_folder

PAGE = "pages/model.py"


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory, survival_run: Path, telco_survival_run: Path,
         demo_run: Path) -> Path:
    """A runs folder of this module's own: both survival runs and the demo run without --duration."""
    return runs_folder(tmp_path_factory.mktemp("model-survival-runs"), demo_run, telco_survival_run, survival_run, latest=survival_run)


def test_survival_model_against_the_baselines(monkeypatch: pytest.MonkeyPatch, runs: Path,
                                              survival_run: Path) -> None:
    manifest = open_run(survival_run).manifest
    measured = manifest.metrics["survival"]
    test, unit = measured["test"], manifest.survival["unit"]
    at = open_page(monkeypatch, runs, survival_run, PAGE)
    headings = [h.value for h in at.subheader]
    assert "Time to churn" in headings
    assert headings.index("Time to churn") < headings.index("The model over time")

    table = table_with(at, "Survival model").set_index("Measure")
    assert list(table.columns) == ["Survival model", "Cox PH", "Kaplan-Meier", "Better", "Best"]
    shown = {"survival": "Survival model", "cox": "Cox PH", "kaplan_meier": "Kaplan-Meier"}
    for model, column in shown.items():
        assert table.loc["Concordance (Uno's C)", column] == fmt.score(test[model]["concordance"])
        assert table.loc["Integrated Brier score", column] == fmt.score(test[model]["integrated_brier"])
    main = manifest.survival["main_horizon"]
    label = layout.horizon_label(main)
    assert table.loc[f"Calibration error within {fmt.duration(main, unit)}", "Survival model"] == fmt.pct(
        test["survival"][f"calibration_error_{label}"])
    ibs = {m: test[m]["integrated_brier"] for m in test}
    lowest = fmt.score(min(ibs.values()))
    tied = [fmt.score(v) for v in ibs.values()].count(lowest) > 1  # equal as shown: a tie
    best = "tie" if tied else shown[min(ibs, key=ibs.get)]
    assert table.loc["Integrated Brier score", "Best"] == best

    said = next(plain(m.value) for m in at.markdown if "customers by when they leave" in m.value)
    c_model, c_cox = test["survival"]["concordance"], test["cox"]["concordance"]
    if c_model > c_cox + 0.005:
        assert said.startswith("The survival model ranks customers by when they leave better than Cox PH")
    elif c_cox > c_model + 0.005:
        assert said.startswith("Cox PH ranks customers by when they leave better than the survival model")
    else:
        assert "rank customers by when they leave about equally well" in said
    assert f"{fmt.score(c_model)} vs {fmt.score(c_cox)}" in said
    assert "tenure" in next(plain(m.value) for m in at.markdown if m.value.startswith("Duration:"))

    figure = plotly_figure(at, "model_survival_calibration")
    titles = [a["text"] for a in figure["layout"]["annotations"]]
    assert titles == [f"Within {fmt.duration(h, unit)}" for h in manifest.survival["horizons"]]
    first = layout.horizon_label(manifest.survival["horizons"][0])
    trace = next(t for t in figure["data"] if t["name"] == "Survival model" and t.get("xaxis", "x") == "x")
    recorded = measured["calibration"]["survival"][first]["table"]
    np.testing.assert_allclose(array(trace["x"]), [r["predicted"] for r in recorded])
    np.testing.assert_allclose(array(trace["y"]), [r["observed"] for r in recorded])


def test_what_the_survival_model_left_out(monkeypatch: pytest.MonkeyPatch, runs: Path,
                                          telco_survival_run: Path) -> None:
    survival = open_run(telco_survival_run).manifest.survival
    at = open_page(monkeypatch, runs, telco_survival_run, PAGE)
    assert "Time to churn" in [h.value for h in at.subheader]
    assert "TotalCharges" in survival["left_out"]  # about tenure x monthly charges: it measures the duration
    left_out = table_with(at, "Why it was left out")
    assert left_out["Column"].tolist() == list(survival["left_out"])
    assert left_out["Why it was left out"].tolist() == list(survival["left_out"].values())
    assert "TotalCharges" not in survival["features"] and "tenure" not in survival["features"]


def test_a_run_without_duration_shows_nothing_new(monkeypatch: pytest.MonkeyPatch, runs: Path,
                                                  demo_run: Path) -> None:
    at = open_page(monkeypatch, runs, demo_run, PAGE)
    assert "Time to churn" not in [h.value for h in at.subheader]
    assert not any(c.proto.id.endswith("model_survival_calibration") for c in at.get("plotly_chart"))
    for column in ("Survival model", "Why it was left out"):
        with pytest.raises(AssertionError):
            table_with(at, column)
    assert not any(m.value.startswith("Duration:") for m in at.markdown)
