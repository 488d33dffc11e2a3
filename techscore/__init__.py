"""techscore: credit-risk scoring for technology SMEs.

The notebook API (see the README's *Python API* section, which the test suite runs)::

    import techscore as ts
    checked = ts.validate("data/raw")                  # raw tables against the data contract
    result = ts.train("experiments/demo.toml")        # dataset -> calibrated LightGBM PD model -> run
    model = ts.load_model(result.paths["model"])      # or "models:/name@champion"
    summary = ts.score(model, "features.parquet", "scores.parquet")
    shap = ts.explain(model, X)                       # exact TreeSHAP, log-odds
    joint = ts.run_joint("experiments/joint_demo.toml")

Every name is imported on first use, so `import techscore` is light.
"""

from techscore.lazy import lazy_exports

__version__ = "0.1.0"

_EXPORTS = {
    "validate": "techscore.sources.validation",
    "train": "techscore.model.training",
    "tune": "techscore.model.tuning",
    "score": "techscore.scoring.score:score_file",
    "explain": "techscore.explain:",
    "run_joint": "techscore.joint.experiment",
    "load_model": "techscore.model.pdmodel",
    "load_experiment": "techscore.specs",
    "load_dataset": "techscore.dataset.experiment",
    "load_catalogue": "techscore.catalogue.engine",
    "RunArtifacts": "techscore.model.artifacts",
    "PDModel": "techscore.model.pdmodel",
}
__all__ = ["__version__", *sorted(_EXPORTS)]
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
