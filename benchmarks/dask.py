"""`python -m benchmarks dask --rows 5000000 [--workers 2] [--json FILE]`: training and scoring beyond one process.

1. `rows` demo customers are written as partitioned Parquet (`--part-rows` per file), generated chunk by chunk
   (insight.data.demo with one seed per chunk, customer ids numbered across chunks), so the table never has to
   fit in memory at once;
2. `insight train DIR --engine dask --workers N` and 3. `insight score RUN DIR --engine dask --workers N` each run
   in their own process on their own LocalCluster: wall seconds, and the peak resident memory (the kernel's
   high-water mark, read every 0.2 s) of the driver and of every worker process;
4. the check, on the first partitions holding `--check-rows` customers (100,000 by default): `insight score
   --engine local` of those partitions against the Dask scores of the same partitions (probability, reasons,
   segment, map position, latent), and the run's stored probabilities and SHAP values, computed on the Dask
   workers while training, against `insight.models.recipe.score` of the same customers in this process.

The figures are printed as a table and written as JSON with `--json` (benchmarks/runner.py).
"""

from __future__ import annotations

import argparse
import math
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
import pandas as pd

GB = 1024**3
PART_ROWS = 250_000
CHECK_ROWS = 100_000


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--rows", type=int, default=5_000_000, help="demo customers")
    parser.add_argument("--workers", type=int, default=2, help="LocalCluster worker processes (one thread each)")
    parser.add_argument("--part-rows", type=int, default=PART_ROWS, help="customers per Parquet file")
    parser.add_argument("--check-rows", type=int, default=CHECK_ROWS,
                        help="customers whose Dask scores are compared with local scoring")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--work", type=Path, help="keep the data, the run and the scores here (default: a "
                                                  "temporary folder, removed afterwards)")
    parser.add_argument("--json", help="also write the figures to this JSON file")


def write_demo_parts(folder: Path, rows: int, *, part_rows: int, seed: int = 0) -> list[Path]:
    """`rows` demo customers as Parquet files of about `part_rows` each: chunk i drawn with seed `seed + i`, ids
    C00000001... numbered across the chunks."""
    from insight.data.demo import ID_COLUMN, demo_data

    folder.mkdir(parents=True, exist_ok=True)
    sizes = [len(c) for c in np.array_split(np.arange(rows), max(1, math.ceil(rows / part_rows)))]
    paths, start = [], 0
    for i, size in enumerate(sizes):
        customers = demo_data(rows=size, seed=seed + i).customers
        customers[ID_COLUMN] = [f"C{start + j + 1:08d}" for j in range(size)]
        path = folder / f"part-{i:04d}.parquet"
        customers.to_parquet(path, index=False)
        paths.append(path)
        start += size
    return paths


class ProcessTreeMeter:
    """Peak resident memory (VmHWM) of a process and of every process it starts, read every `interval` s."""

    def __init__(self, pid: int, interval: float = 0.2) -> None:
        self.pid, self.peaks, self.roles = pid, {}, {}  # type: ignore[var-annotated]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(interval,), daemon=True)
        self._thread.start()

    def _run(self, interval: float) -> None:
        import psutil

        while not self._stop.is_set():
            try:
                root = psutil.Process(self.pid)
                processes = [root, *root.children(recursive=True)]
            except psutil.Error:
                processes = []
            for p in processes:
                try:
                    if p.pid not in self.roles:
                        self.roles[p.pid] = _role(p.pid == self.pid, p.cmdline())
                    self.peaks[p.pid] = max(self.peaks.get(p.pid, 0), _high_water(p.pid))
                except (psutil.Error, OSError):
                    continue
            self._stop.wait(interval)

    def stop(self) -> dict[str, Any]:
        self._stop.set()
        self._thread.join()
        workers = sorted((self.peaks[p] for p, r in self.roles.items() if r == "worker"), reverse=True)
        return {"driver_peak_rss_gb": round(self.peaks.get(self.pid, 0) / GB, 3),
                "worker_peak_rss_gb": [round(b / GB, 3) for b in workers],
                "max_worker_peak_rss_gb": round(max(workers, default=0) / GB, 3)}


def _role(is_root: bool, cmdline: list[str]) -> str:
    if is_root:
        return "driver"
    text = " ".join(cmdline)
    return "worker" if "spawn_main" in text else "other"  # Dask's worker processes are multiprocessing children


def _high_water(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return 0


def insight_command(*args: str) -> list[str]:
    """The installed `insight` command beside this Python, else the module."""
    script = Path(sys.executable).parent / "insight"
    return [str(script), *args] if script.exists() else [sys.executable, "-c", "from insight.cli import main; main()",
                                                          *args]


def timed(command: list[str], log_path: Path) -> dict[str, Any]:
    """Run `command` with its output in `log_path`: wall seconds, memory figures and its standard output."""
    started = time.perf_counter()
    with open(log_path, "w") as log_file:
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=log_file, text=True)
        meter = ProcessTreeMeter(process.pid)
        out, _ = process.communicate()
    memory = meter.stop()
    seconds = time.perf_counter() - started
    if process.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed ({process.returncode}); see {log_path}:\n"
                           + log_path.read_text()[-3000:])
    return {"command": " ".join(command), "wall_seconds": round(seconds, 2), **memory, "stdout": out.strip()}


def dask_benchmark(rows: int, *, workers: int = 2, part_rows: int = PART_ROWS, check_rows: int = CHECK_ROWS,
                   seed: int = 0, work: Path | None = None) -> dict[str, Any]:
    from insight.runs.run import read_manifest

    folder = Path(work) if work else Path(tempfile.mkdtemp(prefix="insight-dask-bench-"))
    data, runs, scores = folder / "customers", folder / "runs", folder / "scores"
    try:
        for path in (data, runs, scores):
            shutil.rmtree(path, ignore_errors=True)
        started = time.perf_counter()
        parts = write_demo_parts(data, rows, part_rows=part_rows, seed=seed)
        written = {"seconds": round(time.perf_counter() - started, 1), "partitions": len(parts),
                   "bytes": sum(p.stat().st_size for p in parts)}
        train = timed(insight_command("train", str(data), "--id", "customer_id", "--target", "churned", "--aux",
                                      "revenue_next_12m", "--aux", "seat_change_next_12m", "--engine", "dask",
                                      "--workers", str(workers), "--runs-dir", str(runs), "--seed", str(seed)),
                      folder / "train.log")
        run = runs / train.pop("stdout").splitlines()[-1]
        manifest = read_manifest(run)
        search = manifest.metrics["lightgbm"]["search"]
        train.update(run=run.name, test_roc_auc=round(manifest.test_metrics["roc_auc"], 4),
                     sample_rows=manifest.metrics["engine"]["sample_rows"], fit_rows=search["fit_rows"],
                     trees=search["iterations"], num_leaves=search["chosen_num_leaves"],
                     stages_seconds=manifest.timings_seconds)
        score = timed(insight_command("score", run.name, str(data), "--out", str(scores), "--engine", "dask",
                                      "--workers", str(workers), "--runs-dir", str(runs)), folder / "score.log")
        score["summary"] = score.pop("stdout")
        check = compare(run, parts, scores, check_rows=check_rows, work=folder)
        return {"benchmark": "dask", "rows": rows, "workers": workers, "part_rows": part_rows, "cpus": os.cpu_count(),
                "data": written, "train": train, "score": score, "check": check}
    finally:
        if work is None:
            shutil.rmtree(folder, ignore_errors=True)


def compare(run: Path, parts: list[Path], scores: Path, *, check_rows: int, work: Path) -> dict[str, Any]:
    """Dask against local scoring of the first partitions that hold `check_rows` customers (see the module
    docstring)."""
    from insight.batch.scoring import part_name, score_dataset
    from insight.models.recipe import explanation_frame, score
    from insight.runs.models import load_models
    from insight.runs.run import open_run

    sizes = np.cumsum([pd.read_parquet(p, columns=["customer_id"]).shape[0] for p in parts])
    k = int(np.searchsorted(sizes, min(check_rows, int(sizes[-1])))) + 1
    sample = work / "check"
    shutil.rmtree(sample, ignore_errors=True)
    sample.mkdir()
    for path in parts[:k]:
        os.symlink(path.resolve(), sample / path.name)
    started = time.perf_counter()
    score_dataset(run, sample, work / "check-local", engine="local", overwrite=True)
    local_seconds = time.perf_counter() - started
    dask = pd.concat([pd.read_parquet(scores / part_name(i)) for i in range(k)], ignore_index=True)
    local = pd.concat([pd.read_parquet(work / "check-local" / part_name(i)) for i in range(k)], ignore_index=True)
    assert dask["customer_id"].tolist() == local["customer_id"].tolist()
    latent = [c for c in local.columns if c.startswith("z") and c[1:].isdigit()]
    raw = pd.concat([pd.read_parquet(p) for p in parts[:k]], ignore_index=True)
    models = load_models(open_run(run))
    started = time.perf_counter()
    again = explanation_frame(models, score(models, raw, explain=True, ids=raw["customer_id"]))
    rescore_seconds = time.perf_counter() - started
    ids = raw["customer_id"].tolist()
    # the run's tables are in id order: the row groups between the sample's first and last id, not 5M rows
    within = [("customer_id", ">=", min(ids)), ("customer_id", "<=", max(ids))]
    stored = pd.read_parquet(run / "customers.parquet", columns=["customer_id", "churn_probability"],
                             filters=within).set_index("customer_id").loc[ids]
    shap = pd.read_parquet(run / "shap.parquet", filters=within).set_index("customer_id").loc[ids]
    names = [c for c in shap.columns if c != "base_value"]
    return {
        "rows": len(local), "partitions": k, "local_score_seconds": round(local_seconds, 1),
        "dask_vs_local_score": {
            "max_abs_diff_probability": float(np.abs(dask["churn_probability"] - local["churn_probability"]).max()),
            "max_abs_diff_latent": float(np.abs(dask[latent].to_numpy() - local[latent].to_numpy()).max()),
            "max_abs_diff_xy": float(np.abs(dask[["x", "y"]].to_numpy() - local[["x", "y"]].to_numpy()).max()),
            "reasons_differ": int((dask[["reason_1", "reason_2", "reason_3"]] != local[["reason_1", "reason_2",
                                                                                   "reason_3"]]).any(axis=1).sum()),
            "segments_differ": int((dask["segment_id"] != local["segment_id"]).sum())},
        "trained_on_dask_vs_local_rescore": {
            "seconds": round(rescore_seconds, 1),
            "max_abs_diff_probability": float(np.abs(stored["churn_probability"].to_numpy()
                                                     - again["churn_probability"].to_numpy()).max()),
            "max_abs_diff_shap": float(np.abs(shap[names].to_numpy()
                                              - again[[f"shap_{n}" for n in names]].to_numpy()).max()),
            "max_abs_diff_base_value": float(np.abs(shap["base_value"].to_numpy()
                                                    - again["base_value"].to_numpy()).max())},
    }


def print_dask(result: dict[str, Any]) -> None:
    print(f"Dask on {result['workers']} worker(s), {result['rows']:,} demo customers in "
          f"{result['data']['partitions']} Parquet files ({result['data']['bytes'] / GB:.2f} GB, written in "
          f"{result['data']['seconds']} s), {result['cpus']} CPUs")
    print(f"  {'command':<22} {'wall s':>9} {'driver GB':>10} {'worker GB (each)':>24}")
    for name in ("train", "score"):
        r = result[name]
        each = " ".join(f"{g:.2f}" for g in r["worker_peak_rss_gb"])
        print(f"  insight {name} --engine dask {r['wall_seconds']:>9.1f} {r['driver_peak_rss_gb']:>10.2f} {each:>24}")
    train = result["train"]
    print(f"  training: sample {train['sample_rows']:,} rows, LightGBM (lightgbm.dask) on {train['fit_rows']:,} rows, "
          f"{train['trees']} trees of {train['num_leaves']} leaves, test ROC AUC {train['test_roc_auc']}")
    print("  stages (s): " + ", ".join(f"{k} {v:.1f}" for k, v in train["stages_seconds"].items()))
    check = result["check"]
    same, rescored = check["dask_vs_local_score"], check["trained_on_dask_vs_local_rescore"]
    print(f"  check on {check['rows']:,} customers ({check['partitions']} partitions):")
    print(f"    insight score dask vs local: max |d probability| {same['max_abs_diff_probability']:.3g}, "
          f"|d latent| {same['max_abs_diff_latent']:.3g}, |d x,y| {same['max_abs_diff_xy']:.3g}, "
          f"{same['reasons_differ']} reasons and {same['segments_differ']} segments differ")
    print(f"    run trained on dask vs local recipe.score: max |d probability| "
          f"{rescored['max_abs_diff_probability']:.3g}, |d SHAP| {rescored['max_abs_diff_shap']:.3g}, "
          f"|d base value| {rescored['max_abs_diff_base_value']:.3g}")
