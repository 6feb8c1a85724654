"""The only place that wires the stages together: `train` runs the recipe on a table and writes one run.

    clean and split (data.schema, models.recipe) -> fit_models (models.recipe) -> score_matrix with SHAP,
    latent and heads -> project and cluster (segments) -> the customer table (runs.writer), profiles and
    names (segments.profiles), metrics -> runs.writer.write_trained_run

Scoring new customers with a saved run goes through `insight.models.recipe.score` (see insight.batch and
insight.decisions.whatif); no stage code lives here.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from insight.config import DataSpec, TrainConfig
from insight.runs import layout

if TYPE_CHECKING:
    from insight.data.features import FeatureMap
    from insight.data.schema import CleanTable
    from insight.survival.run_parts import SurvivalParts
    from insight.uplift.run_parts import UpliftParts
    from insight.data.snapshots import SnapshotPlan
    from insight.models.recipe import Splits


log = logging.getLogger(__name__)

Progress = Callable[[str, float], None]
"""progress(stage, fraction of the whole job done)."""

STAGES = {  # stage -> (start, end) share of the whole job, for progress bars
    "checking the table": (0.00, 0.05),
    "encoding features": (0.05, 0.08),
    "fitting the churn model": (0.08, 0.15),
    "training the multi-task network": (0.15, 0.45),
    "computing SHAP values": (0.45, 0.55),
    "projecting with UMAP": (0.55, 0.85),
    "finding segments": (0.85, 0.92),
    "profiling segments": (0.92, 0.96),
    "modelling time to churn": (0.92, 0.96),
    "modelling the offer's effect": (0.92, 0.96),
    "writing the run": (0.96, 1.00),
}


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
    from insight.data import schema, snapshots
    from insight.data.spec import resolved_spec, revenue_column
    from insight.decisions.risk_bands import risk_band_thresholds
    from insight.models import explain
    from insight.models.evaluate import held_out_metrics, snapshot_metrics
    from insight.models.metrics import binary_metrics
    from insight.models.recipe import fit_models, score_matrix, split_rows, targets_of
    from insight.models.shap_groups import shap_group_sums
    from insight.runs.run import prepare_runs_dir
    from insight.runs.writer import TrainedRun, customer_table, write_trained_run
    from insight.segments import clustering, profiles
    from insight.segments.identity import keep_identity
    from insight.segments.recovery import recovery_report
    from insight.segments.target_awareness import target_awareness
    from insight.survival.setup import checked_duration
    from insight.uplift.run_parts import checked_campaign

    config = config or TrainConfig()
    campaign = checked_campaign(spec, frame) if spec.treatment_column else None  # never features (data.schema)
    prepare_runs_dir(runs_dir)  # a runs folder that is a file fails now, not after the fit; killed leftovers go
    timings: dict[str, float] = {}
    clock = StageClock(progress, timings)

    source, plan = frame, None
    with clock("checking the table"):
        if spec.time_column:  # snapshots: rows up to --as-of, the time column as dates
            frame = snapshots.snapshot_rows(frame, spec.time_column, as_of=config.as_of)
        table = schema.clean_table(frame, spec)
        data = table.frame
        y = data[spec.target].to_numpy(dtype=np.float64)
        if spec.time_column:  # train on the labelled snapshots before L, test out of time on L
            plan = snapshots.snapshot_plan(frame[spec.time_column], y, time_column=spec.time_column,
                                           as_of=config.as_of)
        splits = (split_rows(y, config) if plan is None else  # snapshots: a customer's months stay together
                  split_rows(plan.training_labels(y), config, groups=data[spec.id_column].to_numpy()))
        revenue = revenue_column(spec, data.columns)
        duration = checked_duration(spec, frame) if spec.duration_column else None
    warming = _warm_compiled_code(explain.FAST_TREESHAP_ROWS <= len(data), config)
    fit = fit_models(table, spec, config, splits=splits, progress=clock.report)
    timings.update(fit.seconds)  # each model's own time (they train side by side)
    if warming is not None:
        warming.join()
    models, X = fit.models, fit.X
    assert models.multitask is not None and models.logistic is not None
    spec = resolved_spec(spec, revenue=revenue, features=models.feature_names)
    if plan is not None:  # measured before the run keeps only snapshot S's customers
        time_metrics = snapshot_metrics(models, X, y, data, spec, splits, plan, threads=config.threads)
        churn_rate = float(np.nanmean(plan.training_labels(y)))
        frame, table, X, y, splits = _latest_snapshot(frame, table, X, y, plan)
        data = table.frame
    with clock("computing SHAP values"):
        scores = score_matrix(models, X, explain=True, latent=True, heads=True, threads=config.threads)
        assert scores.shap_values is not None and scores.base_value is not None and scores.latent is not None
        additivity_error = (float(np.max(np.abs(scores.shap_values.sum(axis=1) + scores.base_value
                                                - scores.raw_score))) if len(y) else 0.0)
        if additivity_error > 1e-6:
            log.warning("SHAP values miss the raw score by up to %.2g", additivity_error)
    targets = targets_of(table, spec)
    with clock("projecting with UMAP"):
        projection = clustering.project(scores.latent, config=config.segments, seed=config.seed)
    with clock("finding segments"):
        held_out = np.zeros(len(y), dtype=bool)
        held_out[splits.test] = True
        known = {name: np.where(held_out, np.nan, v) for name, v in targets.items()}
        found = clustering.cluster(scores.latent, projection, config=config.segments, seed=config.seed,
                                   targets=known)  # the test customers' outcomes stay unseen
    if plan is None:
        churn_rate = float(np.nanmean(y))
    thresholds = risk_band_thresholds(churn_rate)
    customers = customer_table(frame, data, spec, table.schema, scores, found.labels, projection.xy, splits,
                               thresholds=thresholds)
    with clock("profiling segments"):
        role_of = {f.name: str(f.role) for f in models.fmap.features}
        segment_profiles = profiles.segment_profiles(
            customers, found.labels, features=role_of, target=spec.target, aux_targets=spec.aux_targets,
            revenue_column=revenue, shap_values=scores.shap_values, feature_names=models.feature_names,
            seed=config.seed)
        names = {p.id: p.name for p in segment_profiles}
        customers[layout.SEGMENT_NAME] = customers[layout.SEGMENT_ID].map(names)
        # the ids, names and colours of the segments of an earlier run they match (by the customers they share)
        segment_profiles, identity = keep_identity(customers, segment_profiles, runs_dir=runs_dir,
                                                   id_column=spec.id_column)
    survival = None
    if duration is not None:
        with clock("modelling time to churn"):
            survival = _survival_parts(spec, models.fmap, X, data, duration, y, splits, customers, config)
            customers = pd.concat([customers, survival.columns], axis=1)
    uplift = None
    if campaign is not None:
        with clock("modelling the offer's effect"):
            uplift = _uplift_parts(spec, models.fmap, X, campaign, y, scores.probability, splits, config)
            customers = pd.concat([customers, uplift.columns], axis=1)
    if plan is None:
        metrics = held_out_metrics(y, scores.probability, scores.heads, data, spec, splits, models.multitask.tasks)
    else:
        metrics = time_metrics
    metrics["lightgbm"]["search"] = models.churn.search
    metrics["lightgbm"]["shap_additivity_max_error"] = additivity_error
    logistic = scores.logistic_probability
    assert logistic is not None
    if plan is None:
        metrics["logistic"] = {"test": binary_metrics(y[splits.test], logistic[splits.test])}
    customers[layout.LOGISTIC_CHURN_PROBABILITY] = logistic
    ids = data[spec.id_column]
    segment_report = {**found.info, "projection": projection.info,
                      "target_awareness": target_awareness(
                          found.labels, y, {a: targets[a] for a in spec.aux_targets},
                          train_rows=splits.fit, test_rows=splits.test),
                      **recovery_report(ids, truth, X, found.labels, config.seed)}
    if identity:
        segment_report["identity"] = identity
    metrics["segments"] = segment_report
    if survival is not None:
        metrics["survival"] = survival.metrics
    if uplift is not None:
        metrics["uplift"] = uplift.metrics

    with clock("writing the run"):
        path = write_trained_run(runs_dir, TrainedRun(
            source_name=source_name, source=source, spec=spec, config=config, schema=table.schema, models=models,
            ids=ids, customers=customers, shap_values=scores.shap_values, base_value=scores.base_value,
            shap_groups=shap_group_sums(scores.shap_values, models.feature_names,
                                        customers[layout.SEGMENT_ID].to_numpy(),
                                        customers[layout.RISK_BAND].to_numpy()),
            latent=scores.latent, fit_rows=projection.fit_rows, segment_profiles=segment_profiles,
            segment_report=segment_report, metrics=metrics,
            global_importance=explain.global_importance(scores.shap_values, models.feature_names),
            churn_rate=churn_rate, risk_bands=thresholds, timings=timings, survival=survival, uplift=uplift))
    log.info("run %s complete: test ROC AUC %.3f", path.name, metrics["lightgbm"]["test"]["roc_auc"])
    if plan is not None:
        log.info("out of time (%s): ROC AUC %.3f", metrics["lightgbm"]["out_of_time"]["snapshot"],
                 metrics["lightgbm"]["out_of_time"]["roc_auc"])
    return path


def _survival_parts(spec: DataSpec, fmap: FeatureMap, X: np.ndarray, data: pd.DataFrame, duration: np.ndarray,
                    y: np.ndarray, splits: Splits, customers: pd.DataFrame, config: TrainConfig) -> SurvivalParts:
    """The survival model of `--duration` (insight.survival.run_parts), fitted on the training customers and
    tested on the test customers like the churn model."""
    from insight.survival.run_parts import SurvivalParts, customer_columns, fit_survival, segment_curves
    from insight.survival.setup import survival_setup

    train_rows = np.sort(splits.fit)
    setup = survival_setup(spec, fmap, X, data, duration, train_rows)
    model, metrics = fit_survival(setup, X, fmap, duration, y, train_rows=train_rows, test_rows=splits.test,
                                  seed=config.seed, threads=config.threads)
    value = (np.clip(np.nan_to_num(pd.to_numeric(data[setup.period_value_column], errors="coerce")
                                   .to_numpy(dtype=np.float64, na_value=np.nan), nan=0.0), 0.0, None)
             if setup.period_value_column else None)
    columns, shap = customer_columns(model, setup, X, fmap, duration, value, threads=config.threads)
    known = ~np.isnan(y)  # curves and tests of the customers whose outcome is known
    curves, tests = segment_curves(model, setup, X[known], fmap, duration[known], y[known],
                                   customers[layout.SEGMENT_ID].to_numpy()[known])
    metrics["segments"] = tests
    log.info("survival model: %s", ", ".join(f"{k} {v['concordance']:.3f}" for k, v in metrics.get("test", {}).items()))
    return SurvivalParts(setup=setup, model=model, columns=columns, shap=shap, curves=curves, metrics=metrics)


def _uplift_parts(spec: DataSpec, fmap: FeatureMap, X: np.ndarray, campaign: tuple[np.ndarray, np.ndarray | None],
                  y: np.ndarray, risk: np.ndarray, splits: Splits, config: TrainConfig) -> UpliftParts:
    """The uplift model of `--treatment` (insight.uplift.run_parts), chosen and fitted on the training
    customers and tested on the test customers like the churn model."""
    from insight.uplift.run_parts import fit_uplift

    treatment, propensity = campaign
    return fit_uplift(spec, X, fmap, treatment, propensity, y, risk, train_rows=np.sort(splits.fit),
                      test_rows=splits.test, seed=config.seed, threads=config.threads)


def _latest_snapshot(frame: pd.DataFrame, table: CleanTable, X: np.ndarray, y: np.ndarray, plan: SnapshotPlan,
                     ) -> tuple[pd.DataFrame, CleanTable, np.ndarray, np.ndarray, Splits]:
    """The rows of snapshot S (the customers a time-aware run shows, one per id): its raw and clean rows,
    model matrix and labels, and splits in which only L's labelled rows (when S is L) are test rows."""
    from insight.data.schema import CleanTable
    from insight.models.recipe import Splits

    shown = plan.latest_rows()
    tested = np.flatnonzero(np.isin(shown, plan.out_of_time_rows(y)))
    none = np.array([], dtype=np.int64)
    return (frame.iloc[shown].reset_index(drop=True),
            CleanTable(frame=table.frame.iloc[shown].reset_index(drop=True), schema=table.schema),
            X[shown], y[shown], Splits(train=none, valid=none, test=tested))


def _warm_compiled_code(treeshap: bool, config: TrainConfig) -> threading.Thread | None:
    """With more than one thread: compile the projection's (and exact SHAP's) machine code on tiny inputs in a
    background thread while the models train, so that the stages after them never wait for numba. After the
    first process this only loads numba's cache (about a second); in a fresh install it hides the compiling
    (some 40 s of one core) behind the models' fits. A failure here only costs the overlap."""
    from insight.models.churn import thread_count

    if thread_count(config.threads) < 2:
        return None

    def warm() -> None:
        try:
            from insight.config import SegmentConfig
            from insight.segments.clustering import project

            latent = np.random.default_rng(0).normal(size=(300, config.multitask.latent_dim)).astype(np.float32)
            project(latent, config=SegmentConfig(n_epochs=5, fit_sample=300, trustworthiness_sample=50))
            if treeshap:
                from insight.models import treeshap as fast

                fast.warm_up()
        except Exception as e:  # noqa: BLE001 - the stages compile what they need themselves
            log.debug("warming compiled code failed: %s", e)

    thread = threading.Thread(target=warm, name="insight-warm-up", daemon=True)
    thread.start()
    return thread


class StageClock:
    """Times stages and reports progress as a share of the whole job. `stages` maps each stage to its (start,
    end) share. Stages that `fit_models` runs side by side report from two threads: each has its own start,
    and the share reported never goes back. Used by `train` and by the Dask training (insight.batch)."""

    def __init__(self, progress: Progress | None, timings: dict[str, float] | None = None, *,
                 stages: dict[str, tuple[float, float]] = STAGES) -> None:
        self.progress, self.stages = progress, stages
        self.timings: dict[str, float] = {} if timings is None else timings
        self.stage = ""
        self.started: dict[str, float] = {}
        self.done = 0.0
        self.lock = threading.Lock()

    def __call__(self, stage: str) -> StageClock:
        self.stage = stage
        return self

    def __enter__(self) -> None:
        self.report(self.stage, 0.0)

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        self.timings[self.stage] = round(time.perf_counter() - self.started[self.stage], 3)
        if exc_type is None:
            self._report(self.stage, self.stages[self.stage][1])

    def report(self, stage: str, fraction: float) -> None:
        """A stage started (0), ended (1) or part done (`fit_models` reports its stages this way)."""
        if fraction <= 0.0:
            self.started[stage] = time.perf_counter()
            self._report(stage, self.stages[stage][0])
        elif fraction >= 1.0:
            self.timings[stage] = round(time.perf_counter() - self.started[stage], 3)
            self._report(stage, self.stages[stage][1])
        else:
            self.within(stage, fraction)

    def within(self, stage: str, fraction: float) -> None:
        start, end = self.stages[stage]
        self._report(stage, start + (end - start) * min(1.0, fraction))

    def _report(self, stage: str, done: float) -> None:
        with self.lock:
            self.done = max(self.done, done)
            if self.progress:
                self.progress(stage, self.done)
