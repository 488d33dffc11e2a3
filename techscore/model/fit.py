"""One fit: booster with early stopping on validation, calibrator on validation margins, wrapped as a PDModel.

Shared by the training pipeline, cross-validation, tuning and the scikit-learn estimator, so all of them fit
exactly the same way.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from techscore.catalogue.meta import FeatureMeta
from techscore.model.calibrate import fit_calibrator
from techscore.model.lgbm import BoosterFit, fit_booster, fit_booster_cv, lgb_params
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
) -> BoosterFit:
    """The booster as `spec` says: early stopping on the validation rows, else on `inner_folds` inner folds of
    the training rows (then refit on all of them), else all `num_boost_round` rounds."""
    ids = [f.id for f in features]
    params = lgb_params(spec.learner, spec.seed, features, spec.monotone)
    categorical = [f.id for f in features if f.kind == "categorical"]
    learner = spec.learner
    if X_valid is not None and len(X_valid):
        return fit_booster(X_train[ids], np.asarray(y_train), X_valid[ids], np.asarray(y_valid), params=params,
                           num_boost_round=learner.num_boost_round, early_stopping_rounds=learner.early_stopping_rounds,
                           refit=learner.refit, categorical=categorical, callbacks=callbacks)
    if inner_folds >= 2:
        return fit_booster_cv(X_train[ids], np.asarray(y_train), params=params, num_boost_round=learner.num_boost_round,
                              early_stopping_rounds=learner.early_stopping_rounds, folds=inner_folds, seed=spec.seed,
                              categorical=categorical, callbacks=callbacks, combine=learner.inner_cv_model,
                              repeats=learner.inner_cv_repeats)
    return fit_booster(X_train[ids], np.asarray(y_train), None, None, params=params,
                       num_boost_round=learner.num_boost_round, categorical=categorical, callbacks=callbacks)


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
) -> tuple[PDModel, BoosterFit]:
    """Fit the booster (early stopping on the validation rows) and the calibrator (on the same rows).

    The calibrator is fitted on the validation margins of the early-stopped booster (`BoosterFit.valid_margin`),
    also when the spec refits on train + validation afterwards. Without validation rows but with `inner_folds`,
    early stopping and calibration use inner cross-validation of the training rows (out-of-fold margins).
    With neither, the booster trains all `num_boost_round` rounds and the calibrator is fitted on the training
    margins (the estimator on tiny data).
    """
    features = with_categories(features, X_train)
    has_valid = X_valid is not None and len(X_valid) > 0
    fit = fit_booster_for(spec, features, X_train, y_train, X_valid if has_valid else None,
                          y_valid if has_valid else None, inner_folds=inner_folds, callbacks=callbacks)
    params = lgb_params(spec.learner, spec.seed, features, spec.monotone)
    model = PDModel(booster=fit.booster, features=features, calibrator=fit_calibrator([], [], "none"),
                    scaling=spec.scaling, master_scale=spec.master_scale, catalogue_version=catalogue_version)
    if has_valid:  # the early-stopped booster's validation margins: out of sample even after a refit
        margin, target = fit.valid_margin, np.asarray(y_valid)
    elif fit.valid_index is not None:  # inner cross-validation: out-of-fold margins
        margin, target = fit.valid_margin, np.asarray(y_train)[fit.valid_index]
    else:
        margin, target = model.raw_margin(X_train), np.asarray(y_train)
    model.calibrator = fit_calibrator(margin, target, spec.calibration.method)
    model.info = {"model_spec": spec.model_dump(mode="json"), "best_iteration": fit.best_iteration,
                  "num_trees": fit.booster.num_trees(), "monotone_constraints": params.get("monotone_constraints", []),
                  **(info or {})}
    return model, fit
