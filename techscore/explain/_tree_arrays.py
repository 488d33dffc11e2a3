"""A LightGBM model as flat NumPy arrays, read from LightGBM's own text format.

The text format (`Booster.model_to_string`) is what LightGBM saves and loads, so its arrays are the model
exactly: thresholds are written with 17 significant digits, decision types as LightGBM's bit fields and
categorical splits as the same bitsets LightGBM tests at prediction time.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from techscore.exceptions import ModelError

CATEGORICAL_MASK = 1
"""Bit of `decision_type` set on a categorical split (LightGBM's `kCategoricalMask`)."""
DEFAULT_LEFT_MASK = 2
"""Bit of `decision_type` set when missing values go left (LightGBM's `kDefaultLeftMask`)."""
MISSING_NONE, MISSING_ZERO, MISSING_NAN = 0, 1, 2
"""LightGBM's `MissingType`, stored in bits 2-3 of `decision_type`."""
ZERO_THRESHOLD = float(np.float32(1e-35))
"""LightGBM's `kZeroThreshold`: declared `const double kZeroThreshold = 1e-35f`, a float literal widened."""


@dataclass(frozen=True)
class TreeArrays:
    """One tree. Internal nodes are numbered as LightGBM numbers them; a child `c < 0` is leaf `~c`."""

    split_feature: np.ndarray  # (n_internal,) int64, real feature index
    threshold: np.ndarray  # (n_internal,) float64; for categorical splits the index into cat_boundaries
    decision_type: np.ndarray  # (n_internal,) int64 bit field
    left_child: np.ndarray  # (n_internal,) int64
    right_child: np.ndarray  # (n_internal,) int64
    leaf_value: np.ndarray  # (n_leaves,) float64, shrinkage already applied
    leaf_count: np.ndarray  # (n_leaves,) float64, training rows per leaf (the cover of path-dependent SHAP)
    internal_count: np.ndarray  # (n_internal,) float64
    cat_boundaries: np.ndarray  # (num_cat + 1,) int64
    cat_threshold: np.ndarray  # (n_words,) uint32 bitsets

    @property
    def n_leaves(self) -> int:
        return len(self.leaf_value)

    @property
    def n_internal(self) -> int:
        return len(self.split_feature)

    def expected_value(self) -> float:
        """Cover-weighted mean leaf value, summed as LightGBM's `Tree::ExpectedValue` sums it."""
        if self.n_leaves == 1:
            return float(self.leaf_value[0])
        total = self.internal_count[0]
        value = 0.0
        for count, leaf in zip(self.leaf_count.tolist(), self.leaf_value.tolist(), strict=True):
            value += (count / total) * leaf
        return value


@dataclass(frozen=True)
class ModelArrays:
    """The trees of a single-output LightGBM model and what is needed to read its inputs."""

    feature_names: list[str]
    trees: list[TreeArrays]
    objective: str

    @property
    def n_features(self) -> int:
        return len(self.feature_names)

    def expected_value(self) -> float:
        """The bias column of `pred_contrib`: tree expected values summed in tree order."""
        value = 0.0
        for tree in self.trees:
            value += tree.expected_value()
        return value


def model_arrays(booster, num_iteration: int | None = None) -> ModelArrays:
    """Read `booster` (a `lightgbm.Booster`) into flat arrays.

    Parameters
    ----------
    booster : the trained model.
    num_iteration : trees of the first `num_iteration` iterations; None takes the best iteration when early
        stopping recorded one, else all, as `Booster.predict` does.
    """
    return parse_model_string(booster.model_to_string(num_iteration=num_iteration))


def parse_model_string(text: str) -> ModelArrays:
    """Parse LightGBM's text model format (the content of a saved model file)."""
    head, sep, rest = text.partition("\nTree=")
    header = _key_values(head.splitlines())
    if header.get("version", "") == "" or "max_feature_idx" not in header:
        raise ModelError("cannot read the LightGBM model: its text has no header with version and max_feature_idx.")
    n_outputs = int(header.get("num_tree_per_iteration", "1"))
    if n_outputs != 1:
        raise ModelError(
            f"TreeShap explains single-output models (binary or regression); got a model with {n_outputs} "
            "trees per iteration (multiclass)."
        )
    if "average_output" in (line.strip() for line in head.splitlines()):
        raise ModelError("TreeShap does not explain random-forest models (boosting=rf, average_output); got one.")
    n_features = int(header["max_feature_idx"]) + 1
    names = header.get("feature_names", "").split()
    if len(names) != n_features:
        names = [f"Column_{i}" for i in range(n_features)]
    trees: list[TreeArrays] = []
    if sep:
        body = rest.split("end of trees", 1)[0]
        for index, chunk in enumerate(("Tree=" + body).split("\nTree=")):
            lines = chunk.strip().splitlines()
            if not lines:
                continue
            trees.append(_tree(_key_values(lines[1:]), index))
    return ModelArrays(feature_names=names, trees=trees, objective=header.get("objective", ""))


def _key_values(lines: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in lines:
        key, eq, value = line.partition("=")
        if eq:
            out[key.strip()] = value.strip()
    return out


def _tree(kv: dict[str, str], index: int) -> TreeArrays:
    def arr(key: str, dtype) -> np.ndarray:
        return np.array(kv.get(key, "").split(), dtype=dtype)

    if kv.get("is_linear", "0") not in ("0", ""):
        raise ModelError(f"TreeShap does not explain linear trees (linear_tree=true); tree {index} is linear.")
    n_leaves = int(kv["num_leaves"])
    tree = TreeArrays(
        split_feature=arr("split_feature", np.int64),
        threshold=arr("threshold", np.float64),
        decision_type=arr("decision_type", np.int64),
        left_child=arr("left_child", np.int64),
        right_child=arr("right_child", np.int64),
        leaf_value=arr("leaf_value", np.float64),
        leaf_count=arr("leaf_count", np.float64),
        internal_count=arr("internal_count", np.float64),
        cat_boundaries=arr("cat_boundaries", np.int64),
        cat_threshold=arr("cat_threshold", np.uint32),
    )
    n_internal = n_leaves - 1
    sizes = {
        "leaf_value": (len(tree.leaf_value), n_leaves),
        "split_feature": (tree.n_internal, n_internal),
        "threshold": (len(tree.threshold), n_internal),
        "decision_type": (len(tree.decision_type), n_internal),
        "left_child": (len(tree.left_child), n_internal),
        "right_child": (len(tree.right_child), n_internal),
    }
    if n_leaves > 1:
        sizes |= {"leaf_count": (len(tree.leaf_count), n_leaves), "internal_count": (len(tree.internal_count), n_internal)}
    bad = [f"{k} has {got} values, expected {want}" for k, (got, want) in sizes.items() if got != want]
    if bad:
        raise ModelError(f"cannot read tree {index} of the LightGBM model: {'; '.join(bad)}.")
    return tree
