"""Exact TreeSHAP for LightGBM models, several times faster than `predict(pred_contrib=True)`.

The algorithm is path-wise TreeSHAP with precomputed tables (the idea of Fast TreeSHAP v2, Yang 2021):

For one leaf of one tree, let its root-to-leaf path split on the unique features 1..d. For feature k, z_k is
the share of training rows that follow the path at every split on k (the product of child/parent counts)
and o_k(x) is 1 if customer x follows the path at every split on k, else 0. The leaf's contribution to
feature i's SHAP value is

    phi_i = v * (o_i - z_i) * sum_{S subset of the others} |S|! (d-|S|-1)! / d! * prod_{j in S} o_j
                                                                         * prod_{j not in S, j != i} z_j,

which depends on x only through the d bits o_1..o_d. So each path gets a table of its d contributions for
all 2^d bit patterns, built once per model (in parallel over paths); scoring a customer is then, per tree,
one decision per split node and, per leaf, d table reads: O(leaves x depth) instead of TreeSHAP's
O(leaves x depth^2), with much smaller constants. Paths with more than `MAX_TABLE_DEPTH` unique features
(deep leaf-wise trees) are computed directly with the same polynomial arithmetic.

The kernel works on blocks of `BLOCK` rows, tree by tree and leaf by leaf, with the rows innermost: the
split decisions of a block are computed once per tree, every leaf's bit patterns and table reads then run
over the block's rows as straight-line loops the compiler vectorises (the rows are independent), and the
tree's tables stay in cache while the block uses them. Blocks run in parallel. Results equal LightGBM's own
TreeSHAP (pred_contrib) to floating-point rounding; the tests hold it to 1e-6 on every row.

The model is read from LightGBM's JSON dump, including its missing-value and categorical split rules.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import Any

import numba
import numpy as np

log = logging.getLogger(__name__)

MAX_TABLE_DEPTH = 10
"""Paths with up to this many unique features are read from tables (2^d x d values each); deeper ones are
computed directly."""
MAX_PATH_FEATURES = 62
"""A path's bit pattern is one int64: models with longer paths are left to LightGBM's pred_contrib."""
BLOCK = 1024
K_ZERO = 1e-35
MISSING_NONE, MISSING_ZERO, MISSING_NAN = 0, 1, 2


@dataclass(frozen=True)
class CompiledModel:
    """A LightGBM model flattened into arrays for the numba kernels."""

    n_features: int
    expected_value: float
    # split nodes, all trees one after another
    node_feature: np.ndarray
    node_threshold: np.ndarray
    node_categorical: np.ndarray
    node_default_left: np.ndarray
    node_missing: np.ndarray
    node_cat_start: np.ndarray
    node_cat_end: np.ndarray
    cat_values: np.ndarray
    tree_node_start: np.ndarray
    # paths (leaves), all trees one after another
    tree_path_start: np.ndarray
    path_value: np.ndarray
    path_depth: np.ndarray
    path_cons_start: np.ndarray
    cons_node: np.ndarray
    cons_left: np.ndarray
    cons_slot: np.ndarray
    path_slot_start: np.ndarray
    slot_feature: np.ndarray
    slot_zero: np.ndarray
    path_table_start: np.ndarray
    table: np.ndarray
    """Per tabled path, d blocks of 2^d values: the contribution to its k-th feature for every bit pattern."""


def compile_model(booster: Any) -> CompiledModel:
    """Flatten a LightGBM booster and build every path's contribution table.

    ValueError for models this kernel does not cover (multi-class; a path with more than
    MAX_PATH_FEATURES unique features): explain those with pred_contrib."""
    dump = booster.dump_model()
    if dump.get("num_tree_per_iteration", 1) != 1:
        raise ValueError("fast TreeSHAP supports single-output models (binary, regression)")
    builder = _Builder()
    for info in dump["tree_info"]:
        builder.add_tree(info["tree_structure"])
    model = builder.finish(n_features=dump["max_feature_idx"] + 1)
    log.info("fast TreeSHAP: %d trees, %d paths, table of %.1f MB", len(dump["tree_info"]),
             len(model.path_value), model.table.nbytes / 1e6)
    return model


def shap_values(model: CompiledModel, X: np.ndarray, *, threads: int | None = None,
                block: int = BLOCK) -> tuple[np.ndarray, np.ndarray]:
    """SHAP values (rows x features) and the base value per row, as `pred_contrib` gives them."""
    X = np.ascontiguousarray(X, dtype=np.float64)
    if X.shape[1] != model.n_features:
        raise ValueError(f"X has {X.shape[1]} columns, the model expects {model.n_features}")
    previous = numba.get_num_threads()
    numba.set_num_threads(_threads(threads))
    try:
        phi = _shap_kernel(
            X, model.node_feature, model.node_threshold, model.node_categorical, model.node_default_left,
            model.node_missing, model.node_cat_start, model.node_cat_end, model.cat_values, model.tree_node_start,
            model.tree_path_start, model.path_value, model.path_depth, model.path_cons_start, model.cons_node,
            model.cons_left, model.cons_slot, model.path_slot_start, model.slot_feature, model.slot_zero,
            model.path_table_start, model.table, block)
    finally:
        numba.set_num_threads(previous)
    return phi, np.full(len(X), model.expected_value)


def warm_up() -> None:
    """Compile the kernels (or load them from numba's cache) on a tiny model, so that the first real table
    does not wait for it."""
    import lightgbm as lgb

    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 3))
    booster = lgb.train({"objective": "binary", "verbosity": -1, "num_leaves": 4, "num_threads": 1},
                        lgb.Dataset(X, (X[:, 0] > 0).astype(int)), num_boost_round=2)
    shap_values(compile_model(booster), X, threads=1)


def _threads(threads: int | None) -> int:
    return max(1, min(threads or os.cpu_count() or 1, numba.config.NUMBA_NUM_THREADS))


class _Builder:
    def __init__(self) -> None:
        self.nodes: list[tuple[int, float, bool, bool, int, int, int]] = []
        self.cats: list[int] = []
        self.tree_node_start = [0]
        self.tree_path_start = [0]
        self.paths: list[tuple[float, list[tuple[int, bool, int]], list[int], list[float]]] = []
        self.expected = 0.0

    def add_tree(self, root: dict[str, Any]) -> None:
        offset = len(self.nodes)
        root_count = root.get("internal_count", root.get("leaf_count", 0)) or 1
        local: dict[int, int] = {}

        def visit(node: dict[str, Any], path: list[tuple[int, bool, float]]) -> None:
            if "leaf_value" in node:
                value = float(node["leaf_value"])
                self.expected += value * node.get("leaf_count", 0) / root_count
                self._add_path(value, path)
                return
            index = offset + len(local)
            local[id(node)] = index
            self.nodes.append(self._node(node))
            count = node["internal_count"] or 1
            for child, goes_left in ((node["left_child"], True), (node["right_child"], False)):
                child_count = child.get("internal_count", child.get("leaf_count", 0))
                visit(child, [*path, (index, goes_left, child_count / count)])

        visit(root, [])
        self.tree_node_start.append(len(self.nodes))
        self.tree_path_start.append(len(self.paths))

    def _node(self, node: dict[str, Any]) -> tuple[int, float, bool, bool, int, int, int]:
        missing = {"None": MISSING_NONE, "Zero": MISSING_ZERO, "NaN": MISSING_NAN}[node.get("missing_type", "None")]
        if node["decision_type"] == "==":
            values = [int(v) for v in str(node["threshold"]).split("||") if v != ""]
            start = len(self.cats)
            self.cats.extend(sorted(values))
            return (node["split_feature"], 0.0, True, bool(node["default_left"]), missing, start, len(self.cats))
        return (node["split_feature"], float(node["threshold"]), False, bool(node["default_left"]), missing, 0, 0)

    def _add_path(self, value: float, path: list[tuple[int, bool, float]]) -> None:
        slots: dict[int, int] = {}
        features: list[int] = []
        zeros: list[float] = []
        constraints = []
        for node_index, goes_left, zero in path:
            feature = self.nodes[node_index][0]
            if feature not in slots:
                slots[feature] = len(features)
                features.append(feature)
                zeros.append(1.0)
            slot = slots[feature]
            zeros[slot] *= zero
            constraints.append((node_index, goes_left, slot))
        if len(features) > MAX_PATH_FEATURES:
            raise ValueError(f"a tree path splits on {len(features)} different features; fast TreeSHAP handles "
                             f"up to {MAX_PATH_FEATURES}")
        self.paths.append((value, constraints, features, zeros))

    def finish(self, n_features: int) -> CompiledModel:
        nodes = self.nodes or [(0, 0.0, False, False, 0, 0, 0)]
        cols = list(zip(*nodes, strict=True))
        cons_start, slot_start, table_start = [0], [0], [0]
        cons_node, cons_left, cons_slot, slot_feature, slot_zero = [], [], [], [], []
        values, depths = [], []
        for value, constraints, features, zeros in self.paths:
            for node_index, goes_left, slot in constraints:
                cons_node.append(node_index)
                cons_left.append(goes_left)
                cons_slot.append(slot)
            slot_feature.extend(features)
            slot_zero.extend(zeros)
            d = len(features)
            values.append(value)
            depths.append(d)
            cons_start.append(len(cons_node))
            slot_start.append(len(slot_feature))
            table_start.append(table_start[-1] + ((1 << d) * d if 0 < d <= MAX_TABLE_DEPTH else 0))
        path_value = np.asarray(values, dtype=np.float64)
        path_depth = np.asarray(depths, dtype=np.int64)
        path_slot_start = np.asarray(slot_start, dtype=np.int64)
        zero = np.asarray(slot_zero or [1.0], dtype=np.float64)
        path_table_start = np.asarray(table_start, dtype=np.int64)
        previous = numba.get_num_threads()
        numba.set_num_threads(_threads(None))
        try:
            table = _build_tables(zero, path_slot_start, path_value, path_depth, path_table_start)
        finally:
            numba.set_num_threads(previous)
        return CompiledModel(
            n_features=n_features, expected_value=float(self.expected),
            node_feature=np.asarray(cols[0], dtype=np.int64), node_threshold=np.asarray(cols[1], dtype=np.float64),
            node_categorical=np.asarray(cols[2], dtype=np.bool_), node_default_left=np.asarray(cols[3], dtype=np.bool_),
            node_missing=np.asarray(cols[4], dtype=np.int64), node_cat_start=np.asarray(cols[5], dtype=np.int64),
            node_cat_end=np.asarray(cols[6], dtype=np.int64), cat_values=np.asarray(self.cats or [0], dtype=np.int64),
            tree_node_start=np.asarray(self.tree_node_start, dtype=np.int64),
            tree_path_start=np.asarray(self.tree_path_start, dtype=np.int64),
            path_value=path_value, path_depth=path_depth,
            path_cons_start=np.asarray(cons_start, dtype=np.int64), cons_node=np.asarray(cons_node or [0], dtype=np.int64),
            cons_left=np.asarray(cons_left or [False], dtype=np.bool_), cons_slot=np.asarray(cons_slot or [0], dtype=np.int64),
            path_slot_start=path_slot_start, slot_feature=np.asarray(slot_feature or [0], dtype=np.int64),
            slot_zero=zero, path_table_start=path_table_start, table=table)


@numba.njit(cache=True, parallel=True)
def _build_tables(zero: np.ndarray, path_slot_start: np.ndarray, path_value: np.ndarray, path_depth: np.ndarray,
                  path_table_start: np.ndarray) -> np.ndarray:
    """Every tabled path's contributions for all its bit patterns, laid out [feature k][pattern].

    For pattern o, P(t) = prod_j (z_j + o_j t); removing feature k divides P by (z_k + t) when o_k = 1 (a
    synthetic division) and by z_k when o_k = 0, so that the contribution, v (o_k - z_k) sum_s w_s [P / .]_s
    with w_s = s! (d-s-1)! / d!, is -v sum_s w_s P_s for every feature the pattern misses."""
    table = np.zeros(max(1, path_table_start[-1]))
    for p in numba.prange(len(path_value)):
        d = path_depth[p]
        if d == 0 or d > MAX_TABLE_DEPTH:
            continue
        size = 1 << d
        z = zero[path_slot_start[p]:path_slot_start[p] + d]
        value = path_value[p]
        base = path_table_start[p]
        weight = np.empty(d)
        weight[0] = 1.0 / d
        for s in range(1, d):
            weight[s] = weight[s - 1] * s / (d - s)
        poly = np.empty(d + 1)
        for mask in range(size):
            poly[:] = 0.0
            poly[0] = 1.0
            for j in range(d):
                o = 1.0 if (mask >> j) & 1 else 0.0
                for s in range(j + 1, 0, -1):
                    poly[s] = poly[s] * z[j] + poly[s - 1] * o
                poly[0] = poly[0] * z[j]
            total = 0.0
            for s in range(d):
                total += weight[s] * poly[s]
            for k in range(d):
                if (mask >> k) & 1:
                    rest = poly[d]
                    followed = rest * weight[d - 1]
                    for s in range(d - 1, 0, -1):
                        rest = poly[s] - z[k] * rest
                        followed += rest * weight[s - 1]
                    table[base + k * size + mask] = value * (1.0 - z[k]) * followed
                else:
                    table[base + k * size + mask] = -value * total if z[k] > 0.0 else 0.0
    return table


@numba.njit(cache=True, inline="always")
def _goes_left(fval: float, node: int, threshold: np.ndarray, categorical: np.ndarray, default_left: np.ndarray,
               missing: np.ndarray, cat_start: np.ndarray, cat_end: np.ndarray, cat_values: np.ndarray) -> bool:
    """LightGBM's decision at one split node for one value."""
    if categorical[node]:  # NaN and negative codes go right; listed categories go left
        if np.isnan(fval) or fval < 0:
            return False
        code = int(fval)
        for c in range(cat_start[node], cat_end[node]):
            if cat_values[c] == code:
                return True
        return False
    kind = missing[node]
    if np.isnan(fval) and kind != MISSING_NAN:
        fval = 0.0
    if (kind == MISSING_ZERO and -K_ZERO <= fval <= K_ZERO) or (kind == MISSING_NAN and np.isnan(fval)):
        return default_left[node]
    return fval <= threshold[node]


@numba.njit(cache=True, inline="always")
def _direct_into(acc: np.ndarray, mask: np.ndarray, rows: int, d: int, zero: np.ndarray, features: np.ndarray,
                 value: float, poly: np.ndarray, work: np.ndarray, weight: np.ndarray) -> None:
    """A deep path's contributions for every row of the block, computed with the arithmetic of
    `_build_tables`, the rows innermost. work[0..3]: the bits, the weighted sum of the polynomial, and the
    division by (z + t) with its weighted sum."""
    bits, total, rest, followed = work[0], work[1], work[2], work[3]
    for s in range(d + 1):
        for i in range(rows):
            poly[s, i] = 0.0
    for i in range(rows):
        poly[0, i] = 1.0
    for j in range(d):
        z = zero[j]
        for i in range(rows):
            bits[i] = float((mask[i] >> j) & 1)
        for s in range(j + 1, 0, -1):
            for i in range(rows):
                poly[s, i] = poly[s, i] * z + poly[s - 1, i] * bits[i]
        for i in range(rows):
            poly[0, i] = poly[0, i] * z
    weight[0] = 1.0 / d
    for s in range(1, d):
        weight[s] = weight[s - 1] * s / (d - s)
    # a row that misses the path on feature k gets -value * total for it (see _build_tables)
    for i in range(rows):
        total[i] = 0.0
    for s in range(d):
        w = weight[s]
        for i in range(rows):
            total[i] += w * poly[s, i]
    for k in range(d):
        z = zero[k]
        missed = value if z > 0.0 else 0.0
        for i in range(rows):  # a row that follows it: synthetic division by (z + t)
            rest[i] = poly[d, i]
            followed[i] = rest[i] * weight[d - 1]
        for s in range(d - 1, 0, -1):
            w = weight[s - 1]
            for i in range(rows):
                rest[i] = poly[s, i] - z * rest[i]
                followed[i] += rest[i] * w
        f = features[k]
        for i in range(rows):
            o = float((mask[i] >> k) & 1)
            acc[f, i] += o * value * (1.0 - z) * followed[i] - (1.0 - o) * missed * total[i]


@numba.njit(cache=True, parallel=True)
def _shap_kernel(X, node_feature, node_threshold, node_categorical, node_default_left, node_missing,
                 node_cat_start, node_cat_end, cat_values, tree_node_start, tree_path_start, path_value,
                 path_depth, path_cons_start, cons_node, cons_left, cons_slot, path_slot_start, slot_feature,
                 slot_zero, path_table_start, table, block):
    """Blocks of `block` rows in parallel; within a block, tree by tree: every split decision of every row, then
    leaf by leaf every row's bit pattern (which of the path's features it follows) and its table reads."""
    n, n_features = X.shape
    phi = np.zeros((n, n_features))
    n_trees = len(tree_node_start) - 1
    widest = 1
    deepest = 1
    for t in range(n_trees):
        widest = max(widest, tree_node_start[t + 1] - tree_node_start[t])
    for p in range(len(path_depth)):
        deepest = max(deepest, path_depth[p])
    for b in numba.prange((n + block - 1) // block):
        start = b * block
        rows = min(n, start + block) - start
        column = np.empty((n_features, block))  # the block, feature by feature
        for i in range(rows):
            for f in range(n_features):
                column[f, i] = X[start + i, f]
        acc = np.zeros((n_features, block))
        left = np.empty((widest, block), dtype=np.uint8)  # 1: the row goes left at the tree's node
        mask = np.empty(block, dtype=np.int64)
        poly = np.empty((deepest + 1, block))
        work = np.empty((4, block))
        weight = np.empty(deepest)
        for t in range(n_trees):
            first = tree_node_start[t]
            for node in range(first, tree_node_start[t + 1]):
                f = node_feature[node]
                if node_categorical[node] or node_missing[node] != MISSING_NONE:
                    for i in range(rows):
                        left[node - first, i] = _goes_left(column[f, i], node, node_threshold, node_categorical,
                                                           node_default_left, node_missing, node_cat_start,
                                                           node_cat_end, cat_values)
                else:  # the common case, branch-free: no missing-value rule, NaN counts as 0
                    threshold = node_threshold[node]
                    for i in range(rows):
                        v = column[f, i]
                        left[node - first, i] = (0.0 if np.isnan(v) else v) <= threshold
            for p in range(tree_path_start[t], tree_path_start[t + 1]):
                d = path_depth[p]
                if d == 0:
                    continue
                full = (np.int64(1) << d) - 1
                for i in range(rows):
                    mask[i] = full
                for c in range(path_cons_start[p], path_cons_start[p + 1]):
                    offset = cons_node[c] - first
                    want = np.uint8(1) if cons_left[c] else np.uint8(0)
                    bit = np.int64(1) << cons_slot[c]
                    for i in range(rows):
                        mask[i] &= ~(bit * np.int64(left[offset, i] ^ want))
                s0 = path_slot_start[p]
                if d <= MAX_TABLE_DEPTH:
                    size = 1 << d
                    for k in range(d):
                        f = slot_feature[s0 + k]
                        base = path_table_start[p] + k * size
                        for i in range(rows):
                            acc[f, i] += table[base + mask[i]]
                else:
                    _direct_into(acc, mask, rows, d, slot_zero[s0:s0 + d], slot_feature[s0:s0 + d], path_value[p],
                                 poly, work, weight)
        for i in range(rows):
            for f in range(n_features):
                phi[start + i, f] = acc[f, i]
    return phi
