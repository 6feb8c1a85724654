"""The benchmarks measure what they say: a small pipeline run and the dashboard on the session's demo run.

Speed itself is never asserted here (shared machines are noisy); these tests check that every stage and
page is measured, that the SHAP comparison really compares, and that the figures are consistent.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from benchmarks.pipeline import STAGE_NAMES, StageMeter, rss_bytes

PROJECT = Path(__file__).resolve().parents[2]


def test_stage_meter_attributes_time_and_memory_to_each_stage() -> None:
    meter = StageMeter(interval=0.005)
    meter.enter("small")
    time.sleep(0.05)
    meter.enter("big")
    block = bytearray(200_000_000)  # 200 MB, touched so that it is resident
    block[::4096] = b"x" * len(block[::4096])
    time.sleep(0.05)
    meter.close()
    assert set(meter.seconds) == {"small", "big"}
    assert meter.seconds["small"] >= 0.04 and meter.seconds["big"] >= 0.04
    assert meter.peaks["big"] - meter.peaks["small"] >= 150_000_000
    assert rss_bytes() > 0
    del block


@pytest.mark.slow
def test_pipeline_benchmark_measures_every_stage_and_compares_shap(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    done = subprocess.run([sys.executable, "-m", "benchmarks", "--sizes", "1200", "--compare-rows", "1200",
                           "--threads", "1", "--json", str(out), "--keep-runs", str(tmp_path / "runs")],
                          cwd=PROJECT, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(out.read_text())["sizes"][0]
    assert result["rows"] == 1200
    assert list(result["stages"]) == ["load", *dict.fromkeys(STAGE_NAMES.values())]
    assert result["load_and_train_seconds"] == pytest.approx(sum(s["seconds"] for s in result["stages"].values()),
                                                             abs=0.1)
    assert all(s["peak_rss_gb"] > 0 for s in result["stages"].values())
    shap = result["shap_comparison"]
    assert shap["rows"] == 1200 and shap["threads"] == 1
    assert shap["max_abs_difference"] <= 1e-6
    assert shap["speedup"] == pytest.approx(shap["pred_contrib_seconds"] / shap["fast_seconds"], rel=0.05)
    assert Path(result["run"]).is_dir() and (Path(result["run"]) / "manifest.json").exists()
    assert "exact SHAP on 1,200 rows" in done.stdout and "load" in done.stdout


@pytest.mark.slow
def test_dashboard_benchmark_times_every_page_and_interaction(tmp_path: Path, demo_run: Path) -> None:
    runs = tmp_path / "runs"
    shutil.copytree(demo_run, runs / demo_run.name)
    out = tmp_path / "dash.json"
    done = subprocess.run([sys.executable, "-m", "benchmarks", "dashboard", "--runs-dir", str(runs),
                           "--reruns", "25", "--json", str(out)],
                          cwd=PROJECT, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(out.read_text())
    assert result["run"] == demo_run.name
    assert result["cold_start"]["heavy_imports"] == []
    assert result["cold_start"]["problems"] == [] and result["cold_start"]["seconds"] > 0
    pages = sorted(p.name for p in (PROJECT / "pages").glob("*.py"))
    assert sorted(Path(p).name for p in result["pages"]) == pages
    assert not any(p["problems"] for p in result["pages"].values())
    assert not any(k.endswith("(problems)") for k in result["interactions"])
    assert len(result["interactions"]) >= 8
    assert 0 < result["map_selection"]["selected"] < result["map_selection"]["map_points"]
    assert result["map_selection"]["with_page_rerun_s"] >= result["map_selection"]["seconds"] > 0
    assert set(result["memory_mb"]) == {"after_20_reruns", "after_21_reruns", "after_25_reruns", "growth_mb",
                                        "growth_second_half_mb"}


@pytest.mark.slow
def test_shap_benchmark_compares_both_methods_at_every_tree_size(tmp_path: Path) -> None:
    out = tmp_path / "shap.json"
    done = subprocess.run([sys.executable, "-m", "benchmarks", "shap", "--rows", "1500", "--leaves", "8", "32",
                           "--trees", "30", "--threads", "1", "--json", str(out)],
                          cwd=PROJECT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(out.read_text())
    assert [r["leaves"] for r in result["results"]] == [8, 32] and result["rows"] == 1500
    for r in result["results"]:
        assert r["num_leaves"] == r["leaves"] and r["trees"] == 30 and r["rows"] == 1500
        assert r["max_abs_diff"] <= 1e-6  # the same values as LightGBM's own TreeSHAP
        with_tables = r["pred_contrib_seconds"] / (r["fast_seconds"] + r["fast_table_seconds"])
        assert r["speedup"] == pytest.approx(with_tables, rel=0.05)
    assert "leaves" in done.stdout and "max_abs_diff" in done.stdout
