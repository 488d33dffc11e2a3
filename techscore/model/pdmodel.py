"""The fitted PD model: booster, features, calibrator, score scaling and master scale, saved as plain files.

`PDModel` is what training produces and what scoring, SHAP explanations and the MLflow pyfunc wrapper use. It
saves as a folder of two plain files, LightGBM's own text model (`booster.txt`) and JSON (`pdmodel.json`), so a
bank can read, diff and load it without unpickling anything.

>>> model = PDModel.from_mlflow("models:/techscore_demo_pd@champion")   # doctest: +SKIP
>>> model.predict_frame(features).head()                                # doctest: +SKIP
         pd  score grade
0  0.0123  612.3    BB
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import lightgbm as lgb
import numpy as np
import pandas as pd

from techscore.catalogue.meta import FeatureMeta
from techscore.exceptions import ModelError, SchemaError
from techscore.model.calibrate import Calibrator
from techscore.model.scale import pd_to_grade, pd_to_score
from techscore.specs import MasterScaleSpec, ScalingSpec

__all__ = ["BOOSTER_FILE", "MODEL_FILE", "PDModel", "find_model_folder", "load_model"]

FORMAT_VERSION = 1
BOOSTER_FILE = "booster.txt"
MODEL_FILE = "pdmodel.json"
OUTPUT_COLUMNS = ("pd", "score", "grade")


def _missing_message(missing: list[str]) -> str:
    shown = ", ".join(missing[:5]) + (", ..." if len(missing) > 5 else "")
    s = "s" if len(missing) != 1 else ""
    return f"feature table is missing {len(missing)} column{s} the model was trained on: {shown}."


@dataclass
class PDModel:
    """A calibrated LightGBM PD model with its score scaling and master scale.

    Attributes
    ----------
    booster : the LightGBM booster (feature names = `feature_ids`).
    features : metadata of each model column in booster order (id, display names, kind, direction, categories).
    calibrator : raw margin -> PD.
    scaling, master_scale : PD -> score, PD -> grade.
    catalogue_version : version of the feature catalogue the model was trained with (None for tabular data).
    info : provenance: model spec, seed, best iteration, dataset fingerprint, metrics.
    """

    booster: lgb.Booster
    features: list[FeatureMeta]
    calibrator: Calibrator
    scaling: ScalingSpec = field(default_factory=ScalingSpec)
    master_scale: MasterScaleSpec = field(default_factory=MasterScaleSpec)
    catalogue_version: str | None = None
    info: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        names = list(self.booster.feature_name())
        if names != self.feature_ids:
            raise ModelError(f"the booster's features ({', '.join(names[:5])}, ...) do not match the model's "
                             f"({', '.join(self.feature_ids[:5])}, ...).")

    # --- columns -------------------------------------------------------------------------------------------
    @property
    def feature_ids(self) -> list[str]:
        return [f.id for f in self.features]

    @property
    def display_names(self) -> dict[str, str]:
        """Feature id -> display name (the English name; the real column name for tabular data)."""
        return {f.id: f.name_en for f in self.features}

    @property
    def categorical(self) -> list[str]:
        return [f.id for f in self.features if f.kind == "categorical"]

    def prepare(self, X: pd.DataFrame) -> pd.DataFrame:
        """The model's columns of `X` in booster order with the training encoding: categoricals on the stored
        category list (unknown values become missing), numbers as float64. Columns may be named by id or by
        display name; extra columns are ignored."""
        if not isinstance(X, pd.DataFrame):
            raise SchemaError(f"expected a pandas DataFrame of features; got {type(X).__name__}.")
        ids = self.feature_ids
        missing = [c for c in ids if c not in X.columns]
        if missing:
            by_name = {f.name_en: f.id for f in self.features}
            if all(name in X.columns for name in by_name):
                X = X[list(by_name)].rename(columns=by_name)
            else:
                raise SchemaError(_missing_message(missing))
        data = X[ids]
        changes = {}
        for f in self.features:
            col = data[f.id]
            if f.kind == "categorical":
                cats = list(f.categories)
                if not (isinstance(col.dtype, pd.CategoricalDtype) and list(col.cat.categories) == cats):
                    changes[f.id] = pd.Categorical(col.astype("string").astype(object).where(col.notna(), None),
                                                   categories=cats)
            elif col.dtype != np.float64:
                try:
                    changes[f.id] = pd.to_numeric(col, errors="raise").astype(np.float64)
                except (ValueError, TypeError) as exc:
                    raise SchemaError(f"feature '{f.id}' must be numeric; got dtype {col.dtype} ({exc}).") from exc
        return data.assign(**changes) if changes else data

    # --- prediction ------------------------------------------------------------------------------------------
    def raw_margin(self, X: pd.DataFrame) -> np.ndarray:
        """The booster's raw log-odds for each row (what SHAP values add up to)."""
        return np.asarray(self.booster.predict(self.prepare(X), raw_score=True, validate_features=False),
                          dtype=np.float64)

    def log_odds(self, X: pd.DataFrame) -> np.ndarray:
        """Calibrated log-odds of default (affine in the raw margin under Platt calibration)."""
        return self.calibrator.log_odds(self.raw_margin(X))

    def predict_pd(self, X: pd.DataFrame) -> np.ndarray:
        """Calibrated probability of default for each row."""
        return self.calibrator.predict(self.raw_margin(X))

    def score(self, pd_: np.ndarray) -> np.ndarray:
        """Score of each PD (points to double the odds)."""
        return pd_to_score(pd_, self.scaling)

    def grade(self, pd_: np.ndarray) -> np.ndarray:
        """Master-scale grade of each PD."""
        return pd_to_grade(pd_, self.master_scale)

    def predict_frame(self, X: pd.DataFrame) -> pd.DataFrame:
        """PD, score and grade of each row, indexed like `X`."""
        p = self.predict_pd(X)
        return pd.DataFrame({"pd": p, "score": self.score(p), "grade": pd.array(self.grade(p), dtype="string")},
                            index=X.index)

    # --- persistence ------------------------------------------------------------------------------------------
    def to_dict(self) -> dict:
        return {
            "format": FORMAT_VERSION,
            "features": [dataclasses.asdict(f) for f in self.features],
            "calibrator": self.calibrator.to_dict(),
            "scaling": self.scaling.model_dump(),
            "master_scale": self.master_scale.model_dump(),
            "catalogue_version": self.catalogue_version,
            "info": self.info,
        }

    def save(self, path: str | Path) -> Path:
        """Write `booster.txt` and `pdmodel.json` into folder `path` (created); returns the folder."""
        folder = Path(path)
        folder.mkdir(parents=True, exist_ok=True)
        text = self.booster.model_to_string()
        (folder / BOOSTER_FILE).write_text(text, encoding="utf-8")
        doc = {**self.to_dict(), "booster_sha256": hashlib.sha256(text.encode()).hexdigest()}
        (folder / MODEL_FILE).write_text(json.dumps(doc, indent=2, ensure_ascii=False, default=_json_default),
                                         encoding="utf-8")
        return folder

    @classmethod
    def load(cls, path: str | Path) -> PDModel:
        """Read a folder written by `save` (the booster's checksum is verified)."""
        folder = Path(path)
        if not (folder / MODEL_FILE).is_file():
            raise ModelError(f"{folder} holds no {MODEL_FILE}; is it a saved PDModel folder?")
        doc = json.loads((folder / MODEL_FILE).read_text(encoding="utf-8"))
        if doc.get("format") != FORMAT_VERSION:
            raise ModelError(f"{folder / MODEL_FILE}: format {doc.get('format')!r} is not supported; "
                             f"expected {FORMAT_VERSION}.")
        text = (folder / BOOSTER_FILE).read_text(encoding="utf-8")
        if doc.get("booster_sha256") and hashlib.sha256(text.encode()).hexdigest() != doc["booster_sha256"]:
            raise ModelError(f"{folder / BOOSTER_FILE} does not match the checksum in {MODEL_FILE}.")
        features = [FeatureMeta(**{**f, "sources": tuple(f.get("sources", ())),
                                   "categories": tuple(f.get("categories", ()))}) for f in doc["features"]]
        return cls(
            booster=lgb.Booster(model_str=text), features=features,
            calibrator=Calibrator.from_dict(doc["calibrator"]), scaling=ScalingSpec(**doc["scaling"]),
            master_scale=MasterScaleSpec(**doc["master_scale"]), catalogue_version=doc.get("catalogue_version"),
            info=doc.get("info", {}),
        )

    @classmethod
    def from_mlflow(cls, uri: str | Path, *, tracking_uri: str | None = None) -> PDModel:
        """Load from a local folder (a saved PDModel or a downloaded pyfunc model) or an MLflow URI:
        `models:/name@alias`, `models:/name/version`, `models:/<model id>`, `runs:/<run id>/<path>`."""
        local = Path(str(uri)).expanduser()
        if local.exists():
            return cls.load(find_model_folder(local))
        from techscore.model.registry import download_model

        return cls.load(find_model_folder(download_model(str(uri), tracking_uri=tracking_uri)))


def load_model(source: str | Path, *, tracking_uri: str | None = None) -> PDModel:
    """A fitted PD model from a saved folder, a run's outputs folder or an MLflow URI (`models:/name@champion`,
    `runs:/<run id>/model`); `PDModel.from_mlflow` under the name a notebook looks for."""
    return PDModel.from_mlflow(source, tracking_uri=tracking_uri)


def find_model_folder(folder: Path) -> Path:
    """The folder under `folder` (itself, or the shallowest below it) holding a saved PDModel."""
    if (folder / MODEL_FILE).is_file():
        return folder
    found = sorted(folder.rglob(MODEL_FILE), key=lambda p: len(p.parts))
    if not found:
        raise ModelError(f"no saved PDModel ({MODEL_FILE}) under {folder}.")
    return found[0].parent


def _json_default(obj: object) -> object:
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, Path):
        return str(obj)
    return str(obj)
