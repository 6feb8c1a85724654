"""What a Dask worker does with one partition of a training table (`insight.batch.dask_train` wires it).

Every function here reads one part (`insight.data.sources.Source`) on the worker and returns a small result:

    scan_partition      rows, ids missing, a 64-bit hash per id (duplicates, the sample) and per row (fingerprint)
    sample_partition    the rows chosen for the sample, and the raw target's value counts (the churn rate)
    training_partition  the labelled training and validation rows, encoded by the fitted feature map
    score_partition     every customer scored like training scores its own table: the part of customers.parquet,
                        the SHAP values, the base value and the latent vectors

A partition is cleaned by the schema inferred on the sample (`TablePlan.clean`: the columns of
`insight.data.schema.clean_table`, each feature brought to its role's dtype as `insight.data.rows` does for
training rows, without re-inferring anything). Which customers are training, validation and test rows
follows from a seeded hash of their id (`split_labels`), so every pass and every partitioning agrees on it.
The fitted models travel to the workers as the plain text, JSON and bytes a run stores (`ShippedModels`),
never as pickled objects, and each worker rebuilds them once.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from insight.config import DataSpec
from insight.data.schema import Schema, clean_aux_target, coerce_column
from insight.data.sources import Source
from insight.errors import InputError
from insight.runs import layout

if TYPE_CHECKING:
    from insight.data.features import FeatureMap
    from insight.models.recipe import Models

log = logging.getLogger(__name__)

LABEL = "__churn_label__"
"""The name of `training_partition`'s label."""
TRAIN, VALID = "train", "valid"


def id_keys(ids: pd.Series, *, seed: int, salt: str) -> np.ndarray:
    """A seeded 64-bit hash of each id's text: the same customer gets the same key in any partition."""
    key = f"{salt[:6]:<6}{seed % 10**10:010d}"
    return pd.util.hash_pandas_object(pd.Series(ids.astype(str).to_numpy(dtype=object)), index=False,
                                      hash_key=key).to_numpy()


def split_labels(ids: pd.Series, y: np.ndarray, *, seed: int, test_size: float, valid_size: float) -> np.ndarray:
    """train / valid / test per labelled customer, drawn from a hash of its id with these shares (the
    unlabelled are "unlabelled"); the same for a customer however the table is partitioned."""
    u = id_keys(ids, seed=seed, salt="split") / float(2**64)
    out = np.where(u < test_size, layout.TEST_SPLIT, np.where(u < test_size + valid_size, VALID, TRAIN))
    out = out.astype(object)
    out[np.isnan(y)] = "unlabelled"
    return out


@dataclass(frozen=True)
class TablePlan:
    """How every partition is cleaned and split: the schema and target reading found on the sample."""

    spec: DataSpec
    schema: Schema
    target_values: tuple[str, ...]
    """The target's values in the sample, in lower case (a text target must have no others)."""
    seed: int
    test_size: float
    valid_size: float

    def clean(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The partition as `clean_table` returns a table: id, target (0/1), aux targets, clean features."""
        spec, frame = self.spec, frame.reset_index(drop=True)
        out = pd.DataFrame(index=pd.RangeIndex(len(frame)))
        out[spec.id_column] = frame[spec.id_column].to_numpy()
        out[spec.target] = self.target(frame[spec.target])
        for aux in spec.aux_targets:
            out[aux] = clean_aux_target(frame[aux], aux)
        features = {name: coerce_column(frame[name], self.schema.role(name), name)
                    for name in self.schema.features if name not in out.columns}
        return pd.concat([out, pd.DataFrame(features, index=out.index)], axis=1)

    def target(self, series: pd.Series) -> pd.Series:
        """The churn target as float 0/1, NaN where unknown, read as `clean_target` read the sample's."""
        name, positive = self.spec.target, self.schema.positive_label
        s = series.astype("float64") if pd.api.types.is_bool_dtype(series) else series
        if pd.api.types.is_numeric_dtype(s):
            values = set(pd.unique(s.dropna()))
            if self.spec.positive_label is None and not values <= {0, 1}:
                raise InputError(f"target {name!r} must be binary (churned or not) but has values "
                                 f"{sorted(map(str, values))[:6]}; pass a 0/1 or yes/no column as --target.")
            return (s == float(positive)).astype("float64").where(s.notna())
        text = s.astype("string").str.strip()
        lower = text.mask(text == "").str.lower()
        unknown = lower.dropna()[~lower.dropna().isin(list(self.target_values))]
        if len(unknown):
            raise InputError(f"target {name!r} has the value {unknown.iloc[0]!r} besides {list(self.target_values)}; "
                             "the churn column must have two values (churned or not).")
        return (lower == positive).astype("float64").where(lower.notna())

    def splits(self, ids: pd.Series, y: np.ndarray) -> np.ndarray:
        return split_labels(ids, y, seed=self.seed, test_size=self.test_size, valid_size=self.valid_size)


# ------------------------------------------------------------------------------------------------ passes


@dataclass(frozen=True)
class PartitionScan:
    rows: int
    columns: list[str]
    missing_ids: int
    keys: np.ndarray
    """`id_keys` of the ids (salt "sample"): duplicates and the sample are found from them."""
    row_hashes: np.ndarray
    """pandas' hash of each row (the run's fingerprint, as `insight.runs.writer.fingerprint` computes it)."""


def scan_partition(part: Source, id_column: str, seed: int) -> PartitionScan:
    frame = part.read()
    ids = frame[id_column]
    return PartitionScan(rows=len(frame), columns=[str(c) for c in frame.columns], missing_ids=int(ids.isna().sum()),
                         keys=id_keys(ids, seed=seed, salt="sample"),
                         row_hashes=pd.util.hash_pandas_object(frame, index=False).to_numpy())


def sample_partition(part: Source, positions: np.ndarray, target: str) -> tuple[pd.DataFrame, pd.Series]:
    """The rows at `positions` and the counts of the raw target's values (missing ones included)."""
    frame = part.read()
    counts = frame[target].value_counts(dropna=False)
    return frame.iloc[positions].reset_index(drop=True), counts


def id_at(part: Source, id_column: str, position: int) -> object:
    """One customer's id (for an error message)."""
    return part.read()[id_column].iloc[position]


def training_partition(part: Source, plan: TablePlan, fmap: FeatureMap) -> tuple[pd.DataFrame, pd.Series]:
    """The partition's labelled training and validation rows: one float64 column per feature (the model
    matrix, named by the feature map), and their 0/1 label (named LABEL)."""
    from insight.data.features import encode

    clean = plan.clean(part.read())
    y = clean[plan.spec.target].to_numpy(dtype=np.float64)
    keep = np.isin(plan.splits(clean[plan.spec.id_column], y), (TRAIN, VALID))
    return pd.DataFrame(encode(clean.loc[keep], fmap), columns=fmap.names), pd.Series(y[keep], name=LABEL)


# ------------------------------------------------------------------------------------------------ scoring


@dataclass(frozen=True)
class ShippedModels:
    """Fitted models as a run stores them (text, JSON, a state_dict's bytes): what a worker is sent."""

    token: str
    fmap: dict[str, Any]
    churn_text: str
    calibration: dict[str, Any]
    multitask_shape: dict[str, Any]
    multitask_state: bytes
    logistic: dict[str, Any]

    @classmethod
    def of(cls, models: Models, token: str) -> ShippedModels:
        assert models.multitask is not None and models.logistic is not None
        return cls(token=token, fmap=models.fmap.to_dict(), churn_text=models.churn.to_text(),
                   calibration=models.churn.calibration.to_dict(), multitask_shape=models.multitask.describe(),
                   multitask_state=models.multitask.state_bytes(), logistic=models.logistic.to_dict())

    def load(self) -> Models:
        """The models, rebuilt once per worker process."""
        if self.token not in _LOADED:
            from insight.data.features import FeatureMap
            from insight.models.baseline import LogisticBaseline
            from insight.models.churn import Calibration, ChurnModel
            from insight.models.multitask import MultitaskModel
            from insight.models.recipe import Models

            fmap = FeatureMap.from_dict(self.fmap)
            churn = ChurnModel.from_text(self.churn_text, Calibration.from_dict(self.calibration))
            _LOADED[self.token] = Models(fmap=fmap, churn=churn,
                                         multitask=MultitaskModel.from_saved(self.multitask_shape,
                                                                             self.multitask_state),
                                         logistic=LogisticBaseline.from_dict(self.logistic, fmap))
            while len(_LOADED) > 2:
                _LOADED.popitem(last=False)
        return _LOADED[self.token]


_LOADED: OrderedDict[str, Models] = OrderedDict()


@dataclass(frozen=True)
class MapReference:
    """The customers UMAP was fitted on (in the sample): their ids, latent vectors, map positions, segments."""

    ids: np.ndarray
    latent: np.ndarray
    xy: np.ndarray
    labels: np.ndarray

    def place(self, ids: pd.Series, latent: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Map positions and segments: a fitted customer keeps its own; the others are placed by their nearest
        fitted neighbours and take the segment of their nearest labelled ones, as training places the
        customers outside its UMAP sample and `insight score` places new ones."""
        from insight.segments.clustering import UNASSIGNED, place_by_neighbours, vote_by_neighbours

        where = pd.Index(self.ids).get_indexer(ids.to_numpy())
        fitted, rest = where >= 0, np.flatnonzero(where < 0)
        xy = np.empty((len(latent), 2), dtype=np.float32)
        labels = np.empty(len(latent), dtype=np.int64)
        xy[fitted], labels[fitted] = self.xy[where[fitted]], self.labels[where[fitted]]
        if len(rest):
            known = self.labels != UNASSIGNED
            xy[rest] = place_by_neighbours(self.latent, self.xy, latent[rest])
            labels[rest] = vote_by_neighbours(self.latent[known], self.labels[known], latent[rest])
        return xy, labels


@dataclass(frozen=True)
class ScoringJob:
    """What every worker needs to score its partitions (sent once per worker)."""

    plan: TablePlan
    """With the resolved spec (the revenue column used)."""
    models: ShippedModels
    reference: MapReference
    risk_bands: dict[str, float]


@dataclass(frozen=True)
class ScoredPart:
    """One partition's share of the run: customers.parquet's rows, SHAP values, base values, latent vectors."""

    customers: pd.DataFrame
    shap_values: np.ndarray
    base_value: np.ndarray
    latent: np.ndarray


def score_partition(part: Source, job: ScoringJob) -> ScoredPart:
    """Score every customer of the partition through the one scoring path, single-threaded."""
    from insight.batch.scoring import single_threaded
    from insight.data.features import encode
    from insight.models.recipe import Splits, score_matrix
    from insight.runs.writer import customer_table

    spec = job.plan.spec
    frame = part.read().reset_index(drop=True)
    clean = job.plan.clean(frame)
    models = job.models.load()
    ids = clean[spec.id_column]
    with single_threaded():
        scores = score_matrix(models, encode(clean, models.fmap), explain=True, latent=True, heads=True, threads=1)
        assert scores.latent is not None and scores.shap_values is not None and scores.base_value is not None
        latent = scores.latent.astype(np.float32, copy=False)
        xy, labels = job.reference.place(ids, latent)
    y = clean[spec.target].to_numpy(dtype=np.float64)
    split = job.plan.splits(ids, y)
    splits = Splits(train=np.flatnonzero(split == TRAIN), valid=np.flatnonzero(split == VALID),
                    test=np.flatnonzero(split == layout.TEST_SPLIT))
    customers = customer_table(frame, clean, spec, job.plan.schema, scores, labels, xy, splits,
                               thresholds=job.risk_bands)
    customers[layout.LOGISTIC_CHURN_PROBABILITY] = scores.logistic_probability
    return ScoredPart(customers=customers, shap_values=scores.shap_values, base_value=scores.base_value,
                      latent=latent)
