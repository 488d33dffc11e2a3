"""The scoring pyfunc model: PD, score, grade and exact SHAP reason codes, for MLflow serving and Spark.

The training run's pyfunc model (`techscore.model.pyfunc`) gives PD, score and grade; this one gives what
`techscore score` writes, row for row: `pd`, `score`, `grade`, `reason_1`, `reason_1_shap`, ... and, for a row it
cannot score, missing results with `reject_code` and `reject_reason` (a UDF must answer every row). It is
logged as "models from code" with the same saved PDModel folder as its artifact, so nothing is pickled.

Absent text values (a reason slot left empty, the reject code of a scored row) are "" rather than null:
`mlflow.pyfunc.spark_udf` turns a null inside a struct's string field into the text "None" or "nan".
`techscore.scoring.spark.score_spark` applies the UDF and turns "" and NaN back into nulls.

>>> info = log_scoring_model(model, reasons=5, registered_model_name="techscore_pd_scoring")   # doctest: +SKIP
>>> scored = score_spark(features, "models:/techscore_pd_scoring@champion")                   # doctest: +SKIP
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import mlflow.pyfunc
import pandas as pd

from techscore.model.pdmodel import PDModel
from techscore.model.pyfunc import ARTIFACT_KEY, pip_requirements
from techscore.scoring.guard import ID_COLUMN
from techscore.scoring.score import REASON_COLUMN, REJECT_CODE_COLUMN, ChunkScorer

__all__ = ["CODE_FILE", "ScoringPyfunc", "log_scoring_model", "scoring_signature"]

CODE_FILE = Path(__file__).with_name("_pyfunc_code.py")
DEFAULT_NAME = "scoring_model"


class ScoringPyfunc(mlflow.pyfunc.PythonModel):
    """Loads the PDModel artifact and scores frames with `ChunkScorer.score_frame`; `reasons` comes from the
    model config given at logging."""

    def load_context(self, context) -> None:
        config = context.model_config or {}
        model = PDModel.load(context.artifacts[ARTIFACT_KEY])
        self.scorer = ChunkScorer(model, int(config.get("reasons", 5)), require_id=False)

    def predict(self, context, model_input: pd.DataFrame, params: dict | None = None) -> pd.DataFrame:
        if not isinstance(model_input, pd.DataFrame):
            model_input = pd.DataFrame(model_input)
        out = self.scorer.score_frame(model_input)
        text = [c for c in out.columns if not pd.api.types.is_numeric_dtype(out[c])]
        return out.assign(**{c: out[c].fillna("") for c in text})


def scoring_signature(model: PDModel, reasons: int = 5):
    """Input: optional `uscc` and the model's features (double, or string for categoricals); output: the scores
    file's result columns plus `reject_code` and `reject_reason`."""
    from mlflow.models import ModelSignature
    from mlflow.types import ColSpec, Schema

    inputs = [ColSpec("string", ID_COLUMN, required=False)]
    inputs += [ColSpec("string" if f.kind == "categorical" else "double", f.id) for f in model.features]
    outputs = [ColSpec("double", "pd"), ColSpec("double", "score"), ColSpec("string", "grade")]
    for j in range(1, min(int(reasons), len(model.features)) + 1):
        outputs += [ColSpec("string", f"reason_{j}"), ColSpec("double", f"reason_{j}_shap")]
    outputs += [ColSpec("string", REJECT_CODE_COLUMN), ColSpec("string", REASON_COLUMN)]
    return ModelSignature(inputs=Schema(inputs), outputs=Schema(outputs))


def log_scoring_model(
    model: PDModel | str | Path,
    *,
    name: str = DEFAULT_NAME,
    reasons: int = 5,
    registered_model_name: str | None = None,
    input_example: pd.DataFrame | None = None,
):
    """Log the scoring pyfunc model of `model` (a PDModel or a saved PDModel folder) to the active MLflow run
    (or a new one); returns MLflow's `ModelInfo` (`.model_uri`). With `registered_model_name`, the model is
    also registered (set its `champion` alias with `techscore.model.registry.promote`)."""
    import warnings

    if reasons < 0:
        raise ValueError(f"reasons must be a non-negative integer; got {reasons!r}.")
    with tempfile.TemporaryDirectory(prefix="techscore-pyfunc-") as tmp:
        if isinstance(model, PDModel):
            folder = model.save(Path(tmp) / "pdmodel")
        else:
            folder = Path(model)
            model = PDModel.load(folder)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return mlflow.pyfunc.log_model(
                name=name, python_model=str(CODE_FILE), artifacts={ARTIFACT_KEY: str(folder)},
                model_config={"reasons": int(reasons)}, signature=scoring_signature(model, reasons),
                input_example=input_example, pip_requirements=pip_requirements(),
                registered_model_name=registered_model_name,
            )
