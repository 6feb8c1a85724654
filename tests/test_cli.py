"""insight.cli: the real `insight` command, in process (typer's CliRunner) and as a subprocess."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
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
    header, _, body = (demo_csvs / "customers.csv").read_text().partition("\n")
    (tmp / "repeated.csv").write_text(header.replace("discount_pct", "seats") + "\n" + body)
    customers.rename(columns={"discount_pct": "risk_band"}).to_csv(tmp / "output_name.csv", index=False)
    customers.assign(customer_id=[[i] for i in range(len(customers))]).to_parquet(tmp / "list_id.parquet")
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
        "excel workbook": ([str(demo_csvs / "customers.xlsx"), *base], "is an Excel (or OpenDocument) workbook; "
                                                                       "insight reads CSV or Parquet files. Export"),
        "repeated column": ([str(tmp / "repeated.csv"), *base], "column 'seats' appears 2 times (columns 6, 8)"),
        "unknown --exclude": ([good, *base, "--exclude", "seets"], "--exclude column 'seets' is not in the table "
                                                                   "(did you mean 'seats'?)"),
        "output column name": ([str(tmp / "output_name.csv"), *base], "column 'risk_band' has the name of a "
                                                                      "column the run writes itself"),
        "list id column": ([str(tmp / "list_id.parquet"), *base], "id column 'customer_id' cannot be used: it "
                                                                  "holds lists or structures"),
    }


CASES = ["missing file", "unknown id column", "absent target", "one-class target", "empty table",
         "zero-byte file", "non-numeric aux", "excel workbook", "repeated column", "unknown --exclude",
         "output column name", "list id column"]


@pytest.mark.parametrize("case", CASES)
def test_bad_input_exits_2_with_one_error_line(case: str, demo_csvs: Path, tmp_path: Path) -> None:
    if case == "excel workbook":
        (demo_csvs / "customers.xlsx").write_bytes(b"PK\x03\x04")
    args, words = _bad_inputs(demo_csvs, tmp_path)[case]
    runs = tmp_path / "runs"
    result = invoke("train", *args, "--runs-dir", runs)
    assert result.exit_code == 2, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    if case == "list id column":  # the reader's warning that it left the column out comes first
        lines = lines[-1:]
    assert len(lines) == 1, result.stderr  # nothing but the error: no traceback, no half-drawn progress bar
    assert lines[0].startswith("error: ") and words in lines[0]
    assert result.stdout == ""
    assert not runs.exists() or not any(runs.iterdir())


@pytest.mark.parametrize(("folds", "words"), [("500", "--folds 500 is more than the 400 labelled customers"),
                                              ("150", "churners in 'churned' (the smaller class): each fold needs")])
def test_evaluate_refuses_more_folds_than_rows_or_minority_customers(demo_csvs: Path, folds: str,
                                                                     words: str) -> None:
    result = invoke("evaluate", demo_csvs / "customers.csv", "--id", "customer_id", "--target", "churned",
                    "--folds", folds)
    assert result.exit_code == 2 and words in result.stderr, result.output
    assert result.stderr.count("error:") == 1 and "Traceback" not in result.output


def test_train_reads_a_utf16_semicolon_file_with_names_lightgbm_refuses_and_infinities(
        demo_csvs: Path, tmp_path: Path) -> None:
    """A UTF-16 export with `;` between the values, column names with quotes, braces, colons, commas and a
    newline, and inf / 1e308 in a numeric column: trains, keeps the original names, and verifies."""
    odd = {"monthly_fee": 'fee "EUR"', "plan": "plan{tier}", "seats": "seats:[n]",
           "support_tickets_90d": "tickets,\nlast 90d"}
    customers = pd.read_csv(demo_csvs / "customers.csv").rename(columns=odd)
    customers["seats:[n]"] = customers["seats:[n]"].astype(float)
    customers.loc[[3, 4, 5], "seats:[n]"] = [float("inf"), 1e308, float("-inf")]
    customers.to_csv(tmp_path / "export.csv", sep=";", index=False, encoding="utf-16")
    runs = tmp_path / "runs"
    result = invoke("train", tmp_path / "export.csv", "--id", "customer_id", "--target", "churned",
                    "--actionable", "plan{tier}", "--runs-dir", runs)
    assert result.exit_code == 0, result.output
    run = runs / result.stdout.strip()
    assert invoke("runs", "verify", run.name, "--runs-dir", runs).exit_code == 0
    shap = pd.read_parquet(run / "shap.parquet")
    stored = pd.read_parquet(run / "customers.parquet").set_index("customer_id")
    assert set(odd.values()) <= set(shap.columns) and set(odd.values()) <= set(stored.columns)
    ids = customers["customer_id"].iloc[[3, 4, 5]]
    assert stored.loc[ids, "seats:[n]"].isna().all() and stored["churn_probability"].notna().all()


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


# ---------------------------------------------------------------------- serve: safe by default (issue 14)

SIGNIN_ENV = ("INSIGHT_ANALYSTS", "INSIGHT_VIEWERS", "INSIGHT_EXPORTS")
AUTH_TOML = """[auth]
redirect_uri = "http://127.0.0.1:{port}/oauth2callback"
cookie_secret = "a-long-random-secret-for-the-cookie"
client_id = "dashboard"
client_secret = "secret"
server_metadata_url = "http://127.0.0.1:1/.well-known/openid-configuration"
"""


@pytest.fixture
def no_signin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """A home and working folder without secrets files and no allow-lists in the environment: the env of a
    user who has configured nothing."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(tmp_path)
    for name in SIGNIN_ENV:
        monkeypatch.delenv(name, raising=False)
    return {k: v for k, v in os.environ.items() if k not in SIGNIN_ENV}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _stop_group(process: subprocess.Popen[str]) -> None:
    """Stop `insight serve` and its Streamlit child (started in their own process group)."""
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=15)
    except ProcessLookupError:
        pass
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=15)


def test_serve_with_no_options_listens_on_loopback_only(tmp_path: Path, no_signin: dict[str, str]) -> None:
    import psutil

    port = _free_port()
    log = tmp_path / "serve.log"
    with log.open("w") as out:
        process = subprocess.Popen([console_script(), "serve", "--port", str(port)], cwd=tmp_path,
                                   env=no_signin, stdout=out, stderr=subprocess.STDOUT, text=True,
                                   start_new_session=True)
    try:
        deadline = time.monotonic() + 90
        while True:
            assert process.poll() is None, f"insight serve exited {process.returncode}: {log.read_text()}"
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as response:
                    if response.status == 200:
                        break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            assert time.monotonic() < deadline, f"no answer within 90 s: {log.read_text()}"
            time.sleep(0.25)
        tree = [psutil.Process(process.pid), *psutil.Process(process.pid).children(recursive=True)]
        listening = [c.laddr for p in tree for c in p.net_connections(kind="inet")
                     if c.status == psutil.CONN_LISTEN]
        assert (("127.0.0.1", port)) in [(a.ip, a.port) for a in listening]
        assert {a.ip for a in listening} == {"127.0.0.1"}, listening
        assert f"dashboard: http://127.0.0.1:{port}" in log.read_text().splitlines()
    finally:
        _stop_group(process)


@pytest.mark.parametrize("option", ["--host", "--address"])
def test_serve_beyond_loopback_without_signin_is_refused(option: str, no_signin: dict[str, str]) -> None:
    result = runner.invoke(app, ["serve", option, "0.0.0.0"], catch_exceptions=False)
    assert result.exit_code == 2
    message = result.output
    assert message.startswith("error: refusing to serve on 0.0.0.0 without sign-in")
    for advice in ("[auth]", "--secrets", "INSIGHT_ANALYSTS", "README", "--no-auth"):
        assert advice in message


def test_demo_refuses_an_unsafe_host_before_training(no_signin: dict[str, str], tmp_path: Path) -> None:
    result = runner.invoke(app, ["demo", "--host", "0.0.0.0", "--runs-dir", str(tmp_path / "runs"),
                                 "--data-dir", str(tmp_path / "data")], catch_exceptions=False)
    assert result.exit_code == 2 and "refusing to serve on 0.0.0.0" in result.output
    assert not (tmp_path / "data").exists() and not (tmp_path / "runs").exists()


def test_serve_with_bad_signin_settings_is_refused(no_signin: dict[str, str], tmp_path: Path) -> None:
    missing = runner.invoke(app, ["serve", "--secrets", str(tmp_path / "absent.toml")])
    assert missing.exit_code == 2 and "absent.toml does not exist" in missing.output
    partial = tmp_path / "partial.toml"
    partial.write_text('[auth]\nclient_id = "x"\n')
    result = runner.invoke(app, ["serve", "--host", "0.0.0.0", "--secrets", str(partial)])
    assert result.exit_code == 2 and "incomplete" in result.output and "no client_secret" in result.output
    nobody = tmp_path / "nobody.toml"
    nobody.write_text(AUTH_TOML.format(port=8501))
    result = runner.invoke(app, ["serve", "--host", "0.0.0.0", "--secrets", str(nobody)])
    assert result.exit_code == 2 and "nobody may come in" in result.output


def test_serve_no_auth_warns_loudly(no_signin: dict[str, str], tmp_path: Path) -> None:
    """The warning comes before the server starts; the process is stopped once it has printed its URL."""
    port = _free_port()
    command = [console_script(), "serve", "--host", "0.0.0.0", "--no-auth", "--port", str(port), "--runs-dir",
               str(tmp_path / "runs")]
    process = subprocess.Popen(command, env=no_signin, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True, start_new_session=True)
    lines: list[str] = []
    try:
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line.rstrip("\n"))
            if line.startswith("dashboard:"):
                break
    finally:
        _stop_group(process)
    assert lines[-1] == f"dashboard: http://0.0.0.0:{port}", lines
    warning = "WARNING: serving on 0.0.0.0 WITHOUT SIGN-IN (--no-auth)"
    assert any(line.startswith(warning) for line in lines), lines
