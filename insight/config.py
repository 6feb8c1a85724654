"""What the data is (DataSpec) and how to train on it (TrainConfig)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class DataSpec:
    """Which columns play which part.

    Auxiliary targets are outcomes the multi-task network learns beside churn; like the churn target they
    are not input features of either model (they may describe the future, which would leak). An aux target
    also named in `keep` is a present-state value, known when a customer is scored (tenure, monthly
    charges): the churn models (LightGBM, the logistic baseline) use it as a feature, and the multi-task
    network learns it as a target but never reads it as an input (it would be its own answer).
    """

    id_column: str
    target: str
    aux_targets: tuple[str, ...] = ()
    keep: tuple[str, ...] = ()
    """Columns to keep as features even when a guard would drop them; an aux target named here stays a
    feature of the churn models too."""
    exclude: tuple[str, ...] = ()
    """Columns never to use as features."""
    actionable: tuple[str, ...] = ()
    """Features a business can change (used for what-if suggestions)."""
    positive_label: str | None = None
    """The target value that means 'churned', when it is not obvious (yes/true/1/churned...)."""
    revenue_column: str | None = None
    """The column holding a customer's value, for revenue at risk (churn probability x value); by default
    the first aux target whose name mentions revenue, value, spend, charges... For an aux target the
    multi-task head's prediction is used, since the outcome itself is unknown for customers yet to come
    (unless it is also in `keep`: a present-state value, known, is used as it is)."""
    time_column: str | None = None
    """The snapshot date of each row (`--time`), for a table of periodic snapshots (one row per customer
    per snapshot): never a feature; training tests out of time on the latest labelled snapshot
    (insight.data.snapshots)."""
    duration_column: str | None = None
    """How long each customer has been observed (`--duration`: tenure), for the survival model: the churn
    target is the event (churned) or censoring (still there); never a feature of the survival model."""
    duration_unit: str | None = None
    """days, weeks, months or years (`--duration-unit`; guessed from the column's name, else months)."""
    horizons: tuple[float, ...] = ()
    """The horizons (in the duration's unit) of the churn-within and lifetime figures; by default 30, 90 and
    365 days in the duration's unit."""
    treatment_column: str | None = None
    """A past campaign's 0/1 treatment flag (`--treatment`), for the uplift model: never a feature of any model
    (customers to come have no such flag)."""
    propensity_column: str | None = None
    """Each customer's probability of having been treated (`--propensity`), when it was not constant."""
    period_value_column: str | None = None
    """A customer's value per unit of the duration (`--period-value`: monthly charges for tenure in months),
    for the value lost within each horizon; guessed from the features' names when not given."""

    @property
    def targets(self) -> tuple[str, ...]:
        return (self.target, *self.aux_targets)

    def to_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        for key in ("time_column", "duration_column", "duration_unit", "period_value_column", "treatment_column",
                    "propensity_column"):
            if out[key] is None:  # a run without --time or --duration records its spec as before
                del out[key]
        if not out["horizons"]:
            del out["horizons"]
        else:
            out["horizons"] = list(out["horizons"])
        return out

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> DataSpec:
        names = {f.name for f in dataclasses.fields(cls)}
        kw = {k: tuple(v) if isinstance(v, list) else v for k, v in d.items() if k in names}
        return cls(**kw)


@dataclass(frozen=True)
class ChurnConfig:
    """LightGBM settings: regularised defaults meant to hold on unseen data.

    The tree size is searched (`num_leaves_grid`, simplest first) by inner cross-validation within
    `search_seconds`; the chosen setting is refitted on all training rows with the mean early-stopping
    iteration count, and calibrated on the out-of-fold scores.
    """

    learning_rate: float = 0.03
    large_data_rows: int = 100_000
    max_learning_rate: float = 0.1
    num_leaves_grid: tuple[int, ...] = (4, 8, 16, 32)
    min_child_samples: int = 40
    feature_fraction: float = 0.7
    bagging_fraction: float = 0.8
    bagging_freq: int = 1
    lambda_l2: float = 5.0
    min_data_per_group: int = 50
    cat_smooth: float = 20.0
    max_rounds: int = 3000
    early_stopping_rounds: int = 100
    inner_folds: int = 5
    search_seconds: float = 60.0
    max_search_rows: int = 50_000


@dataclass(frozen=True)
class MultitaskConfig:
    """The torch multi-task network: shared encoder -> latent, one head per target, plus a reconstruction
    head that keeps the latent faithful to the inputs."""

    latent_dim: int = 16
    hidden: tuple[int, ...] = (128, 64)
    dropout: float = 0.1
    max_epochs: int = 80
    patience: int = 8
    batch_size: int = 512
    learning_rate: float = 2e-3
    weight_decay: float = 1e-5
    mask_rate: float = 0.3
    max_train_rows: int = 100_000
    """Larger tables train the network on a seeded sample of this many rows, so that it converges by early
    stopping (not by `max_seconds`) in minutes at any size; `python -m benchmarks pipeline --sizes 1000000`
    reports how well the segments of a million customers then recover the planted ones."""
    max_valid_rows: int = 50_000
    """Early stopping watches the validation loss on at most this many (seeded) validation rows."""
    max_seconds: float = 300.0
    """Training stops after the epoch that passes this budget (the best epoch so far is kept)."""
    torch_threads: int = 1
    """A network this small gains little from a second thread, and two threads stall whenever the other
    core is busy (every small operation waits for the descheduled thread)."""


@dataclass(frozen=True)
class SegmentConfig:
    """Projection (UMAP) and clustering settings."""

    n_neighbors: int = 30
    min_dist: float = 0.0
    n_epochs: int = 200
    fit_sample: int = 10_000
    island_share: float = 0.01
    """Smallest island HDBSCAN keeps, as a share of the fitted sample."""
    min_cluster_share: float = 0.01
    trustworthiness_sample: int = 3_000


@dataclass(frozen=True)
class TrainConfig:
    seed: int = 0
    test_size: float = 0.2
    valid_size: float = 0.15
    threads: int | None = None
    churn: ChurnConfig = field(default_factory=ChurnConfig)
    multitask: MultitaskConfig = field(default_factory=MultitaskConfig)
    segments: SegmentConfig = field(default_factory=SegmentConfig)
    as_of: str | None = None
    """With a time column (`DataSpec.time_column`): the last snapshot date trained on (`--as-of`, ISO
    date); later rows are left out. None: every snapshot."""

    def to_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        if out["as_of"] is None:  # a run without --as-of records its config as before
            del out["as_of"]
        return out

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TrainConfig:
        """The inverse of `to_dict`; keys this version does not know are ignored."""
        parts = {"churn": ChurnConfig, "multitask": MultitaskConfig, "segments": SegmentConfig}
        kw: dict[str, Any] = {}
        for f in dataclasses.fields(cls):
            if f.name not in d:
                continue
            if f.name in parts:
                part = parts[f.name]
                names = {g.name: g for g in dataclasses.fields(part)}
                kw[f.name] = part(**{k: tuple(v) if isinstance(v, list) else v
                                     for k, v in d[f.name].items() if k in names})
            else:
                kw[f.name] = d[f.name]
        return cls(**kw)
