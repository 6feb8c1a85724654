"""--duration and its options on `insight train` and `insight evaluate` (insight.commands.common.survival_options,
insight.commands.evaluate): cross-validation of the survival models, and clear exits on bad options."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from insight.cli import app
from insight.data.demo_survival import demo_survival_data

runner = CliRunner()
DEMO = ["--id", "customer_id", "--target", "churned", "--aux", "revenue_next_12m", "--aux", "seat_change_next_12m"]


def _invoke(*args: object):  # noqa: ANN202
    return runner.invoke(app, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture(scope="module")
def survival_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("survival-csv") / "customers.csv"
    demo_survival_data(rows=900, seed=3).customers.to_csv(path, index=False)
    return path


@pytest.mark.slow
def test_evaluate_duration_cross_validates_the_three_models(survival_csv: Path, tmp_path: Path) -> None:
    out = tmp_path / "cv.json"
    result = _invoke("evaluate", survival_csv, *DEMO, "--duration", "tenure_months", "--folds", 3, "--json", out)
    assert result.exit_code == 0, result.output
    cv = json.loads(out.read_text())
    assert set(cv["models"]) == {"survival", "cox", "kaplan_meier"}
    for model in cv["models"].values():
        for metric in ("concordance", "integrated_brier"):
            assert set(model[metric]) == {"mean", "std"}
    assert cv["models"]["survival"]["concordance"]["mean"] > 0.65  # planted segments leave at different times
    assert cv["models"]["kaplan_meier"]["concordance"]["mean"] == pytest.approx(0.5)
    assert cv["models"]["survival"]["integrated_brier"]["mean"] < cv["models"]["kaplan_meier"]["integrated_brier"]["mean"]
    assert cv["survival"]["unit"] == "months" and cv["horizons"] == [1.0, 3.0, 12.0]
    assert len(cv["per_fold"]["survival"]) == 3
    assert "survival" in result.output and "cox" in result.output


@pytest.mark.parametrize(("args", "message"), [
    (["--duration-unit", "days"], "needs --duration"),
    (["--horizons", "1,3"], "needs --duration"),
    (["--duration", "tenure_months", "--duration-unit", "fortnights"], "is not a unit"),
    (["--duration", "tenure_months", "--horizons", "1,x"], "comma-separated list of numbers"),
    (["--duration", "tenure_months", "--horizons", "0,3"], "positive numbers"),
    (["--duration", "no_such_column"], "is not a column of the table"),
    (["--duration", "churned"], "is a target"),
    (["--duration", "tenure_months", "--time", "signup_date"], "not supported yet"),
])
@pytest.mark.parametrize("command", ["train", "evaluate"])
def test_bad_survival_options_exit_2_and_write_nothing(command: str, args: list[str], message: str,
                                                     survival_csv: Path, tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    extra = ["--runs-dir", runs] if command == "train" else ["--json", tmp_path / "cv.json"]
    result = _invoke(command, survival_csv, *DEMO, *args, *extra)
    assert result.exit_code == 2, result.output
    assert message in " ".join(result.output.split())
    assert not (tmp_path / "cv.json").exists()
    assert not runs.exists() or not any(runs.iterdir())


def test_a_negative_duration_is_named(survival_csv: Path, tmp_path: Path) -> None:
    import pandas as pd

    frame = pd.read_csv(survival_csv)
    frame.loc[:4, "tenure_months"] = -1
    bad = tmp_path / "bad.csv"
    frame.to_csv(bad, index=False)
    result = _invoke("train", bad, *DEMO, "--duration", "tenure_months", "--runs-dir", tmp_path / "runs")
    assert result.exit_code == 2
    assert "5 negative values" in " ".join(result.output.split())


@pytest.mark.slow
def test_demo_survival_trains_a_run_with_time_to_churn(tmp_path: Path) -> None:
    result = _invoke("demo", "--survival", "--no-serve", "--rows", 800, "--runs-dir", tmp_path / "runs",
                     "--data-dir", tmp_path / "data")
    assert result.exit_code == 0, result.output
    run = tmp_path / "runs" / result.output.strip().splitlines()[-1]
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["survival"]["duration_column"] == "tenure_months"
    assert manifest["spec"]["duration_column"] == "tenure_months"
    assert (tmp_path / "data" / "truth.csv").exists()


@pytest.mark.slow
def test_runs_list_names_the_time_to_churn_concordance(survival_run: Path) -> None:
    result = _invoke("runs", "list", "--runs-dir", survival_run.parent)
    manifest = json.loads((survival_run / "manifest.json").read_text())
    c = manifest["metrics"]["survival"]["test"]["survival"]["concordance"]
    assert f"time to churn C {c:.3f} (tenure_months)" in result.stdout
