"""techscore's exact TreeSHAP engine for LightGBM models.

The values are path-dependent TreeSHAP in raw-margin units (log-odds for a binary model): the same numbers as
`booster.predict(X, pred_contrib=True)` and `shap.TreeExplainer(booster).shap_values(X)`, computed 20x or more
faster. The model is read once and each tree planned for the cheaper of two exact methods: precomputed pattern
tables where paths are short (`_layout`: a few table look-ups per tree and row), and a linear-time depth-first pass
where they are long (`_linear`: polynomial quadrature along the paths, cost linear in the tree's size instead of
TreeSHAP's O(leaves * depth^2) walk or the tables' 2^depth). LightGBM's split rules are followed
exactly: `x <= threshold` goes left, missing values by each split's missing type and default direction,
categorical splits by LightGBM's category bitsets, pandas categories mapped to the codes used at training.
"""

from __future__ import annotations

from contextlib import contextmanager

import numpy as np

from techscore.exceptions import ModelError, SchemaError
from techscore.explain import _kernels as K
from techscore.explain import _linear as LIN
from techscore.explain._layout import MAX_TABLE_BITS, METHODS, Layout, plan_model
from techscore.explain._tree_arrays import ModelArrays, model_arrays

__all__ = ["TreeShap"]

DEFAULT_MAX_TABLE_BYTES = 256 * 2**20
"""Memory budget of the precomputed tables; deeper models use smaller blocks and then the exact fallback."""
MAX_CHUNK_ROWS = 4096
"""Most rows one thread processes together: each tree's tables are read once per chunk, so large chunks
amortise the table traffic (the main cost once the tables outgrow the cache)."""
CHUNK_SCRATCH_BYTES = 32 * 2**20
"""Budget of one thread's per-chunk scratch memory (rows x (2 features + nodes))."""
MIN_PARALLEL_ROWS = 64
"""Fewest rows given to a thread: smaller batches run on the calling thread (waking idle threads costs more,
and on a loaded machine far more, than these rows take)."""


class TreeShap:
    """Exact path-dependent TreeSHAP for a single-output LightGBM model (binary or regression).

    Parameters
    ----------
    booster : lightgbm.Booster
        The trained model; its trees are read once, at construction.
    num_iteration : int, optional
        Explain the first `num_iteration` iterations; by default the best iteration when early stopping set
        one, else all (as `Booster.predict` does).
    table_bits : int, optional
        Size of the precomputed tables, as the largest table index in bits (0-20). By default 8 (every leaf
        of a depth-6 tree is tabulated), raised up to 12 for deeper trees while the budget allows.
    max_table_bytes : int
        Memory budget of the tables; when the model needs more, `table_bits` is lowered model-wide.
    n_threads : int, optional
        Threads of the kernels; all cores by default.
    method : {"auto", "tables", "linear"}
        How each tree is computed: "auto" (default) takes, per tree, the cheaper of the pattern tables (short
        paths) and the linear-time pass (long paths, see `_linear`); the others force one method.

    Attributes
    ----------
    expected_value : float
        The base value: the model's mean raw margin over its training data (the bias column of
        `pred_contrib`); ``expected_value + shap_values(X).sum(axis=1)`` is the raw margin of every row.
    feature_names : list of str
        The booster's feature names, the columns of `shap_values`.

    Examples
    --------
    >>> explainer = TreeShap(booster)                       # doctest: +SKIP
    >>> phi = explainer.shap_values(frame)                  # (n_rows, n_features) log-odds   # doctest: +SKIP
    >>> margin = explainer.expected_value + phi.sum(axis=1)  # doctest: +SKIP
    """

    def __init__(
        self,
        booster,
        *,
        num_iteration: int | None = None,
        table_bits: int | None = None,
        max_table_bytes: int = DEFAULT_MAX_TABLE_BYTES,
        n_threads: int | None = None,
        method: str = "auto",
    ) -> None:
        if not hasattr(booster, "model_to_string"):
            raise ModelError(f"TreeShap explains a lightgbm.Booster; got a {type(booster).__name__}.")
        if table_bits is not None and not 0 <= int(table_bits) <= MAX_TABLE_BITS:
            raise ValueError(f"table_bits must be an integer from 0 to {MAX_TABLE_BITS}; got {table_bits!r}.")
        if method not in METHODS:
            raise ValueError(f"method must be one of {', '.join(METHODS)}; got {method!r}.")
        if n_threads is not None and int(n_threads) < 1:
            raise ValueError(f"n_threads must be a positive integer or None; got {n_threads!r}.")
        self.n_threads = n_threads
        model = model_arrays(booster, num_iteration=num_iteration)
        self._model: ModelArrays = model
        self.feature_names: list[str] = list(model.feature_names)
        self.pandas_categorical = getattr(booster, "pandas_categorical", None)
        self.expected_value: float = model.expected_value()
        self._layout: Layout = plan_model(model, table_bits, int(max_table_bytes), method)
        lay = self._layout
        self._table = np.zeros(lay.table_size, dtype=np.float64)
        if len(lay.blk_root):
            with _num_threads(self._max_threads()):
                K.build_tables(
                    len(lay.blk_root), lay.blk_p, lay.blk_m, lay.blk_q, lay.blk_tab_off, lay.bl_off, lay.bl_v,
                    lay.bl_d, lay.bl_z_off, lay.bl_z, lay.bl_pos, lay.bl_path_off, lay.bl_path_j,
                    lay.bl_path_bit, lay.bl_path_dir, lay.weights, self._table,
                )

    @property
    def n_features(self) -> int:
        return len(self.feature_names)

    @property
    def n_trees(self) -> int:
        return self._layout.n_trees

    @property
    def stats(self) -> dict:
        """How the model was laid out: table bits, blocks, leaves computed per row, table memory."""
        return {"table_bits": self._layout.table_bits, "trees": self.n_trees, **self._layout.stats}

    def memory_bytes(self, n_rows: int = 1 << 30) -> dict:
        """Memory of the engine: tables and plan (held), scratch per thread and the bound for `n_rows` rows.

        The tables are capped by `max_table_bytes`; the plan is linear in the model's nodes; a thread's scratch
        is linear in its chunk of rows (at most MAX_CHUNK_ROWS, within CHUNK_SCRATCH_BYTES for the per-row part).
        """
        lay = self._layout
        chunk, threads = self._chunking(max(int(n_rows), 1))
        rows_part = chunk * (16 * self.n_features + 4 * (lay.max_internal + lay.max_nodes) + 8)
        memo = (1 << K.MEMO_BITS) * (K.MEMO_BITS + 1) * 8
        lin_nodes = int(np.diff(lay.lin_off).max()) if lay.n_trees else 0
        linear = 8 * (lin_nodes * LIN.N_COEF * lay.max_points + lay.max_levels * LIN.ROWS * (2 * lay.max_points + 2))
        scratch = rows_part + memo + (linear if lay.stats["linear_trees"] else 0)
        tables, plan = 8 * lay.table_size, lay.stats["plan_bytes"]
        return {"tables": tables, "plan": plan, "scratch_per_thread": scratch, "threads": threads,
                "bound": tables + plan + threads * scratch}

    def shap_values(self, X) -> np.ndarray:
        """SHAP values of every row, (n_rows, n_features) float64 in raw-margin units (log-odds).

        Parameters
        ----------
        X : 2-D array with the model's features in order, or a DataFrame holding (at least) the model's
            feature columns, selected by name; pandas `category` columns are coded as at training.
        """
        data = self.feature_matrix(X)
        lay = self._layout
        out = np.zeros((data.shape[0], self.n_features), dtype=np.float64)
        if data.shape[0] == 0:
            return out
        chunk, threads = self._chunking(data.shape[0])
        with _num_threads(threads):
            K.shap_kernel(
                data, out, chunk, lay.n_trees, lay.max_internal, lay.max_nodes, lay.max_depth_features,
                lay.node_off, lay.n_internal, lay.block_off, lay.fb_off,
                lay.feat, lay.thr, lay.kind, lay.nan_right, lay.default_right, lay.cat_start, lay.cat_len,
                lay.cat_bits, lay.left, lay.right, lay.bit, lay.prop,
                lay.blk_root, lay.blk_m, lay.blk_q, lay.blk_node_off, lay.blk_nodes, lay.blk_feat_off,
                lay.blk_feat, lay.blk_tab_off, self._table,
                lay.fb_v, lay.fb_d, lay.fb_z_off, lay.fb_z, lay.fb_feat, lay.fb_path_off, lay.fb_path_node,
                lay.fb_path_bit, lay.fb_path_dir, lay.weights,
                lay.lin_off, lay.lin_points, lay.lin_depth, lay.lin_par, lay.lin_dir, lay.lin_feat, lay.lin_prev,
                lay.lin_leaf, lay.lin_close, lay.lin_z, lay.lin_zprev, lay.lin_v, lay.gl_u, lay.gl_w,
                lay.max_levels, lay.max_points,
            )
        return out

    def raw_margin(self, X) -> np.ndarray:
        """The model's raw margin of every row (`booster.predict(X, raw_score=True)`), by walking the trees."""
        data = self.feature_matrix(X)
        lay = self._layout
        out = np.zeros(data.shape[0], dtype=np.float64)
        if data.shape[0] == 0:
            return out
        threads = self._max_threads() if data.shape[0] >= MIN_PARALLEL_ROWS * 8 else 1
        with _num_threads(threads):
            K.predict_kernel(
                data, out, lay.n_trees, lay.node_off, lay.n_internal, lay.leaf_off, lay.leaf_value,
                lay.feat, lay.thr, lay.kind, lay.nan_right, lay.default_right, lay.cat_start, lay.cat_len,
                lay.cat_bits, lay.left, lay.right,
            )
        return out

    def feature_matrix(self, X) -> np.ndarray:
        """X as the C-ordered float64 matrix LightGBM sees (columns in the booster's order)."""
        return feature_matrix(X, self.feature_names, self.pandas_categorical)

    def _max_threads(self) -> int:
        import numba

        available = numba.get_num_threads()
        return available if self.n_threads is None else min(int(self.n_threads), numba.config.NUMBA_NUM_THREADS)

    def _chunking(self, n_rows: int) -> tuple[int, int]:
        """Rows per chunk and threads: large chunks, but at least one per thread once the batch is big enough
        to be worth waking threads for (a small batch runs on the calling thread)."""
        lay = self._layout
        per_row = 16 * self.n_features + 4 * (lay.max_internal + lay.max_nodes) + 8
        cap = max(MIN_PARALLEL_ROWS, min(MAX_CHUNK_ROWS, CHUNK_SCRATCH_BYTES // per_row))
        threads = self._max_threads()
        chunk = min(cap, max(MIN_PARALLEL_ROWS, -(-n_rows // threads)))
        return chunk, max(1, min(threads, -(-n_rows // chunk)))

    def __repr__(self) -> str:
        return (
            f"TreeShap(trees={self.n_trees}, features={self.n_features}, "
            f"table_bits={self._layout.table_bits}, expected_value={self.expected_value:.6g})"
        )


def feature_matrix(X, feature_names: list[str], pandas_categorical: list | None = None) -> np.ndarray:
    """The float64 matrix LightGBM predicts on, from an array or a DataFrame.

    A DataFrame's columns are selected by the booster's feature names (extra columns are ignored). Its
    `category` columns, in the booster's feature order, take the category lists LightGBM stored at training
    (`pandas_categorical`) in order, as LightGBM does: a value absent from the training categories becomes
    missing. Without stored lists, a column's own category codes are used.
    """
    import pandas as pd

    n_features = len(feature_names)
    if isinstance(X, pd.DataFrame):
        return _frame_matrix(X, feature_names, pandas_categorical)
    if isinstance(X, pd.Series):
        raise SchemaError("expected a 2-D array or a DataFrame of features; got a pandas Series.")
    try:
        data = np.asarray(X, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise SchemaError(f"features must be numbers; could not read the input as float64 ({exc}).") from exc
    if data.ndim != 2 or data.shape[1] != n_features:
        raise SchemaError(
            f"expected a 2-D array with the model's {n_features} feature columns; got shape {data.shape}."
        )
    return np.ascontiguousarray(data)


def _frame_matrix(frame, feature_names: list[str], pandas_categorical: list | None) -> np.ndarray:
    import pandas as pd

    columns = set(frame.columns)
    missing = [n for n in feature_names if n not in columns]
    if missing:
        shown = ", ".join(missing[:5])
        raise SchemaError(
            f"feature table is missing {len(missing)} column{'s' if len(missing) != 1 else ''} the model was "
            f"trained on: {shown}{', ...' if len(missing) > 5 else ''}."
        )
    if frame.columns.duplicated().any():
        dup = [str(c) for c in frame.columns[frame.columns.duplicated()].unique() if c in set(feature_names)]
        if dup:
            raise SchemaError(f"feature table has duplicated model columns: {', '.join(dup[:5])}.")
    cat_columns = [n for n in feature_names if isinstance(frame[n].dtype, pd.CategoricalDtype)]
    if pandas_categorical is not None and len(cat_columns) != len(pandas_categorical):
        raise SchemaError(
            f"the model was trained with {len(pandas_categorical)} pandas category column(s); the feature "
            f"table has {len(cat_columns)} ({', '.join(cat_columns[:5]) or 'none'})."
        )
    categories = dict(zip(cat_columns, pandas_categorical or [], strict=False))
    out = np.empty((len(frame), len(feature_names)), dtype=np.float64)
    for j, name in enumerate(feature_names):
        col = frame[name]
        dtype = col.dtype
        if isinstance(dtype, pd.CategoricalDtype):
            if name in categories and list(dtype.categories) != list(categories[name]):
                col = col.cat.set_categories(categories[name])
            codes = col.cat.codes.to_numpy(dtype=np.float64)
            codes[codes < 0] = np.nan
            out[:, j] = codes
        elif pd.api.types.is_bool_dtype(dtype) or pd.api.types.is_numeric_dtype(dtype):
            out[:, j] = col.to_numpy(dtype=np.float64, na_value=np.nan)
        else:
            raise SchemaError(
                f"feature column {name!r} has dtype {dtype}; expected numbers, booleans or a pandas category."
            )
    return out


@contextmanager
def _num_threads(threads: int):
    """Run numba's parallel kernels on `threads` threads (numba's setting is per calling thread)."""
    import numba

    before = numba.get_num_threads()
    if threads == before:
        yield
        return
    numba.set_num_threads(threads)
    try:
        yield
    finally:
        numba.set_num_threads(before)
