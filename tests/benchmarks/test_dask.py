"""benchmarks/dask.py measures what it says: demo customers as Parquet parts, `insight train` and `insight score`
with --engine dask in their own processes (wall seconds, peak memory of the driver and each worker), and Dask
against local scores. Speed itself is never asserted (shared machines are noisy)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from benchmarks.dask import ProcessTreeMeter, write_demo_parts

PROJECT = Path(__file__).resolve().parents[2]


def test_demo_parts_number_customers_across_the_chunks(tmp_path: Path) -> None:
    paths = write_demo_parts(tmp_path, 750, part_rows=300)
    frames = [pd.read_parquet(p) for p in paths]
    assert [len(f) for f in frames] == [250, 250, 250]
    ids = pd.concat(frames)["customer_id"]
    assert ids.is_unique and ids.iloc[0] == "C00000001" and ids.iloc[-1] == "C00000750"
    assert not frames[0].drop(columns="customer_id").equals(frames[1].drop(columns="customer_id"))  # own seeds


def test_the_meter_reads_the_peak_memory_of_a_command_and_of_its_children(tmp_path: Path) -> None:
    script = tmp_path / "spawner.py"  # a spawned child, as Dask's LocalCluster starts its workers
    script.write_text("import multiprocessing as mp, time\n"
                      "def hold():\n"
                      "    b = bytearray(300_000_000); b[::4096] = b'x' * len(b[::4096]); time.sleep(1.0)\n"
                      "if __name__ == '__main__':\n"
                      "    mp.set_start_method('spawn'); p = mp.Process(target=hold); p.start(); p.join()\n")
    process = subprocess.Popen([sys.executable, str(script)])
    meter = ProcessTreeMeter(process.pid, interval=0.05)
    process.wait(timeout=60)
    figures = meter.stop()
    assert figures["driver_peak_rss_gb"] > 0
    assert len(figures["worker_peak_rss_gb"]) == 1 and figures["max_worker_peak_rss_gb"] > 0.25


@pytest.mark.slow
def test_the_dask_benchmark_times_train_and_score_and_compares_with_local(tmp_path: Path) -> None:
    out = tmp_path / "dask.json"
    done = subprocess.run([sys.executable, "-m", "benchmarks", "dask", "--rows", "800", "--part-rows", "400",
                           "--check-rows", "400", "--workers", "2", "--work", str(tmp_path / "work"),
                           "--json", str(out)], cwd=PROJECT, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    result = json.loads(out.read_text())
    assert result["rows"] == 800 and result["workers"] == 2 and result["data"]["partitions"] == 2
    for name in ("train", "score"):
        figures = result[name]
        assert f"insight {name} " in figures["command"] and "--engine dask" in figures["command"]
        assert figures["wall_seconds"] > 0 and figures["driver_peak_rss_gb"] > 0
        assert len(figures["worker_peak_rss_gb"]) == 2 and min(figures["worker_peak_rss_gb"]) > 0
    assert result["train"]["fit_rows"] > 0 and result["train"]["sample_rows"] == 800
    check = result["check"]
    assert check["rows"] == 400 and check["partitions"] == 1
    same = check["dask_vs_local_score"]
    assert same["max_abs_diff_probability"] == 0 and same["max_abs_diff_latent"] == 0
    assert same["reasons_differ"] == 0 and same["segments_differ"] == 0
    rescored = check["trained_on_dask_vs_local_rescore"]
    assert rescored["max_abs_diff_probability"] < 1e-9 and rescored["max_abs_diff_shap"] < 1e-9
    assert "insight train --engine dask" in done.stdout and "dask vs local" in done.stdout
