"""The PyTorch multi-task network: one shared latent space learned from several business targets.

A shared encoder maps a customer (standardised numbers with missing flags, entity embeddings for
categories) to a latent vector. One head per target reads it: churn (binary), and each auxiliary target
(binary, or a regression on a log scale when skewed and non-negative; a heavy-tailed signed target is fitted
with the Huber loss, so that a few extreme customers do not dominate it). A reconstruction head rebuilds
randomly hidden inputs from the visible ones, so the latent keeps the structure customers share (who they
are) as well as what will happen to them. Losses are
masked where a target is missing and balanced by learned uncertainty weights (Kendall et al., 2018);
training stops early on the validation loss.
"""

from __future__ import annotations

import io
import logging
import math
import time
from collections.abc import Callable, Collection
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from insight.config import MultitaskConfig
from insight.errors import InputError
from insight.data.features import FeatureMap
from insight.models.metrics import skewness
from insight.data.schema import Role

log = logging.getLogger(__name__)

ENCODE_BATCH = 65_536


@dataclass(frozen=True)
class InputPrep:
    """How model-matrix columns become network inputs."""

    numeric: list[int]
    log_scaled: list[bool]
    means: list[float]
    stds: list[float]
    categorical: list[int]
    cardinalities: list[int]

    def tensors(self, X: np.ndarray) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(numeric values, missing mask, categorical indices); 0 is the index of missing/unknown."""
        num = X[:, self.numeric].astype(np.float64, copy=True) if self.numeric else np.zeros((len(X), 0))
        for j, log_scaled in enumerate(self.log_scaled):
            if log_scaled:
                num[:, j] = np.sign(num[:, j]) * np.log1p(np.abs(num[:, j]))
        missing = np.isnan(num)
        num = (num - np.asarray(self.means)) / np.asarray(self.stds)
        num = np.clip(np.where(missing, 0.0, num), -8, 8)
        cat = X[:, self.categorical] if self.categorical else np.zeros((len(X), 0))
        cat_idx = np.where(np.isnan(cat), 0, cat + 1)
        cat_idx = np.minimum(cat_idx, np.asarray(self.cardinalities))
        return (torch.as_tensor(num, dtype=torch.float32), torch.as_tensor(missing, dtype=torch.float32),
                torch.as_tensor(cat_idx, dtype=torch.long))


@dataclass(frozen=True)
class Task:
    """One head: a binary target or a (possibly log-scaled) standardised regression target.

    `robust` (chosen by `fit_task` for heavy-tailed signed targets): the head is fitted with the Huber loss
    (`HUBER_DELTA` standard deviations) rather than the squared error.
    """

    name: str
    kind: str  # "binary" | "regression"
    log_scaled: bool = False
    mean: float = 0.0
    std: float = 1.0
    robust: bool = False

    def encode(self, y: np.ndarray) -> np.ndarray:
        if self.kind == "binary":
            return y.astype(np.float64)
        v = np.log1p(np.clip(y, 0, None)) if self.log_scaled else y
        return (v - self.mean) / self.std

    def decode(self, out: np.ndarray) -> np.ndarray:
        if self.kind == "binary":
            return 1.0 / (1.0 + np.exp(-out))
        v = out * self.std + self.mean
        return np.clip(np.expm1(v), 0.0, None) if self.log_scaled else v


class MultiTaskNet(nn.Module):
    def __init__(self, *, n_numeric: int, cardinalities: list[int], latent_dim: int, hidden: tuple[int, ...],
                 dropout: float, n_tasks: int) -> None:
        super().__init__()
        self.cardinalities = list(cardinalities)
        self.embeddings = nn.ModuleList(nn.Embedding(c + 1, embedding_dim(c)) for c in cardinalities)
        width = 2 * n_numeric + sum(embedding_dim(c) for c in cardinalities)
        layers: list[nn.Module] = []
        for h in hidden:
            layers += [nn.Linear(width, h), nn.LayerNorm(h), nn.SiLU(), nn.Dropout(dropout)]
            width = h
        layers.append(nn.Linear(width, latent_dim))
        self.encoder = nn.Sequential(*layers)
        self.heads = nn.ModuleList(
            nn.Sequential(nn.Linear(latent_dim, 32), nn.SiLU(), nn.Linear(32, 1)) for _ in range(n_tasks))
        self.decoder = nn.Sequential(nn.Linear(latent_dim, hidden[-1]), nn.SiLU(),
                                     nn.Linear(hidden[-1], n_numeric + sum(c + 1 for c in cardinalities)))
        self.log_vars = nn.Parameter(torch.zeros(n_tasks + 1))

    def encode(self, num: torch.Tensor, missing: torch.Tensor, cat: torch.Tensor) -> torch.Tensor:
        parts = [num, missing] + [emb(cat[:, j]) for j, emb in enumerate(self.embeddings)]
        return self.encoder(torch.cat(parts, dim=1))

    def forward(self, num: torch.Tensor, missing: torch.Tensor, cat: torch.Tensor
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        z = self.encode(num, missing, cat)
        heads = torch.cat([h(z) for h in self.heads], dim=1)
        return z, heads, self.decoder(z)


def embedding_dim(cardinality: int) -> int:
    return int(min(8, max(2, math.ceil(1.6 * (cardinality + 1) ** 0.4))))


@dataclass
class MultitaskModel:
    net: MultiTaskNet
    prep: InputPrep
    tasks: list[Task]
    config: MultitaskConfig
    history: dict[str, Any]

    def describe(self) -> dict[str, Any]:
        """The network's shape and preprocessing, stored as multitask.json."""
        return {"prep": asdict(self.prep), "tasks": [asdict(t) for t in self.tasks],
                "config": asdict(self.config), "history": self.history,
                "n_numeric": len(self.prep.numeric), "cardinalities": self.prep.cardinalities}

    def state_bytes(self) -> bytes:
        buf = io.BytesIO()
        torch.save(self.net.state_dict(), buf)
        return buf.getvalue()

    @classmethod
    def from_saved(cls, description: dict[str, Any], state: bytes) -> MultitaskModel:
        config = MultitaskConfig(**{**description["config"], "hidden": tuple(description["config"]["hidden"])})
        prep = InputPrep(**description["prep"])
        tasks = [Task(**t) for t in description["tasks"]]
        net = _build_net(prep, tasks, config)
        net.load_state_dict(torch.load(io.BytesIO(state), weights_only=True))
        net.eval()
        return cls(net=net, prep=prep, tasks=tasks, config=config, history=description.get("history", {}))

    def latent(self, X: np.ndarray) -> np.ndarray:
        """The latent vector of every row (float32)."""
        return self._run(X)[0]

    def predict(self, X: np.ndarray) -> dict[str, np.ndarray]:
        """Every head's prediction in the target's own units (probabilities for binary targets)."""
        return self.outputs(X)[1]

    def outputs(self, X: np.ndarray) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """The latent vectors and every head's prediction, in one pass of the network."""
        z, heads = self._run(X)
        return z, {t.name: t.decode(heads[:, i].astype(np.float64)) for i, t in enumerate(self.tasks)}

    def _run(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        self.net.eval()
        zs, hs = [], []
        with torch.inference_mode():
            for start in range(0, len(X), ENCODE_BATCH):
                num, missing, cat = self.prep.tensors(X[start:start + ENCODE_BATCH])
                z, heads, _ = self.net(num, missing, cat)
                zs.append(z.numpy())
                hs.append(heads.numpy())
        return np.concatenate(zs), np.concatenate(hs)


def fit_multitask(
    X: np.ndarray,
    targets: dict[str, np.ndarray],
    fmap: FeatureMap,
    *,
    train_rows: np.ndarray,
    valid_rows: np.ndarray,
    config: MultitaskConfig,
    seed: int = 0,
    threads: int | None = None,
    progress: Callable[[float], None] | None = None,
) -> MultitaskModel:
    """Train the network on `train_rows`, stopping early on the loss of `valid_rows`.

    `targets` maps each target name (churn first) to a float array with NaN where unknown. A feature that is
    also a target (an aux target kept by --keep) is not an input of the network: it would be its own answer.
    """
    torch.manual_seed(seed)
    torch.set_num_threads(max(1, min(threads or config.torch_threads, config.torch_threads)))
    rng = np.random.default_rng(seed)
    if len(train_rows) > config.max_train_rows:
        train_rows = np.sort(rng.choice(train_rows, size=config.max_train_rows, replace=False))
    if len(valid_rows) > config.max_valid_rows:
        valid_rows = np.sort(rng.choice(valid_rows, size=config.max_valid_rows, replace=False))
    prep = fit_input_prep(X[train_rows], fmap, exclude=targets)
    tasks = [fit_task(name, y[train_rows]) for name, y in targets.items()]
    net = _build_net(prep, tasks, config)

    Y = np.column_stack([t.encode(targets[t.name]) for t in tasks]).astype(np.float32)
    num, missing, cat = prep.tensors(X)
    Yt = torch.as_tensor(Y)
    opt = torch.optim.AdamW(net.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay)
    train_idx = torch.as_tensor(train_rows)
    valid_idx = torch.as_tensor(valid_rows)
    gen = torch.Generator().manual_seed(seed)

    best_loss, best_state, bad_epochs, history = float("inf"), None, 0, []
    reference: dict[str, float] | None = None
    started, stopped_by = time.perf_counter(), "max_epochs"
    for epoch in range(config.max_epochs):
        if epoch and time.perf_counter() - started > config.max_seconds:
            stopped_by = "time budget"
            log.warning("multi-task network: stopped by its %.0f s budget after %d epochs", config.max_seconds,
                        epoch)
            break
        net.train()
        perm = train_idx[torch.randperm(len(train_idx), generator=gen)]
        for start in range(0, len(perm), config.batch_size):
            b = perm[start:start + config.batch_size]
            loss, _ = _loss(net, num[b], missing[b], cat[b], Yt[b], tasks, config, gen)
            opt.zero_grad()
            loss.backward()
            opt.step()
        net.eval()
        with torch.no_grad():
            v = valid_idx
            _, parts = _loss(net, num[v], missing[v], cat[v], Yt[v], tasks, config,
                             torch.Generator().manual_seed(seed + 1))
        # Early stopping watches every task equally: each validation loss relative to its first-epoch value
        # (the learned weights keep shrinking the weighted total even when no task improves).
        reference = reference or {k: max(v, 1e-8) for k, v in parts.items()}
        val_loss = float(np.mean([parts[k] / reference[k] for k in parts]))
        history.append({"epoch": epoch + 1, "valid_score": val_loss, **parts})
        if progress:
            progress((epoch + 1) / config.max_epochs)
        if val_loss < best_loss - 1e-4:
            best_loss, bad_epochs = val_loss, 0
            best_state = {k: v.detach().clone() for k, v in net.state_dict().items()}
        else:
            bad_epochs += 1
            if bad_epochs >= config.patience:
                stopped_by = "early stopping"
                break
    if best_state is not None:
        net.load_state_dict(best_state)
    net.eval()
    log.info("multi-task network: %d epochs, best relative validation loss %.4f", len(history), best_loss)
    return MultitaskModel(net=net, prep=prep, tasks=tasks, config=config,
                          history={"epochs": len(history), "best_valid_score": best_loss,
                                   "stopped_by": stopped_by, "seconds": round(time.perf_counter() - started, 2),
                                   "curve": history})


def fit_input_prep(X: np.ndarray, fmap: FeatureMap, *, exclude: Collection[str] = ()) -> InputPrep:
    """Which model-matrix columns the network reads and how they are scaled; the features named in `exclude`
    (those that are also targets) are left out. The column indices are saved in multitask.json, so a saved
    network reads the same columns of a run's model matrix when it scores new customers."""
    inputs = [(i, f) for i, f in enumerate(fmap.features) if f.name not in exclude]
    if not inputs:
        raise InputError("the multi-task network has no input: every feature is also one of its targets.")
    numeric = [i for i, f in inputs if f.role is not Role.CATEGORICAL]
    categorical = [i for i, f in inputs if f.role is Role.CATEGORICAL]
    log_scaled, means, stds = [], [], []
    for i in numeric:
        col = X[:, i][~np.isnan(X[:, i])]
        skewed = bool(col.size and col.min() >= 0 and skewness(col) > 2.0)
        v = np.log1p(col) if skewed else col
        log_scaled.append(skewed)
        means.append(float(v.mean()) if v.size else 0.0)
        stds.append(float(v.std()) if v.size and v.std() > 0 else 1.0)
    cards = [len(fmap.features[i].categories) for i in categorical]
    return InputPrep(numeric=numeric, log_scaled=log_scaled, means=means, stds=stds, categorical=categorical,
                     cardinalities=cards)


HEAVY_TAIL_SKEW = 2.0
HEAVY_TAIL_KURTOSIS = 10.0
"""A signed target is heavy-tailed, and fitted with the Huber loss, when the absolute skewness or the kurtosis
of its training values passes these (a normal distribution has 0 and 3, a Laplace 0 and 6)."""
HUBER_DELTA = 1.0
"""Where the Huber loss of a robust head turns from squared to linear, in standard deviations of the target."""


def fit_task(name: str, y: np.ndarray) -> Task:
    """How to learn target `y` (NaN where unknown), from its known training values.

    Binary when it holds only 0 and 1. Otherwise a standardised regression, after a log when skewed and
    non-negative. A target that takes negative values and is heavy-tailed is fitted with the Huber loss
    (`robust`): with squared error a handful of extreme values (a large account dropping every seat) dominates
    the loss, and the head learns their noise rather than what the rest of the customers share. (A signed log
    scale was tried too: it also fixed the head, but moved the latent space enough to merge two planted demo
    segments.)
    """
    present = y[~np.isnan(y)]
    if present.size and set(np.unique(present)) <= {0.0, 1.0}:
        return Task(name=name, kind="binary")
    log_scaled = bool(present.size and present.min() >= 0 and skewness(present) > 1.0)
    robust = bool(present.size and not log_scaled and present.min() < 0
                  and (abs(skewness(present)) > HEAVY_TAIL_SKEW or _kurtosis(present) > HEAVY_TAIL_KURTOSIS))
    if robust:
        log.info("target %s is heavy-tailed (skewness %.1f, kurtosis %.1f): fitted with the Huber loss",
                 name, skewness(present), _kurtosis(present))
    v = np.log1p(present) if log_scaled else present
    std = float(v.std()) if v.size and v.std() > 0 else 1.0
    return Task(name=name, kind="regression", log_scaled=log_scaled, mean=float(v.mean()) if v.size else 0.0,
                std=std, robust=robust)


def _build_net(prep: InputPrep, tasks: list[Task], config: MultitaskConfig) -> MultiTaskNet:
    return MultiTaskNet(n_numeric=len(prep.numeric), cardinalities=prep.cardinalities,
                        latent_dim=config.latent_dim, hidden=tuple(config.hidden), dropout=config.dropout,
                        n_tasks=len(tasks))


def _mask(shape: tuple[int, ...], rate: float, gen: torch.Generator) -> torch.Tensor:
    return torch.rand(shape, generator=gen) < rate


def _loss(net: MultiTaskNet, num: torch.Tensor, missing: torch.Tensor, cat: torch.Tensor, Y: torch.Tensor,
          tasks: list[Task], config: MultitaskConfig, gen: torch.Generator) -> tuple[torch.Tensor, dict[str, float]]:
    """Balanced loss of every head plus masked-feature reconstruction.

    A random share of each customer's features is hidden from the encoder and must be rebuilt from the
    rest: the latent learns the structure features share (the segments), not the quirks of each one.
    """
    mask_num = _mask(tuple(num.shape), config.mask_rate, gen)
    mask_cat = _mask(tuple(cat.shape), config.mask_rate, gen)
    num_in = num.masked_fill(mask_num, 0.0)
    missing_in = torch.where(mask_num, torch.ones_like(missing), missing)
    cat_in = cat.masked_fill(mask_cat, 0)
    _, heads, recon = net(num_in, missing_in, cat_in)
    losses = []
    for i, task in enumerate(tasks):
        y, out = Y[:, i], heads[:, i]
        present = ~torch.isnan(y)
        if not present.any():
            losses.append(torch.zeros((), dtype=heads.dtype))
        elif task.kind == "binary":
            losses.append(F.binary_cross_entropy_with_logits(out[present], y[present]))
        else:
            loss = F.huber_loss if task.robust else F.mse_loss
            losses.append(loss(out[present], y[present], **({"delta": HUBER_DELTA} if task.robust else {})))
    rec_terms = []
    n_num = num.shape[1]
    if n_num:
        target_num = mask_num & (missing == 0)
        if target_num.any():
            rec_terms.append(((recon[:, :n_num] - num) ** 2)[target_num].mean())
    offset = n_num
    for j, card in enumerate(net.cardinalities):
        rows = mask_cat[:, j] & (cat[:, j] > 0)
        if rows.any():
            rec_terms.append(F.cross_entropy(recon[rows, offset:offset + card + 1], cat[rows, j]))
        offset += card + 1
    recon_loss = torch.stack(rec_terms).mean() if rec_terms else torch.zeros((), dtype=heads.dtype)
    all_losses = torch.stack([*losses, recon_loss])
    total = (torch.exp(-net.log_vars) * all_losses + net.log_vars).sum()
    names = [f"loss_{t.name}" for t in tasks] + ["loss_reconstruction"]
    parts = {name: float(v) for name, v in zip(names, all_losses.detach(), strict=True)}
    return total, parts


def _kurtosis(v: np.ndarray) -> float:
    """Pearson's kurtosis (3 for a normal distribution; 0 for a constant)."""
    s = v.std()
    return float(((v - v.mean()) ** 4).mean() / s**4) if s > 0 else 0.0
