"""insight.report.survival: the report of a run trained with --duration has a "Time to churn" section with the
run's own held-out figures and both survival figures; a run without it has none (tests/report/test_build.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_build import parsed, visible

from insight import formatting as fmt
from insight.report.build import build_report
from insight.runs.run import open_run

pytestmark = pytest.mark.slow


def test_a_survival_run_reports_its_time_to_churn(telco_survival_run: Path) -> None:
    manifest = open_run(telco_survival_run).manifest
    page = parsed(build_report(telco_survival_run))
    ids = [attrs.get("id") for tag, attrs in page.tags if tag == "section"]
    assert ids[-1] == "survival" and "quality" in ids
    text = visible(page)
    test = manifest.survival_metrics["test"]
    assert "Time to churn" in text and "The survival model was not measured" not in text
    for model in ("survival", "cox"):
        assert fmt.score(test[model]["concordance"]) in text  # each model's own held-out concordance
    assert fmt.score(test["kaplan_meier"]["integrated_brier"]) in text
    assert "TotalCharges" in text and "Left out of the survival model" in text
    divs = {attrs.get("id") for tag, attrs in page.tags if tag == "div"}
    assert {"fig-survival-calibration", "fig-survival-segments"} <= divs
