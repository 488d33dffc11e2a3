"""The MLflow pyfunc wrapper: PD, score and grade from a saved `PDModel` folder logged as the model's artifact.

Logged as "models from code" (`_pyfunc_code.py` is the model's code file), so nothing is pickled: the model is
the code file plus the PDModel folder (LightGBM text and JSON).

>>> import mlflow                                                         # doctest: +SKIP
>>> m = mlflow.pyfunc.load_model("models:/techscore_demo_pd@champion")    # doctest: +SKIP
>>> m.predict(features)                                                   # doctest: +SKIP
      pd  score grade
"""

from __future__ import annotations

from pathlib import Path

import mlflow.pyfunc
import pandas as pd

from techscore.model.pdmodel import OUTPUT_COLUMNS, PDModel

__all__ = ["ARTIFACT_KEY", "CODE_FILE", "PDModelPyfunc", "input_example", "model_signature", "pip_requirements"]

ARTIFACT_KEY = "pdmodel"
"""Key of the PDModel folder in the pyfunc model's artifacts."""
CODE_FILE = Path(__file__).with_name("_pyfunc_code.py")


class PDModelPyfunc(mlflow.pyfunc.PythonModel):
    """Loads the PDModel from the `pdmodel` artifact; `predict` returns a frame of pd, score and grade."""

    def load_context(self, context) -> None:
        self.model = PDModel.load(context.artifacts[ARTIFACT_KEY])

    def predict(self, context, model_input: pd.DataFrame, params: dict | None = None) -> pd.DataFrame:
        if not isinstance(model_input, pd.DataFrame):
            model_input = pd.DataFrame(model_input)
        return self.model.predict_frame(model_input)


def input_example(model: PDModel, X: pd.DataFrame, rows: int = 5) -> pd.DataFrame:
    """A few rows of the model's columns with categoricals as plain strings (what a caller sends)."""
    sample = model.prepare(X.head(rows))
    changes = {c: sample[c].astype("string").astype(object).where(sample[c].notna(), None) for c in model.categorical}
    return sample.assign(**changes).reset_index(drop=True)


def model_signature(model: PDModel):
    """Input: the model's feature columns (double, or string for categoricals); output: pd, score, grade."""
    from mlflow.models import ModelSignature
    from mlflow.types import ColSpec, Schema

    inputs = Schema([ColSpec("string" if f.kind == "categorical" else "double", f.id, required=False)
                     for f in model.features])
    kinds = {"pd": "double", "score": "double", "grade": "string"}
    outputs = Schema([ColSpec(kinds[c], c) for c in OUTPUT_COLUMNS])
    return ModelSignature(inputs=inputs, outputs=outputs)


def pip_requirements() -> list[str]:
    """Pinned requirements of the serving environment (given explicitly so MLflow need not infer them)."""
    from importlib.metadata import PackageNotFoundError, version

    out = []
    for dist in ("techscore", "lightgbm", "pandas", "numpy", "pydantic", "mlflow", "scikit-learn", "scipy"):
        try:
            out.append(f"{dist}=={version(dist)}")
        except PackageNotFoundError:  # pragma: no cover - an uninstalled checkout
            out.append(dist)
    return out

