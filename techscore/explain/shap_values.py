"""SHAP values in log-odds for a trained tree model, on a test set or any scored batch.

For a LightGBM binary model, TreeSHAP splits the raw margin (log-odds before calibration) exactly:
``base + values.sum(axis=1) == margin`` for every row. techscore's own engine (`techscore.explain.treeshap`)
is used when it is present; otherwise LightGBM's `predict(pred_contrib=True)`, which gives the same numbers.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from techscore.catalogue.meta import FeatureMeta
from techscore.exceptions import ModelError, SchemaError


@dataclass
class Explanation:
    """SHAP values of a batch: one row per observation, one column per model feature.

    Attributes
    ----------
    values : (n, p) float64 contributions to the raw margin (log-odds), columns in `features` order.
    base : expected raw margin over the model's training data (the start of every waterfall).
    data : the feature values explained (n rows, the same p columns, original dtypes).
    features : catalogue metadata of the p features, in column order.
    engine : which engine computed the values ("treeshap" or "lightgbm").
    """

    values: np.ndarray
    base: float
    data: pd.DataFrame
    features: list[FeatureMeta]
    engine: str = "lightgbm"

    @property
    def feature_ids(self) -> list[str]:
        return [f.id for f in self.features]

    @property
    def meta(self) -> dict[str, FeatureMeta]:
        return {f.id: f for f in self.features}

    @property
    def margin(self) -> np.ndarray:
        """The raw margin (log-odds) each row's values add up to."""
        return self.base + self.values.sum(axis=1)

    def frame(self) -> pd.DataFrame:
        """The values as a DataFrame indexed like `data`, one column per feature id."""
        return pd.DataFrame(self.values, index=self.data.index, columns=self.feature_ids)

    def take(self, rows: np.ndarray | list[int] | slice) -> Explanation:
        """The explanation of a subset of rows (by position)."""
        rows = np.arange(len(self.data))[rows] if isinstance(rows, slice) else np.asarray(rows, dtype=np.int64)
        return replace(self, values=self.values[rows], data=self.data.iloc[rows])

    def importance(self) -> pd.DataFrame:
        """Global importance: mean |SHAP| per feature, largest first, with the mean signed effect."""
        mean_abs = np.abs(self.values).mean(axis=0) if len(self.values) else np.zeros(len(self.features))
        mean = self.values.mean(axis=0) if len(self.values) else np.zeros(len(self.features))
        out = pd.DataFrame({
            "feature": self.feature_ids,
            "name_zh": [f.name_zh for f in self.features],
            "name_en": [f.name_en for f in self.features],
            "mean_abs_shap": mean_abs,
            "mean_shap": mean,
        })
        total = out["mean_abs_shap"].sum()
        out["share"] = out["mean_abs_shap"] / total if total > 0 else 0.0
        return out.sort_values("mean_abs_shap", ascending=False, kind="stable").reset_index(drop=True)

    def save(self, path: str | Path) -> Path:
        """Write values (one column per feature, prefixed `shap__`) and data to Parquet; base in its metadata."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        path = Path(path)
        frame = pd.concat([self.frame().add_prefix("shap__"), self.data], axis=1)
        table = pa.Table.from_pandas(frame, preserve_index=True)
        meta = dict(table.schema.metadata or {})
        meta[b"techscore.explanation"] = json.dumps(
            {"base": self.base, "engine": self.engine, "features": self.feature_ids}
        ).encode()
        pq.write_table(table.replace_schema_metadata(meta), path)
        return path


def _booster_of(model: object):
    import lightgbm as lgb

    if isinstance(model, lgb.Booster):
        return model
    for attr in ("booster", "booster_", "_Booster"):
        b = getattr(model, attr, None)
        if isinstance(b, lgb.Booster):
            return b
    raise ModelError(
        f"cannot explain a {type(model).__name__}: expected a PDModel, a lightgbm.Booster or a fitted "
        "LGBMClassifier."
    )


def model_features(model: object, booster=None) -> list[FeatureMeta]:
    """The catalogue metadata of the model's features, in the booster's column order.

    Taken from the model's `features` when it holds `FeatureMeta`s; features it does not describe get
    placeholder metadata (name = id, no unit, no declared direction).
    """
    booster = booster if booster is not None else _booster_of(model)
    names = list(booster.feature_name())
    known: dict[str, FeatureMeta] = {}
    for attr in ("features", "feature_metas", "metas"):
        items = getattr(model, attr, None)
        if items and all(isinstance(f, FeatureMeta) for f in items):
            known = {f.id: f for f in items}
            break
    return [known.get(n) or placeholder_meta(n) for n in names]


def placeholder_meta(feature_id: str, kind: str = "numeric") -> FeatureMeta:
    """Metadata for a column the catalogue does not describe (its id stands in for its names)."""
    return FeatureMeta(
        id=feature_id, group="", name_zh=feature_id, name_en=feature_id, description="", unit="",
        sources=(), direction=0, kind=kind,  # type: ignore[arg-type]
    )


def _aligned(X: pd.DataFrame, names: list[str]) -> pd.DataFrame:
    missing = [n for n in names if n not in X.columns]
    if missing:
        shown = ", ".join(missing[:5])
        raise SchemaError(
            f"feature table is missing {len(missing)} column{'s' if len(missing) != 1 else ''} the model was "
            f"trained on: {shown}{', ...' if len(missing) > 5 else ''}."
        )
    return X[names]


def _contrib_lightgbm(booster, X: pd.DataFrame) -> tuple[np.ndarray, float]:
    contrib = np.asarray(booster.predict(X, pred_contrib=True), dtype=np.float64)
    if contrib.ndim != 2 or contrib.shape[1] != X.shape[1] + 1:
        raise ModelError(
            f"expected a binary model's contributions of shape (n, {X.shape[1] + 1}); got {contrib.shape} "
            "(multiclass models are not supported)."
        )
    base = float(contrib[0, -1]) if len(contrib) else float("nan")
    return contrib[:, :-1], base


def _contrib_treeshap(booster, X: pd.DataFrame) -> tuple[np.ndarray, float] | None:
    try:
        from techscore.explain.treeshap import TreeShap
    except ImportError:
        return None
    engine = TreeShap(booster)
    values = np.asarray(engine.shap_values(X), dtype=np.float64)
    return values, float(np.asarray(engine.expected_value).reshape(-1)[0])


def explain(
    model: object,
    X: pd.DataFrame,
    *,
    features: list[FeatureMeta] | None = None,
    engine: str = "auto",
) -> Explanation:
    """SHAP values (log-odds) of `model` on the rows of `X`.

    Parameters
    ----------
    model : a `PDModel`, a `lightgbm.Booster` or a fitted `lightgbm.LGBMClassifier`.
    X : feature table holding (at least) the model's columns; extra columns are ignored.
    features : catalogue metadata to describe the columns; taken from the model when omitted.
    engine : "auto" (techscore's TreeSHAP engine when importable, else LightGBM), "treeshap" or "lightgbm".

    Returns
    -------
    Explanation whose ``base + values.sum(axis=1)`` equals the model's raw margin for every row.

    Examples
    --------
    >>> expl = explain(model, dataset.X)            # doctest: +SKIP
    >>> expl.importance().head()                    # doctest: +SKIP
    """
    if engine not in ("auto", "treeshap", "lightgbm"):
        raise ValueError(f"engine must be one of auto, treeshap, lightgbm; got {engine!r}.")
    booster = _booster_of(model)
    names = list(booster.feature_name())
    # a PDModel encodes columns as at training (categories, float64); others take the columns as they come
    data = model.prepare(X) if hasattr(model, "prepare") else _aligned(X, names)
    metas = model_features(model, booster)
    if features is not None:
        given = {f.id: f for f in features}
        metas = [given.get(m.id, m) for m in metas]
    result = None
    used = "lightgbm"
    if engine in ("auto", "treeshap") and len(data):
        result = _contrib_treeshap(booster, data)
        if result is None and engine == "treeshap":
            raise ModelError("engine='treeshap' asked for, but techscore.explain.treeshap is not available.")
        used = "treeshap" if result is not None else "lightgbm"
    if result is None and not len(data):
        values, base = np.zeros((0, len(names))), _contrib_lightgbm(booster, _one_row(data))[1]
    elif result is None:
        values, base = _contrib_lightgbm(booster, data)
    else:
        values, base = result
    return Explanation(values=values, base=base, data=data, features=metas, engine=used)


def _one_row(data: pd.DataFrame) -> pd.DataFrame:
    """A single all-missing row with `data`'s columns and dtypes (to read the base value of an empty batch)."""
    return data.reindex(pd.RangeIndex(1))


def load_explanation(path: str | Path, features: list[FeatureMeta] | None = None) -> Explanation:
    """Read an explanation written by `Explanation.save`."""
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    info = json.loads(table.schema.metadata[b"techscore.explanation"])
    frame = table.to_pandas()
    ids = info["features"]
    given = {f.id: f for f in (features or [])}
    metas = [given.get(i) or placeholder_meta(i) for i in ids]
    return Explanation(
        values=frame[[f"shap__{i}" for i in ids]].to_numpy(np.float64), base=float(info["base"]),
        data=frame[ids], features=metas, engine=info.get("engine", "lightgbm"),
    )
