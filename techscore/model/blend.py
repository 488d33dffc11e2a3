"""LightGBM and the WOE scorecard blended in log-odds, as one LightGBM booster.

The scorecard is additive: its log-odds are an intercept plus one step function per feature (``-points / factor``
of the feature's bin). Each step function is written as a LightGBM tree that splits on that feature only, with
the bins as leaves (``x < edge`` as ``x <= nextafter(edge, -inf)``, a missing value to its own leaf, category
groups as categorical splits), and the intercept is added to the leaves of the first one. The blend

    margin = w_lightgbm * LightGBM margin + w_scorecard * scorecard log-odds

is then the booster holding LightGBM's trees scaled by `w_lightgbm` and the scorecard trees scaled by
`w_scorecard` (a scorecard-only champion has no LightGBM trees). Everything that reads a booster works on it
unchanged: scoring, the SQL export (one CASE per tree), and exact TreeSHAP. TreeSHAP is additive over trees and
gives a one-feature tree's whole effect to its feature, so a feature's contribution is ``w_lightgbm`` times its
LightGBM TreeSHAP value plus ``w_scorecard`` times its scorecard contribution centred on its training mean (leaf
counts are the scorecard's training rows per bin; a bin no training row fell in, e.g. a missing value never seen,
counts as one row because path-dependent TreeSHAP divides by covers), and the contributions add up to the blend's
log-odds exactly.

Inputs as `PDModel.prepare` makes them: a category the model never saw is missing and takes the missing bin; a
category the model knows but the scorecard did not bin takes the missing bin's points plus the scorecard's
unseen-category shift. Values above 1e300 (LightGBM's largest threshold) and positive infinity, which the
scorecard puts in its last bin, take the missing bin (the scoring guard rejects infinities).
"""

from __future__ import annotations

from collections.abc import Sequence

import lightgbm as lgb
import numpy as np
import pandas as pd

from techscore.catalogue.meta import FeatureMeta
from techscore.exceptions import ModelError
from techscore.model.card import CardTable, Characteristic
from techscore.model.lgbm import model_from_parts, model_text_parts, scaled_tree

__all__ = ["blend_booster", "card_contributions", "card_log_odds"]

_NUMERIC = 8  # decision_type: numeric, missing type NaN, missing values go right
_CATEGORICAL = 9  # categorical, missing type NaN (missing and unknown codes go right)
_FINITE = 1e300
"""The root split sending numbers left and missing values right: LightGBM dumps larger thresholds as 1e300."""


def card_contributions(card: CardTable, X: pd.DataFrame) -> tuple[np.ndarray, float]:
    """Each characteristic's contribution to the scorecard's log-odds (n rows x characteristics, uncentred) and
    the intercept: ``intercept + values.sum(axis=1)`` is the scorecard's log-odds of its PD."""
    bins = card.bin_index(X)
    values = np.empty((len(X), len(card.characteristics)), dtype=np.float64)
    for j, c in enumerate(card.characteristics):
        idx = bins[c.feature].to_numpy()
        values[:, j] = -np.asarray([*c.points, c.missing_points])[idx] / card.factor
        if c.kind == "categorical" and c.unseen_pd_shift:
            col = X[c.feature]
            unseen = (col.notna() & ~col.astype("string").astype(object).isin(list(c.categories))).to_numpy()
            values[unseen, j] -= c.unseen_pd_shift / card.factor
    return values, (card.offset - card.initial_points) / card.factor


def card_log_odds(card: CardTable, X: pd.DataFrame) -> np.ndarray:
    """The scorecard's log-odds of default for each row (``logit(card.predict_pd(X))``)."""
    values, intercept = card_contributions(card, X)
    return intercept + values.sum(axis=1)


def blend_booster(booster: lgb.Booster, card: CardTable, features: Sequence[FeatureMeta], X_train: pd.DataFrame,
                  *, lightgbm_weight: float, scorecard_weight: float) -> lgb.Booster:
    """One booster whose raw margin is ``lightgbm_weight * booster margin + scorecard_weight * card log-odds``.

    `X_train` (prepared as the model prepares rows) gives each scorecard leaf its count, so TreeSHAP's base is the
    training mean. A weight of 0 leaves that part out."""
    header, trees, trailer = model_text_parts(booster.model_to_string())
    blocks = [scaled_tree(b, lightgbm_weight) for b in trees] if lightgbm_weight else []
    if scorecard_weight:
        if not card.characteristics:
            raise ModelError("the scorecard has no characteristics to blend (binning selected no feature).")
        ids = [f.id for f in features]
        bins = card.bin_index(X_train)
        intercept = scorecard_weight * (card.offset - card.initial_points) / card.factor
        for j, c in enumerate(card.characteristics):
            if c.feature not in ids:
                raise ModelError(f"scorecard feature '{c.feature}' is not one of the model's features.")
            meta = features[ids.index(c.feature)]
            blocks.append(_card_tree(c, meta, ids.index(c.feature), X_train[c.feature], bins[c.feature].to_numpy(),
                                     scorecard_weight / card.factor, intercept if j == 0 else 0.0))
    if not blocks:
        raise ModelError("a blend needs a positive weight on LightGBM or on the scorecard.")
    return model_from_parts(header, blocks, trailer)


def _card_tree(c: Characteristic, meta: FeatureMeta, index: int, column: pd.Series, bins: np.ndarray,
               scale: float, shift: float) -> list[str]:
    """The LightGBM text of one characteristic's tree (leaf values ``shift - scale * points``)."""
    points = [*c.points, c.missing_points]
    missing = len(c.points)
    counts = [int(np.sum(bins == b)) for b in range(missing)] + [int(np.sum(bins == -1))]
    # internal nodes as (feature threshold or category codes, left, right); children >= 0 nodes, < 0 ~leaf
    nodes: list[tuple[object, int, int]] = []
    if c.kind == "numeric":
        nodes.append((_FINITE, 1 if len(c.edges) else ~0, ~missing))  # finite values left, missing right
        for k, edge in enumerate(c.edges):
            right = len(nodes) + 1 if k + 1 < len(c.edges) else ~(k + 1)
            nodes.append((float(np.nextafter(edge, -np.inf)), ~k, right))
    else:
        cats = list(meta.categories)
        unknown = [v for v in c.categories if v not in cats]
        if unknown:
            raise ModelError(f"scorecard feature '{c.feature}': categories {unknown[:5]} are not the model's.")
        leftover = [i for i, v in enumerate(cats) if v not in set(c.categories)]
        if leftover:  # known to the model, not binned by the scorecard: missing points plus the unseen shift
            points.append(c.missing_points + c.unseen_pd_shift)
            known = column.notna().to_numpy() & (bins == -1)
            counts[-1] -= int(known.sum())
            counts.append(int(known.sum()))
            nodes.append((leftover, ~len(counts[:-1]), 1))
        for g, group in enumerate(c.groups):
            right = len(nodes) + 1 if g + 1 < len(c.groups) else ~missing
            nodes.append(([cats.index(v) for v in group], ~g, right))
    leaf = np.asarray([shift - scale * p for p in points], dtype=np.float64)
    count = np.maximum(np.asarray(counts, dtype=np.float64), 1.0)  # path-dependent TreeSHAP needs positive covers
    below = _leaves_below(nodes, len(leaf))
    n_int = np.asarray([count[b].sum() for b in below])
    internal = np.asarray([float(count[b] @ leaf[b] / n) if n else 0.0 for b, n in zip(below, n_int, strict=True)])
    gain = []
    for i, (_, left, right) in enumerate(nodes):
        g = 0.0
        for child in (left, right):
            n_c = count[~child] if child < 0 else n_int[child]
            v_c = leaf[~child] if child < 0 else internal[child]
            g += n_c * (v_c - internal[i]) ** 2
        gain.append(g)
    numeric = c.kind == "numeric"
    thresholds, cat_words, cat_bounds = [], [], [0]
    for split, _, _ in nodes:
        if isinstance(split, list):
            words = np.zeros(max(split) // 32 + 1, dtype=np.uint64)
            for code in split:
                words[code // 32] |= np.uint64(1) << np.uint64(code % 32)
            thresholds.append(str(len(cat_bounds) - 1))
            cat_words.extend(str(int(w)) for w in words)
            cat_bounds.append(len(cat_words))
        else:
            thresholds.append(repr(float(split)))
    lines = [
        "Tree=0", f"num_leaves={len(leaf)}", f"num_cat={len(cat_bounds) - 1}",
        "split_feature=" + " ".join([str(index)] * len(nodes)),
        "split_gain=" + " ".join(repr(float(g)) for g in gain),
        "threshold=" + " ".join(thresholds),
        "decision_type=" + " ".join(str(_CATEGORICAL if isinstance(s, list) else _NUMERIC) for s, _, _ in nodes),
        "left_child=" + " ".join(str(n[1]) for n in nodes),
        "right_child=" + " ".join(str(n[2]) for n in nodes),
        "leaf_value=" + " ".join(repr(float(v)) for v in leaf),
        "leaf_weight=" + " ".join(repr(float(v)) for v in count),
        "leaf_count=" + " ".join(str(int(v)) for v in count),
        "internal_value=" + " ".join(repr(float(v)) for v in internal),
        "internal_weight=" + " ".join(repr(float(v)) for v in n_int),
        "internal_count=" + " ".join(str(int(v)) for v in n_int),
    ]
    if not numeric or cat_words:
        lines += ["cat_boundaries=" + " ".join(map(str, cat_bounds)), "cat_threshold=" + " ".join(cat_words)]
    return [*lines, "is_linear=0", "shrinkage=1", "", ""]


def _leaves_below(nodes: list[tuple[object, int, int]], n_leaves: int) -> list[list[int]]:
    """The leaves under each internal node."""
    out: list[list[int]] = [[] for _ in nodes]
    for i in reversed(range(len(nodes))):  # children come after their parents
        for child in nodes[i][1:]:
            out[i] += [~child] if child < 0 else out[child]  # type: ignore[operator]
    return out
