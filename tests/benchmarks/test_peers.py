"""The peers benchmark (benchmarks/peers.py) without its peers' environment: arguments, the table, measuring one
child process, the environment's guards, the classifier the peers are given, and insight's own two measures on
the session's demo run. Speed is never asserted."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from benchmarks import peers
from benchmarks.peers_child import build, classifier
from benchmarks.runner import main as bench_main


def test_peers_arguments_and_the_runner_knows_the_command(capsys: pytest.CaptureFixture[str]) -> None:
    parser = argparse.ArgumentParser()
    peers.add_arguments(parser)
    args = parser.parse_args([])
    assert args.rows == 100_000 and args.env == peers.DEFAULT_ENV and args.json is None and args.work is None
    args = parser.parse_args(["--rows", "5000", "--env", "/tmp/peers-env", "--json", "out.json"])
    assert (args.rows, args.env, args.json) == (5000, Path("/tmp/peers-env"), "out.json")
    assert not peers.DEFAULT_ENV.is_relative_to(peers.PROJECT)
    with pytest.raises(SystemExit) as exit_:
        bench_main(["peers", "--help"])
    assert exit_.value.code == 0
    assert "--env" in capsys.readouterr().out


def test_requirements_pin_the_peers_and_the_project_lightgbm() -> None:
    import lightgbm

    wanted = peers.requirements()
    assert "explainerdashboard==0.5.8" in wanted and "shapash==2.10.*" in wanted
    assert f"lightgbm=={lightgbm.__version__}" in wanted
    assert not any(r.startswith("torch") for r in wanted)
    versions = {"explainerdashboard": "0.5.8", "shapash": "2.10.0", "lightgbm": lightgbm.__version__,
                "pyarrow": wanted[-1].split("==")[1]}
    assert peers._matches(versions, wanted)
    assert not peers._matches({**versions, "shapash": "2.9.0"}, wanted)
    assert not peers._matches({**versions, "lightgbm": None}, wanted)


def test_ensure_env_leaves_other_folders_alone(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("someone else's")
    refused = peers.ensure_env(tmp_path)
    assert "not this benchmark's environment" in refused["error"]
    assert (tmp_path / "notes.txt").exists()
    assert "outside the repository" in peers.ensure_env(peers.PROJECT / "peers-venv")["error"]


def test_measure_child_reports_each_child_its_own_peak_and_status(tmp_path: Path) -> None:
    log = tmp_path / "child.log"
    big = peers.measure_child([sys.executable, "-c", "b = bytearray(300_000_000); b[::4096] = b'x' * len(b[::4096])"],
                              log_file=log)
    small = peers.measure_child([sys.executable, "-c", "pass"], log_file=log)
    failed = peers.measure_child([sys.executable, "-c", "import sys; print('broken'); sys.exit(3)"], log_file=log)
    assert big["returncode"] == 0 and big["peak_gb"] >= 0.3
    assert small["peak_gb"] < 0.05  # its own high-water mark: neither this process's nor the largest child's
    assert failed["returncode"] == 3 and "broken" in peers._error(failed, log, "the child")
    assert peers._error(big, log, "the child") is None
    assert all(m["process_seconds"] > 0 and m["load_before"] >= 0 for m in (big, small, failed))
    slow = peers.measure_child([sys.executable, "-c", "import time; time.sleep(30)"], log_file=log, timeout=0.5)
    assert slow["timed_out"] and "stopped after" in peers._error(slow, log, "the child")
    missing = peers.measure_child(["no-such-command-here"], log_file=log)
    assert missing["returncode"] != 0 and peers._error(missing, log, "the child")


def test_print_peers_shows_every_figure_the_load_and_errors(capsys: pytest.CaptureFixture[str]) -> None:
    row = {"rows": 5000, "load_before": 1.5, "load_after": 1.75, "error": None}
    result = {
        "benchmark": "peers", "rows": 5000, "seed": 0, "cpus": 2, "memory_gb": 25.3,
        "load_at_start": [1.2, 1.3, 1.4], "load_at_end": [2.0, 1.5, 1.4],
        "install": {"env": "/x/peers-venv", "reused": False, "seconds": 225.5, "torch": False,
                    "versions": {"explainerdashboard": "0.5.8", "shapash": "2.10.0", "lightgbm": "4.7.0"}},
        "preparation": {"seconds": 70.2, "train_seconds": 66.1, "peak_gb": 1.1, "run_id": "r1", "features": 35,
                        "categorical": 9},
        "measures": [
            {**row, "tool": "insight score", "timed": peers.TIMED["insight score"], "seconds": 6.75, "peak_gb": 0.76},
            {**row, "tool": "explainerdashboard", "timed": peers.TIMED["explainerdashboard"], "seconds": 19.86,
             "peak_gb": 0.45, "phases": {"ExplainerDashboard": 15.46},
             "checks": {"raw_score_max_diff": 0.0, "shap_max_diff": 3.8e-15, "shap_rows": 5000}},
            {**row, "tool": "shapash", "timed": peers.TIMED["shapash"], "peak_gb": 0.1,
             "error": "shapash exited with status 1: ImportError: no shap"},
        ],
    }
    peers.print_peers(result)
    out = capsys.readouterr().out
    assert "2 cores" in out and "1.2, 1.3, 1.4 at the start" in out and "2.0, 1.5, 1.4 at the end" in out
    assert "installed in 225.5 s (not a measured figure)" in out and "trained in 66.1 s" in out
    lines = out.splitlines()
    score = next(line for line in lines if line.strip().startswith("insight score"))
    assert "6.75" in score and "0.76" in score and "5,000" in score and "1.50 -> 1.75" in score
    assert any("ExplainerDashboard 15.46 s" in line and "shap_max_diff 3.8e-15" in line for line in lines)
    shapash = next(line for line in lines if line.strip().startswith("shapash"))
    assert "ERROR" in shapash and "ImportError: no shap" in shapash
    peers.print_peers({**result, "install": {"env": "/x", "error": "pip cannot resolve"}, "measures": []})
    assert "NOT INSTALLED (pip cannot resolve)" in capsys.readouterr().out


def test_the_peers_classifier_predicts_with_the_runs_booster_unchanged() -> None:
    import lightgbm as lgb

    rng = np.random.default_rng(0)
    X = pd.DataFrame({"fee": rng.normal(size=600), "plan": rng.integers(0, 4, 600).astype(float)})
    y = pd.Series(((X["fee"] + (X["plan"] == 2)) > 0.5).astype("int64"))
    trained = lgb.train({"objective": "binary", "verbosity": -1, "num_leaves": 7},
                        lgb.Dataset(X.to_numpy(), label=y, feature_name=["fee", "plan"], categorical_feature=[1]),
                        num_boost_round=20)
    booster = lgb.Booster(model_str=trained.model_to_string())  # as the peers load churn_model.txt
    model = classifier(booster, X, y)
    assert model.booster_ is booster and model.get_params()["n_estimators"] == booster.num_trees()
    np.testing.assert_array_equal(model.predict(X, raw_score=True), booster.predict(X.to_numpy(), raw_score=True))
    assert list(model.classes_) == [0, 1] and model.predict_proba(X).shape == (600, 2)
    with pytest.raises(ValueError, match="not the run's features"):
        classifier(booster, X.rename(columns={"fee": "price"}), y)
    with pytest.raises(ValueError, match="unknown peer"):
        build("lime", model, X, y, {})


@pytest.mark.slow
def test_insight_score_and_cold_start_measured_on_a_run(tmp_path: Path, demo_run: Path,
                                                        demo_small: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    customers = tmp_path / "customers.parquet"
    demo_small[0].to_parquet(customers, index=False)
    rows = len(demo_small[0])
    info = {"run": str(demo_run), "runs_dir": str(demo_run.parent), "run_id": demo_run.name,
            "customers": str(customers), "rows": rows}
    score = peers.measure_score(info, tmp_path)
    assert score["error"] is None and score["scored_rows"] == rows
    assert score["seconds"] > 0 and score["peak_gb"] > 0
    cold = peers.measure_cold_start(info, tmp_path)
    assert cold["error"] is None and cold["problems"] == [] and cold["heavy_imports"] == []
    assert 0 < cold["seconds"] <= cold["process_seconds"] and cold["peak_gb"] > 0
