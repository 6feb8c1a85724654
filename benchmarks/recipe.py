"""Today's recipe against an earlier one, side by side: `python -m benchmarks recipe --rows 20000 100000
[--baseline REF] [--json FILE]`.

The earlier recipe is the `insight` package of git revision REF (default: the last commit before issue 13's
speed work), extracted with `git archive` into a temporary folder. Both versions run `insight train` as a user
would, each command in its own process (imports, reading the CSV and writing the run included in the wall
time), on the same demo tables (seed 0) with the same threads:

1. each version first trains a small table once, so that what it caches on disk (compiled numba code) is
   there: the measured runs are "the second run in the same install";
2. then one measured run per size and version: wall seconds, the run's own stage timings, test ROC AUC and
   ECE of the churn model, ARI of the segments against the planted ones;
3. last, today's version on the first size with an empty numba cache (`NUMBA_CACHE_DIR` pointing to a new
   folder): what a fresh install pays once.

Every figure comes from this one invocation; the load average before and after each command is printed with
it, since a shared machine's other work shows in wall times.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

DEFAULT_BASELINE = "d7b4c39"
"""The last commit before issue 13's speed work (the recipe the issue measured)."""
WARM_UP_ROWS = 6_000
"""Large enough that the warm-up explains with the compiled TreeSHAP (insight.models.explain.FAST_TREESHAP_ROWS),
so that its cache is there too."""
PROJECT = Path(__file__).resolve().parents[1]


def extract(ref: str, into: Path) -> Path:
    """The `insight` package of git revision `ref` under `into` (a folder to put on PYTHONPATH)."""
    into.mkdir(parents=True, exist_ok=True)
    archive = subprocess.run(["git", "-C", str(PROJECT), "archive", "--format=tar", ref, "insight"],
                             check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into


def demo_table(rows: int, folder: Path) -> Path:
    """customers.csv (and truth.csv beside it) of the demo data at `rows`, seed 0, written by `insight
    demo-data` of today's version."""
    folder.mkdir(parents=True, exist_ok=True)
    csv = folder / "customers.csv"
    if not csv.exists():
        subprocess.run([sys.executable, "-c", "from insight.cli import main; main()", "demo-data", "--out",
                        str(folder), "--rows", str(rows), "--seed", "0"], check=True, capture_output=True, cwd=PROJECT)
    return csv


def train_once(code: Path, csv: Path, runs: Path, *, numba_cache: Path, threads: int | None) -> dict[str, Any]:
    """`insight train` of the package under `code` on `csv`, in a process of its own: wall seconds and the
    figures its manifest records."""
    env = {**os.environ, "PYTHONPATH": str(code), "NUMBA_CACHE_DIR": str(numba_cache)}
    if threads:
        env["INSIGHT_THREADS"] = str(threads)
    from insight.data.demo import demo_spec

    spec = demo_spec()  # what `insight demo` trains with
    argv = ["train", str(csv), "--id", spec.id_column, "--target", spec.target, "--runs-dir", str(runs), "--seed", "0"]
    for aux in spec.aux_targets:
        argv += ["--aux", aux]
    for column in spec.actionable:
        argv += ["--actionable", column]
    script = ("import sys, insight, insight.cli; "
              f"assert insight.__file__.startswith({str(code)!r}), insight.__file__; "
              f"sys.argv = ['insight', *{argv!r}]; insight.cli.main()")
    load_before = os.getloadavg()[0]
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, cwd=runs.parent)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"insight train failed ({code}):\n{done.stderr[-3000:]}")
    run_id = done.stdout.strip().splitlines()[-1]
    manifest = json.loads((runs / run_id / "manifest.json").read_text())
    metrics = manifest["metrics"]
    lightgbm = metrics["lightgbm"]
    return {"seconds": round(seconds, 1), "load_before": round(load_before, 2),
            "load_after": round(os.getloadavg()[0], 2),
            "test_roc_auc": round(lightgbm["test"]["roc_auc"], 4), "test_ece": round(lightgbm["test"]["ece"], 4),
            "test_log_loss": round(lightgbm["test"]["log_loss"], 4), "test_brier": round(lightgbm["test"]["brier"], 4),
            "segments_ari": metrics["segments"].get("ari_vs_planted"),
            "segments": metrics["segments"].get("n_segments", metrics["segments"].get("k")),
            "num_leaves": lightgbm.get("search", {}).get("chosen_num_leaves"),
            "trees": lightgbm.get("search", {}).get("iterations"),
            "search_seconds": lightgbm.get("search", {}).get("seconds"),
            "stages": manifest.get("timings_seconds", {})}


def recipe_benchmark(sizes: tuple[int, ...], *, baseline: str = DEFAULT_BASELINE, threads: int | None = None,
                     work: Path | None = None) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="insight-recipe-") as tmp:
        root = Path(work or tmp)
        versions = {"before": extract(baseline, root / "before"), "now": PROJECT}
        caches = {name: root / f"numba-{name}" for name in versions}
        results: dict[str, Any] = {"benchmark": "recipe", "baseline": baseline, "threads": threads or os.cpu_count(),
                                   "sizes": list(sizes), "runs": []}
        warm = demo_table(WARM_UP_ROWS, root / f"data-{WARM_UP_ROWS}")
        for name, code in versions.items():
            train_once(code, warm, root / f"runs-warm-{name}", numba_cache=caches[name], threads=threads)
        for rows in sizes:
            csv = demo_table(rows, root / f"data-{rows}")
            for name, code in versions.items():
                result = train_once(code, csv, root / f"runs-{name}-{rows}", numba_cache=caches[name],
                                    threads=threads)
                results["runs"].append({"version": name, "rows": rows, "install": "second run", **result})
                print(_line(results["runs"][-1]), flush=True)
        fresh = train_once(PROJECT, demo_table(sizes[0], root / f"data-{sizes[0]}"), root / "runs-fresh",
                           numba_cache=root / "numba-fresh", threads=threads)
        results["runs"].append({"version": "now", "rows": sizes[0], "install": "fresh (empty numba cache)", **fresh})
        print(_line(results["runs"][-1]), flush=True)
    return results


def _line(r: dict[str, Any]) -> str:
    ari = "-" if r["segments_ari"] is None else f"{r['segments_ari']:.3f}"
    return (f"{r['version']:>6} {r['rows']:>9,} {r['install']:<26} {r['seconds']:>7.1f} s  AUC {r['test_roc_auc']:.4f}"
            f"  ECE {r['test_ece']:.4f}  log loss {r['test_log_loss']:.4f}  ARI {ari}  leaves {r['num_leaves']} x {r['trees']} trees"
            f"  load {r['load_before']:.1f}->{r['load_after']:.1f}")


STAGE_SHORT = {"checking the table": "clean", "encoding features": "features", "fitting the churn model": "lightgbm",
               "training the multi-task network": "network", "computing SHAP values": "shap",
               "projecting with UMAP": "umap", "finding segments": "segments", "profiling segments": "profiles",
               "writing the run": "write"}


def print_recipe(result: dict[str, Any]) -> None:
    print(f"\nrecipe benchmark: before = {result['baseline']}, now = this tree; {result['threads']} threads")
    print(f"{'version':>7} {'rows':>9} {'install':<26} {'wall':>9}  quality")
    for r in result["runs"]:
        print(_line(r))
    stages = [s for s in STAGE_SHORT if any(s in r["stages"] for r in result["runs"])]
    print("\nstage seconds (each run's own clock; 'now' fits LightGBM and the network side by side)")
    print(f"{'':<34}" + "".join(f"{STAGE_SHORT[s]:>9}" for s in stages))
    for r in result["runs"]:
        print(f"{r['version']:>6} {r['rows']:>9,} {r['install'][:17]:<18}"
              + "".join(f"{r['stages'].get(s, float('nan')):>9.1f}" for s in stages))


def add_arguments(parser: Any) -> None:
    parser.add_argument("--rows", type=int, nargs="+", default=[20_000, 100_000])
    parser.add_argument("--baseline", default=DEFAULT_BASELINE, help="the git revision to compare with "
                                                                    f"(default {DEFAULT_BASELINE})")
    parser.add_argument("--threads", type=int, help="INSIGHT_THREADS for both (default: every core)")
    parser.add_argument("--work", type=Path, help="keep the tables and runs here (default: a temporary folder)")
    parser.add_argument("--json", help="also write the figures to this JSON file")
