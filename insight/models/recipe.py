"""The one training recipe and the one scoring path.

`fit_models` is how every model is fitted: `insight train` (insight.pipeline), each fold of `insight evaluate`
(insight.models.evaluate) and nothing else. `score` is how any rows are scored with fitted or saved models:
training's own table, the held-out fold, `insight score` (local and Dask, insight.batch), what-if edits and
retention suggestions (insight.decisions.whatif).

    table, spec, config, rows -> fit_models -> Models (feature map, churn model, multi-task network, baseline)
    Models, raw or clean rows  -> score      -> Scores (probability, raw score, SHAP and reasons, heads, latent)

The recipe: the category maps and encodings are fitted on the training rows; the LightGBM churn model (with
its tree-size search and calibration) and the logistic baseline on the training and validation rows; the
multi-task network on the training rows, stopped early on the validation rows. Stages do no file I/O;
`insight.runs.models` loads a saved run's `Models`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

import numpy as np
import pandas as pd

from insight.config import ChurnConfig, DataSpec, TrainConfig
from insight.data.features import FeatureMap, encode, fit_feature_map
from insight.data.rows import clean_rows
from insight.data.schema import CleanTable
from insight.errors import InputError
from insight.models.baseline import LogisticBaseline, fit_logistic_baseline
from insight.models.churn import ChurnModel, fit_churn_model, thread_count
from insight.runs import layout

if TYPE_CHECKING:
    from insight.models.multitask import MultitaskModel

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Splits:
    """Row positions of the training, validation and test customers (labelled customers only)."""

    train: np.ndarray
    valid: np.ndarray
    test: np.ndarray

    @property
    def fit(self) -> np.ndarray:
        """The rows the churn model and the baseline are fitted on: training, then validation."""
        return np.concatenate([self.train, self.valid])

    def labels(self, n: int) -> np.ndarray:
        out = np.full(n, "unlabelled", dtype=object)
        out[self.train], out[self.valid], out[self.test] = "train", "valid", layout.TEST_SPLIT
        return out


def split_rows(y: np.ndarray, config: TrainConfig, *, test_size: float | None = None,
               groups: np.ndarray | None = None) -> Splits:
    """Stratified train / validation / test rows among customers whose churn label is known.

    `test_size=0` gives no test rows (cross-validation holds its own fold out). With `groups` (the customer
    id of each row, for a table of snapshots where one customer has a row per month) every customer's rows
    fall in one split, so the random-split test never scores a customer whose other months were trained on.
    """
    from sklearn.model_selection import train_test_split

    test_size = config.test_size if test_size is None else test_size
    labelled = np.flatnonzero(~np.isnan(y))
    valid_share = config.valid_size / (1 - test_size)
    if groups is not None:
        rest, test = (_group_split(labelled, y, groups, test_size, config.seed) if test_size > 0
                      else (labelled, np.array([], dtype=np.int64)))
        train, valid = _group_split(rest, y, groups, valid_share, config.seed)
        return Splits(train=np.sort(train), valid=np.sort(valid), test=np.sort(test))
    if test_size > 0:
        rest, test = train_test_split(labelled, test_size=test_size, stratify=y[labelled],
                                      random_state=config.seed)
    else:
        rest, test = labelled, np.array([], dtype=np.int64)
    train, valid = train_test_split(rest, test_size=valid_share, stratify=y[rest], random_state=config.seed)
    return Splits(train=np.sort(train), valid=np.sort(valid), test=np.sort(test))


def _group_split(rows: np.ndarray, y: np.ndarray, groups: np.ndarray, share: float,
                 seed: int) -> tuple[np.ndarray, np.ndarray]:
    """`rows` split into (rest, held out) with about `share` of them held out, whole groups at a time and
    stratified by the label (scikit-learn's StratifiedGroupKFold: the first of round(1 / share) folds)."""
    from sklearn.model_selection import StratifiedGroupKFold

    folds = max(2, int(round(1 / share)))
    if len(np.unique(groups[rows])) < folds:
        raise InputError(f"Too few customers to hold {share:.0%} of them out as whole customers: "
                         f"{len(np.unique(groups[rows]))} in the training snapshots.")
    splitter = StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=seed)
    rest, held = next(splitter.split(rows, y[rows], groups[rows]))
    return rows[rest], rows[held]


@dataclass(frozen=True)
class Models:
    """Fitted (or saved) models with the encoding they read. The multi-task network and the baseline are
    optional: a saved run's what-if needs the churn model only."""

    fmap: FeatureMap
    churn: ChurnModel
    multitask: MultitaskModel | None = None
    logistic: LogisticBaseline | None = None

    @property
    def feature_names(self) -> list[str]:
        return self.fmap.names


@dataclass(frozen=True)
class Fit:
    """What `fit_models` returns: the models and the training table's model matrix (scored next)."""

    models: Models
    X: np.ndarray
    seconds: dict[str, float] = field(default_factory=dict)
    """Wall seconds of each model stage on its own ("fitting the churn model", "training the multi-task
    network"); side by side, their sum exceeds the time they took together."""


@dataclass(frozen=True)
class Scores:
    """Every model's scores of some rows; what was not asked for (or has no model) is None / empty."""

    raw_score: np.ndarray
    """LightGBM's log-odds: base value + SHAP values."""
    probability: np.ndarray
    """The calibrated churn probability (the model of record)."""
    logistic_probability: np.ndarray | None = None
    heads: dict[str, np.ndarray] = field(default_factory=dict)
    """The multi-task network's prediction of each target, in the target's own units."""
    latent: np.ndarray | None = None
    shap_values: np.ndarray | None = None
    base_value: np.ndarray | None = None
    reasons: pd.DataFrame | None = None
    """reason_1..3 and top_reason, in words."""


class ChurnFitter(Protocol):
    """How `fit_models` fits the churn model on the training and validation rows it encoded; the default is
    `insight.models.churn.fit_churn_model` (`insight.models.churn_dask.DaskChurnFitter` fits the final model
    on a Dask cluster's partitions)."""

    def __call__(self, X: np.ndarray, y: np.ndarray, *, fmap: FeatureMap, config: ChurnConfig, seed: int,
                 threads: int | None) -> ChurnModel: ...


def targets_of(table: CleanTable, spec: DataSpec) -> dict[str, np.ndarray]:
    """The multi-task network's targets (churn first), NaN where unknown."""
    frame = table.frame
    return {spec.target: frame[spec.target].to_numpy(dtype=np.float64),
            **{a: frame[a].to_numpy(dtype=np.float64) for a in spec.aux_targets}}


def fit_models(table: CleanTable, spec: DataSpec, config: TrainConfig, *, splits: Splits,
               fit_rows: np.ndarray | None = None, progress: Callable[[str, float], None] | None = None,
               churn_fitter: ChurnFitter | None = None) -> Fit:
    """Fit every model on a clean table by the recipe (see the module docstring).

    `fit_rows`: the training and validation rows in the order the churn model and the baseline see them
    (default `splits.fit`: training, then validation). The order changes nothing but LightGBM's seeded
    bagging draws; cross-validation passes them in table order, as it always has.

    `progress(stage, fraction of that stage done)` reports "encoding features", "fitting the churn model" and
    "training the multi-task network", always from the calling thread; with more than one thread the last two
    run side by side (the churn model's stage then ends after the network's), and `Fit.seconds` has each
    one's own time.

    `churn_fitter`: how the churn model is fitted (default: `fit_churn_model` on these rows, see `ChurnFitter`).
    """
    from insight.models.multitask import fit_multitask

    report = progress or (lambda stage, fraction: None)
    report("encoding features", 0.0)
    fmap = fit_feature_map(table.frame, table.schema, fit_rows=splits.train)
    X = encode(table.frame, fmap)
    report("encoding features", 1.0)
    y = table.frame[spec.target].to_numpy(dtype=np.float64)
    fit_rows = splits.fit if fit_rows is None else fit_rows

    seconds: dict[str, float] = {}

    def fit_churn() -> tuple[ChurnModel, LogisticBaseline]:
        started = time.perf_counter()
        if churn_fitter is None:
            churn = fit_churn_model(X[fit_rows], y[fit_rows], feature_names=fmap.names,
                                    categorical=fmap.categorical_indices, config=config.churn, seed=config.seed,
                                    threads=config.threads)
        else:
            churn = churn_fitter(X[fit_rows], y[fit_rows], fmap=fmap, config=config.churn, seed=config.seed,
                                 threads=config.threads)
        logistic = fit_logistic_baseline(X[fit_rows], y[fit_rows], fmap)
        seconds["fitting the churn model"] = round(time.perf_counter() - started, 3)
        return churn, logistic

    def fit_network() -> MultitaskModel:
        started = time.perf_counter()
        report("training the multi-task network", 0.0)
        multitask = fit_multitask(X, targets_of(table, spec), fmap, train_rows=splits.train,
                                  valid_rows=splits.valid, config=config.multitask, seed=config.seed,
                                  threads=config.threads,
                                  progress=lambda f: report("training the multi-task network", f))
        report("training the multi-task network", 1.0)
        seconds["training the multi-task network"] = round(time.perf_counter() - started, 3)
        return multitask

    report("fitting the churn model", 0.0)
    if thread_count(config.threads) > 1:
        # The two model families are independent: the network (one torch thread) trains while LightGBM fits
        # (single-threaded fits, folds side by side), so the cores stay busy. Each fit is deterministic on its
        # own, so running them side by side changes no result. Progress is reported from this thread only
        # (a caller's callback may draw on a page, which only the script's own thread may do).
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="insight-churn") as pool:
            churn_future = pool.submit(fit_churn)
            multitask = fit_network()
            churn, logistic = churn_future.result()
        report("fitting the churn model", 1.0)
    else:
        churn, logistic = fit_churn()
        report("fitting the churn model", 1.0)
        multitask = fit_network()
    return Fit(models=Models(fmap=fmap, churn=churn, multitask=multitask, logistic=logistic), X=X,
               seconds=seconds)


def matrix(models: Models, rows: pd.DataFrame, *, strict: bool = True, ids: pd.Series | None = None) -> np.ndarray:
    """The model matrix of raw or clean feature columns, cleaned the one way (`insight.data.rows`)."""
    return encode(clean_rows(rows, models.fmap, strict=strict, ids=ids), models.fmap)


def score(models: Models, rows: pd.DataFrame, *, explain: bool = False, latent: bool = False,
          heads: bool = False, strict: bool = True, ids: pd.Series | None = None,
          threads: int | None = None) -> Scores:
    """Score raw or clean rows (InputError when a feature column is missing or, with `strict`, a value cannot
    be read). `explain`: SHAP values and reasons; `latent` / `heads`: the multi-task network's latent vector
    and predictions (needs `models.multitask`)."""
    return score_matrix(models, matrix(models, rows, strict=strict, ids=ids), explain=explain, latent=latent,
                        heads=heads, threads=threads)


def score_matrix(models: Models, X: np.ndarray, *, explain: bool = False, latent: bool = False,
                 heads: bool = False, threads: int | None = None) -> Scores:
    """`score` of rows already encoded by `models.fmap` (training's own table)."""
    from insight.models.explain import reason_frame, shap_values

    churn = models.churn
    raw = churn.raw_score(X, threads=threads)
    out: dict[str, object] = {"raw_score": raw, "probability": churn.calibration(raw)}
    if models.logistic is not None:
        out["logistic_probability"] = models.logistic.probability(X)
    if explain:
        values, base = shap_values(churn, X, threads=threads)
        out.update(shap_values=values, base_value=base,
                   reasons=reason_frame(X, values, raw, models.fmap, churn.calibration))
    if latent or heads:
        if models.multitask is None:
            raise ValueError("these models have no multi-task network: load them with multitask=True")
        z, predictions = models.multitask.outputs(X)
        if latent:
            out["latent"] = z
        if heads:
            out["heads"] = predictions
    return Scores(**out)  # type: ignore[arg-type]


def explanation_frame(models: Models, scores: Scores, index: pd.Index | None = None) -> pd.DataFrame:
    """Per row: churn_probability, churn_score, reason_1..3, top_reason, and one `shap_<feature>` column per
    feature with `base_value` (what what-if panels show)."""
    if scores.reasons is None or scores.shap_values is None:
        raise ValueError("score the rows with explain=True first")
    out = scores.reasons.copy()
    out.insert(0, layout.CHURN_SCORE, scores.raw_score)
    out.insert(0, layout.CHURN_PROBABILITY, scores.probability)
    shap = pd.DataFrame(scores.shap_values, columns=[f"shap_{n}" for n in models.feature_names])
    shap[layout.BASE_VALUE] = scores.base_value
    out = pd.concat([out, shap], axis=1)
    if index is not None:
        out.index = index
    return out
