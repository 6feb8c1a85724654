"""Benchmarks that print measured figures (never estimates): `python -m insight.bench --help`.

    python -m insight.bench projection --rows 100000
        demo customers -> multi-task latent -> UMAP map of every customer: wall seconds of the projection
        and its trustworthiness (scikit-learn, n_neighbors=10, on a 5,000-customer sample).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from typing import Any

import numpy as np


def projection_benchmark(rows: int, seed: int = 0) -> dict[str, Any]:
    from insight import features, multitask, schema, segments
    from insight.config import TrainConfig
    from insight.demo import demo_data, demo_spec
    from insight.pipeline import split_rows

    config = TrainConfig(seed=seed)
    started = time.perf_counter()
    data = demo_data(rows=rows, seed=seed)
    table = schema.clean_table(data.customers, demo_spec())
    y = table.frame[demo_spec().target].to_numpy(dtype=np.float64)
    splits = split_rows(y, config)
    fmap = features.fit_feature_map(table.frame, table.schema, fit_rows=splits.train)
    X = features.encode(table.frame, fmap)
    targets = {t: table.frame[t].to_numpy(dtype=np.float64) for t in demo_spec().targets}
    mt = multitask.fit_multitask(X, targets, fmap, train_rows=splits.train, valid_rows=splits.valid,
                                 config=config.multitask, seed=seed)
    latent = mt.latent(X)
    prepared = time.perf_counter() - started
    t0 = time.perf_counter()
    projection = segments.project(latent, config=config.segments, seed=seed)
    seconds = time.perf_counter() - t0
    return {"benchmark": "projection", "rows": rows, "latent_dim": int(latent.shape[1]),
            "fit_rows": projection.info["fit_rows"], "projection_seconds": round(seconds, 2),
            "umap_fit_seconds": projection.info["fit_seconds"],
            "trustworthiness": projection.info["trustworthiness"], "preparation_seconds": round(prepared, 1)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m insight.bench", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="name", required=True)
    proj = sub.add_parser("projection", help="UMAP projection of every customer: seconds and trustworthiness")
    proj.add_argument("--rows", type=int, default=100_000)
    proj.add_argument("--seed", type=int, default=0)
    proj.add_argument("--json", help="also write the figures to this JSON file")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    result = projection_benchmark(args.rows, args.seed)
    for key, value in result.items():
        print(f"{key:>22}: {value}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
