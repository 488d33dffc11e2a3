"""Fitting the LightGBM booster: early stopping on validation, monotone constraints from declared directions.

`lightgbm.train` on a raw `Booster` (no scikit-learn wrapper, nothing pickled): the model is LightGBM's own text
format. Cross-cutting work (Optuna pruning, progress) attaches as LightGBM callbacks.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import lightgbm as lgb
import numpy as np
import pandas as pd

from techscore.catalogue.meta import FeatureMeta
from techscore.exceptions import ModelError
from techscore.specs import LearnerSpec

__all__ = ["BoosterFit", "average_boosters", "cross_fit_margins", "fit_booster", "fit_booster_cv", "lgb_params",
           "model_from_parts", "model_text_parts", "monotone_constraints", "safe_name", "scaled_tree", "UNSAFE_CHARS"]

UNSAFE_CHARS = set('[]{},:"')
"""Characters LightGBM refuses in feature names (JSON special characters)."""


def safe_name(name: str) -> bool:
    """True when LightGBM accepts `name` as a feature name."""
    return bool(name) and not (set(name) & UNSAFE_CHARS) and not any(c.isspace() for c in name)


def monotone_constraints(features: Sequence[FeatureMeta]) -> list[int]:
    """LightGBM's constraint list aligned to the columns: +1 risk (PD) rises with the value, -1 falls, 0 none.

    Categorical features never get a constraint (their direction is 0 by definition).
    """
    return [0 if f.kind == "categorical" else int(f.direction) for f in features]


def lgb_params(learner: LearnerSpec, seed: int, features: Sequence[FeatureMeta], monotone: bool) -> dict:
    """The full parameter dict `lightgbm.train` gets: the learner's, the seed, determinism and constraints."""
    params = learner.lgb_params(seed)
    constraints = monotone_constraints(features) if monotone else []
    if any(constraints):
        params["monotone_constraints"] = constraints
    else:
        params.pop("monotone_constraints_method", None)
        params.pop("monotone_penalty", None)
    return params


@dataclass
class BoosterFit:
    """A fitted booster (trimmed to its best iteration) and how it got there."""

    booster: lgb.Booster
    best_iteration: int
    evals: dict[str, list[float]] = field(default_factory=dict)
    """Validation metric by iteration (the learning curve)."""
    refit_rounds: int | None = None
    valid_margin: np.ndarray | None = None
    """Raw margins of the validation rows from the early-stopped booster (before any refit): what the
    calibrator is fitted on and what validation metrics are computed from, never in-sample."""
    valid_index: np.ndarray | None = None
    """With inner cross-validation: positions (in the training rows) of `valid_margin`, the out-of-fold rows."""
    calibration: dict = field(default_factory=dict)
    """How the margins the calibrator is fitted on were made (`source`, `rounds`, `folds`, `rows`)."""


def _dataset(X: pd.DataFrame, y: np.ndarray, categorical: list[str], reference: lgb.Dataset | None = None,
             weight: np.ndarray | None = None):
    return lgb.Dataset(X, label=np.asarray(y, dtype=np.float64), categorical_feature=categorical or "auto",
                       reference=reference, free_raw_data=True, weight=weight)


def _check_names(X: pd.DataFrame) -> None:
    bad = [str(c) for c in X.columns if not safe_name(str(c))]
    if bad:
        raise ModelError(f"feature ids must be safe LightGBM names (no spaces or any of {''.join(sorted(UNSAFE_CHARS))}); "
                         f"got {len(bad)} unsafe: {', '.join(bad[:5])}. Map display names to ids (f000, ...) first.")


def fit_booster(
    X_train: pd.DataFrame,
    y_train: np.ndarray,
    X_valid: pd.DataFrame | None,
    y_valid: np.ndarray | None,
    *,
    params: dict,
    num_boost_round: int,
    early_stopping_rounds: int = 0,
    refit: bool = False,
    categorical: Sequence[str] = (),
    callbacks: Sequence[Callable] = (),
    weight: np.ndarray | None = None,
) -> BoosterFit:
    """Train with early stopping on the validation set; return the booster cut to its best iteration.

    With `refit`, a second booster is trained on train + validation for the best number of rounds scaled by the
    growth in rows (the usual practice when data are scarce). `weight`: training rows' weights (validation rows
    weigh 1).
    """
    _check_names(X_train)
    categorical = list(categorical)
    train_set = _dataset(X_train, y_train, categorical, weight=weight)
    valid_sets, names, cbs = [], [], list(callbacks)
    evals: dict[str, dict[str, list[float]]] = {}
    if X_valid is not None and len(X_valid):
        valid_sets, names = [_dataset(X_valid, y_valid, categorical, reference=train_set)], ["valid"]
        cbs.append(lgb.record_evaluation(evals))
        if early_stopping_rounds:
            cbs.append(lgb.early_stopping(early_stopping_rounds, first_metric_only=True, verbose=False))
    try:
        booster = lgb.train(params, train_set, num_boost_round=num_boost_round, valid_sets=valid_sets,
                            valid_names=names, callbacks=cbs)
    except lgb.basic.LightGBMError as exc:
        raise ModelError(f"LightGBM could not train: {exc}") from exc
    best = booster.best_iteration if booster.best_iteration > 0 else booster.current_iteration()
    curve = next(iter(evals.get("valid", {}).values()), [])
    valid_margin = (np.asarray(booster.predict(X_valid, raw_score=True, num_iteration=best), dtype=np.float64)
                    if valid_sets else None)
    if refit and valid_sets:
        rounds = max(1, math.ceil(best * (len(X_train) + len(X_valid)) / len(X_train)))
        both = _dataset(pd.concat([X_train, X_valid]), np.concatenate([y_train, y_valid]), categorical,
                        weight=None if weight is None else np.r_[weight, np.ones(len(X_valid))])
        booster = lgb.train(params, both, num_boost_round=rounds)
        return BoosterFit(booster, rounds, {"valid": list(curve)}, refit_rounds=rounds, valid_margin=valid_margin)
    if best < booster.current_iteration():
        booster = lgb.Booster(model_str=booster.model_to_string(num_iteration=best))
    return BoosterFit(booster, best, {"valid": list(curve)}, valid_margin=valid_margin)


def fit_booster_cv(
    X: pd.DataFrame,
    y: np.ndarray,
    *,
    params: dict,
    num_boost_round: int,
    early_stopping_rounds: int,
    folds: int,
    seed: int,
    categorical: Sequence[str] = (),
    callbacks: Sequence[Callable] = (),
    combine: str = "refit",
    repeats: int = 1,
) -> BoosterFit:
    """Early stopping on inner cross-validation, then one booster for all rows.

    The number of rounds is where the mean validation metric of `folds` stratified inner folds peaks (a much
    steadier choice than one small hold-out when defaults are few); the inner boosters' out-of-fold margins at
    that round are kept for calibration (`valid_margin`, `valid_index`). With `combine="refit"` the returned
    booster is trained on all rows for that many rounds; with `"average"` it is the average of the inner
    boosters (`average_boosters`: one LightGBM model, so SHAP and scoring see a single booster).

    `repeats` > 1 runs the inner cross-validation again on other shuffles (seed + r, LightGBM's seed too):
    `"average"` then averages all `repeats * folds` boosters, each cut at its own repeat's best round (bagging,
    which steadies the ranking on few defaults), and `"refit"` trains for the mean best round. Out-of-fold
    margins are averaged over the repeats. `callbacks` (pruning, progress) see the first repeat only.
    """
    if combine not in ("refit", "average"):
        raise ModelError(f"combine must be refit or average; got {combine!r}.")
    if repeats < 1:
        raise ModelError(f"repeats must be at least 1; got {repeats}.")
    from sklearn.model_selection import StratifiedKFold

    _check_names(X)
    y = np.asarray(y)
    categorical = list(categorical)
    if np.bincount(y.astype(int), minlength=2).min() < folds:
        raise ModelError(f"inner cross-validation with {folds} folds needs at least {folds} defaults and "
                         f"non-defaults; got {int(y.sum())} defaults in {len(y)} rows.")
    boosters: list[lgb.Booster] = []
    rounds: list[int] = []
    oof = np.zeros(len(y), dtype=np.float64)
    curve: list[float] = []
    for r in range(repeats):
        splits = list(StratifiedKFold(folds, shuffle=True, random_state=seed + r).split(np.zeros(len(y)), y))
        cbs = list(callbacks) if r == 0 else []
        if early_stopping_rounds:
            cbs.append(lgb.early_stopping(early_stopping_rounds, first_metric_only=True, verbose=False))
        run_params = params if r == 0 else {**params, "seed": int(params.get("seed", seed)) + r}
        try:
            res = lgb.cv(run_params, _dataset(X, y, categorical), num_boost_round=num_boost_round, folds=splits,
                         callbacks=cbs, return_cvbooster=True)
        except lgb.basic.LightGBMError as exc:
            raise ModelError(f"LightGBM could not train: {exc}") from exc
        cvb = res.pop("cvbooster")
        mean_curve = list(next((v for k, v in res.items() if k.endswith("-mean")), []))
        best = cvb.best_iteration if cvb.best_iteration > 0 else len(mean_curve)
        if r == 0:  # the learning curve shown is the first repeat's
            curve = mean_curve[:best]
        for (_, valid), booster in zip(splits, cvb.boosters, strict=True):
            oof[valid] += booster.predict(X.iloc[valid], raw_score=True, num_iteration=best) / repeats
        boosters.extend(cvb.boosters)
        rounds.extend([best] * folds)
    best = max(1, round(float(np.mean(rounds))))
    if combine == "average":
        return BoosterFit(average_boosters(boosters, rounds), best, {"valid": curve},
                          valid_margin=oof, valid_index=np.arange(len(y)))
    try:
        booster = lgb.train(params, _dataset(X, y, categorical), num_boost_round=best)
    except lgb.basic.LightGBMError as exc:
        raise ModelError(f"LightGBM could not train: {exc}") from exc
    return BoosterFit(booster, best, {"valid": curve}, refit_rounds=best, valid_margin=oof,
                      valid_index=np.arange(len(y)))


def cross_fit_margins(
    X: pd.DataFrame,
    y: np.ndarray,
    *,
    params: dict,
    num_boost_round: int,
    folds: int,
    seed: int,
    categorical: Sequence[str] = (),
    weight: np.ndarray | None = None,
) -> np.ndarray:
    """Out-of-fold raw margins of boosters with a given configuration: the rows split into `folds` stratified
    folds (shuffled with `seed`), each fold scored by a booster trained on the others with `params` for
    `num_boost_round` rounds. What a refit booster's calibrator is fitted on: out of sample, and from models
    built as the shipped one is."""
    from sklearn.model_selection import StratifiedKFold

    y = np.asarray(y)
    if np.bincount(y.astype(int), minlength=2).min() < folds:
        raise ModelError(f"cross-fitting with {folds} folds needs at least {folds} defaults and non-defaults; got "
                         f"{int(y.sum())} defaults in {len(y)} rows.")
    margin = np.zeros(len(y), dtype=np.float64)
    splitter = StratifiedKFold(folds, shuffle=True, random_state=seed)
    for rest, held in splitter.split(np.zeros(len(y)), y):
        try:
            booster = lgb.train(params, _dataset(X.iloc[rest], y[rest], list(categorical),
                                                 weight=None if weight is None else weight[rest]),
                                num_boost_round=num_boost_round)
        except lgb.basic.LightGBMError as exc:
            raise ModelError(f"LightGBM could not train: {exc}") from exc
        margin[held] = booster.predict(X.iloc[held], raw_score=True)
    return margin


def average_boosters(boosters: Sequence[lgb.Booster], num_iteration: int | Sequence[int] | None = None) -> lgb.Booster:
    """One booster whose raw margin is the mean of the boosters' margins (the first `num_iteration` rounds of
    each, or of booster i its own `num_iteration[i]`).

    The trees of all boosters are concatenated with their leaf (and internal) values divided by their number,
    in LightGBM's own text format: prediction, `pred_contrib` (TreeSHAP is linear in the trees) and saving work
    as for any booster. The boosters must share features and objective (inner-CV boosters of one dataset).
    """
    k = len(boosters)
    if k == 0:
        raise ModelError("average_boosters needs at least one booster.")
    cuts = list(num_iteration) if isinstance(num_iteration, Sequence) else [num_iteration] * k
    if len(cuts) != k:
        raise ModelError(f"average_boosters: {len(cuts)} iteration counts for {k} boosters.")
    texts = [b.model_to_string(num_iteration=n) for b, n in zip(boosters, cuts, strict=True)]
    header: list[str] = []
    trailer: list[str] = []
    blocks: list[list[str]] = []
    for text in texts:
        head, trees, tail = model_text_parts(text)
        if not header:
            header, trailer = head, tail
        elif _feature_line(head) != _feature_line(header):
            raise ModelError("average_boosters: the boosters do not share their features.")
        blocks.extend(scaled_tree(block, divisor=k) for block in trees)
    return model_from_parts(header, blocks, trailer)


def _feature_line(header: list[str]) -> str:
    return next(line for line in header if line.startswith("feature_names="))


def model_text_parts(text: str) -> tuple[list[str], list[list[str]], list[str]]:
    """A LightGBM text model split into its header (without `tree_sizes`), its trees (each a list of lines
    starting with `Tree=`) and its trailer (from `end of trees`: importances, parameters, pandas categories)."""
    lines = text.split("\n")
    end = lines.index("end of trees")
    first = next((i for i, line in enumerate(lines) if line.startswith("Tree=")), end)
    header = [line for line in lines[:first] if not line.startswith("tree_sizes=")]
    blocks: list[list[str]] = []
    for line in lines[first:end]:
        if line.startswith("Tree="):
            blocks.append([])
        if line.startswith("is_linear=1"):
            raise ModelError("linear trees cannot be averaged or blended.")
        blocks[-1].append(line)
    return header, blocks, lines[end:]


def scaled_tree(block: list[str], factor: float = 1.0, *, divisor: float = 1.0) -> list[str]:
    """A tree's lines with its leaf and internal values times `factor` over `divisor` (its output scales)."""
    out = []
    for line in block:
        if line.startswith(("leaf_value=", "internal_value=")):
            key, values = line.split("=", 1)
            line = key + "=" + " ".join(repr(float(v) * factor / divisor) for v in values.split())
        out.append(line)
    return out


def model_from_parts(header: list[str], blocks: Sequence[list[str]], trailer: list[str]) -> lgb.Booster:
    """A booster from a header, trees (renumbered in order) and a trailer, as `model_text_parts` splits them."""
    body = []
    for i, block in enumerate(blocks):
        body.append(f"Tree={i}")
        body.extend(block[1:])
    return lgb.Booster(model_str="\n".join([*header, *body, *trailer]))
