"""PD models: fit (LightGBM, monotone, calibrated), score and grade, validate, track in MLflow, tune with Optuna.

`train` (the pipeline, `techscore.model.training`) and `tune` (`techscore.model.tuning`) are functions here; the
fitted model is `PDModel` (`load_model` reads one), a run's artifacts `RunArtifacts`, the scikit-learn estimator
`TechScoreClassifier`.
"""

from __future__ import annotations

from techscore.lazy import lazy_exports

_EXPORTS = {
    "PDModel": "techscore.model.pdmodel",
    "load_model": "techscore.model.pdmodel",
    "RunArtifacts": "techscore.model.artifacts",
    "TechScoreClassifier": "techscore.model.estimator",
    "TrainResult": "techscore.model.events",
    "evaluate": "techscore.model.training",
    "train": "techscore.model.training",
    "tune": "techscore.model.tuning",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
