"""One fit: booster with early stopping on validation, calibrator on out-of-sample margins of the model that
ships, wrapped as a PDModel.

Shared by the training pipeline, cross-validation, tuning and the scikit-learn estimator, so all of them fit
exactly the same way.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from techscore.catalogue.meta import FeatureMeta
from techscore.exceptions import ModelError
from techscore.model.calibrate import fit_calibrator
from techscore.model.lgbm import BoosterFit, cross_fit_margins, fit_booster, fit_booster_cv, lgb_params
from techscore.model.pdmodel import PDModel
from techscore.specs import ModelSpec

__all__ = ["fit_booster_for", "fit_pd_model", "with_categories"]


def with_categories(features: Sequence[FeatureMeta], X: pd.DataFrame) -> list[FeatureMeta]:
    """Feature metadata with each categorical feature's category list as encoded in `X` (the model keeps it so
    scoring frames are encoded the same way)."""
    out = []
    for f in features:
        if f.kind == "categorical" and isinstance(X[f.id].dtype, pd.CategoricalDtype):
            f = dataclasses.replace(f, categories=tuple(str(c) for c in X[f.id].cat.categories))
        out.append(f)
    return out


def fit_booster_for(
    spec: ModelSpec,
    features: Sequence[FeatureMeta],
    X_train: pd.DataFrame,
    y_train: np.ndarray,
    X_valid: pd.DataFrame | None = None,
    y_valid: np.ndarray | None = None,
    *,
    inner_folds: int = 0,
    callbacks: Sequence[Callable] = (),
    weight: np.ndarray | None = None,
) -> BoosterFit:
    """The booster as `spec` says: early stopping on the validation rows, else on `inner_folds` inner folds of
    the training rows (then refit on all of them), else all `num_boost_round` rounds. `weight`: the training
    rows' weights (reject inference), not with inner folds."""
    ids = [f.id for f in features]
    params = lgb_params(spec.learner, spec.seed, features, spec.monotone)
    categorical = [f.id for f in features if f.kind == "categorical"]
    learner = spec.learner
    if X_valid is not None and len(X_valid):
        return fit_booster(X_train[ids], np.asarray(y_train), X_valid[ids], np.asarray(y_valid), params=params,
                           num_boost_round=learner.num_boost_round, early_stopping_rounds=learner.early_stopping_rounds,
                           refit=learner.refit, categorical=categorical, callbacks=callbacks, weight=weight)
    if inner_folds >= 2:
        if weight is not None:
            raise ModelError("weighted training rows need validation rows; inner cross-validation takes none.")
        return fit_booster_cv(X_train[ids], np.asarray(y_train), params=params, num_boost_round=learner.num_boost_round,
                              early_stopping_rounds=learner.early_stopping_rounds, folds=inner_folds, seed=spec.seed,
                              categorical=categorical, callbacks=callbacks, combine=learner.inner_cv_model,
                              repeats=learner.inner_cv_repeats)
    return fit_booster(X_train[ids], np.asarray(y_train), None, None, params=params,
                       num_boost_round=learner.num_boost_round, categorical=categorical, callbacks=callbacks,
                       weight=weight)


def fit_pd_model(
    X_train: pd.DataFrame,
    y_train: np.ndarray,
    X_valid: pd.DataFrame | None,
    y_valid: np.ndarray | None,
    features: Sequence[FeatureMeta],
    spec: ModelSpec,
    *,
    catalogue_version: str | None = None,
    info: dict | None = None,
    callbacks: Sequence[Callable] = (),
    inner_folds: int = 0,
    sample_weight: np.ndarray | None = None,
) -> tuple[PDModel, BoosterFit]:
    """Fit the booster (early stopping on the validation rows) and the calibrator on out-of-sample margins of the
    model that ships.

    Without a refit the early-stopped booster ships and the calibrator is fitted on its validation margins. With
    `learner.refit` the booster that ships is trained on train + validation for more rounds, so the early-stopped
    booster's margins would calibrate another model: the validation rows are scored instead by cross-fitted
    boosters (`calibration.cross_fit_folds` of them, each trained on the other folds of train + validation with
    the shipped booster's parameters and rounds), and the calibrator is fitted on these out-of-fold margins of
    the validation rows (the latest period before the test, as without a refit); `fit.valid_margin` becomes
    them. Without validation rows but with `inner_folds`, early stopping and calibration use inner
    cross-validation of the training rows (out-of-fold margins of boosters cut at the shipped round). With
    neither, the booster trains all `num_boost_round` rounds and the calibrator is fitted on the training margins
    (the estimator on tiny data). `fit.calibration` records which margins the calibrator saw. `sample_weight`
    weighs the training rows (reject inference; validation rows weigh 1).
    """
    features = with_categories(features, X_train)
    has_valid = X_valid is not None and len(X_valid) > 0
    fit = fit_booster_for(spec, features, X_train, y_train, X_valid if has_valid else None,
                          y_valid if has_valid else None, inner_folds=inner_folds, callbacks=callbacks,
                          weight=sample_weight)
    params = lgb_params(spec.learner, spec.seed, features, spec.monotone)
    model = PDModel(booster=fit.booster, features=features, calibrator=fit_calibrator([], [], "none"),
                    scaling=spec.scaling, master_scale=spec.master_scale, catalogue_version=catalogue_version)
    y_all = np.concatenate([np.asarray(y_train), np.asarray(y_valid)]) if has_valid else np.asarray(y_train)
    folds = min(spec.calibration.cross_fit_folds, int(np.bincount(y_all.astype(int), minlength=2).min()))
    if has_valid and fit.refit_rounds is not None and folds >= 2:  # the refit ships: cross-fit its configuration
        ids = [f.id for f in features]
        X_all = pd.concat([X_train[ids], X_valid[ids]])  # type: ignore[index]
        margin = cross_fit_margins(X_all, y_all, params=params, num_boost_round=fit.refit_rounds, folds=folds,
                                   seed=spec.seed, categorical=[f.id for f in features if f.kind == "categorical"],
                                   weight=None if sample_weight is None else np.r_[sample_weight, np.ones(len(X_valid))])
        margin, target = margin[len(X_train):], np.asarray(y_valid)  # calibrated on the latest period, as before
        fit = dataclasses.replace(fit, valid_margin=margin, calibration={
            "source": "cross_fit", "rounds": fit.refit_rounds, "folds": folds, "rows": len(target)})
    elif has_valid:  # the early-stopped booster ships (or too few defaults to cross-fit): its validation margins
        margin, target = fit.valid_margin, np.asarray(y_valid)
        fit.calibration = ({"source": "valid", "rounds": fit.best_iteration, "rows": len(target)}
                           if fit.refit_rounds is None else {"source": "valid_early_stopped", "rows": len(target)})
    elif fit.valid_index is not None:  # inner cross-validation: out-of-fold margins
        margin, target = fit.valid_margin, np.asarray(y_train)[fit.valid_index]
        fit.calibration = {"source": "inner_cv", "rounds": fit.best_iteration, "folds": inner_folds,
                           "rows": len(target)}
    else:
        margin, target = model.raw_margin(X_train), np.asarray(y_train)
        fit.calibration = {"source": "train", "rounds": fit.best_iteration, "rows": len(target)}
    model.calibrator = fit_calibrator(margin, target, spec.calibration.method)  # type: ignore[arg-type]
    model.info = {"model_spec": spec.model_dump(mode="json"), "best_iteration": fit.best_iteration,
                  "num_trees": fit.booster.num_trees(), "monotone_constraints": params.get("monotone_constraints", []),
                  "calibration": fit.calibration, **(info or {})}
    return model, fit
