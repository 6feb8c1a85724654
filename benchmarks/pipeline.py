"""The pipeline benchmark: demo data at several sizes, trained end to end, timed and measured stage by stage.

Each size runs in a child process of its own, so that its peak memory is its own. The child generates the
demo customers, writes them as CSV (what `insight train` is usually given), then measures reading the file
and every stage of insight.pipeline.train: wall seconds, and the peak resident memory of the process while
the stage ran (sampled every 20 ms; the process's high-water mark is reported too). On the trained model it
then times exact SHAP both ways, LightGBM's `predict(pred_contrib=True)` and insight.models.treeshap, on the same
rows with the same threads, and reports the largest difference between them.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

DEFAULT_SIZES = (10_000, 100_000, 1_000_000)
SHAP_COMPARE_ROWS = 100_000
"""At most this many rows are explained both ways (pred_contrib takes about a quarter hour per million)."""
TRAIN_BUDGET_SECONDS = 20 * 60
MEMORY_BUDGET_GB = 12.0
STAGE_NAMES = {  # insight.pipeline's stages, as the benchmark reports them
    "checking the table": "clean",
    "encoding features": "features",
    "fitting the churn model": "models",  # LightGBM and the network train side by side: one wall-clock stage
    "computing SHAP values": "shap",
    "training the multi-task network": "models",
    "projecting with UMAP": "projection",
    "finding segments": "clustering",
    "profiling segments": "profiles",
    "writing the run": "write",
}


def rss_bytes() -> int:
    """The resident memory of this process now (Linux /proc)."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def high_water_bytes() -> int:
    """The process's peak resident memory so far (VmHWM)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return 0


class StageMeter:
    """Wall seconds and peak resident memory per named stage; a background thread samples memory."""

    def __init__(self, interval: float = 0.02) -> None:
        self.stage: str | None = None
        self.peaks: dict[str, int] = {}
        self.seconds: dict[str, float] = {}
        self._started: float = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, args=(interval,), daemon=True)
        self._thread.start()

    def _sample(self, interval: float) -> None:
        while not self._stop.wait(interval):
            self._note()

    def _note(self) -> None:
        stage = self.stage
        if stage is not None:
            self.peaks[stage] = max(self.peaks.get(stage, 0), rss_bytes())

    def enter(self, stage: str) -> None:
        """End the current stage (if any) and start `stage`."""
        now = time.perf_counter()
        if self.stage is not None:
            self._note()
            self.seconds[self.stage] = self.seconds.get(self.stage, 0.0) + now - self._started
        self.stage, self._started = stage, now
        self._note()

    def close(self) -> None:
        self.enter("__end__")
        self.stage = None
        self._stop.set()
        self._thread.join()
        self.peaks.pop("__end__", None)


def compare_shap(run_dir: Path, frame: Any, *, rows: int, threads: int) -> dict[str, Any]:
    """pred_contrib against insight.models.treeshap on the run's model: the same `rows` customers, same threads."""
    from insight.models.recipe import matrix
    from insight.runs.models import load_models
    from insight.runs.run import open_run

    saved = load_models(open_run(run_dir))
    return compare_booster(saved.churn.booster, matrix(saved, frame.iloc[:rows]), threads=threads)


def compare_booster(booster: Any, X: np.ndarray, *, threads: int) -> dict[str, Any]:
    """Exact SHAP of one LightGBM booster on the same rows and threads, both ways: LightGBM's `pred_contrib`
    (the reference) and insight.models.treeshap, its table building timed apart; the largest difference."""
    from insight.models import treeshap
    from insight.models.explain import pred_contrib_values

    treeshap.warm_up()  # numba compiles its kernels once per process: not part of either figure
    started = time.perf_counter()
    compiled = treeshap.compile_model(booster)
    compile_seconds = time.perf_counter() - started
    started = time.perf_counter()
    fast, fast_base = treeshap.shap_values(compiled, X, threads=threads)
    fast_seconds = time.perf_counter() - started
    started = time.perf_counter()
    reference, reference_base = pred_contrib_values(booster, X, threads=threads)
    reference_seconds = time.perf_counter() - started
    return {
        "rows": int(len(X)), "threads": threads, "trees": int(booster.num_trees()),
        "num_leaves": int(booster.params.get("num_leaves", 0) or 0) or None,
        "pred_contrib_seconds": round(reference_seconds, 4),
        "fast_seconds": round(fast_seconds, 4),
        "fast_table_seconds": round(compile_seconds, 4),
        "speedup": round(reference_seconds / fast_seconds, 2),
        "speedup_with_tables": round(reference_seconds / (fast_seconds + compile_seconds), 2),
        "max_abs_difference": float(max(np.abs(fast - reference).max(), np.abs(fast_base - reference_base).max())),
    }


def run_one(rows: int, *, seed: int, work: Path, compare_rows: int, threads: int | None,
            keep_run: Path | None = None) -> dict[str, Any]:
    """One size, in this process: generate, write, read, train, compare SHAP. With `keep_run`, the trained run
    is moved into that runs folder (to benchmark the dashboard on it) and its path reported."""
    from insight.models import treeshap
    from insight.config import TrainConfig
    from insight.data.demo import demo_data, demo_spec
    from insight.data.sources import read_table
    from insight.pipeline import train

    started = time.perf_counter()
    data = demo_data(rows=rows, seed=seed)
    csv = work / "customers.csv"
    data.customers.to_csv(csv, index=False)
    truth = data.truth
    del data
    generate_seconds = time.perf_counter() - started
    # compile the numba kernels outside the measured stages: a fresh install pays this once, not per run
    treeshap.warm_up()

    meter = StageMeter()
    meter.enter("load")
    frame = read_table(csv)
    meter.enter("clean")
    config = TrainConfig(seed=seed, threads=threads)

    def progress(stage: str, _done: float) -> None:
        name = STAGE_NAMES.get(stage, stage)
        if name != meter.stage:  # time between two stages counts to the one before
            meter.enter(name)

    run_dir = train(frame, demo_spec(), config, runs_dir=work / "runs", source_name="bench.csv", truth=truth,
                    progress=progress)
    meter.close()
    peak = high_water_bytes()
    from insight.runs.run import read_manifest

    manifest = read_manifest(run_dir)
    stages = {name: {"seconds": round(meter.seconds.get(name, 0.0), 2),
                     "peak_rss_gb": round(meter.peaks.get(name, 0) / 1e9, 2)}
              for name in ("load", *STAGE_NAMES.values()) if name in meter.seconds}
    train_seconds = sum(s["seconds"] for s in stages.values())
    segments = manifest.segment_report
    lightgbm = manifest.metrics["lightgbm"]
    result = {
        "rows": rows, "seed": seed, "threads": threads or os.cpu_count(),
        "generate_seconds": round(generate_seconds, 1),
        "stages": stages,
        "load_and_train_seconds": round(train_seconds, 1),
        "peak_rss_gb": round(peak / 1e9, 2),
        "within_time_budget": train_seconds < TRAIN_BUDGET_SECONDS,
        "within_memory_budget": peak / 1e9 < MEMORY_BUDGET_GB,
        "test_roc_auc": manifest.test_metrics["roc_auc"],
        "segments_ari_vs_planted": segments.get("ari_vs_planted"),
        "projection": segments.get("projection"),
        "lightgbm": {"num_leaves": lightgbm.get("search", {}).get("chosen_num_leaves"),
                     "trees": lightgbm.get("search", {}).get("iterations")},
        "shap_additivity_max_error": lightgbm.get("shap_additivity_max_error"),
        "run_timings": manifest.timings_seconds,
        "multitask": {key: json.loads((run_dir / "multitask.json").read_text())["history"].get(key)
                      for key in ("epochs", "stopped_by", "seconds")},
    }
    result["shap_comparison"] = compare_shap(run_dir, frame, rows=min(rows, compare_rows),
                                             threads=threads or os.cpu_count() or 1)
    if keep_run is not None:
        from insight.runs.run import set_latest

        keep_run.mkdir(parents=True, exist_ok=True)
        kept = Path(shutil.move(str(run_dir), str(keep_run / run_dir.name)))
        set_latest(keep_run, kept.name)
        result["run"] = str(kept)
    return result


def pipeline_benchmark(sizes: tuple[int, ...] = DEFAULT_SIZES, *, seed: int = 0, compare_rows: int = SHAP_COMPARE_ROWS,
                       threads: int | None = None, keep_runs: Path | None = None) -> dict[str, Any]:
    """Every size in a child process of its own; the figures of each, as measured. With `keep_runs`, the
    trained runs are kept in that runs folder."""
    results = []
    for rows in sizes:
        with tempfile.TemporaryDirectory(prefix=f"insight-bench-{rows}-") as work:
            out = Path(work) / "result.json"
            command = [sys.executable, "-m", "benchmarks", "pipeline-one", "--rows", str(rows), "--seed",
                       str(seed), "--compare-rows", str(compare_rows), "--work", work, "--json", str(out)]
            if threads:
                command += ["--threads", str(threads)]
            if keep_runs:
                command += ["--keep-run", str(Path(keep_runs).resolve())]
            log.warning("benchmarking %s customers ...", f"{rows:,}")
            done = subprocess.run(command, check=False)
            if done.returncode != 0 or not out.exists():
                results.append({"rows": rows, "error": f"the benchmark process exited with {done.returncode}"})
                continue
            results.append(json.loads(out.read_text()))
    return {"benchmark": "pipeline", "sizes": results, "machine": {"cpus": os.cpu_count()}}


def print_pipeline(result: dict[str, Any]) -> None:
    sizes = [s for s in result["sizes"] if "error" not in s]
    for failed in (s for s in result["sizes"] if "error" in s):
        print(f"{failed['rows']:,} customers: {failed['error']}")
    if not sizes:
        return
    stages = list(dict.fromkeys(name for s in sizes for name in s["stages"]))
    header = f"{'stage':<12}" + "".join(f"{s['rows']:>14,} rows      " for s in sizes)
    print(header)
    print(f"{'':<12}" + "".join(f"{'seconds':>14} {'peak GB':>9}" for _ in sizes))
    for name in stages:
        cells = []
        for s in sizes:
            stage = s["stages"].get(name)
            cells.append(f"{stage['seconds']:>14.1f} {stage['peak_rss_gb']:>9.2f}" if stage else f"{'':>24}")
        print(f"{name:<12}" + "".join(cells))
    print(f"{'total':<12}" + "".join(f"{s['load_and_train_seconds']:>14.1f} {s['peak_rss_gb']:>9.2f}"
                                     for s in sizes))
    print()
    for s in sizes:
        c = s["shap_comparison"]
        verdict = "within" if s["within_time_budget"] and s["within_memory_budget"] else "OVER"
        print(f"{s['rows']:>9,} customers: trained in {s['load_and_train_seconds'] / 60:.1f} min, peak "
              f"{s['peak_rss_gb']:.2f} GB ({verdict} 20 min / 12 GB); test ROC AUC {s['test_roc_auc']:.3f}; "
              f"segments ARI vs planted {s['segments_ari_vs_planted']}")
        timings = s.get("run_timings") or {}
        if timings:
            print(f"{'':>21}side by side in 'models': LightGBM {timings.get('fitting the churn model', 0):.1f} s, "
                  f"the network {timings.get('training the multi-task network', 0):.1f} s "
                  f"({s['multitask'].get('epochs')} epochs, stopped by {s['multitask'].get('stopped_by')})")
        projection = s.get("projection") or {}
        if projection:
            print(f"{'':>21}projection of all {projection.get('rows', 0):,} customers (UMAP fitted on "
                  f"{projection.get('fit_rows', 0):,}): {projection.get('seconds')} s, trustworthiness "
                  f"{projection.get('trustworthiness')}")
        print(f"{'':>21}exact SHAP on {c['rows']:,} rows, {c['trees']} trees, {c['threads']} threads: "
              f"pred_contrib {c['pred_contrib_seconds']:.1f} s, insight.models.treeshap {c['fast_seconds']:.1f} s "
              f"(+{c['fast_table_seconds']:.1f} s tables): {c['speedup']:.1f}x "
              f"({c['speedup_with_tables']:.1f}x with tables), max |difference| {c['max_abs_difference']:.1e}")
