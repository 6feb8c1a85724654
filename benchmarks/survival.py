"""`python -m benchmarks survival [--rows 20000] [--seed 0 1 2] [--drop COL] [--json FILE]`: does the survival
model recover the planted time to churn of each demo segment?

1. insight.data.demo_survival draws current and former customers with a planted Weibull time to churn per
   segment, censored at the snapshot (truth.csv holds each customer's true law);
2. the survival model (insight.survival.hazard's discrete-time LightGBM hazard model) is fitted on the
   training split's features: everything a run would use, never the duration (tenure_months), the target, the
   auxiliary targets or the id;
3. per planted segment, over all its members:
   - true median, two ways: `true_marginal`, the t where the segment's marginal survival
     S_seg(t) = mean_i S_i(t) (each member's true Weibull curve) is 0.5; `true_member`, the median over the
     members of their own true median lifetime;
   - predicted median, the same two ways: `pred_marginal`, the t where the mean of the members' predicted
     S(t | x) from the start is 0.5; `pred_member`, the median over the members of their predicted median
     lifetime;
   - each ratio predicted / true and whether it is within 15 % (the issue's must-show).

The seconds of each step are printed with the machine's load average: measured, never asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

TOLERANCE = 0.15
"""The issue's must-show: the predicted median lifetime per planted segment within 15 % of the true one."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--rows", type=int, default=20_000, help="demo customers")
    parser.add_argument("--seed", type=int, nargs="+", default=[0], help="one or more seeds, one table each")
    parser.add_argument("--drop", action="append", default=[], help="leave this column out of the features "
                                                                    "(repeatable), e.g. signup_date")
    parser.add_argument("--json", help="also write the figures to this JSON file")


def solve_half(curve: Any, upper: float) -> float:
    """The t in (0, upper] where the decreasing function `curve` crosses 0.5 (inf when it never does)."""
    from scipy.optimize import brentq

    if curve(upper) > 0.5:
        return float("inf")
    return float(brentq(lambda t: curve(t) - 0.5, 0.0, upper, xtol=1e-6))


def model_frame(customers: pd.DataFrame, drop: list[str]) -> tuple[pd.DataFrame, list[str], np.ndarray,
                                                                    np.ndarray]:
    """The cleaned customer table as a run sees it (insight.data.schema), dates as days before the snapshot,
    the survival features (without duration, target, aux targets, id and `drop`), the duration and the event."""
    from insight.data.demo import REFERENCE_DATE, demo_spec
    from insight.data.demo_survival import DURATION
    from insight.data.schema import clean_table

    spec = demo_spec()
    table = clean_table(customers, spec)
    frame = table.frame.copy()
    for col in frame.columns:
        if pd.api.types.is_datetime64_any_dtype(frame[col]):
            frame[col] = (REFERENCE_DATE - frame[col]).dt.days.astype(float)
    features = [f for f in table.features if f not in (DURATION, spec.id_column, *spec.targets, *drop)]
    duration = frame[DURATION].to_numpy(dtype=float)
    event = frame[spec.target].to_numpy(dtype=float)
    return frame, features, duration, event


def segment_rows(truth: pd.DataFrame, model: Any, frame: pd.DataFrame) -> list[dict[str, Any]]:
    """The per-segment figures of the module docstring (model: a fitted HazardModel; frame: its input rows,
    in truth's order)."""
    from insight.data.demo_survival import WINDOW_MONTHS, true_survival
    from insight.survival import curves

    upper = 4 * WINDOW_MONTHS
    rows = []
    for segment in sorted(truth["segment"].unique()):
        members = (truth["segment"] == segment).to_numpy()
        seg_truth, seg_frame = truth[members], frame[members]
        rates = model.rates(seg_frame)

        def predicted(t: float, rates: np.ndarray = rates) -> float:
            return float(curves.survival_at(rates, model.grid, np.array([t])).mean())

        def true(t: float, seg_truth: pd.DataFrame = seg_truth) -> float:
            return float(true_survival(seg_truth, np.array([t])).mean())

        row: dict[str, Any] = {"segment": segment, "customers": int(members.sum()),
                               "true_marginal": solve_half(true, upper),
                               "true_member": float(seg_truth["true_median_lifetime"].median()),
                               "pred_marginal": solve_half(predicted, upper),
                               "pred_member": float(np.median(curves.median_time(rates, model.grid)))}
        for kind in ("marginal", "member"):
            ratio = row[f"pred_{kind}"] / row[f"true_{kind}"]
            row[f"ratio_{kind}"] = ratio
            row[f"within_{kind}"] = bool(abs(ratio - 1) <= TOLERANCE)
        rows.append(row)
    return rows


def survival_benchmark(rows: int, seed: int, *, drop: list[str] | None = None) -> dict[str, Any]:
    """One table of `rows` customers drawn with `seed`: the figures of the module docstring."""
    from insight.config import TrainConfig
    from insight.data.demo_survival import demo_survival_data
    from insight.models.recipe import split_rows
    from insight.survival.hazard import fit_hazard_model

    load_before = os.getloadavg()
    started = time.perf_counter()
    data = demo_survival_data(rows=rows, seed=seed)
    draw_s = time.perf_counter() - started
    frame, features, duration, event = model_frame(data.customers, list(drop or []))
    splits = split_rows(event, TrainConfig(seed=seed))
    train = splits.train
    started = time.perf_counter()
    model = fit_hazard_model(frame.iloc[train], duration[train], event[train], features=features, seed=seed)
    fit_s = time.perf_counter() - started
    started = time.perf_counter()
    table = segment_rows(data.truth, model, frame)
    predict_s = time.perf_counter() - started
    return {"benchmark": "survival", "rows": rows, "seed": seed, "tolerance": TOLERANCE,
            "censored_share": float(1 - event.mean()), "features": features, "dropped": list(drop or []),
            "train_customers": int(len(train)), "model": model.report, "segments": table,
            "within_marginal": sum(r["within_marginal"] for r in table),
            "within_member": sum(r["within_member"] for r in table),
            "seconds": {"draw": round(draw_s, 2), "fit": round(fit_s, 2), "predict": round(predict_s, 2)},
            "load_average_before": [round(v, 2) for v in load_before],
            "load_average_after": [round(v, 2) for v in os.getloadavg()]}


def print_survival(result: dict[str, Any]) -> None:
    dropped = f", without {', '.join(result['dropped'])}" if result["dropped"] else ""
    print(f"Planted time to churn against the survival model: {result['rows']:,} demo customers, seed "
          f"{result['seed']}, {100 * result['censored_share']:.1f} % censored{dropped}; median lifetimes in months")
    print(f"  {'segment':<15} {'customers':>9} {'true S_seg':>10} {'pred S_seg':>10} {'ratio':>6} {'<=15%':>5}"
          f" {'true med_i':>10} {'pred med_i':>10} {'ratio':>6} {'<=15%':>5}")
    for r in result["segments"]:
        print(f"  {r['segment']:<15} {r['customers']:>9,} {r['true_marginal']:>10.2f} {r['pred_marginal']:>10.2f} "
              f"{r['ratio_marginal']:>6.3f} {'yes' if r['within_marginal'] else 'no':>5} {r['true_member']:>10.2f} "
              f"{r['pred_member']:>10.2f} {r['ratio_member']:>6.3f} {'yes' if r['within_member'] else 'no':>5}")
    n = len(result["segments"])
    s = result["seconds"]
    print(f"  within 15 %: {result['within_marginal']} of {n} (S_seg), {result['within_member']} of {n} (members' "
          f"medians); {result['model'].get('intervals')} intervals, {result['model'].get('num_leaves')} leaves, "
          f"{result['model'].get('iterations')} trees")
    print(f"  seconds: draw {s['draw']}, fit {s['fit']}, predict {s['predict']}; load average before "
          f"{result['load_average_before']}, after {result['load_average_after']}")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks survival",
                                     description="Planted time to churn per demo segment against the survival model.")
    add_arguments(parser)
    args = parser.parse_args(argv)
    results = []
    for seed in args.seed:
        result = survival_benchmark(args.rows, seed, drop=args.drop)
        print_survival(result)
        sys.stdout.flush()
        results.append(result)
    if args.json:
        Path(args.json).write_text(json.dumps(results if len(results) > 1 else results[0], indent=2) + "\n")
    return 0
