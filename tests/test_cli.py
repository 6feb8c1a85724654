"""insight.cli: the real `insight` command, in process (typer's CliRunner) and as a subprocess."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from insight.cli import app
from insight.runs.run import LATEST, MANIFEST

runner = CliRunner()


def invoke(*args: str):  # noqa: ANN201
    return runner.invoke(app, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture(scope="module")
def demo_csvs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("demo-data")
    result = invoke("demo-data", "--out", out, "--rows", "400", "--seed", "1")
    assert result.exit_code == 0, result.output
    return out


def test_demo_data_writes_both_csvs_keyed_by_customer_id(demo_csvs: Path) -> None:
    customers = pd.read_csv(demo_csvs / "customers.csv")
    truth = pd.read_csv(demo_csvs / "truth.csv")
    assert len(customers) == len(truth) == 400
    assert customers["customer_id"].is_unique
    assert customers["customer_id"].tolist() == truth["customer_id"].tolist()
    assert {"churned", "revenue_next_12m", "seat_change_next_12m"} <= set(customers.columns)
    assert {"segment", "churn_probability"} <= set(truth.columns)


def test_demo_data_rejects_too_few_rows(tmp_path: Path) -> None:
    result = invoke("demo-data", "--out", tmp_path / "d", "--rows", "10")
    assert result.exit_code == 2
    assert result.stderr.strip() == "error: --rows must be at least 100."
    assert not (tmp_path / "d").exists()


def _bad_inputs(demo_csvs: Path, tmp: Path) -> dict[str, tuple[list[str], str]]:
    customers = pd.read_csv(demo_csvs / "customers.csv")
    customers.assign(churned="No").to_csv(tmp / "one_class.csv", index=False)
    customers.head(0).to_csv(tmp / "header_only.csv", index=False)
    (tmp / "zero_bytes.csv").write_text("")
    customers.assign(region=["north", "south"] * 200).to_csv(tmp / "text_aux.csv", index=False)
    good = str(demo_csvs / "customers.csv")
    base = ["--id", "customer_id", "--target", "churned"]
    return {
        "missing file": ([str(tmp / "nope.csv"), *base], "no such file"),
        "unknown id column": ([good, "--id", "customerid", "--target", "churned"],
                              "id column 'customerid' is not in the table (did you mean 'customer_id'?)"),
        "absent target": ([good, "--id", "customer_id", "--target", "Churn"],
                          "target column 'Churn' is not in the table"),
        "one-class target": ([str(tmp / "one_class.csv"), *base], "one class only"),
        "empty table": ([str(tmp / "header_only.csv"), *base], "the table is empty"),
        "zero-byte file": ([str(tmp / "zero_bytes.csv"), *base], "could not be read as a table"),
        "non-numeric aux": ([str(tmp / "text_aux.csv"), *base, "--aux", "region"],
                            "aux target 'region' is not numeric"),
        "unknown extension": ([str(demo_csvs / "customers.xlsx"), *base], "unknown file type"),
    }


CASES = ["missing file", "unknown id column", "absent target", "one-class target", "empty table",
         "zero-byte file", "non-numeric aux", "unknown extension"]


@pytest.mark.parametrize("case", CASES)
def test_bad_input_exits_2_with_one_error_line(case: str, demo_csvs: Path, tmp_path: Path) -> None:
    if case == "unknown extension":
        (demo_csvs / "customers.xlsx").write_bytes(b"PK\x03\x04")
    args, words = _bad_inputs(demo_csvs, tmp_path)[case]
    runs = tmp_path / "runs"
    result = invoke("train", *args, "--runs-dir", runs)
    assert result.exit_code == 2, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr  # nothing but the error: no traceback, no half-drawn progress bar
    assert lines[0].startswith("error: ") and words in lines[0]
    assert result.stdout == ""
    assert not runs.exists() or not any(runs.iterdir())


def console_script() -> str:
    """The `insight` script of the environment running the tests (it need not be on PATH)."""
    beside = Path(sys.executable).parent / "insight"
    found = str(beside) if beside.exists() else shutil.which("insight")
    assert found, "the `insight` console script is not installed (pip install -e .)"
    return found


def test_bad_input_as_a_real_process(tmp_path: Path) -> None:
    """The console script's exit status and stderr, as a shell or CI sees them."""
    runs = tmp_path / "runs"
    insight = console_script()
    proc = subprocess.run([insight, "train", str(tmp_path / "absent.csv"), "--id", "customer_id", "--target",
                           "churned", "--runs-dir", str(runs)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        f"error: {tmp_path / 'absent.csv'}: no such file. Check the path, or create demo data with "
        "`insight demo-data --out DIR`."]
    assert not runs.exists()


def test_console_script_demo_data(tmp_path: Path) -> None:
    insight = console_script()
    proc = subprocess.run([insight, "demo-data", "--out", str(tmp_path), "--rows", "150"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "150 customers" in proc.stdout
    assert (tmp_path / "customers.csv").exists() and (tmp_path / "truth.csv").exists()


@pytest.fixture
def runs_copy(demo_run: Path, tmp_path: Path) -> Path:
    """A private copy of the session's demo run (tampering with the shared one would break other tests)."""
    runs = tmp_path / "runs"
    runs.mkdir()
    shutil.copytree(demo_run, runs / demo_run.name)
    (runs / LATEST).write_text(demo_run.name + "\n")
    return runs


def test_runs_verify_good_and_tampered(runs_copy: Path) -> None:
    run = next(p for p in runs_copy.iterdir() if p.is_dir())
    result = invoke("runs", "verify", "--runs-dir", runs_copy)
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == f"OK {run.name}: every file matches its checksum"
    assert invoke("runs", "verify", run.name[:15], "--runs-dir", runs_copy).exit_code == 0

    data = bytearray((run / "shap.parquet").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (run / "shap.parquet").write_bytes(bytes(data))
    result = invoke("runs", "verify", "latest", "--runs-dir", runs_copy)
    assert result.exit_code == 1
    assert f"FAIL {run.name}: shap.parquet: checksum does not match" in result.stderr


def test_runs_verify_edited_manifest(runs_copy: Path) -> None:
    import json

    run = next(p for p in runs_copy.iterdir() if p.is_dir())
    manifest = json.loads((run / MANIFEST).read_text())
    manifest["metrics"]["lightgbm"]["test"]["roc_auc"] = 0.999
    (run / MANIFEST).write_text(json.dumps(manifest))
    result = invoke("runs", "verify", "--runs-dir", runs_copy)
    assert result.exit_code == 1 and "manifest" in result.stderr


def test_runs_verify_unknown_run(tmp_path: Path) -> None:
    result = invoke("runs", "verify", "nothing-here", "--runs-dir", tmp_path)
    assert result.exit_code == 1
    assert result.stderr.startswith("error: no run")


def test_runs_list(runs_copy: Path, demo_run: Path) -> None:
    result = invoke("runs", "list", "--runs-dir", runs_copy)
    assert result.exit_code == 0
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"* {demo_run.name}  demo.csv  1,500 rows  ROC AUC 0.")


def test_runs_list_when_empty(tmp_path: Path) -> None:
    result = invoke("runs", "list", "--runs-dir", tmp_path / "none")
    assert result.exit_code == 0 and "no runs in" in result.stdout


def test_help_lists_the_commands() -> None:
    result = invoke("--help")
    assert result.exit_code == 0
    for command in ("demo-data", "train", "demo", "runs", "serve"):
        assert command in result.stdout


def test_train_takes_an_aux_target_also_kept_as_a_feature(demo_csvs: Path, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    import insight.pipeline

    specs = []

    def fake_train(frame, spec, config, **kw):  # noqa: ANN001, ANN003, ANN202
        specs.append(spec)
        return tmp_path / "run-1"

    monkeypatch.setattr(insight.pipeline, "train", fake_train)
    result = invoke("train", demo_csvs / "customers.csv", "--id", "customer_id", "--target", "churned",
                    "--aux", "seats", "--aux", "revenue_next_12m", "--keep", "seats", "--runs-dir", tmp_path)
    assert result.exit_code == 0, result.output
    assert (specs[0].aux_targets, specs[0].keep) == (("seats", "revenue_next_12m"), ("seats",))


def test_evaluate_takes_an_aux_target_also_kept_as_a_feature(demo_csvs: Path, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """The spec reaches cross_validate (tests/test_evaluate.py runs it for real on such a spec)."""
    import json

    import insight.models.evaluate

    specs = []

    def fake_cross_validate(frame, spec, config, *, folds, progress):  # noqa: ANN001, ANN202
        specs.append(spec)
        score = {"mean": 0.8, "std": 0.01, "pooled": 0.8}
        return {"models": {m: dict.fromkeys(insight.models.evaluate.METRICS, score) for m in insight.models.evaluate.MODELS},
                "rows": len(frame), "folds": folds, "seed": config.seed, "per_fold": []}

    monkeypatch.setattr(insight.models.evaluate, "cross_validate", fake_cross_validate)
    out = tmp_path / "eval.json"
    result = invoke("evaluate", demo_csvs / "customers.csv", "--id", "customer_id", "--target", "churned",
                    "--aux", "seats", "--aux", "revenue_next_12m", "--keep", "seats", "--folds", "2", "--json", out)
    assert result.exit_code == 0, result.output
    assert (specs[0].aux_targets, specs[0].keep) == (("seats", "revenue_next_12m"), ("seats",))
    assert json.loads(out.read_text())["folds"] == 2
