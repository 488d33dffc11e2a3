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
from techscore.model.lgbm import BoosterFit, fit_booster, lgb_params
from techscore.model.pdmodel import PDModel
from techscore.specs import ModelSpec

__all__ = ["fit_pd_model", "with_categories"]


def with_categories(features: Sequence[FeatureMeta], X: pd.DataFrame) -> list[FeatureMeta]:
    """Feature metadata with each categorical feature's category list as encoded in `X` (the model keeps it so
    scoring frames are encoded the same way)."""
    out = []
    for f in features:
        if f.kind == "categorical" and isinstance(X[f.id].dtype, pd.CategoricalDtype):
            f = dataclasses.replace(f, categories=tuple(str(c) for c in X[f.id].cat.categories))
        out.append(f)
    return out


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
) -> tuple[PDModel, BoosterFit]:
    """Fit the booster (early stopping on the validation rows) and the calibrator (on the same rows).

    Without validation rows the booster trains all `num_boost_round` rounds and the calibrator is fitted on the
    training margins (used by the estimator on very small data).
    """
    features = with_categories(features, X_train)
    ids = [f.id for f in features]
    params = lgb_params(spec.learner, spec.seed, features, spec.monotone)
    has_valid = X_valid is not None and len(X_valid) > 0
    fit = fit_booster(
        X_train[ids], np.asarray(y_train), X_valid[ids] if has_valid else None,
        np.asarray(y_valid) if has_valid else None, params=params,
        num_boost_round=spec.learner.num_boost_round,
        early_stopping_rounds=spec.learner.early_stopping_rounds if has_valid else 0,
        refit=spec.learner.refit, categorical=[f.id for f in features if f.kind == "categorical"],
        callbacks=callbacks,
    )
    model = PDModel(booster=fit.booster, features=features, calibrator=fit_calibrator([], [], "none"),
                    scaling=spec.scaling, master_scale=spec.master_scale, catalogue_version=catalogue_version)
    cal_X, cal_y = (X_valid, y_valid) if has_valid else (X_train, y_train)
    model.calibrator = fit_calibrator(model.raw_margin(cal_X), np.asarray(cal_y), spec.calibration.method)
    model.info = {"model_spec": spec.model_dump(mode="json"), "best_iteration": fit.best_iteration,
                  "num_trees": fit.booster.num_trees(), "monotone_constraints": params.get("monotone_constraints", []),
                  **(info or {})}
    return model, fit
