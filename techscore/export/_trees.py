"""LightGBM trees as SQL: one nested CASE expression per tree, with LightGBM's own split semantics.

Each split follows LightGBM 4's `Tree::NumericalDecision` and `Tree::CategoricalDecision`:

* numeric: a missing value (SQL NULL) is 0 unless the split's missing type is ``NaN``; a value that is missing
  (type ``NaN``) or zero (type ``Zero``, ``|x| <= 1e-35f``) goes the default direction; otherwise left when
  ``x <= threshold`` (the threshold is the exact double of the model);
* categorical: left when the category is in the split's set; missing or unknown categories go right.

The trees are read from `Booster.dump_model()`, whose numbers carry 17 significant digits and so parse back to the
booster's own doubles; the SQL literals are written with the shortest digits that round-trip.
"""

from __future__ import annotations

from collections.abc import Sequence

import lightgbm as lgb

from techscore.exceptions import ModelError
from techscore.export._sql import num, text

__all__ = ["ZERO_THRESHOLD", "tree_cases"]

ZERO_THRESHOLD = 1.0000000180025095e-35
"""LightGBM's `kZeroThreshold` (``1e-35f``, a float widened to double): values with ``|x|`` at most this are zero
for the ``Zero`` missing type."""


def tree_cases(booster: lgb.Booster, columns: Sequence[str], categories: dict[int, Sequence[str]],
               *, source: str = "booster") -> list[str]:
    """One SQL expression per tree of `booster` (the trees `predict` uses by default).

    `columns[i]` is the SQL expression of feature i (numbers as DOUBLE, categoricals as VARCHAR, missing as NULL);
    `categories[i]` lists the categories of categorical feature i in code order.
    """
    dump = booster.dump_model()
    if int(dump.get("num_class", 1)) != 1 or int(dump.get("num_tree_per_iteration", 1)) != 1:
        raise ModelError(f"{source}: only binary models with one tree per iteration can be exported to SQL; "
                         f"got num_class={dump.get('num_class')}.")
    if dump.get("average_output"):
        raise ModelError(f"{source}: averaged outputs (random forest mode) are not supported by the SQL export.")
    if len(dump["feature_names"]) != len(columns):
        raise ModelError(f"{source}: the booster has {len(dump['feature_names'])} features; "
                         f"the model lists {len(columns)}.")
    return [_node(tree["tree_structure"], columns, categories, source=f"{source} tree {tree['tree_index']}")
            for tree in dump["tree_info"]]


def _node(node: dict, columns: Sequence[str], categories: dict[int, Sequence[str]], *, source: str) -> str:
    if "leaf_value" in node:
        if "leaf_coeff" in node or "leaf_features" in node:
            raise ModelError(f"{source}, leaf {node.get('leaf_index')}: linear trees cannot be exported to SQL.")
        return num(node["leaf_value"], where=f"{source}, leaf {node.get('leaf_index')}")
    where = f"{source}, split {node['split_index']}"
    feature = int(node["split_feature"])
    left = _node(node["left_child"], columns, categories, source=source)
    right = _node(node["right_child"], columns, categories, source=source)
    if node["decision_type"] == "==":
        condition = _categorical(node, columns[feature], categories.get(feature), where=where)
        return f"CASE WHEN {condition} THEN {left} ELSE {right} END"
    if node["decision_type"] != "<=":
        raise ModelError(f"{where}: decision type {node['decision_type']!r} is not supported; expected '<=' or '=='.")
    return _numeric(node, columns[feature], left, right, where=where)


def _numeric(node: dict, x: str, left: str, right: str, *, where: str) -> str:
    threshold = float(node["threshold"])
    t = num(threshold, where=f"{where}: threshold")
    default = left if node["default_left"] else right
    missing = node["missing_type"]
    if missing == "NaN":
        return f"CASE WHEN {x} IS NULL THEN {default} WHEN {x} <= {t} THEN {left} ELSE {right} END"
    if missing == "Zero":  # NULL counts as 0, and 0 is missing
        return (f"CASE WHEN {x} IS NULL OR ABS({x}) <= {num(ZERO_THRESHOLD)} THEN {default} "
                f"WHEN {x} <= {t} THEN {left} ELSE {right} END")
    if missing == "None":  # NULL counts as 0, compared like any value
        return f"CASE WHEN {x} <= {t} THEN {left} WHEN {x} IS NULL THEN {left if 0.0 <= threshold else right} ELSE {right} END"
    raise ModelError(f"{where}: missing type {missing!r} is not supported; expected None, Zero or NaN.")


def _categorical(node: dict, x: str, cats: Sequence[str] | None, *, where: str) -> str:
    if cats is None:
        raise ModelError(f"{where}: a categorical split on a feature the model declares numeric.")
    codes = [int(c) for c in str(node["threshold"]).split("||")]
    known = [cats[c] for c in codes if 0 <= c < len(cats)]
    if not known:
        return "1 = 0"
    return f"{x} IN ({', '.join(text(v) for v in known)})"
