"""PD models: fit (LightGBM, monotone, calibrated), score and grade, validate, track in MLflow, tune with Optuna.

The pipeline is `techscore.model.train.train` and tuning `techscore.model.tune.tune` (imported from their
modules, so the module names stay modules); the fitted model is `PDModel`, the scikit-learn estimator
`TechScoreClassifier`.
"""

from __future__ import annotations

from importlib import import_module

__all__ = ["PDModel", "TechScoreClassifier", "TrainResult", "evaluate"]

_LAZY = {
    "PDModel": "techscore.model.pdmodel",
    "TechScoreClassifier": "techscore.model.estimator",
    "TrainResult": "techscore.model.events",
    "evaluate": "techscore.model.train",
}


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'techscore.model' has no attribute {name!r}")
