"""Benchmarks that print measured figures (never estimates): `python -m benchmarks --help` (from the project root).

    python -m benchmarks [pipeline] [--sizes 10000 100000 1000000]
        demo data at each size trained end to end (benchmarks/pipeline.py): wall seconds and peak memory per
        stage, and exact SHAP by LightGBM's pred_contrib against insight.models.treeshap on the same rows.

    python -m benchmarks dashboard --runs-dir DIR [--run RUN]
        the app on a run (benchmarks/dashboard.py): cold start, every page, interactions, a map selection
        and memory across reruns, server-side.

    python -m benchmarks projection --rows 100000
        demo customers -> multi-task latent -> UMAP map of every customer: wall seconds of the projection
        and its trustworthiness (scikit-learn, n_neighbors=10, on a 5,000-customer sample).

    python -m benchmarks segments [--half tuning|confirming]
        the segment benchmark suite (benchmarks/segment_suite.py, run from the project root): planted segments
        in ten generated tables of six other businesses, recovered by the real pipeline and by k-means.

    python -m benchmarks shap --rows 20000 --leaves 8 16 32 64
        exact SHAP by tree size (benchmarks/shap.py): one model per size on demo customers, explained by
        pred_contrib and insight.models.treeshap on the same rows and threads: speedup and max difference.

    python -m benchmarks recipe --rows 20000 100000 [--baseline REF]
        today's `insight train` against git revision REF's (benchmarks/recipe.py), each command in its own
        process on the same demo tables, after one warm-up run each; then today's with an empty numba cache
        (a fresh install): wall seconds, stage timings, test AUC and ECE, segment ARI, side by side.

    python -m benchmarks risk-table --rows 100000
        the Churn risk page's queries (RunStore: count, totals and one page of rows) on a demo run scaled to
        `rows` customers: milliseconds per interaction (filter by band, segment, main reason, a numeric range,
        sort by another column, a deep page), the slowest of them against the 1-second budget.

    python -m benchmarks peers --rows 100000 [--env DIR] [--json FILE]
        from model to dashboard against explainerdashboard 0.5.8 and shapash 2.10 (benchmarks/peers.py), on one
        demo table and one trained run: `insight score`, the dashboard's cold start, ClassifierExplainer +
        ExplainerDashboard, SmartExplainer.compile; wall seconds and peak memory of each in its own process. The
        peers live in a separate virtual environment the benchmark creates once (never project dependencies).

    python -m benchmarks load [--runs-dir DIR | --rows 100000] [--sessions 20] [--json FILE]
        many people at once (benchmarks/load.py): the dashboard served on 127.0.0.1 and `sessions` real Chromium
        sessions at once, each opening every page and making one box selection on the map: errors, median and
        95th percentile page time, the server's memory at start, at its peak and after the sessions closed.

    python -m benchmarks dask --rows 5000000 [--workers 2] [--json FILE]
        beyond one process (benchmarks/dask.py): demo customers written as partitioned Parquet, then
        `insight train --engine dask` and `insight score --engine dask` on a LocalCluster, each in its own
        process: wall seconds and peak memory of the driver and of each worker; Dask scores against local
        scoring, and the run's SHAP values against a local recomputation, on a 100,000-customer sample.
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from benchmarks.pipeline import (
    DEFAULT_SIZES,
    SHAP_COMPARE_ROWS,
    pipeline_benchmark,
    print_pipeline,
    run_one,
)


def projection_benchmark(rows: int, seed: int = 0) -> dict[str, Any]:
    from insight.config import TrainConfig
    from insight.data import schema
    from insight.data.demo import demo_data, demo_spec
    from insight.models.recipe import fit_models, score_matrix, split_rows
    from insight.segments import clustering as segments

    config = TrainConfig(seed=seed)
    started = time.perf_counter()
    data = demo_data(rows=rows, seed=seed)
    table = schema.clean_table(data.customers, demo_spec())
    y = table.frame[demo_spec().target].to_numpy(dtype=np.float64)
    fit = fit_models(table, demo_spec(), config, splits=split_rows(y, config))
    latent = score_matrix(fit.models, fit.X, latent=True).latent
    assert latent is not None
    prepared = time.perf_counter() - started
    t0 = time.perf_counter()
    projection = segments.project(latent, config=config.segments, seed=seed)
    seconds = time.perf_counter() - t0
    return {"benchmark": "projection", "rows": rows, "latent_dim": int(latent.shape[1]),
            "fit_rows": projection.info["fit_rows"], "projection_seconds": round(seconds, 2),
            "umap_fit_seconds": projection.info["fit_seconds"],
            "trustworthiness": projection.info["trustworthiness"], "preparation_seconds": round(prepared, 1)}


SOURCE_ROWS = 5_000
"""Demo customers the scaled run's models are trained on."""
INTERACTION_BUDGET_MS = 1_000.0


def train_source_run(runs_dir: Path, *, rows: int = SOURCE_ROWS, seed: int = 0) -> Path:
    """A real demo run (every stage of insight.pipeline.train) on `rows` customers, with a smaller UMAP
    sample than the default so that it builds in about a minute."""
    from insight.config import SegmentConfig, TrainConfig
    from insight.data.demo import demo_data, demo_spec
    from insight.pipeline import train

    data = demo_data(rows=rows, seed=seed)
    config = TrainConfig(seed=seed, segments=SegmentConfig(fit_sample=min(rows, 5_000),
                                                           trustworthiness_sample=min(rows, 2_000)))
    return train(data.customers, demo_spec(), config, runs_dir=runs_dir, source_name="demo.csv", truth=data.truth)


def scaled_run(source: Path, rows: int, out_dir: Path, *, seed: int = 1) -> dict[str, Any]:
    """customers.parquet and shap.parquet in `out_dir` for `rows` fresh demo customers, with the columns of
    the source run's customers.parquet, in the same order.

    The fresh customers (insight.data.demo, another seed) are scored by the source run's saved churn model, so
    probability, risk band, reasons, top reason and the exact SHAP values are the model's real output for
    them. The multi-task network and UMAP are not re-run: segment, map position and the network's
    predictions are copied from each customer's nearest source customer (standardised model matrix), and
    revenue at risk is the probability times that predicted revenue. Returns the store's arguments.
    """
    from sklearn.neighbors import NearestNeighbors

    from insight.data.demo import demo_data
    from insight.models.explain import shap_frame
    from insight.data.rows import clean_rows
    from insight.decisions.risk_bands import risk_bands
    from insight.models.recipe import explanation_frame, matrix, score_matrix
    from insight.runs.models import load_models
    from insight.runs.run import open_run

    run = open_run(source)
    spec, fmap = run.manifest.spec, run.json("features.json")
    saved = load_models(run)
    names = saved.feature_names
    source_rows = pd.read_parquet(run.file("customers.parquet"))
    raw = demo_data(rows=rows, seed=seed).customers
    clean = matrix(saved, raw)
    scored = explanation_frame(saved, score_matrix(saved, clean, explain=True), raw.index)
    reference = matrix(saved, source_rows)
    center = np.nanmedian(reference, axis=0)
    scale = np.where(np.nanstd(reference, axis=0) > 0, np.nanstd(reference, axis=0), 1.0)

    def standard(X: np.ndarray) -> np.ndarray:
        return np.where(np.isnan(X), 0.0, (X - center) / scale)

    nearest = NearestNeighbors(n_neighbors=1).fit(standard(reference)).kneighbors(
        standard(clean), return_distance=False)[:, 0]
    borrowed = source_rows.iloc[nearest].reset_index(drop=True)
    features = clean_rows(raw, saved.fmap)
    out = pd.DataFrame(index=raw.index)
    probability = scored["churn_probability"].to_numpy()
    value_column = f"predicted_{spec.revenue_column}"
    for column in source_rows.columns:
        if column in features.columns:
            out[column] = features[column]
        elif column in scored.columns:
            out[column] = scored[column].to_numpy()
        elif column == "risk_band":
            out[column] = risk_bands(probability, run.manifest.risk_bands)
        elif column == "revenue_at_risk" and value_column in borrowed.columns:
            out[column] = probability * np.clip(borrowed[value_column].to_numpy(dtype=float), 0, None)
        elif column == "split":
            out[column] = "scored"
        elif column in raw.columns and column != spec.id_column:
            values = raw[column]
            out[column] = pd.to_numeric(values.replace({"Yes": 1, "No": 0, "yes": 1, "no": 0}), errors="coerce") \
                if column in spec.targets else values.to_numpy()
        else:
            out[column] = borrowed[column].to_numpy()
    out[spec.id_column] = raw[spec.id_column].to_numpy()
    out_dir.mkdir(parents=True, exist_ok=True)
    out.to_parquet(out_dir / "customers.parquet", index=False, compression="zstd")
    shap = scored[[f"shap_{n}" for n in names]].to_numpy()
    shap_frame(raw[spec.id_column], shap, scored["base_value"].to_numpy(), names).to_parquet(
        out_dir / "shap.parquet", index=False, compression="zstd")
    additivity = float(np.max(np.abs(shap.sum(axis=1) + scored["base_value"].to_numpy()
                                     - scored["churn_score"].to_numpy())))
    return {"customers": out_dir / "customers.parquet", "shap": out_dir / "shap.parquet",
            "id_column": spec.id_column, "target": spec.target, "revenue_column": spec.revenue_column,
            "roles": {f["name"]: f["role"] for f in fmap["features"]}, "shap_additivity_max_error": additivity}


def risk_table_interactions(store: Any) -> dict[str, Any]:
    """What the Churn risk page asks the store on each interaction, by name: (filter, sort column,
    ascending?, page number), chosen from the data (the largest segment, the commonest main reason...)."""
    from insight.runs.store import ColumnFilter, RiskFilter

    segment = int(store.segment_summary().sort_values("customers", ascending=False)["segment_id"].iloc[0])
    reason = str(store.top_reasons()["feature"].iloc[0])
    fee = store.query("SELECT quantile_cont(monthly_fee, 0.25) AS lo, quantile_cont(monthly_fee, 0.75) AS hi "
                      "FROM customers").iloc[0]
    by_reason = ColumnFilter("top_reason", "in", values=(reason,))
    fee_range = ColumnFilter("monthly_fee", "range", low=float(fee["lo"]), high=float(fee["hi"]))
    return {
        "first page, every customer": (None, "churn_probability", False, 1),
        "risk band: very high": (RiskFilter(bands=("very high",)), "churn_probability", False, 1),
        f"segment {segment}": (RiskFilter(segments=(segment,)), "churn_probability", False, 1),
        f"main reason: {reason}": (RiskFilter(conditions=(by_reason,)), "churn_probability", False, 1),
        "monthly fee between its quartiles": (RiskFilter(conditions=(fee_range,)), "churn_probability", False, 1),
        f"main reason {reason}, sorted by seats ascending": (RiskFilter(conditions=(by_reason,)), "seats", True,
                                                             1),
        f"main reason {reason}, page 50": (RiskFilter(conditions=(by_reason,)), "churn_probability", False, 50),
        "band + segment + reason + fee range, by fee, page 3": (
            RiskFilter(bands=("high", "very high"), segments=(segment,), conditions=(by_reason, fee_range)),
            "monthly_fee", False, 3),
    }


def risk_table_benchmark(rows: int, seed: int = 0, *, source: Path | None = None, data_dir: Path | None = None,
                         repeats: int = 5, page_size: int = 50) -> dict[str, Any]:
    """Build (or reuse, from `data_dir`) a demo run scaled to `rows` customers and time the risk page's
    store queries: per interaction count + totals + one page of rows, the slowest of `repeats` runs (after
    one cold run, also reported)."""
    from insight.runs.store import RunStore

    started = time.perf_counter()
    work = Path(tempfile.mkdtemp(prefix="insight-bench-"))
    try:
        target = Path(data_dir) if data_dir else work / "scaled"
        info_path = target / "bench.json"
        if info_path.exists() and json.loads(info_path.read_text()).get("rows") == rows:
            info = json.loads(info_path.read_text())
            info.update(customers=target / "customers.parquet", shap=target / "shap.parquet")
        else:
            source = source or train_source_run(work / "runs", seed=seed)
            info = scaled_run(source, rows, target, seed=seed + 1)
            info_path.write_text(json.dumps({**info, "rows": rows, "customers": None, "shap": None}))
        build = time.perf_counter() - started
        store = RunStore(info["customers"], info["shap"], id_column=info["id_column"], target=info["target"],
                         revenue_column=info["revenue_column"], roles=info["roles"])
        timings: dict[str, dict[str, float]] = {}
        t0 = time.perf_counter()
        total = store.count()
        count_ms = (time.perf_counter() - t0) * 1000
        shown = store.lead_columns()
        for name, (flt, sort_by, ascending, page) in risk_table_interactions(store).items():
            columns = [*shown, *(c for c in [*(f.column for f in (flt.conditions if flt else ())), sort_by]
                                 if c not in shown)]
            runs = []
            for _ in range(repeats + 1):
                t0 = time.perf_counter()
                matched = store.count(flt)
                store.totals(flt)
                page_rows = store.risk_table(flt, columns=columns, sort_by=sort_by, descending=not ascending,
                                             offset=(page - 1) * page_size, limit=page_size)
                runs.append((time.perf_counter() - t0) * 1000)
            timings[name] = {"matched": matched, "rows_returned": len(page_rows), "cold_ms": round(runs[0], 1),
                             "ms": round(max(runs[1:]), 1)}
        slowest = max(max(t["ms"], t["cold_ms"]) for t in timings.values())
        return {"benchmark": "risk-table", "rows": int(total), "count_ms": round(count_ms, 1),
                "interactions": timings, "max_ms": round(slowest, 1), "budget_ms": INTERACTION_BUDGET_MS,
                "within_budget": slowest < INTERACTION_BUDGET_MS, "page_size": page_size,
                "shap_additivity_max_error": info.get("shap_additivity_max_error"),
                "build_seconds": round(build, 1)}
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _print_risk_table(result: dict[str, Any]) -> None:
    print(f"risk table over {result['rows']:,} customers (count, totals and one page of "
          f"{result['page_size']} rows per interaction; cold run, then the slowest of the warm runs):")
    print(f"  {'count of every customer':<52} {result['count_ms']:>8.1f} ms")
    for name, t in result["interactions"].items():
        print(f"  {name:<52} {t['cold_ms']:>8.1f} ms cold {t['ms']:>8.1f} ms warm   "
              f"({t['matched']:,} match)")
    verdict = "within" if result["within_budget"] else "OVER"
    print(f"  slowest interaction: {result['max_ms']:.1f} ms ({verdict} the {result['budget_ms']:.0f} ms budget)")
    print(f"  SHAP additivity of the scaled run: max error {result['shap_additivity_max_error']:.2g}")
    print(f"  building the scaled run took {result['build_seconds']} s")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="name")
    pipe = sub.add_parser("pipeline", help="(the default) demo data trained end to end at several sizes: seconds "
                                           "and peak memory per stage; exact SHAP speed-up")
    pipe.add_argument("--sizes", type=int, nargs="+", default=list(DEFAULT_SIZES), help="customers per run")
    pipe.add_argument("--seed", type=int, default=0)
    pipe.add_argument("--compare-rows", type=int, default=SHAP_COMPARE_ROWS,
                      help="rows explained both ways (pred_contrib and insight.models.treeshap)")
    pipe.add_argument("--threads", type=int, help="threads for training and SHAP (default: every core)")
    pipe.add_argument("--json", help="also write the figures to this JSON file")
    pipe.add_argument("--keep-runs", type=Path, help="keep the trained runs in this runs folder (for the "
                                                     "dashboard benchmark)")
    dash = sub.add_parser("dashboard", help="the app on a run (e.g. 1M customers): cold start, page renders, "
                                            "interactions, memory over reruns")
    dash.add_argument("--runs-dir", type=Path, required=True)
    dash.add_argument("--run", help="run id (default: the latest)")
    dash.add_argument("--reruns", type=int, default=200)
    dash.add_argument("--json", help="also write the figures to this JSON file")
    cold = sub.add_parser("dashboard-cold")  # the cold start, in a fresh process (dashboard starts it)
    cold.add_argument("--runs-dir", type=Path, required=True)
    cold.add_argument("--run")
    cold.add_argument("--json", required=True)
    one = sub.add_parser("pipeline-one")  # one size in this process (pipeline starts one per size)
    one.add_argument("--rows", type=int, required=True)
    one.add_argument("--seed", type=int, default=0)
    one.add_argument("--compare-rows", type=int, default=SHAP_COMPARE_ROWS)
    one.add_argument("--threads", type=int)
    one.add_argument("--work", type=Path, required=True)
    one.add_argument("--json", required=True)
    one.add_argument("--keep-run", type=Path)
    proj = sub.add_parser("projection", help="UMAP projection of every customer: seconds and trustworthiness")
    proj.add_argument("--rows", type=int, default=100_000)
    proj.add_argument("--seed", type=int, default=0)
    proj.add_argument("--json", help="also write the figures to this JSON file")
    shap = sub.add_parser("shap", help="exact SHAP by tree size: insight.models.treeshap against pred_contrib")
    shap.add_argument("--rows", type=int, default=20_000)
    shap.add_argument("--leaves", type=int, nargs="+", default=[8, 16, 32, 64])
    shap.add_argument("--trees", type=int, default=200)
    shap.add_argument("--seed", type=int, default=0)
    shap.add_argument("--threads", type=int, help="threads for both (default: every core)")
    shap.add_argument("--json", help="also write the figures to this JSON file")
    risk = sub.add_parser("risk-table", help="the risk table's queries on a scaled demo run: ms per interaction")
    risk.add_argument("--rows", type=int, default=100_000)
    risk.add_argument("--seed", type=int, default=0)
    risk.add_argument("--run", type=Path, help="a trained demo run to scale (default: train one on "
                                               f"{SOURCE_ROWS:,} demo customers)")
    risk.add_argument("--data-dir", type=Path, help="keep the scaled run's tables here and reuse them next time")
    risk.add_argument("--json", help="also write the figures to this JSON file")
    from benchmarks.peers import add_arguments as peers_arguments

    peers_arguments(sub.add_parser("peers", help="model to dashboard against explainerdashboard and shapash: "
                                                 "wall seconds and peak memory, one run"))
    from benchmarks.load import add_arguments as load_arguments

    load_arguments(sub.add_parser("load", help="many browser sessions at once on one run: errors, page times, "
                                               "server memory"))
    from benchmarks.dask import add_arguments as dask_arguments

    dask_arguments(sub.add_parser("dask", help="insight train and score --engine dask on partitioned Parquet: "
                                               "wall seconds, peak memory per worker, Dask against local"))
    from benchmarks.recipe import add_arguments as recipe_arguments

    recipe_arguments(sub.add_parser("recipe", help="insight train of today's recipe against an earlier commit's, "
                                                   "side by side: wall seconds, AUC, ECE, ARI"))
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0].startswith("-") and argv[0] not in ("-h", "--help"):
        argv = ["pipeline", *argv]
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    if args.name == "dashboard-cold":
        from benchmarks.dashboard import cold_start

        result = cold_start(args.runs_dir, args.run)
    elif args.name == "dashboard":
        from benchmarks.dashboard import dashboard_benchmark, print_dashboard

        result = dashboard_benchmark(args.runs_dir, args.run, reruns=args.reruns)
        print_dashboard(result)
    elif args.name == "pipeline-one":
        result = run_one(args.rows, seed=args.seed, work=args.work, compare_rows=args.compare_rows,
                         threads=args.threads, keep_run=args.keep_run)
    elif args.name == "pipeline":
        result = pipeline_benchmark(tuple(args.sizes), seed=args.seed, compare_rows=args.compare_rows,
                                    threads=args.threads, keep_runs=args.keep_runs)
        print_pipeline(result)
    elif args.name == "shap":
        from benchmarks.shap import print_shap, shap_benchmark

        result = shap_benchmark(args.rows, tuple(args.leaves), trees=args.trees, seed=args.seed,
                                threads=args.threads)
        print_shap(result)
    elif args.name == "peers":
        from benchmarks.peers import peers_benchmark, print_peers

        result = peers_benchmark(args.rows, env=args.env, seed=args.seed, work=args.work)
        print_peers(result)
    elif args.name == "load":
        from benchmarks.load import load_benchmark, print_load

        result = load_benchmark(runs_dir=args.runs_dir, rows=args.rows, sessions=args.sessions, settle=args.settle,
                                waves=args.waves, work=args.work)
        print_load(result)
    elif args.name == "dask":
        from benchmarks.dask import dask_benchmark, print_dask

        result = dask_benchmark(args.rows, workers=args.workers, part_rows=args.part_rows,
                                check_rows=args.check_rows, seed=args.seed, work=args.work)
        print_dask(result)
    elif args.name == "recipe":
        from benchmarks.recipe import print_recipe, recipe_benchmark

        result = recipe_benchmark(tuple(args.rows), baseline=args.baseline, threads=args.threads, work=args.work)
        print_recipe(result)
    elif args.name == "risk-table":
        result = risk_table_benchmark(args.rows, args.seed, source=args.run, data_dir=args.data_dir)
        _print_risk_table(result)
    else:
        result = projection_benchmark(args.rows, args.seed)
        for key, value in result.items():
            print(f"{key:>22}: {value}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=2)
    if args.name == "pipeline":
        return 0 if all("error" not in s for s in result["sizes"]) else 1
    return 0 if result.get("within_budget", True) else 1


if __name__ == "__main__":
    sys.exit(main())
