"""The Model page's "Whom the offer moves" section on a real uplift run (AppTest, no mocks): the held-out Qini
and AUUC of the uplift model, the risk ranking and random as the manifest records them, a verdict that names
the better ranking, the Qini curve, the learners tried; nothing new for a run without --treatment."""

from __future__ import annotations

from pathlib import Path

import pytest
from appkit import array, open_page, plain, plotly_figure, table_with

from insight import formatting as fmt
from insight.runs.run import open_run
from runkit import runs_folder

PAGE = "pages/model.py"
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory, uplift_run: Path, demo_run: Path) -> Path:
    return runs_folder(tmp_path_factory.mktemp("model-uplift-runs"), demo_run, uplift_run, latest=uplift_run)


def test_the_uplift_model_against_risk_and_random(monkeypatch: pytest.MonkeyPatch, runs: Path,
                                                 uplift_run: Path) -> None:
    manifest = open_run(uplift_run).manifest
    test = manifest.uplift_metrics["test"]
    at = open_page(monkeypatch, runs, uplift_run, PAGE)
    assert "Whom the offer moves" in [h.value for h in at.subheader]
    table = table_with(at, "Qini coefficient").set_index("Ranking")
    assert table.loc["Uplift model", "Qini coefficient"] == fmt.score(test["scores"]["model"]["qini"])
    assert table.loc["By churn risk", "AUUC"] == fmt.score(test["scores"]["risk"]["auuc"])
    said = next(plain(m.value) for m in at.markdown if plain(m.value).startswith("Targeting"))
    model, risk = test["scores"]["model"]["qini"], test["scores"]["risk"]["qini"]
    if model > risk + 0.005:
        assert said.startswith("Targeting by the uplift model prevents more churn")
    elif risk > model + 0.005:
        assert said.startswith("Targeting the riskiest customers prevents more churn")
    else:
        assert "about as much churn" in said
    figure = plotly_figure(at, "model_uplift_qini")
    names = [t["name"] for t in figure["data"]]
    assert names[:3] == ["Uplift model", "By churn risk", "Random"]
    assert list(array(figure["data"][0]["y"])) == pytest.approx(test["curves"]["qini"]["model"])
    learners = table_with(at, "Learner")
    assert (learners["Chosen"] == "yes").sum() == 1
    assert "retention_offer" in next(plain(m.value) for m in at.markdown if m.value.startswith("Campaign:"))


def test_a_run_without_treatment_shows_no_uplift(monkeypatch: pytest.MonkeyPatch, runs: Path, demo_run: Path) -> None:
    at = open_page(monkeypatch, runs, demo_run, PAGE)
    assert "Whom the offer moves" not in [h.value for h in at.subheader]
    assert not any(c.proto.id.endswith("model_uplift_qini") for c in at.get("plotly_chart"))
