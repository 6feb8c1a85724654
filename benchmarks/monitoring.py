"""`python -m benchmarks monitoring [--rows 20000] [--months 6] [--seed 0] [--json FILE]`: does the performance
estimated without labels match the performance realised a month later?

1. `insight demo-data --rows R --months M --seed S` writes monthly snapshots (the latest unlabelled);
2. for every month t that has a labelled next month and at least two labelled snapshots up to it:
   `insight train customers.csv --time snapshot_date --as-of t` (the model as it would have been trained at
   the end of month t), then `insight score RUN month-t+1 --labels churned` (next month's customers, with the
   outcomes that became known), each command in its own process;
3. from each batch's _monitoring.json: the estimated ROC AUC (CBPE, from the calibrated probabilities alone)
   beside the realised one and their difference, precision and recall at the Targeting cut, estimated and
   realised, the expected and realised churn rate, the drifted features, and the seconds of each command.

`--single` instead trains on one snapshot (seed S) and scores a fresh table of another seed with its labels
(for data without --months). The machine's load average is printed before and after: the seconds are
measured, never asserted, and a busy machine stretches them. The figures are printed as a table and written
as JSON with `--json`.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pandas as pd

TIME_COLUMN = "snapshot_date"
TARGET = "churned"
TOLERANCE = 0.03
"""The issue's must-show: a scored month's estimated AUC within this of its realised AUC."""
TRAIN = ["--id", "customer_id", "--target", TARGET, "--aux", "revenue_next_12m", "--aux", "seat_change_next_12m"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--rows", type=int, default=20_000, help="demo customers per month")
    parser.add_argument("--months", type=int, default=6, help="monthly snapshots")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--single", action="store_true", help="one snapshot: train on seed S, score seed S+1")
    parser.add_argument("--work", type=Path, help="keep the data, runs and scores here (default: a temporary "
                                                  "folder, removed afterwards)")
    parser.add_argument("--json", help="also write the figures to this JSON file")


def scored_months(frame: pd.DataFrame) -> list[tuple[str, str]]:
    """(t, t + 1) for every month t with a labelled next month and at least two labelled snapshots up to t
    (training with --time tests out of time on the latest labelled one and trains on those before it)."""
    labelled = frame.groupby(TIME_COLUMN)[TARGET].apply(lambda s: bool(s.notna().any()))
    months = sorted(labelled.index)
    return [(t, months[i + 1]) for i, t in enumerate(months[:-1])
            if labelled[months[i + 1]] and sum(labelled[m] for m in months[: i + 1]) >= 2]


def _insight(*args: str) -> tuple[str, float]:
    """Run `insight ARGS` in its own process: its standard output and wall seconds (an error stops here)."""
    started = time.perf_counter()
    from benchmarks.dask import insight_command

    done = subprocess.run(insight_command(*args), capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"insight {' '.join(args[:2])} failed ({done.returncode}): {done.stderr[-2000:]}")
    return done.stdout, seconds


def _batch(run_id: str, data: Path, out: Path, runs: Path) -> tuple[dict[str, Any], float]:
    _, seconds = _insight("score", run_id, str(data), "--out", str(out), "--labels", TARGET, "--runs-dir",
                          str(runs))
    return json.loads((out / "_monitoring.json").read_text()), seconds


def _row(month: str, trained_as_of: str | None, report: dict[str, Any], train_s: float, score_s: float
         ) -> dict[str, Any]:
    est, real = report["estimated"], report["realised"]
    drifted = [c["feature"] for c in report["drift"]["columns"] if c["drifted"]]
    return {"scored": month, "trained_as_of": trained_as_of, "rows": report["rows"],
            "estimated_auc": est["roc_auc"], "realised_auc": real["roc_auc"],
            "auc_difference": est["roc_auc"] - real["roc_auc"],
            "within_tolerance": abs(est["roc_auc"] - real["roc_auc"]) <= TOLERANCE,
            "estimated_precision": est["precision"], "realised_precision": real["precision"],
            "estimated_recall": est["recall"], "realised_recall": real["recall"],
            "expected_churn_rate": est["churn_rate"], "realised_churn_rate": real["churn_rate"],
            "drifted_features": len(drifted), "most_drifted": drifted[:3],
            "train_seconds": round(train_s, 1), "score_seconds": round(score_s, 1)}


def monitoring_benchmark(rows: int, months: int, *, seed: int = 0, single: bool = False,
                         work: Path | None = None) -> dict[str, Any]:
    """The figures of the module docstring, one row per scored month."""
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="insight-bench-monitoring-") as scratch:
        root = Path(work) if work is not None else Path(scratch)
        root.mkdir(parents=True, exist_ok=True)
        runs = root / "runs"
        results = []
        if single:
            for s in (seed, seed + 1):
                _insight("demo-data", "--rows", str(rows), "--seed", str(s), "--out", str(root / f"data-{s}"))
            out, train_s = _insight("train", str(root / f"data-{seed}" / "customers.csv"), *TRAIN, "--runs-dir",
                                    str(runs))
            report, score_s = _batch(out.strip().splitlines()[-1], root / f"data-{seed + 1}" / "customers.csv",
                                     root / "scores", runs)
            results.append(_row(f"seed {seed + 1}", None, report, train_s, score_s))
        else:
            _insight("demo-data", "--rows", str(rows), "--months", str(months), "--seed", str(seed), "--out",
                     str(root / "data"))
            table = root / "data" / "customers.csv"
            frame = pd.read_csv(table, low_memory=False)
            for t, following in scored_months(frame):
                out, train_s = _insight("train", str(table), *TRAIN, "--time", TIME_COLUMN, "--as-of", t,
                                        "--runs-dir", str(runs))
                month = root / f"month-{following}.parquet"
                frame[frame[TIME_COLUMN] == following].to_parquet(month, index=False)
                report, score_s = _batch(out.strip().splitlines()[-1], month, root / f"scores-{following}", runs)
                results.append(_row(following, t, report, train_s, score_s))
                print(f"  scored {following} with the run as of {t}: estimated AUC "
                      f"{report['estimated']['roc_auc']:.3f}, realised {report['realised']['roc_auc']:.3f}",
                      file=sys.stderr, flush=True)
    return {"benchmark": "monitoring", "rows_per_month": rows, "months": 1 if single else months, "seed": seed,
            "single_snapshot": single, "tolerance": TOLERANCE, "batches": results,
            "within_tolerance": sum(r["within_tolerance"] for r in results),
            "max_abs_auc_difference": max((abs(r["auc_difference"]) for r in results), default=None),
            "load_average_before": [round(v, 2) for v in load_before],
            "load_average_after": [round(v, 2) for v in os.getloadavg()]}


def print_monitoring(result: dict[str, Any]) -> None:
    print(f"Estimated against realised performance: {result['rows_per_month']:,} demo customers per month, "
          f"{result['months']} month(s), seed {result['seed']}; precision and recall at the Targeting cut (1/3)")
    print(f"  {'scored':<11} {'as of':<11} {'rows':>7} {'est AUC':>8} {'real AUC':>9} {'diff':>7} "
          f"{'est P':>6} {'real P':>7} {'est R':>6} {'real R':>7} {'drifted':>8} {'train s':>8} {'score s':>8}")
    for r in result["batches"]:
        print(f"  {r['scored']:<11} {r['trained_as_of'] or '-':<11} {r['rows']:>7,} {r['estimated_auc']:>8.3f} "
              f"{r['realised_auc']:>9.3f} {r['auc_difference']:>+7.3f} {r['estimated_precision']:>6.3f} "
              f"{r['realised_precision']:>7.3f} {r['estimated_recall']:>6.3f} {r['realised_recall']:>7.3f} "
              f"{r['drifted_features']:>8} {r['train_seconds']:>8.1f} {r['score_seconds']:>8.1f}")
    print(f"  within {result['tolerance']} of the realised AUC: {result['within_tolerance']} of "
          f"{len(result['batches'])} month(s); largest |difference| {result['max_abs_auc_difference']:.3f}")
    print(f"  load average before {result['load_average_before']}, after {result['load_average_after']}")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks monitoring",
                                     description="The performance estimated without labels against the realised.")
    add_arguments(parser)
    args = parser.parse_args(argv)
    result = monitoring_benchmark(args.rows, args.months, seed=args.seed, single=args.single, work=args.work)
    print_monitoring(result)
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    return 0
