"""The only place that wires the stages together: train() writes a run, score() applies one."""

from __future__ import annotations

import hashlib
import logging
import platform
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from insight.config import DataSpec, TrainConfig
from insight.errors import InputError
from insight.segments.mapsample import MAP_FILE, MAP_SHAP_FILE, map_sample_rows
from insight.models.metrics import binary_metrics
from insight.models.shap_groups import SHAP_GROUPS_FILE, shap_group_sums
from insight.segments.target_awareness import target_awareness

log = logging.getLogger(__name__)

Progress = Callable[[str, float], None]
"""progress(stage, fraction of the whole job done)."""

STAGES = {  # stage -> (start, end) share of the whole job, for progress bars
    "checking the table": (0.00, 0.05),
    "encoding features": (0.05, 0.08),
    "fitting the churn model": (0.08, 0.15),
    "computing SHAP values": (0.15, 0.25),
    "training the multi-task network": (0.25, 0.55),
    "projecting with UMAP": (0.55, 0.85),
    "finding segments": (0.85, 0.92),
    "profiling segments": (0.92, 0.96),
    "writing the run": (0.96, 1.00),
}
RISK_BANDS = ("low", "medium", "high", "very high")
KMEANS_BASELINE_ROWS = 200_000
REVENUE_WORDS = frozenset({"revenue", "value", "spend", "sales", "arr", "mrr", "ltv", "charges", "amount", "income"})


@dataclass(frozen=True)
class Splits:
    train: np.ndarray
    valid: np.ndarray
    test: np.ndarray

    def labels(self, n: int) -> np.ndarray:
        out = np.full(n, "unlabelled", dtype=object)
        out[self.train], out[self.valid], out[self.test] = "train", "valid", "test"
        return out


def train(
    frame: pd.DataFrame,
    spec: DataSpec,
    config: TrainConfig | None = None,
    *,
    runs_dir: Path,
    source_name: str = "data",
    truth: pd.DataFrame | None = None,
    progress: Progress | None = None,
) -> Path:
    """Train every model on `frame` and write one run under `runs_dir`; return the run's folder.

    `truth` (optional, never used as input) holds planted segments keyed by the id column, for reporting
    how well the segments recover them.
    """
    from insight.models import baseline, churn, explain, multitask
    from insight.data import features, schema
    from insight.segments import profiles, clustering as segments
    from insight.runs import run as runs

    config = config or TrainConfig()
    timings: dict[str, float] = {}
    clock = _Clock(progress, timings)

    with clock("checking the table"):
        table = schema.clean_table(frame, spec)
        data = table.frame
        y = data[spec.target].to_numpy(dtype=np.float64)
        splits = split_rows(y, config)
        revenue_column = spec.revenue_column or guess_revenue_column(spec.aux_targets)
        if revenue_column and revenue_column not in data.columns:
            raise InputError(f"--revenue column {revenue_column!r} is not a feature or aux target of this table "
                             "(dropped columns cannot be used).")
    with clock("encoding features"):
        fmap = features.fit_feature_map(data, table.schema, fit_rows=splits.train)
        X = features.encode(data, fmap)
    with clock("fitting the churn model"):
        fit_rows = np.concatenate([splits.train, splits.valid])
        model = churn.fit_churn_model(X[fit_rows], y[fit_rows], feature_names=fmap.names,
                                      categorical=fmap.categorical_indices, config=config.churn, seed=config.seed,
                                      threads=config.threads)
        raw = model.raw_score(X)
        probability = model.calibration(raw)
        logistic_probability = baseline.fit_logistic_baseline(X[fit_rows], y[fit_rows], fmap).probability(X)
    with clock("computing SHAP values"):
        shap_values, base = explain.shap_values(model, X, threads=config.threads)
        additivity_error = float(np.max(np.abs(shap_values.sum(axis=1) + base - raw))) if len(raw) else 0.0
        if additivity_error > 1e-6:
            log.warning("SHAP values miss the raw score by up to %.2g", additivity_error)
        reasons = explain.reason_frame(X, shap_values, raw, fmap, model.calibration)
    with clock("training the multi-task network"):
        targets = {spec.target: y, **{a: data[a].to_numpy(dtype=np.float64) for a in spec.aux_targets}}
        mt = multitask.fit_multitask(
            X, targets, fmap, train_rows=splits.train, valid_rows=splits.valid, config=config.multitask,
            seed=config.seed, threads=config.threads,
            progress=lambda f: clock.within("training the multi-task network", f))
        latent = mt.latent(X)
        heads = mt.predict(X)
    with clock("projecting with UMAP"):
        projection = segments.project(latent, config=config.segments, seed=config.seed)
    with clock("finding segments"):
        held_out = np.zeros(len(y), dtype=bool)
        held_out[splits.test] = True
        known = {name: np.where(held_out, np.nan, v) for name, v in targets.items()}
        clustering = segments.cluster(latent, projection, config=config.segments, seed=config.seed,
                                      targets=known)  # the test customers' outcomes stay unseen
    customers = customer_table(frame, data, spec, table.schema, probability, raw, heads, reasons, clustering.labels,
                               projection.xy, splits, revenue_column=revenue_column)
    with clock("profiling segments"):
        role_of = {f.name: str(f.role) for f in fmap.features}
        segment_profiles = profiles.segment_profiles(
            customers, clustering.labels, features=role_of, target=spec.target, aux_targets=spec.aux_targets,
            revenue_column=revenue_column, shap_values=shap_values, feature_names=fmap.names, seed=config.seed)
        names = {p["id"]: p["name"] for p in segment_profiles}
        customers["segment_name"] = customers["segment_id"].map(names)
    metrics = evaluation(y, probability, heads, data, spec, splits, mt.tasks)
    metrics["lightgbm"]["search"] = model.search
    metrics["lightgbm"]["shap_additivity_max_error"] = additivity_error
    metrics["logistic"] = {"test": binary_metrics(y[splits.test], logistic_probability[splits.test])}
    customers["logistic_churn_probability"] = logistic_probability
    segment_report = {**clustering.info, "projection": projection.info,
                      "target_awareness": target_awareness(
                          clustering.labels, y, {a: targets[a] for a in spec.aux_targets},
                          train_rows=np.concatenate([splits.train, splits.valid]), test_rows=splits.test),
                      **recovery_report(customers, spec.id_column, truth, X, clustering.labels, config.seed)}
    metrics["segments"] = segment_report

    with clock("writing the run"):
        runs_dir = runs.resolve_runs_dir(runs_dir)
        run_id = runs.new_run_id(source_name)
        with runs.RunWriter(runs_dir, run_id) as writer:
            writer.write_text("churn_model.txt", model.to_text())
            writer.write_json("calibration.json", model.calibration.to_dict())
            writer.write_json("features.json", {**fmap.to_dict(), "schema": table.schema.to_dict()})
            writer.write_bytes("multitask.pt", mt.state_bytes())
            writer.write_json("multitask.json", mt.describe())
            order = id_order(data[spec.id_column])
            stored = customers.iloc[order].reset_index(drop=True)
            shap_table = explain.shap_frame(data[spec.id_column], shap_values, base, fmap.names)
            shap_table = shap_table.iloc[order].reset_index(drop=True)
            writer.write_parquet("customers.parquet", stored)
            writer.write_parquet("shap.parquet", shap_table)
            writer.write_parquet(SHAP_GROUPS_FILE, shap_group_sums(shap_values, fmap.names,
                                                                   customers["segment_id"].to_numpy(),
                                                                   customers["risk_band"].to_numpy()))
            latent_frame = pd.DataFrame(latent, columns=[f"z{i}" for i in range(latent.shape[1])])
            latent_frame.insert(0, spec.id_column, data[spec.id_column].to_numpy())
            # latent.parquet keeps the training order: segments.fit_sample_rows finds the map's fitted sample
            # in it by position (batch scoring places new customers against that sample)
            writer.write_parquet("latent.parquet", latent_frame, compress_floats=False)
            map_rows = map_sample_rows(len(stored), seed=config.seed)
            if map_rows is not None:  # a large run: the map's sample, ready to read
                writer.write_parquet(MAP_FILE, stored.iloc[map_rows].reset_index(drop=True))
                writer.write_parquet(MAP_SHAP_FILE, shap_table.iloc[map_rows].reset_index(drop=True))
            writer.write_json("segments.json", {"segments": segment_profiles, **segment_report})
            importance = explain.global_importance(shap_values, fmap.names)
            manifest = {
                "created": datetime.now(UTC).isoformat(timespec="seconds"),
                "source": {"name": source_name, "rows": int(len(frame)), "columns": int(frame.shape[1]),
                           "fingerprint": fingerprint(frame)},
                "spec": {**spec.to_dict(), "revenue_column": revenue_column,
                         "actionable": actionable_features(spec, fmap.names)},
                "config": config.to_dict(),
                "metrics": metrics,
                "features": fmap.names,
                "dropped_columns": [{"name": c.name, "role": str(c.role), "reason": c.reason}
                                    for c in table.schema.dropped],
                "global_importance": importance.head(50).to_dict(orient="records"),
                "risk_bands": risk_band_thresholds(float(np.nanmean(y))),
                "churn_rate": float(np.nanmean(y)),
                "timings_seconds": timings,
                "versions": library_versions(),
            }
            path = writer.commit(manifest)
    log.info("run %s complete: test ROC AUC %.3f", run_id, metrics["lightgbm"]["test"]["roc_auc"])
    return path


def split_rows(y: np.ndarray, config: TrainConfig, *, test_size: float | None = None) -> Splits:
    """Stratified train / validation / test rows among customers whose churn label is known.

    `test_size=0` gives no test rows (cross-validation holds its own fold out).
    """
    from sklearn.model_selection import train_test_split

    test_size = config.test_size if test_size is None else test_size
    labelled = np.flatnonzero(~np.isnan(y))
    if test_size > 0:
        rest, test = train_test_split(labelled, test_size=test_size, stratify=y[labelled],
                                      random_state=config.seed)
    else:
        rest, test = labelled, np.array([], dtype=np.int64)
    valid_share = config.valid_size / (1 - test_size)
    train, valid = train_test_split(rest, test_size=valid_share, stratify=y[rest], random_state=config.seed)
    return Splits(train=np.sort(train), valid=np.sort(valid), test=np.sort(test))


def risk_band_thresholds(base_rate: float) -> dict[str, float]:
    """Bands relative to the average risk: medium from half of it, high from 1.5x, very high from 2.5x."""
    cuts = [min(0.95, base_rate * f) for f in (0.5, 1.5, 2.5)]
    return {"medium": cuts[0], "high": cuts[1], "very high": cuts[2]}


def risk_bands(probability: np.ndarray, thresholds: dict[str, float]) -> pd.Categorical:
    edges = [thresholds["medium"], thresholds["high"], thresholds["very high"]]
    idx = np.searchsorted(edges, probability, side="right")
    return pd.Categorical.from_codes(idx, categories=list(RISK_BANDS), ordered=True)


def id_order(ids: pd.Series) -> np.ndarray:
    """The row order a run stores its tables in: by customer id, so that each Parquet row group spans a
    narrow range of ids and a lookup of one customer reads one group."""
    try:
        return np.argsort(ids.to_numpy(), kind="stable")
    except TypeError:  # values of mixed types: order by their text
        return np.argsort(ids.astype(str).to_numpy(), kind="stable")


def customer_table(raw: pd.DataFrame, data: pd.DataFrame, spec: DataSpec, table_schema: Any,
                   probability: np.ndarray, raw_score: np.ndarray, heads: dict[str, np.ndarray],
                   reasons: pd.DataFrame, labels: np.ndarray, xy: np.ndarray, splits: Splits, *,
                   revenue_column: str | None) -> pd.DataFrame:
    """customers.parquet: id, inputs, targets, scores, reasons, segment and map position."""
    out = data.copy()
    for col in table_schema.dropped:  # keep dropped inputs for filtering and export
        values = raw[col.name]
        out[col.name] = values.to_numpy() if pd.api.types.is_numeric_dtype(values) else values.astype("string").array
    out["churn_probability"] = probability
    out["churn_score"] = raw_score
    out["risk_band"] = risk_bands(probability, risk_band_thresholds(float(np.nanmean(data[spec.target]))))
    if revenue_column:
        out["revenue_at_risk"] = probability * customer_value(data, heads, revenue_column,
                                                              known=revenue_column in table_schema.features)
    out["mt_churn_probability"] = heads[spec.target]
    for aux in spec.aux_targets:
        out[f"predicted_{aux}"] = heads[aux]
    out = pd.concat([out, reasons], axis=1)
    out["segment_id"] = labels
    out["segment_name"] = ""
    out["x"], out["y"] = xy[:, 0], xy[:, 1]
    out["split"] = splits.labels(len(out))
    return out


def evaluation(y: np.ndarray, probability: np.ndarray, heads: dict[str, np.ndarray], data: pd.DataFrame,
               spec: DataSpec, splits: Splits, tasks: list[Any]) -> dict[str, Any]:
    """Held-out metrics of both models; LightGBM's test metrics come first (the model of record). Each
    auxiliary head is measured against predicting its training mean (`insight.models.metrics.aux_head_metrics`)."""
    from insight.models.metrics import aux_head_metrics, binary_metrics

    test, train = splits.test, splits.train
    out: dict[str, Any] = {
        "lightgbm": {"test": binary_metrics(y[test], probability[test])},
        "multitask": {spec.target: binary_metrics(y[test], heads[spec.target][test])},
        "split_sizes": {"train": int(len(train)), "valid": int(len(splits.valid)), "test": int(len(test))},
    }
    for task in tasks[1:]:
        values = data[task.name].to_numpy(dtype=np.float64)
        known = test[~np.isnan(values[test])]
        seen = values[train][~np.isnan(values[train])]
        train_mean = float(seen.mean()) if seen.size else None
        kind = "binary" if task.kind == "binary" else "regression"
        out["multitask"][task.name] = aux_head_metrics(values[known], heads[task.name][known], kind=kind,
                                                       train_mean=train_mean)
    return out


def recovery_report(customers: pd.DataFrame, id_column: str, truth: pd.DataFrame | None, X: np.ndarray,
                    labels: np.ndarray, seed: int) -> dict[str, Any]:
    """With planted segments known: ARI of the segments, and of k-means on the standardised raw features."""
    if truth is None or "segment" not in truth.columns or id_column not in truth.columns:
        return {}
    from sklearn.cluster import KMeans
    from sklearn.metrics import adjusted_rand_score

    planted = customers[[id_column]].merge(truth[[id_column, "segment"]], on=id_column, how="left")["segment"]
    known = planted.notna().to_numpy()
    if known.sum() < 10:
        return {}
    rows = np.flatnonzero(known)
    if len(rows) > KMEANS_BASELINE_ROWS:  # the baseline on a seeded sample: k-means on a million rows is slow
        rows = np.sort(np.random.default_rng(seed).choice(rows, size=KMEANS_BASELINE_ROWS, replace=False))
    Xs = X[rows]
    Xs = np.where(np.isnan(Xs), np.nanmedian(Xs, axis=0), Xs)
    Xs = (Xs - Xs.mean(axis=0)) / np.where(Xs.std(axis=0) > 0, Xs.std(axis=0), 1.0)
    k = max(2, int(planted.nunique()))
    kmeans = KMeans(n_clusters=k, n_init=4, random_state=seed).fit_predict(Xs)
    return {"planted_segments": int(planted.nunique()),
            "ari_vs_planted": round(float(adjusted_rand_score(planted[known], labels[known])), 4),
            "kmeans_raw_ari_vs_planted": round(float(adjusted_rand_score(planted.to_numpy()[rows], kmeans)), 4),
            "kmeans_rows": int(len(rows))}


def fingerprint(frame: pd.DataFrame) -> str:
    """A sha256 of the table's content (values and column names)."""
    h = hashlib.sha256()
    h.update("\x1f".join(map(str, frame.columns)).encode())
    h.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    return h.hexdigest()


def library_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for pkg in ("customer-insight", "lightgbm", "torch", "umap-learn", "scikit-learn", "pandas", "numpy", "shap"):
        try:
            versions[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            continue
    return versions


def actionable_features(spec: DataSpec, features: list[str]) -> list[str]:
    """The features what-if suggestions may change: --actionable, else the demo data's levers if present."""
    from insight.data.demo import default_actionable

    chosen = spec.actionable or default_actionable(features)
    return [f for f in chosen if f in features]


def guess_revenue_column(aux_targets: tuple[str, ...]) -> str | None:
    """The first aux target whose name has a money word as a token ('revenue_next_12m', 'MonthlyCharges')."""
    for name in aux_targets:
        spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", name).lower()
        if set(re.split(r"[^a-z0-9]+", spaced)) & REVENUE_WORDS:
            return name
    return None


def customer_value(data: pd.DataFrame, heads: dict[str, np.ndarray], revenue_column: str, *,
                   known: bool = False) -> np.ndarray:
    """What a customer is worth, for revenue at risk: the multi-task head's prediction when the revenue
    column is an aux target (an outcome, unknown for customers still to be scored), else the column; also
    the column when it is `known` (an aux target kept as a feature by --keep: a present-state value)."""
    from_head = revenue_column in heads and not known
    values = heads[revenue_column] if from_head else data[revenue_column].to_numpy(dtype=np.float64)
    return np.clip(np.nan_to_num(values, nan=0.0), 0.0, None)


class _Clock:
    """Times stages and reports progress as a share of the whole job."""

    def __init__(self, progress: Progress | None, timings: dict[str, float]) -> None:
        self.progress, self.timings = progress, timings

    def __call__(self, stage: str) -> _Clock:
        self.stage = stage
        return self

    def __enter__(self) -> None:
        self.started = time.perf_counter()
        self._report(self.stage, STAGES[self.stage][0])

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        self.timings[self.stage] = round(time.perf_counter() - self.started, 3)
        if exc_type is None:
            self._report(self.stage, STAGES[self.stage][1])

    def within(self, stage: str, fraction: float) -> None:
        start, end = STAGES[stage]
        self._report(stage, start + (end - start) * min(1.0, fraction))

    def _report(self, stage: str, done: float) -> None:
        if self.progress:
            self.progress(stage, done)
