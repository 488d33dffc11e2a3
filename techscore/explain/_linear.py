"""Exact TreeSHAP in time linear in the tree size, for trees whose paths are too long for the pattern tables.

With the notation of `_layout` (leaf value v, path features U, cover fractions z_k, agreements o_k in {0, 1}),
the Shapley weights s!(d-1-s)!/d! are Beta integrals, so a leaf's contribution to feature i is

    phi_i = v (o_i - z_i) * integral_0^1 prod_{k in U, k != i} f_k(u) du,   f_k(u) = z_k (1 - u) + o_k u

(Linear TreeSHAP, Yu et al. 2022, write the same summary polynomial in another basis). The integrand is a
polynomial of degree d - 1 whatever the leaf's d, so Gauss-Legendre quadrature on ceil(d_max / 2) points is exact,
and polynomials of leaves of different depths add directly. Per row and tree, one depth-first pass:

* down: P_c(u_j) = P_parent(u_j) * f_k,new(u_j) / f_k,old(u_j) at every node c below a split on k (f_k,old = 1
  for a feature new on the path); f depends on the row only through o, so the three possible ratios are known
  before any row is seen;
* up: S_c = sum of v * P_leaf over the leaves below c; phi_k += sum_j w_j S_c(u_j) (W_c(u_j) - W_prev(u_j)) with
  W_c = (o - z) / f_c, where prev is the last node above c that followed a split on k (the terms telescope, so
  each leaf is weighted by its deepest split on k, as TreeSHAP's unwind merges repeated features).

A row costs about 7 N multiply-adds per node (N quadrature points), instead of 2^depth table entries (pattern
tables) or d^2 per leaf (the per-leaf formula). The plan holds per node seven integers and three floats; the
per-node coefficients are rebuilt per chunk of rows from two cover fractions.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

ROWS = 64
"""Rows processed together along a tree's depth-first pass: the pass keeps (depth x points x ROWS) values, which
stay in the L1/L2 caches while the inner loops run over rows."""
NODE_INTS = 7
NODE_FLOATS = 3
NODE_BYTES = 4 * NODE_INTS + 8 * NODE_FLOATS
"""Plan memory per tree node (depth, parent, direction, feature, previous level, leaf flag, closes; z, z_prev, v)."""
N_COEF = 5
INTERNAL, LEAF, TWIG, IN_TWIG = 0, 1, 2, 3
"""Node kinds of the pass: a twig is an internal node whose children are both leaves (the next two entries)."""


def gauss_points(n_max: int) -> tuple[np.ndarray, np.ndarray]:
    """Gauss-Legendre nodes and weights on [0, 1] for every size 1..n_max: row n holds the n-point rule."""
    u = np.zeros((n_max + 1, max(n_max, 1)), dtype=np.float64)
    w = np.zeros_like(u)
    for n in range(1, n_max + 1):
        x, wx = np.polynomial.legendre.leggauss(n)
        u[n, :n] = (x + 1.0) / 2.0
        w[n, :n] = wx / 2.0
    return u, w


def points_for(path_features: int) -> int:
    """Quadrature points exact for a tree whose longest path has `path_features` distinct features."""
    return max(1, math.ceil(path_features / 2))


PLAN_KEYS = ("lin_depth", "lin_par", "lin_dir", "lin_feat", "lin_prev", "lin_leaf", "lin_close", "lin_z",
             "lin_zprev", "lin_v")
PLAN_DTYPES = {k: np.float64 if k in ("lin_z", "lin_zprev", "lin_v") else np.int32 for k in PLAN_KEYS}


def plan_tree(plan, lists: dict[str, list]) -> tuple[int, int]:
    """Append one tree's depth-first plan (every node but the root, in preorder) to `lists` (arrays, by PLAN_KEYS).

    `plan` is a `_layout._TreePlan` (BFS ids: internal 0..ni-1, leaves ni..). Returns (points, levels): the
    quadrature points the tree needs and its number of depth levels (the root is level 0).
    """
    ni = plan.n_internal
    if ni == 0:
        return 1, 1
    arrays = _preorder(
        np.asarray(plan.left, np.int64), np.asarray(plan.right, np.int64), np.asarray(plan.feat, np.int64),
        np.asarray(plan.count, np.float64), np.asarray(plan.parent, np.int64), np.asarray(plan.depth, np.int64),
        plan.tree.leaf_value.astype(np.float64),
    )
    for key, values in zip(PLAN_KEYS, arrays, strict=True):
        lists[key].append(values)
    return points_for(max(plan.p[ni:])), int(max(plan.depth)) + 1


@njit(cache=True)
def _preorder(left, right, feat, count, parent, depth, leaf_value):
    ni = len(feat)
    n = ni + len(leaf_value) - 1
    order = np.empty(n, np.int64)
    stack = np.empty(n + 1, np.int64)
    top = 0
    stack[top] = right[0]
    stack[top + 1] = left[0]
    top = 2
    k = 0
    while top > 0:  # preorder, left subtree first
        top -= 1
        c = stack[top]
        order[k] = c
        k += 1
        if c < ni:
            stack[top] = right[c]
            stack[top + 1] = left[c]
            top += 2
    pos = np.empty(ni + len(leaf_value), np.int64)
    for e in range(n):
        pos[order[e]] = e
    lin_depth = np.empty(n, np.int32)
    lin_par = np.empty(n, np.int32)
    lin_dir = np.empty(n, np.int32)
    lin_feat = np.empty(n, np.int32)
    lin_prev = np.empty(n, np.int32)
    kind = np.empty(n, np.int32)
    close = np.zeros(n, np.int32)
    z = np.empty(n, np.float64)
    zprev = np.empty(n, np.float64)
    v = np.zeros(n, np.float64)
    for e in range(n):  # preorder: the node that followed the last split on the same feature comes earlier
        c = order[e]
        up = parent[c]
        f = feat[up]
        lin_depth[e] = depth[c]
        lin_par[e] = up
        lin_dir[e] = 1 if right[up] == c else 0
        lin_feat[e] = f
        kind[e] = LEAF if c >= ni else INTERNAL
        if c >= ni:
            v[e] = leaf_value[c - ni]
        ratio = count[c] / count[up]
        x = up
        while x != 0 and feat[parent[x]] != f:
            x = parent[x]
        if x == 0:
            lin_prev[e] = -1
            zprev[e] = 1.0
            z[e] = ratio
        else:
            lin_prev[e] = depth[x]
            zprev[e] = z[pos[x]]
            z[e] = z[pos[x]] * ratio
    # after a leaf at level L followed (in preorder) by a node at level L', the nodes open at L-1 .. L' are done
    for e in range(n):
        if kind[e] == LEAF:
            close[e] = lin_depth[e] - (lin_depth[e + 1] if e + 1 < n else 1)
    # twigs: an internal node whose two children are leaves is computed in one pass with them
    for e in range(n - 2):
        if kind[e] == INTERNAL and kind[e + 1] == LEAF and kind[e + 2] == LEAF:
            if lin_depth[e + 2] == lin_depth[e] + 1:
                kind[e] = TWIG
                kind[e + 1] = IN_TWIG
                kind[e + 2] = IN_TWIG
    return lin_depth, lin_par, lin_dir, lin_feat, lin_prev, kind, close, z, zprev, v


@njit(cache=True)
def tree_coefficients(n0, n1, n_points, u, w, lin_z, lin_zprev, lin_prev, coef):
    """Per node e of one tree and point j, into coef[e - n0, :, j]: the down factors and the up weights.

    Down: P_c = P_parent * (c + o_prev (b - c) + o_c (a - b)), a, b, c the ratios f_new / f_old for the three
    possible (o_prev, o_c). Up: phi_k += o_prev * sum_j S_c (e10 + o_c de), e10 = W_c(0) - W_prev(1), de =
    W_c(1) - W_c(0) (o_prev = 0 adds nothing: W_c(0) = W_prev(0) = -w / (1 - u)).
    """
    for e in range(n0, n1):
        i = e - n0
        z = lin_z[e]
        zp = lin_zprev[e]
        has_prev = lin_prev[e] >= 0
        for j in range(n_points):
            uj = u[j]
            wj = w[j]
            f1 = z + (1.0 - z) * uj
            f0 = z * (1.0 - uj)
            if has_prev:
                g1 = zp + (1.0 - zp) * uj
                a = f1 / g1
                b = f0 / g1
                c = z / zp
                wp1 = wj * (1.0 - zp) / g1
            else:
                a = f1
                b = f0
                c = 0.0
                wp1 = 0.0
            wc1 = wj * (1.0 - z) / f1
            wc0 = -wj / (1.0 - uj)
            coef[i, 0, j] = c
            coef[i, 1, j] = b - c
            coef[i, 2, j] = a - b
            coef[i, 3, j] = wc0 - wp1
            coef[i, 4, j] = wc1 - wc0


@njit(cache=True, inline="always")
def _node_coef(coef, i, j):
    """Down factors (c, b - c, a - b) and up weights (e10, de) of plan node i at point j."""
    return coef[i, 0, j], coef[i, 1, j], coef[i, 2, j], coef[i, 3, j], coef[i, 4, j]


@njit(cache=True, inline="always")
def _agreement(e, lv, dec, s0, nr, lin_par, lin_dir, lin_prev, OV, OPV):
    """o_prev and o_c of node e's rows into OPV[lv], OV[lv]: 1.0 while the row follows every split on the
    feature of e's parent split down to e."""
    par = lin_par[e]
    flip = 1 - lin_dir[e]  # the row follows the node when its decision equals the direction
    pv = lin_prev[e]
    if pv >= 0:
        for r in range(nr):
            op = OV[pv, r]
            OPV[lv, r] = op
            OV[lv, r] = op * (dec[par, s0 + r] ^ flip)
    else:
        for r in range(nr):
            OPV[lv, r] = 1.0
            OV[lv, r] = dec[par, s0 + r] ^ flip


@njit(cache=True)
def tree_rows(
    n0, n1, n_points, coef, lin_depth, lin_par, lin_dir, lin_feat, lin_prev, lin_leaf, lin_v, lin_close,
    dec, s0, nr, acc, P, S, OV, OPV, dot, dot2, open_node,
):
    """Add one tree's SHAP values of rows s0 .. s0 + nr of the chunk to acc (features x chunk rows).

    dec (internal nodes x chunk rows): 1 where the row goes right. Scratch: P, S (levels x points x ROWS),
    OV, OPV (levels x ROWS; o_c and o_prev per level as 0.0 / 1.0), dot, dot2 (ROWS), open_node (levels). A left
    child (visited first) sets its parent's S, a right child adds to it, so no pass clears S (S starts as zeros,
    so that 0 * S is 0).
    """
    for j in range(n_points):
        for r in range(nr):
            P[0, j, r] = 1.0
    e = n0
    while e < n1:
        i = e - n0
        lv = lin_depth[e]
        keep = float(lin_dir[e])  # a left child (visited first) sets its parent's sum, a right child adds to it
        _agreement(e, lv, dec, s0, nr, lin_par, lin_dir, lin_prev, OV, OPV)
        kind = lin_leaf[e]
        if kind == INTERNAL:
            open_node[lv] = e
            for j in range(n_points):
                cc = coef[i, 0, j]
                bc = coef[i, 1, j]
                ab = coef[i, 2, j]
                for r in range(nr):
                    P[lv, j, r] = P[lv - 1, j, r] * (cc + OPV[lv, r] * bc + OV[lv, r] * ab)
            e += 1
            continue
        for r in range(nr):
            dot[r] = 0.0
        if kind == LEAF:
            # the leaf's polynomial goes straight into the parent's sum and into its feature's contribution
            v = lin_v[e]
            for j in range(n_points):
                cc, bc, ab, e10, de = _node_coef(coef, i, j)
                for r in range(nr):
                    o = OV[lv, r]
                    t = v * P[lv - 1, j, r] * (cc + OPV[lv, r] * bc + o * ab)
                    S[lv - 1, j, r] = keep * S[lv - 1, j, r] + t
                    dot[r] += t * (e10 + o * de)
            k = lin_feat[e]
            for r in range(nr):
                acc[k, s0 + r] += OPV[lv, r] * dot[r]
            closes = lin_close[e]
            e += 1
        else:
            # a twig and its two leaves (entries e + 1, e + 2) in one pass; their o_prev is shared and their
            # o_c add up to it (a row that follows the twig's split on its feature takes one of the two sides)
            _agreement(e + 1, lv + 1, dec, s0, nr, lin_par, lin_dir, lin_prev, OV, OPV)
            vl = lin_v[e + 1]
            vr = lin_v[e + 2]
            for r in range(nr):
                dot2[r] = 0.0
            for j in range(n_points):
                cc, bc, ab, e10, de = _node_coef(coef, i, j)
                ccl, bcl, abl, e10l, del_ = _node_coef(coef, i + 1, j)
                ccr, bcr, abr, e10r, der = _node_coef(coef, i + 2, j)
                for r in range(nr):
                    o = OV[lv, r]
                    pn = P[lv - 1, j, r] * (cc + OPV[lv, r] * bc + o * ab)
                    opc = OPV[lv + 1, r]
                    ol = OV[lv + 1, r]
                    orr = opc - ol
                    tl = vl * pn * (ccl + opc * bcl + ol * abl)
                    tr = vr * pn * (ccr + opc * bcr + orr * abr)
                    sn = tl + tr
                    S[lv - 1, j, r] = keep * S[lv - 1, j, r] + sn
                    dot2[r] += tl * (e10l + ol * del_) + tr * (e10r + orr * der)
                    dot[r] += sn * (e10 + o * de)
            kc = lin_feat[e + 1]
            k = lin_feat[e]
            for r in range(nr):
                acc[kc, s0 + r] += OPV[lv + 1, r] * dot2[r]
            for r in range(nr):
                acc[k, s0 + r] += OPV[lv, r] * dot[r]
            closes = lin_close[e + 2] - 1  # the twig itself is done
            e += 3
        for m in range(lv - 1, lv - 1 - closes, -1):
            c = open_node[m]
            ic = c - n0
            for r in range(nr):
                dot[r] = 0.0
            up_keep = float(lin_dir[c])
            for j in range(n_points):
                e10 = coef[ic, 3, j]
                de = coef[ic, 4, j]
                for r in range(nr):
                    t = S[m, j, r]
                    S[m - 1, j, r] = up_keep * S[m - 1, j, r] + t
                    dot[r] += t * (e10 + OV[m, r] * de)
            k = lin_feat[c]
            for r in range(nr):
                acc[k, s0 + r] += OPV[m, r] * dot[r]
