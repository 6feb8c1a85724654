"""The segment benchmark suite: does the number and shape of the segments hold on data nobody tuned them on?

    python -m benchmarks segments [--half tuning|confirming|all] [--only NAME ...] [--json FILE]
                                  [--keep-runs DIR] [--max-rows N]

For every data set of `benchmarks.segment_data.suite` (six business domains, 3 to 10 planted segments,
2,000 to 200,000 customers) it writes the table as CSV, reads it back and trains the real pipeline on it
(`insight.pipeline.train`, default configuration), then prints, per data set and as median and minimum per
half:

- ARI of the run's segments against the planted ones, segments found against planted, the Unassigned share;
- target awareness on held-out customers (`insight.segments.target_awareness`): churn log-loss gain and the variance
  share of the value target;
- the same for k-means on the standardised raw features (numbers with median imputation and missing flags,
  one-hot categories) *given the true k* (ARI), and at the run's own k (target awareness), a baseline that is
  handed the answer.

Figures are measured, never estimated; one process trains one data set after another.
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from benchmarks.segment_data import ID_COLUMN, TARGET, SuiteData, generate, suite

log = logging.getLogger(__name__)

KMEANS_ROWS = 50_000


def raw_feature_matrix(frame: pd.DataFrame, features: dict[str, str]) -> np.ndarray:
    """Standardised raw features: numbers and dates (median-imputed, plus a missing flag where any are
    missing), yes/no flags as 0/1, categories one-hot (missing as its own level)."""
    parts = []
    for name, role in features.items():
        col = frame[name]
        if role in ("numeric", "date", "boolean"):
            if role == "date":
                v = pd.to_datetime(col).astype("int64").where(col.notna()).to_numpy(dtype=float)
            else:
                v = pd.to_numeric(col.astype("float64") if role == "boolean" else col,
                                  errors="coerce").to_numpy(dtype=float)
            missing = np.isnan(v)
            v = np.where(missing, np.nanmedian(v) if (~missing).any() else 0.0, v)
            parts.append(v[:, None])
            if missing.any():
                parts.append(missing[:, None].astype(float))
        else:
            parts.append(pd.get_dummies(col.astype("string").fillna("(missing)")).to_numpy(dtype=float))
    X = np.hstack(parts)
    std = X.std(axis=0)
    return (X - X.mean(axis=0)) / np.where(std > 0, std, 1.0)


def kmeans_labels(X: np.ndarray, k: int, seed: int) -> np.ndarray:
    """k-means (scikit-learn, 4 starts) fitted on at most KMEANS_ROWS rows, then every row predicted."""
    from sklearn.cluster import KMeans

    rows = np.arange(len(X))
    if len(X) > KMEANS_ROWS:
        rows = np.sort(np.random.default_rng(seed).choice(len(X), size=KMEANS_ROWS, replace=False))
    model = KMeans(n_clusters=max(1, k), n_init=4, random_state=seed).fit(X[rows])
    return model.predict(X)


def recluster(run: Path) -> pd.DataFrame:
    """The run's customers (id order) with `segment_id` from the clustering stage of the current code, run
    again on the run's own latent space and map: the pipeline's `segments.cluster`, the test customers'
    outcomes hidden as in training. The latent and the map do not depend on the clustering rule, so this is
    what a new training would find, in seconds instead of minutes."""
    from insight.segments import clustering as segments
    from insight.runs.run import read_manifest

    manifest = read_manifest(run)
    spec, config = manifest.spec, manifest.train_config.segments
    latent = pd.read_parquet(run / "latent.parquet")  # training order
    customers = pd.read_parquet(run / "customers.parquet")
    id_column = spec.id_column
    ordered = latent[[id_column]].merge(customers, on=id_column, how="left")
    z = latent.drop(columns=[id_column]).to_numpy(np.float32)
    fit_rows = segments.fit_sample_rows(len(z), sample=config.fit_sample, seed=manifest.train_config.seed)
    projection = segments.Projection(xy=ordered[["x", "y"]].to_numpy(np.float32), fit_rows=fit_rows, info={})
    test = (ordered["split"] == "test").to_numpy()
    targets = {t: np.where(test, np.nan, ordered[t].to_numpy(dtype=np.float64))
               for t in spec.targets}
    clustering = segments.cluster(z, projection, config=config, targets=targets)
    ordered["segment_id"] = clustering.labels
    return ordered


def evaluate_run(run: Path, truth: pd.DataFrame, aux: tuple[str, str], seed: int = 0, *,
                 customers: pd.DataFrame | None = None) -> dict[str, Any]:
    """The suite's figures for one trained run (see the module docstring); `customers` replaces the run's
    customers.parquet (see `recluster`)."""
    from sklearn.metrics import adjusted_rand_score

    from insight.runs.run import read_manifest
    from insight.segments.target_awareness import target_awareness

    manifest = read_manifest(run)
    roles = {c["name"]: c["role"] for c in json.loads((run / "features.json").read_text())["schema"]["columns"]}
    features = {name: role for name, role in roles.items() if name in manifest.features}
    customers = pd.read_parquet(run / "customers.parquet") if customers is None else customers
    merged = (customers.merge(truth[[ID_COLUMN, "segment"]], on=ID_COLUMN, how="inner")
              .sort_values(ID_COLUMN, ignore_index=True))  # one row order: k-means' starts depend on it
    planted = merged["segment"].to_numpy()
    labels = merged["segment_id"].to_numpy()
    split = merged["split"].to_numpy()
    train_rows, test_rows = np.flatnonzero(split != "test"), np.flatnonzero(split == "test")
    churn = merged[TARGET].to_numpy(dtype=np.float64)
    values = {aux[0]: merged[aux[0]].to_numpy(dtype=np.float64)}

    def awareness(lab: np.ndarray) -> dict[str, Any]:
        report = target_awareness(lab, churn, values, train_rows=train_rows, test_rows=test_rows)
        return {"churn_log_loss_gain": report.get("churn_log_loss_gain"),
                "value_variance_share": report["value_variance_share"].get(aux[0])}

    found = int(len(set(labels) - {-1}))
    true_k = int(len(set(planted)))
    X = raw_feature_matrix(merged, features)
    km_true = kmeans_labels(X, true_k, seed)
    km_same = km_true if found == true_k else kmeans_labels(X, max(found, 1), seed)
    segments = manifest.segment_report
    return {
        "rows": int(len(merged)), "planted": true_k, "found": found,
        "ari": round(float(adjusted_rand_score(planted, labels)), 4),
        "unassigned": round(float((labels == -1).mean()), 4),
        "target_awareness": awareness(labels),
        "kmeans_true_k_ari": round(float(adjusted_rand_score(planted, km_true)), 4),
        "kmeans_same_k_awareness": awareness(km_same),
        "planted_awareness": awareness(planted),
        "islands": segments.get("islands"), "clustering": segments.get("choice", {}),
        "test_auc": manifest.test_metrics["roc_auc"],
    }


def run_data_set(params: SuiteData, work: Path, runs_dir: Path) -> dict[str, Any]:
    """Generate, write, read back and train one data set; return its figures."""
    from insight.data import sources as io
    from insight import pipeline
    from insight.config import DataSpec

    generated = generate(params)
    csv = work / f"{params.name}.csv"
    generated.customers.to_csv(csv, index=False)
    frame = io.read_table(csv)
    spec = DataSpec(id_column=ID_COLUMN, target=TARGET, aux_targets=generated.aux_targets)
    started = time.perf_counter()
    run = pipeline.train(frame, spec, runs_dir=runs_dir, source_name=params.name, truth=generated.truth)
    seconds = time.perf_counter() - started
    generated.truth.to_csv(run.parent / f"{run.name}.truth.csv", index=False)
    result = evaluate_run(run, generated.truth, generated.aux_targets)
    return {"name": params.name, "domain": params.domain, "half": "", "train_seconds": round(seconds, 1),
            "run": str(run), **result}


def summary(results: list[dict[str, Any]]) -> dict[str, Any]:
    """Median and minimum of the headline figures over `results`."""
    def stats(values: list[float]) -> dict[str, float]:
        values = [v for v in values if v is not None]
        return {"median": round(statistics.median(values), 4), "min": round(min(values), 4)} if values else {}

    return {
        "data_sets": len(results),
        "ari": stats([r["ari"] for r in results]),
        "kmeans_true_k_ari": stats([r["kmeans_true_k_ari"] for r in results]),
        "ari_minus_kmeans": stats([r["ari"] - r["kmeans_true_k_ari"] for r in results]),
        "unassigned": {"max": max(r["unassigned"] for r in results)},
        "found_minus_planted": stats([r["found"] - r["planted"] for r in results]),
        "churn_log_loss_gain": stats([r["target_awareness"]["churn_log_loss_gain"] for r in results]),
        "kmeans_churn_log_loss_gain": stats([r["kmeans_same_k_awareness"]["churn_log_loss_gain"]
                                             for r in results]),
        "value_variance_share": stats([r["target_awareness"]["value_variance_share"] for r in results]),
        "kmeans_value_variance_share": stats([r["kmeans_same_k_awareness"]["value_variance_share"]
                                              for r in results]),
    }


def print_table(results: list[dict[str, Any]], summaries: dict[str, dict[str, Any]]) -> None:
    head = (f"{'half':<11}{'data set':<14}{'rows':>8}{'planted':>8}{'found':>6}{'ARI':>7}{'unass.':>7}"
            f"{'churnLL':>8}{'valueR2':>8}{'kmARI':>7}{'kmLL':>7}{'kmR2':>7}{'secs':>7}")
    print(head)
    for r in results:
        ta, km = r["target_awareness"], r["kmeans_same_k_awareness"]
        print(f"{r['half']:<11}{r['name']:<14}{r['rows']:>8}{r['planted']:>8}{r['found']:>6}{r['ari']:>7.3f}"
              f"{r['unassigned']:>7.1%}{_f(ta['churn_log_loss_gain']):>8}{_f(ta['value_variance_share']):>8}"
              f"{r['kmeans_true_k_ari']:>7.3f}{_f(km['churn_log_loss_gain']):>7}"
              f"{_f(km['value_variance_share']):>7}{r['train_seconds']:>7.0f}")
    for half, s in summaries.items():
        print(f"{half}: ARI median {s['ari'].get('median')} min {s['ari'].get('min')} | k-means (true k) median "
              f"{s['kmeans_true_k_ari'].get('median')} min {s['kmeans_true_k_ari'].get('min')} | "
              f"unassigned max {s['unassigned']['max']:.1%} | churn LL gain median "
              f"{s['churn_log_loss_gain'].get('median')} vs k-means {s['kmeans_churn_log_loss_gain'].get('median')}"
              f" | value R2 median {s['value_variance_share'].get('median')} vs k-means "
              f"{s['kmeans_value_variance_share'].get('median')}")


def _f(v: float | None) -> str:
    return "-" if v is None else f"{v:.3f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks segments", description=__doc__.splitlines()[0])
    parser.add_argument("--half", choices=("tuning", "confirming", "all"), default="all")
    parser.add_argument("--only", nargs="*", default=None, help="data set names to run")
    parser.add_argument("--max-rows", type=int, default=None, help="skip data sets larger than this")
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--keep-runs", type=Path, default=None, help="keep the runs (and truth) in this folder")
    parser.add_argument("--recluster", type=Path, default=None,
                        help="a --keep-runs folder of an earlier suite: run only the clustering stage again on each "
                             "kept run's latent space and map (for a changed clustering rule), no training")
    args = parser.parse_args(argv)
    if args.recluster:
        return recluster_suite(args.recluster, args.json)
    logging.basicConfig(level=logging.WARNING)
    halves = ("tuning", "confirming") if args.half == "all" else (args.half,)
    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="segment-suite-") as tmp:
        work = Path(tmp)
        runs_dir = args.keep_runs or work / "runs"
        runs_dir.mkdir(parents=True, exist_ok=True)
        for half in halves:
            for params in suite(half):
                if args.only and params.name not in args.only:
                    continue
                if args.max_rows and params.rows > args.max_rows:
                    continue
                result = {**run_data_set(params, work, runs_dir), "half": half}
                results.append(result)
                print(f"{half} {params.name}: ARI {result['ari']:.3f}, {result['found']} of {result['planted']} "
                      f"segments, k-means (true k) {result['kmeans_true_k_ari']:.3f}, "
                      f"{result['train_seconds']:.0f} s", flush=True)
                if args.json:  # written as it goes: a long suite leaves its figures even when stopped
                    _write(args.json, results)
    summaries = {half: summary([r for r in results if r["half"] == half]) for half in halves
                 if any(r["half"] == half for r in results)}
    print_table(results, summaries)
    if args.json:
        _write(args.json, results, summaries)
    return 0


def recluster_suite(kept: Path, json_out: Path | None) -> int:
    """`--recluster`: the suite's figures for every kept run, with segments from the current clustering."""
    names = {p.name: p for p in suite("all")}
    halves = {p.name: half for half in ("tuning", "confirming") for p in suite(half)}
    results = []
    for manifest in sorted(kept.glob("*/manifest.json")):
        run = manifest.parent
        name = json.loads(manifest.read_text())["source"]["name"]
        if name not in names or not (kept / f"{run.name}.truth.csv").exists():
            continue
        truth = pd.read_csv(kept / f"{run.name}.truth.csv")
        started = time.perf_counter()
        figures = evaluate_run(run, truth, generate_aux(names[name]), customers=recluster(run))
        results.append({"name": name, "domain": names[name].domain, "half": halves[name],
                        "train_seconds": round(time.perf_counter() - started, 1), "run": str(run), **figures})
    order = list(names)
    results.sort(key=lambda r: order.index(r["name"]))
    present = [h for h in ("tuning", "confirming") if any(r["half"] == h for r in results)]
    summaries = {h: summary([r for r in results if r["half"] == h]) for h in present}
    print_table(results, summaries)
    if json_out:
        _write(json_out, results, summaries)
    return 0


def generate_aux(params: SuiteData) -> tuple[str, str]:
    from benchmarks.segment_data import DOMAINS

    domain = DOMAINS[params.domain]
    return domain.value_target, domain.second_target


def _write(path: Path, results: list[dict[str, Any]], summaries: dict[str, Any] | None = None) -> None:
    path.write_text(json.dumps({"data_sets": results, "summary": summaries or {}}, indent=2, default=str))
