"""Numba kernels of the TreeSHAP engine (float64 throughout, no fastmath: results are exact to rounding).

The layout they read is described in `_layout`. Rows are processed in chunks; within a chunk the loops run over
trees, then nodes or blocks, then rows, so one tree's tables stay in cache while the chunk's rows use them and
the innermost loops are straight lines over rows.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from techscore.explain import _linear as LIN
from techscore.explain._layout import KIND_NUMERIC, KIND_ZERO
from techscore.explain._tree_arrays import ZERO_THRESHOLD

INT_LIMIT = 2147483648.0  # static_cast<int> of a double at or above 2^31 is INT_MIN on x86: treated as negative
MEMO_BITS = 12  # fallback leaves with at most this many path features memoise their values per chunk


@njit(cache=True, inline="always")
def _goes_right(x, kind, thr, nan_right, default_right, cat_bits, cat_start, cat_len):
    """LightGBM's `Tree::Decision` for one value: 1 when the row goes to the right child."""
    if kind == KIND_NUMERIC:
        if x != x:
            return nan_right
        return 1 if x > thr else 0
    if kind == KIND_ZERO:
        if x != x or (x >= -ZERO_THRESHOLD and x <= ZERO_THRESHOLD):
            return default_right
        return 1 if x > thr else 0
    # categorical: NaN, negative (after truncation toward zero) and out-of-int-range values go right
    if not (x > -1.0 and x < INT_LIMIT):
        return 1
    iv = np.int64(x)
    word = iv >> 5
    if word >= cat_len:
        return 1
    return 1 - np.int32((cat_bits[cat_start + word] >> np.uint32(iv & 31)) & np.uint32(1))


@njit(cache=True)
def leaf_phi(z, agree, d, w, poly, out):
    """SHAP values of one leaf (value 1) over its d path features, given which features the row agrees with.

    z[k]: cover fraction of feature k; agree[k]: 1 when the row follows the path at every node of feature k;
    w[s] = s!(d-1-s)!/d!; poly (d+1,) and out (d,) are scratch / result.
    """
    zd = 1.0
    nb = 0
    poly[0] = 1.0
    for k in range(d):
        zk = z[k]
        if agree[k]:
            poly[nb + 1] = poly[nb]
            for s in range(nb, 0, -1):
                poly[s] = poly[s] * zk + poly[s - 1]
            poly[0] *= zk
            nb += 1
        else:
            zd *= zk
    neg = 0.0
    if nb < d:
        h = 0.0
        for s in range(nb + 1):
            h += w[s] * poly[s]
        neg = -zd * h
    for k in range(d):
        if agree[k]:
            zk = z[k]
            qs = poly[nb]
            hk = w[nb - 1] * qs
            for s in range(nb - 1, 0, -1):
                qs = poly[s] - zk * qs
                hk += w[s - 1] * qs
            out[k] = (1.0 - zk) * zd * hk
        else:
            out[k] = neg


@njit(cache=True)
def build_tables(
    n_blocks, blk_p, blk_m, blk_q, blk_tab_off, bl_off, bl_v, bl_d, bl_z_off, bl_z, bl_pos,
    bl_path_off, bl_path_j, bl_path_bit, bl_path_dir, weights, table,
):
    """Fill every block's table: entry (P << m | decisions) holds the summed contributions of its leaves."""
    maxd = weights.shape[1]
    for b in range(n_blocks):
        p = blk_p[b]
        m = blk_m[b]
        q = blk_q[b]
        l0 = bl_off[b]
        l1 = bl_off[b + 1]
        # per-leaf tables over the leaf's own disagreement masks
        offs = np.empty(l1 - l0 + 1, np.int64)
        offs[0] = 0
        for i in range(l1 - l0):
            d = bl_d[l0 + i]
            offs[i + 1] = offs[i] + (1 << d) * d
        ltab = np.empty(offs[l1 - l0], np.float64)
        agree = np.empty(maxd, np.uint8)
        poly = np.empty(maxd + 1, np.float64)
        out = np.empty(maxd, np.float64)
        for i in range(l1 - l0):
            leaf = l0 + i
            d = bl_d[leaf]
            zo = bl_z_off[leaf]
            v = bl_v[leaf]
            for mask in range(1 << d):
                for k in range(d):
                    agree[k] = 1 - ((mask >> k) & 1)
                leaf_phi(bl_z[zo:zo + d], agree, d, weights[d], poly, out)
                base = offs[i] + mask * d
                for k in range(d):
                    ltab[base + k] = v * out[k]
        t0 = blk_tab_off[b]
        for idx in range(1 << (p + m)):
            row = t0 + idx * q
            for k in range(q):
                table[row + k] = 0.0
            prefix = idx >> m
            for i in range(l1 - l0):
                leaf = l0 + i
                d = bl_d[leaf]
                mask = prefix
                for e in range(bl_path_off[leaf], bl_path_off[leaf + 1]):
                    dec = (idx >> (m - 1 - bl_path_j[e])) & 1
                    if dec != bl_path_dir[e]:
                        mask |= 1 << bl_path_bit[e]
                base = offs[i] + mask * d
                zo = bl_z_off[leaf]
                for k in range(d):
                    table[row + bl_pos[zo + k]] += ltab[base + k]


@njit(parallel=True, cache=True)
def shap_kernel(
    X, out, chunk, n_trees, max_internal, max_nodes, maxd,
    node_off, n_internal, block_off, fb_off,
    feat, thr, kind, nan_right, default_right, cat_start, cat_len, cat_bits, left, right, bit, prop,
    blk_root, blk_m, blk_q, blk_node_off, blk_nodes, blk_feat_off, blk_feat, blk_tab_off, table,
    fb_v, fb_d, fb_z_off, fb_z, fb_feat, fb_path_off, fb_path_node, fb_path_bit, fb_path_dir, weights,
    lin_off, lin_points, lin_depth, lin_par, lin_dir, lin_feat, lin_prev, lin_leaf, lin_close, lin_z, lin_zprev,
    lin_v, gl_u, gl_w, max_levels, max_points,
):
    """SHAP values of every row of X (n, F) into out (n, F), added to what out holds; chunks in parallel."""
    n = X.shape[0]
    n_chunks = (n + chunk - 1) // chunk
    for c in prange(n_chunks):
        r0 = c * chunk
        _shap_chunk(
            X, out, r0, min(chunk, n - r0), n_trees, max_internal, max_nodes, maxd,
            node_off, n_internal, block_off, fb_off,
            feat, thr, kind, nan_right, default_right, cat_start, cat_len, cat_bits, left, right, bit, prop,
            blk_root, blk_m, blk_q, blk_node_off, blk_nodes, blk_feat_off, blk_feat, blk_tab_off, table,
            fb_v, fb_d, fb_z_off, fb_z, fb_feat, fb_path_off, fb_path_node, fb_path_bit, fb_path_dir, weights,
            lin_off, lin_points, lin_depth, lin_par, lin_dir, lin_feat, lin_prev, lin_leaf, lin_close, lin_z,
            lin_zprev, lin_v, gl_u, gl_w, max_levels, max_points,
        )


@njit(cache=True)
def _shap_chunk(
    X, out, r0, nr, n_trees, max_internal, max_nodes, maxd,
    node_off, n_internal, block_off, fb_off,
    feat, thr, kind, nan_right, default_right, cat_start, cat_len, cat_bits, left, right, bit, prop,
    blk_root, blk_m, blk_q, blk_node_off, blk_nodes, blk_feat_off, blk_feat, blk_tab_off, table,
    fb_v, fb_d, fb_z_off, fb_z, fb_feat, fb_path_off, fb_path_node, fb_path_bit, fb_path_dir, weights,
    lin_off, lin_points, lin_depth, lin_par, lin_dir, lin_feat, lin_prev, lin_leaf, lin_close, lin_z, lin_zprev,
    lin_v, gl_u, gl_w, max_levels, max_points,
):
    """Rows r0 .. r0 + nr: loops over trees, then nodes or blocks, then the chunk's rows."""
    n_feat = X.shape[1]
    xt = np.empty((n_feat, nr), np.float64)
    for i in range(nr):
        for f in range(n_feat):
            xt[f, i] = X[r0 + i, f]
    acc = np.zeros((n_feat, nr), np.float64)
    dec = np.empty((max(max_internal, 1), nr), np.int32)
    mask = np.zeros((max_nodes, nr), np.int32)
    idx = np.empty(nr, np.int64)
    agree = np.empty(maxd, np.uint8)
    poly = np.empty(maxd + 1, np.float64)
    tmp = np.empty(maxd, np.float64)
    memo = np.empty((1 << MEMO_BITS) * MEMO_BITS, np.float64)
    stamp = np.full(1 << MEMO_BITS, -1, np.int64)
    stamp_now = 0
    # scratch of the linear-time method (see `_linear`)
    lin_max_nodes = 1
    for t in range(n_trees):
        lin_max_nodes = max(lin_max_nodes, lin_off[t + 1] - lin_off[t])
    has_linear = lin_off[n_trees] > 0
    lrows = LIN.ROWS if has_linear else 1
    lpts = max_points if has_linear else 1
    llev = max_levels if has_linear else 1
    coef = np.empty((lin_max_nodes if has_linear else 1, LIN.N_COEF, lpts), np.float64)
    lp = np.empty((llev, lpts, lrows), np.float64)
    ls = np.zeros((llev, lpts, lrows), np.float64)
    lo = np.empty((llev, lrows), np.float64)
    lop = np.empty((llev, lrows), np.float64)
    dot = np.empty(lrows, np.float64)
    dot2 = np.empty(lrows, np.float64)
    open_node = np.empty(llev, np.int64)
    for t in range(n_trees):
        o = node_off[t]
        ni = n_internal[t]
        # 1. decisions at every internal node
        for nd in range(ni):
            g = o + nd
            xs = xt[feat[g]]
            ds = dec[nd]
            k = kind[g]
            th = thr[g]
            if k == KIND_NUMERIC:
                nrt = nan_right[g]
                for i in range(nr):
                    x = xs[i]
                    ds[i] = np.int32(x > th) | (nrt & np.int32(x != x))
            else:
                nrt = nan_right[g]
                drt = default_right[g]
                cs = cat_start[g]
                cl = cat_len[g]
                for i in range(nr):
                    ds[i] = _goes_right(xs[i], k, th, nrt, drt, cat_bits, cs, cl)
        # 2. disagreement masks down to the block roots
        for nd in range(ni):
            g = o + nd
            if prop[g]:
                b = bit[g]
                lc = left[g]
                rc = right[g]
                mp = mask[nd]
                ds = dec[nd]
                ml = mask[lc]
                mr = mask[rc]
                for i in range(nr):
                    mm = mp[i]
                    dd = ds[i]
                    ml[i] = mm | (dd << b)
                    mr[i] = mm | ((1 - dd) << b)
        # 3. blocks: one table row per row, q additions
        for bk in range(block_off[t], block_off[t + 1]):
            mr = mask[blk_root[bk]]
            for i in range(nr):
                idx[i] = mr[i]
            for j in range(blk_node_off[bk], blk_node_off[bk + 1]):
                ds = dec[blk_nodes[j]]
                for i in range(nr):
                    idx[i] = (idx[i] << 1) | ds[i]
            q = blk_q[bk]
            t0 = blk_tab_off[bk]
            fo = blk_feat_off[bk]
            for kk in range(q):
                a = acc[blk_feat[fo + kk]]
                base = t0 + kk
                for i in range(nr):
                    a[i] += table[base + idx[i] * q]
        # 4. leaves too deep for a table, exactly per row; rows of a chunk that agree with the leaf's
        # path in the same way share one computation (memo keyed by the disagreement mask)
        for lf in range(fb_off[t], fb_off[t + 1]):
            d = fb_d[lf]
            zo = fb_z_off[lf]
            v = fb_v[lf]
            if d <= MEMO_BITS:
                stamp_now += 1
                for i in range(nr):
                    dmask = 0
                    for e in range(fb_path_off[lf], fb_path_off[lf + 1]):
                        if dec[fb_path_node[e], i] != fb_path_dir[e]:
                            dmask |= 1 << fb_path_bit[e]
                    base = dmask * d
                    if stamp[dmask] != stamp_now:
                        stamp[dmask] = stamp_now
                        for k in range(d):
                            agree[k] = 1 - ((dmask >> k) & 1)
                        leaf_phi(fb_z[zo:zo + d], agree, d, weights[d], poly, tmp)
                        for k in range(d):
                            memo[base + k] = v * tmp[k]
                    for k in range(d):
                        acc[fb_feat[zo + k], i] += memo[base + k]
                continue
            for i in range(nr):
                for k in range(d):
                    agree[k] = 1
                for e in range(fb_path_off[lf], fb_path_off[lf + 1]):
                    if dec[fb_path_node[e], i] != fb_path_dir[e]:
                        agree[fb_path_bit[e]] = 0
                leaf_phi(fb_z[zo:zo + d], agree, d, weights[d], poly, tmp)
                for k in range(d):
                    acc[fb_feat[zo + k], i] += v * tmp[k]
        # 5. trees planned for the linear-time method: one depth-first pass per group of rows
        n0 = lin_off[t]
        n1 = lin_off[t + 1]
        if n1 > n0:
            npt = lin_points[t]
            LIN.tree_coefficients(n0, n1, npt, gl_u[npt], gl_w[npt], lin_z, lin_zprev, lin_prev, coef)
            for s0 in range(0, nr, lrows):
                LIN.tree_rows(
                    n0, n1, npt, coef, lin_depth, lin_par, lin_dir, lin_feat, lin_prev, lin_leaf, lin_v,
                    lin_close, dec, s0, min(lrows, nr - s0), acc, lp, ls, lo, lop, dot, dot2, open_node,
                )
    for i in range(nr):
        for f in range(n_feat):
            out[r0 + i, f] += acc[f, i]


@njit(parallel=True, cache=True)
def predict_kernel(
    X, out, n_trees, node_off, n_internal, leaf_off, leaf_value,
    feat, thr, kind, nan_right, default_right, cat_start, cat_len, cat_bits, left, right,
):
    """Raw margin of every row: the sum of the leaf values it reaches, trees in order."""
    n = X.shape[0]
    for r in prange(n):
        s = 0.0
        for t in range(n_trees):
            o = node_off[t]
            ni = n_internal[t]
            node = 0
            while node < ni:
                g = o + node
                goes = _goes_right(X[r, feat[g]], kind[g], thr[g], nan_right[g], default_right[g],
                                   cat_bits, cat_start[g], cat_len[g])
                node = right[g] if goes else left[g]
            s += leaf_value[leaf_off[t] + node - ni]
        out[r] = s
