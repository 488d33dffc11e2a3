"""The plan of the TreeSHAP engine: which parts of each tree are answered from precomputed tables.

Path-dependent TreeSHAP depends on a row only through the split decisions it takes. For a leaf with distinct
path features U (d of them), feature k's *cover fraction* z_k is the product of child/parent training counts over
the path nodes that split on k, and the row's *agreement* with k is the AND of its decisions at those nodes. With
B the agreeing features and D = U \\ B:

    phi_i = v * Z(D) * (1 - z_i) * H(B \\ {i})      for i in B
    phi_i = -v * Z(D) * H(B)                         for i in D

where Z(D) = prod_{k in D} z_k, H(S) = sum_s w(s, d) [t^s] prod_{k in S} (z_k + t), w(s, d) = s!(d-1-s)!/d!.
This is TreeSHAP's value (Lundberg et al. 2020, Algorithm 2) with duplicated features merged as its "unwind"
merges them, written so that everything except the agreement pattern is known before any row is seen.

A *block* is a subtree whose leaves' contributions are tabulated for every combination of (a) which features of
the path above the block the row disagrees with (p bits) and (b) the decisions at the block's m internal nodes:
2^(p+m) entries of q values (q = distinct features in the block's paths). A row then costs, per block, one table
index and q additions. Blocks are chosen top-down, as high as `p + m <= table_bits` allows; the table budget
lowers `table_bits` for the whole model until it fits. A leaf too deep for any table (p > table_bits) is
computed per row from the formula above in O(d^2) (the exact fallback).
"""

from __future__ import annotations

import gc
import math
from dataclasses import dataclass, field

import numpy as np

from techscore.explain import _linear as LIN
from techscore.explain._tree_arrays import (
    CATEGORICAL_MASK,
    DEFAULT_LEFT_MASK,
    MISSING_NAN,
    MISSING_ZERO,
    ModelArrays,
    TreeArrays,
)

KIND_NUMERIC, KIND_ZERO, KIND_CATEGORICAL = 0, 1, 2
"""Decision kinds of the kernels: numeric (missing None or NaN), numeric with zero-as-missing, categorical."""
MAX_TABLE_BITS = 20
"""Hard ceiling of `table_bits` (table indices are int32 in the kernels)."""
AUTO_BITS = (8, 12)
"""Range of the automatic `table_bits`: 8 suits depth <= 6 (every leaf fits); deeper trees get up to 12."""


@dataclass
class _TreePlan:
    """Per-tree nodes (BFS order, unified ids: internal 0..ni-1, leaves ni..ni+L-1) and derived facts."""

    tree: TreeArrays
    order: list[int]  # LightGBM internal index of each new internal id
    left: list[int]  # unified child ids
    right: list[int]
    feat: list[int]  # per internal node
    bit: list[int]  # local bit of the node's feature: first-appearance index on its path
    p: list[int]  # per unified id: distinct features strictly above the node (leaves: all of their path)
    m: list[int]  # per unified id: internal nodes in the subtree
    q: list[int]  # per unified id: distinct features on the paths through the subtree (incl. above)
    prefix: list[list[int]]  # per unified id: features above, in first-appearance order (leaves: their U)
    parent: list[int]  # per unified id: parent's id (-1 for the root)
    depth: list[int]  # per unified id: internal nodes above it
    count: list[float]  # per unified id: training rows

    @property
    def n_internal(self) -> int:
        return len(self.feat)

    def path(self, n: int) -> list[tuple[int, int]]:
        """(internal id, direction 0=left 1=right) of the splits from the root down to node n (built on demand:
        storing every node's path would take memory in depth x nodes)."""
        out = []
        while self.parent[n] >= 0:
            up = self.parent[n]
            out.append((up, int(self.right[up] == n)))
            n = up
        return out[::-1]


def _plan_tree(tree: TreeArrays) -> _TreePlan:
    ni = tree.n_internal
    n_nodes = ni + tree.n_leaves
    order: list[int] = []
    new_id = {}
    left_old, right_old = tree.left_child.tolist(), tree.right_child.tolist()
    if ni:
        queue = [0]
        while queue:
            old = queue.pop(0)
            new_id[old] = len(order)
            order.append(old)
            for c in (left_old[old], right_old[old]):
                if c >= 0:
                    queue.append(c)

    def unified(c: int) -> int:
        return new_id[c] if c >= 0 else ni + ~c

    feat_old, count_old = tree.split_feature.tolist(), tree.internal_count.tolist()
    left = [unified(left_old[o]) for o in order]
    right = [unified(right_old[o]) for o in order]
    feat = [feat_old[o] for o in order]
    count = [float(count_old[o]) for o in order] + tree.leaf_count.tolist()
    if len(count) < n_nodes:  # a single-leaf tree may omit its count
        count += [1.0] * (n_nodes - len(count))
    bit = [0] * ni
    p = [0] * n_nodes
    prefix: list[list[int]] = [[] for _ in range(n_nodes)]
    parent = [-1] * n_nodes
    depth = [0] * n_nodes
    for n in range(ni):  # BFS order: a parent is always visited before its children
        f = feat[n]
        pre = prefix[n]
        bit[n] = pre.index(f) if f in pre else len(pre)
        below = pre if f in pre else pre + [f]
        for c in (left[n], right[n]):
            prefix[c] = below
            p[c] = len(below)
            parent[c] = n
            depth[c] = depth[n] + 1
    m = [0] * n_nodes
    feats_below: list[set[int]] = [set() for _ in range(n_nodes)]
    for n in reversed(range(ni)):
        m[n] = 1 + m[left[n]] + m[right[n]]
        feats_below[n] = {feat[n]} | feats_below[left[n]] | feats_below[right[n]]
    q = [len(set(prefix[n]) | feats_below[n]) for n in range(n_nodes)]
    return _TreePlan(tree, order, left, right, feat, bit, p, m, q, prefix, parent, depth, count)


def _select(plan: _TreePlan, bits: int) -> tuple[list[int], list[int], list[int]]:
    """Block roots, fallback leaves (unified ids) and nodes above the blocks, top-down."""
    blocks: list[int] = []
    fallback: list[int] = []
    above: list[int] = []
    if plan.n_internal == 0:
        return blocks, fallback, above
    stack = [0]
    while stack:
        n = stack.pop()
        if plan.p[n] + plan.m[n] <= bits:
            blocks.append(n)
        elif n >= plan.n_internal:
            fallback.append(n)
        else:
            above.append(n)
            stack += [plan.right[n], plan.left[n]]
    return blocks, fallback, above


def _table_size(plan: _TreePlan, bits: int) -> int:
    blocks, _, _ = _select(plan, bits)
    return sum((1 << (plan.p[b] + plan.m[b])) * plan.q[b] for b in blocks)


@dataclass
class Layout:
    """Flat arrays the kernels read (see `_kernels`); one entry per tree, internal node, block or leaf."""

    n_features: int
    table_bits: int
    n_trees: int
    max_internal: int
    max_nodes: int
    max_depth_features: int
    # trees
    node_off: np.ndarray
    n_internal: np.ndarray
    leaf_off: np.ndarray
    block_off: np.ndarray
    fb_off: np.ndarray
    # internal nodes
    feat: np.ndarray
    thr: np.ndarray
    kind: np.ndarray
    nan_right: np.ndarray
    default_right: np.ndarray
    cat_start: np.ndarray
    cat_len: np.ndarray
    cat_bits: np.ndarray
    left: np.ndarray
    right: np.ndarray
    bit: np.ndarray
    prop: np.ndarray
    # leaves (raw margin)
    leaf_value: np.ndarray
    # blocks
    blk_root: np.ndarray
    blk_m: np.ndarray
    blk_q: np.ndarray
    blk_p: np.ndarray
    blk_node_off: np.ndarray
    blk_nodes: np.ndarray
    blk_feat_off: np.ndarray
    blk_feat: np.ndarray
    blk_tab_off: np.ndarray
    # leaves inside blocks (to build the tables)
    bl_off: np.ndarray  # per block: its leaves
    bl_v: np.ndarray
    bl_d: np.ndarray
    bl_z_off: np.ndarray  # into bl_z / bl_pos
    bl_z: np.ndarray
    bl_pos: np.ndarray  # block position of each local feature
    bl_path_off: np.ndarray  # in-block path entries
    bl_path_j: np.ndarray
    bl_path_bit: np.ndarray
    bl_path_dir: np.ndarray
    # fallback leaves
    fb_v: np.ndarray
    fb_d: np.ndarray
    fb_z_off: np.ndarray
    fb_z: np.ndarray
    fb_feat: np.ndarray
    fb_path_off: np.ndarray
    fb_path_node: np.ndarray
    fb_path_bit: np.ndarray
    fb_path_dir: np.ndarray
    weights: np.ndarray  # weights[d, s] = s!(d-1-s)!/d!
    # trees of the linear-time method (see `_linear`): their nodes but the root, in preorder
    lin_off: np.ndarray  # per tree (+1): its nodes; empty for a tree answered from tables
    lin_points: np.ndarray  # per tree: quadrature points
    lin_depth: np.ndarray
    lin_par: np.ndarray
    lin_dir: np.ndarray
    lin_feat: np.ndarray
    lin_prev: np.ndarray
    lin_leaf: np.ndarray
    lin_close: np.ndarray
    lin_z: np.ndarray
    lin_zprev: np.ndarray
    lin_v: np.ndarray
    gl_u: np.ndarray  # gl_u[n, :n]: the n-point Gauss-Legendre nodes on [0, 1]
    gl_w: np.ndarray
    max_levels: int = 1
    max_points: int = 1
    table_size: int = 0
    stats: dict = field(default_factory=dict)


METHODS = ("auto", "tables", "linear")
"""Per-tree methods: pattern tables (with the per-leaf fallback), the linear-time pass, or a choice per tree."""
LINEAR_COST = 0.6
"""Cost of the linear-time method per node and quadrature point, in units of one table addition (measured)."""
FALLBACK_COST = 1.2
"""Cost of a leaf of the per-leaf fallback per squared path feature count, in the same units (measured)."""


def plan_model(
    model: ModelArrays, table_bits: int | None, max_table_bytes: int, method: str = "auto"
) -> Layout:
    """Choose each tree's method and blocks and flatten the model for the kernels.

    `method="auto"` answers a tree from pattern tables when they are cheaper per row than the linear-time pass
    (short paths), else by the linear-time pass (see `_linear`). `table_bits=None` chooses: AUTO_BITS[0], raised
    (up to AUTO_BITS[1]) while some tabulated leaves would still be computed per row and the larger tables fit
    the budget. Any choice is lowered until the tables fit.
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}; got {method!r}.")
    collecting = gc.isenabled()
    gc.disable()  # planning builds many small lists; the cyclic collector would rescan them all, repeatedly
    try:
        return _plan_model(model, table_bits, max_table_bytes, method)
    finally:
        if collecting:
            gc.enable()


def _linear_possible(plan: _TreePlan) -> bool:
    """The linear-time pass divides by cover fractions: every node needs training rows."""
    return plan.n_internal > 0 and min(plan.count) > 0


def _table_cost(plan: _TreePlan, bits: int) -> float:
    """Estimated per-row work of the tables: index bits and additions per block, the fallback's leaves."""
    blocks, fallback, above = _select(plan, bits)
    cost = float(len(above))
    for b in blocks:
        cost += plan.m[b] + plan.q[b]
    for leaf in fallback:
        cost += plan.depth[leaf] + FALLBACK_COST * plan.p[leaf] ** 2
    return cost


def _linear_cost(plan: _TreePlan) -> float:
    nodes = plan.n_internal + plan.tree.n_leaves - 1
    d_max = max(plan.p[plan.n_internal:], default=1)
    return LINEAR_COST * nodes * LIN.points_for(d_max)


def _choose_linear(plans: list[_TreePlan], method: str) -> list[bool]:
    if method == "tables":
        return [False] * len(plans)
    if method == "linear":
        return [_linear_possible(pl) for pl in plans]
    return [_linear_possible(pl) and _linear_cost(pl) < _table_cost(pl, AUTO_BITS[1]) for pl in plans]


def _plan_model(model: ModelArrays, table_bits: int | None, max_table_bytes: int, method: str) -> Layout:
    plans = [_plan_tree(t) for t in model.trees]
    linear = _choose_linear(plans, method)
    tabulated = [pl for pl, lin in zip(plans, linear, strict=True) if not lin]

    def table_bytes(b: int) -> int:
        return 8 * sum(_table_size(pl, b) for pl in tabulated)

    def has_fallback(b: int) -> bool:
        return any(_select(pl, b)[1] for pl in tabulated)

    if table_bits is None:
        bits = AUTO_BITS[0]
        while bits < AUTO_BITS[1] and has_fallback(bits) and table_bytes(bits + 1) <= max_table_bytes:
            bits += 1
    else:
        bits = min(max(int(table_bits), 0), MAX_TABLE_BITS)
    while bits > 0 and table_bytes(bits) > max_table_bytes:
        bits -= 1
    if method == "auto" and bits < AUTO_BITS[1]:  # smaller tables leave more leaves to the per-leaf formula
        linear = [lin or (_linear_possible(pl) and _linear_cost(pl) < _table_cost(pl, bits))
                  for pl, lin in zip(plans, linear, strict=True)]
    return _flatten(model, plans, bits, linear)


def _z_and_features(plan: _TreePlan, leaf: int) -> tuple[list[int], list[float], list[int]]:
    """The leaf's path features (first-appearance order), their cover fractions and each path node's bit."""
    ni = plan.n_internal
    features = plan.prefix[ni + leaf]
    z = [1.0] * len(features)
    bits = []
    for node, direction in plan.path(ni + leaf):
        k = features.index(plan.feat[node])
        child = plan.right[node] if direction else plan.left[node]
        z[k] *= _ratio(plan.count[child], plan.count[node])
        bits.append(k)
    return features, z, bits


def _ratio(part: float, whole: float) -> float:
    """part / whole with C's IEEE result for an empty node (LightGBM divides the same counts)."""
    if whole:
        return part / whole
    return math.nan if part == 0 else math.copysign(math.inf, part)


def _flatten(model: ModelArrays, plans: list[_TreePlan], bits: int, linear: list[bool]) -> Layout:
    a: dict[str, list] = {k: [] for k in (
        "node_off n_internal leaf_off block_off fb_off feat thr kind nan_right default_right cat_start cat_len "
        "cat_bits left right bit prop leaf_value blk_root blk_m blk_q blk_p blk_node_off blk_nodes blk_feat_off "
        "blk_feat blk_tab_off bl_off bl_v bl_d bl_z_off bl_z bl_pos bl_path_off bl_path_j bl_path_bit "
        "bl_path_dir fb_v fb_d fb_z_off fb_z fb_feat fb_path_off fb_path_node fb_path_bit fb_path_dir "
        "lin_off lin_points"
    ).split()}
    pieces: dict[str, list[np.ndarray]] = {k: [] for k in LIN.PLAN_KEYS}  # the linear pass's plan, per tree
    n_linear_nodes = 0
    max_levels = max_points = 1
    table_size = 0
    max_d = 1
    n_fallback = 0
    for plan, lin in zip(plans, linear, strict=True):
        tree = plan.tree
        ni = plan.n_internal
        a["lin_off"].append(n_linear_nodes)
        if lin:
            points, levels = LIN.plan_tree(plan, pieces)
            n_linear_nodes += plan.n_internal + tree.n_leaves - 1
            max_points, max_levels = max(max_points, points), max(max_levels, levels)
            a["lin_points"].append(points)
        else:
            a["lin_points"].append(1)
        a["node_off"].append(len(a["feat"]))
        a["n_internal"].append(ni)
        a["leaf_off"].append(len(a["leaf_value"]))
        a["block_off"].append(len(a["blk_root"]))
        a["fb_off"].append(len(a["fb_v"]))
        a["leaf_value"] += tree.leaf_value.tolist()
        blocks, fallback, above = ([], [], []) if lin else _select(plan, bits)
        above_set = set(above)
        for n, old in enumerate(plan.order):
            dt = int(tree.decision_type[old])
            missing = (dt >> 2) & 3
            default_right = 0 if dt & DEFAULT_LEFT_MASK else 1
            thr = float(tree.threshold[old])
            if dt & CATEGORICAL_MASK:
                kind = KIND_CATEGORICAL
                cat = int(thr)
                start, stop = int(tree.cat_boundaries[cat]), int(tree.cat_boundaries[cat + 1])
                a["cat_start"].append(len(a["cat_bits"]))
                a["cat_len"].append(stop - start)
                a["cat_bits"] += tree.cat_threshold[start:stop].tolist()
                nan_right = 1
            else:
                kind = KIND_ZERO if missing == MISSING_ZERO else KIND_NUMERIC
                a["cat_start"].append(0)
                a["cat_len"].append(0)
                # NaN goes the default way when missing is NaN or Zero; otherwise it is read as 0.0
                nan_right = default_right if missing in (MISSING_NAN, MISSING_ZERO) else int(not 0.0 <= thr)
            a["feat"].append(plan.feat[n])
            a["thr"].append(thr)
            a["kind"].append(kind)
            a["nan_right"].append(nan_right)
            a["default_right"].append(default_right)
            a["left"].append(plan.left[n])
            a["right"].append(plan.right[n])
            a["bit"].append(plan.bit[n])
            a["prop"].append(int(n in above_set and plan.bit[n] < bits))
        for root in blocks:
            _add_block(a, plan, root)
            table_size_block = (1 << (plan.p[root] + plan.m[root])) * plan.q[root]
            a["blk_tab_off"].append(table_size)
            table_size += table_size_block
        for leaf_id in fallback:
            leaf = leaf_id - ni
            features, z, path_bits = _z_and_features(plan, leaf)
            max_d = max(max_d, len(features))
            n_fallback += 1
            a["fb_v"].append(float(tree.leaf_value[leaf]))
            a["fb_d"].append(len(features))
            a["fb_z_off"].append(len(a["fb_z"]))
            a["fb_z"] += z
            a["fb_feat"] += features
            a["fb_path_off"].append(len(a["fb_path_node"]))
            for (node, direction), k in zip(plan.path(leaf_id), path_bits, strict=True):
                a["fb_path_node"].append(node)
                a["fb_path_bit"].append(k)
                a["fb_path_dir"].append(direction)
    for key, end in (("node_off", "feat"), ("leaf_off", "leaf_value"), ("block_off", "blk_root"), ("fb_off", "fb_v")):
        a[key].append(len(a[end]))
    a["lin_off"].append(n_linear_nodes)
    for key, end in (("blk_node_off", "blk_nodes"), ("blk_feat_off", "blk_feat"), ("bl_off", "bl_v"),
                     ("bl_z_off", "bl_z"), ("bl_path_off", "bl_path_j"), ("fb_z_off", "fb_z"),
                     ("fb_path_off", "fb_path_node")):
        a[key].append(len(a[end]))
    max_d = max([max_d, bits] + a["bl_d"])
    weights = np.zeros((max_d + 1, max_d), dtype=np.float64)
    for d in range(1, max_d + 1):
        for s in range(d):
            weights[d, s] = 1.0 / (d * math.comb(d - 1, s))
    f64 = {"thr", "leaf_value", "bl_v", "bl_z", "fb_v", "fb_z"}
    arrays = {}
    for key, values in a.items():
        if key in f64:
            arrays[key] = np.asarray(values, dtype=np.float64)
        elif key == "cat_bits":
            arrays[key] = np.asarray(values, dtype=np.uint32)
        elif key in ("blk_tab_off", "node_off", "leaf_off", "lin_off"):
            arrays[key] = np.asarray(values, dtype=np.int64)
        else:
            arrays[key] = np.asarray(values, dtype=np.int32)
    for key, parts in pieces.items():
        arrays[key] = np.concatenate(parts) if parts else np.zeros(0, LIN.PLAN_DTYPES[key])
    gl_u, gl_w = LIN.gauss_points(max_points)
    n_int = arrays["n_internal"]
    n_nodes = [pl.n_internal + pl.tree.n_leaves for pl in plans]
    return Layout(
        n_features=model.n_features,
        table_bits=bits,
        n_trees=len(plans),
        max_internal=int(n_int.max()) if len(n_int) else 0,
        max_nodes=max(n_nodes, default=1),
        max_depth_features=max_d,
        weights=weights,
        gl_u=gl_u,
        gl_w=gl_w,
        max_levels=max_levels,
        max_points=max_points,
        table_size=table_size,
        stats={
            "blocks": len(a["blk_root"]),
            "fallback_leaves": n_fallback,
            "linear_trees": sum(linear),
            "linear_nodes": n_linear_nodes,
            "linear_max_points": max_points,
            "linear_max_levels": max_levels,
            "table_bytes": 8 * table_size,
            "plan_bytes": sum(v.nbytes for v in arrays.values()) + weights.nbytes + gl_u.nbytes + gl_w.nbytes,
        },
        **arrays,
    )


def _add_block(a: dict[str, list], plan: _TreePlan, root: int) -> None:
    ni = plan.n_internal
    a["blk_root"].append(root)
    a["blk_m"].append(plan.m[root])
    a["blk_q"].append(plan.q[root])
    a["blk_p"].append(plan.p[root])
    # the block's internal nodes in BFS order (a node's decision is bit m-1-j of the table index)
    nodes: list[int] = []
    leaves: list[int] = []
    queue = [root]
    while queue:
        n = queue.pop(0)
        if n >= ni:
            leaves.append(n - ni)
        else:
            nodes.append(n)
            queue += [plan.left[n], plan.right[n]]
    j_of = {n: j for j, n in enumerate(nodes)}
    a["blk_node_off"].append(len(a["blk_nodes"]))
    a["blk_nodes"] += nodes
    # block features: the prefix (its bit order) then new ones as the leaves meet them
    block_features = list(plan.prefix[root])
    for leaf in leaves:
        for f in plan.prefix[ni + leaf]:
            if f not in block_features:
                block_features.append(f)
    assert len(block_features) == plan.q[root]
    pos = {f: i for i, f in enumerate(block_features)}
    a["blk_feat_off"].append(len(a["blk_feat"]))
    a["blk_feat"] += block_features
    a["bl_off"].append(len(a["bl_v"]))
    depth_root = plan.depth[root]
    for leaf in leaves:
        features, z, path_bits = _z_and_features(plan, leaf)
        a["bl_v"].append(float(plan.tree.leaf_value[leaf]))
        a["bl_d"].append(len(features))
        a["bl_z_off"].append(len(a["bl_z"]))
        a["bl_z"] += z
        a["bl_pos"] += [pos[f] for f in features]
        a["bl_path_off"].append(len(a["bl_path_j"]))
        for (node, direction), k in list(zip(plan.path(ni + leaf), path_bits, strict=True))[depth_root:]:
            a["bl_path_j"].append(j_of[node])
            a["bl_path_bit"].append(k)
            a["bl_path_dir"].append(direction)

