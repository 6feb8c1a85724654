"""Exact SHAP by tree size: `python -m benchmarks shap --rows 20000 --leaves 8 16 32 64 [--json FILE]`.

For each tree size, one LightGBM model is trained on demo customers (insight.data.demo, seed 0) with a fixed
number of trees; then the same rows are explained with the same threads by LightGBM's `pred_contrib` (the
reference) and by insight.models.treeshap (benchmarks.pipeline.compare_booster). Per tree size it prints
`leaves`, `speedup` (counting the table building) and `max_abs_diff`, among the timings.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

DEFAULT_LEAVES = (8, 16, 32, 64)
DEFAULT_TREES = 200


def shap_benchmark(rows: int, leaves: tuple[int, ...] = DEFAULT_LEAVES, *, trees: int = DEFAULT_TREES,
                   seed: int = 0, threads: int | None = None) -> dict[str, Any]:
    import lightgbm as lgb

    from benchmarks.pipeline import compare_booster
    from insight.data import features, schema
    from insight.data.demo import demo_data, demo_spec

    threads = threads or os.cpu_count() or 1
    table = schema.clean_table(demo_data(rows=rows, seed=seed).customers, demo_spec())
    fmap = features.fit_feature_map(table.frame, table.schema)
    X = features.encode(table.frame, fmap)
    y = table.frame[demo_spec().target].to_numpy(dtype=np.float64)
    labelled = ~np.isnan(y)
    results = []
    for n in leaves:
        params = {"objective": "binary", "num_leaves": n, "learning_rate": 0.05, "min_child_samples": 20,
                  "seed": seed, "deterministic": True, "num_threads": threads, "verbosity": -1}
        data = lgb.Dataset(X[labelled], label=y[labelled], feature_name=fmap.names,
                           categorical_feature=fmap.categorical_indices)
        booster = lgb.Booster(model_str=lgb.train(params, data, num_boost_round=trees).model_to_string())
        result = compare_booster(booster, X, threads=threads)
        results.append({**result, "leaves": n, "speedup": result["speedup_with_tables"],
                        "speedup_without_tables": result["speedup"], "max_abs_diff": result["max_abs_difference"]})
    return {"benchmark": "shap", "rows": rows, "trees": trees, "threads": threads, "seed": seed,
            "results": results}


def print_shap(result: dict[str, Any]) -> None:
    print(f"exact SHAP, {result['rows']:,} demo customers, {result['trees']} trees, {result['threads']} threads")
    print(f"{'leaves':>6} {'pred_contrib s':>15} {'treeshap s':>11} {'tables s':>9} {'speedup':>8} "
          f"{'w/o tables':>10} {'max_abs_diff':>13}")
    for r in result["results"]:
        print(f"{r['leaves']:>6} {r['pred_contrib_seconds']:>15.2f} {r['fast_seconds']:>11.2f} "
              f"{r['fast_table_seconds']:>9.2f} {r['speedup']:>7.1f}x {r['speedup_without_tables']:>9.1f}x "
              f"{r['max_abs_diff']:>13.1e}")
