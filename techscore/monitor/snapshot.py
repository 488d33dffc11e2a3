"""One date of a portfolio as monitoring sees it: each firm's model inputs, SHAP values, PD and grade."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from techscore.explain import explain
from techscore.explain.reasons import top_k
from techscore.model.pdmodel import PDModel

__all__ = ["CHUNK_ROWS", "Snapshot", "take_snapshot"]

CHUNK_ROWS = 100_000
"""Rows explained (and ranked for reason codes) at a time: bounds the working memory whatever the portfolio's size."""


@dataclass(frozen=True)
class Snapshot:
    """A scored portfolio at one as-of date; rows are firms (`uscc`, unique), columns the model's features."""

    as_of: str
    uscc: pd.Index
    data: pd.DataFrame
    """The model's inputs as the model reads them (booster order, training encoding), indexed by `uscc`."""
    shap: np.ndarray
    """(firms, features) SHAP values in log-odds of the raw margin."""
    base: float
    """The model's expected raw margin: base + shap.sum(axis=1) is each firm's raw margin."""
    pd: np.ndarray
    grade: np.ndarray
    grades: tuple[str, ...]
    """The master scale's grades, best first."""

    @property
    def margin(self) -> np.ndarray:
        """Each firm's raw margin (log-odds) as its SHAP values add up."""
        return self.base + self.shap.sum(axis=1)

    @property
    def feature_ids(self) -> list[str]:
        return list(self.data.columns)

    def scores(self, reasons: int = 0) -> pd.DataFrame:
        """`pd` and `grade` per firm, indexed by `uscc`; with `reasons` k, the reason codes of `techscore score`:
        `reason_1` (the feature raising the firm's risk most), `reason_1_shap` (its SHAP value), ... up to k
        (null when fewer features raise it)."""
        out = pd.DataFrame({"pd": self.pd, "grade": self.grade}, index=self.uscc)
        if reasons:
            # row by row the same as on the whole matrix; in chunks, the working copies stay small
            chunks = [top_k(self.shap[start:start + CHUNK_ROWS], reasons)
                      for start in range(0, max(len(self.shap), 1), CHUNK_ROWS)]
            idx, vals = np.concatenate([c[0] for c in chunks]), np.concatenate([c[1] for c in chunks])
            ids = np.asarray(self.feature_ids, dtype=object)
            for j in range(idx.shape[1]):
                out[f"reason_{j + 1}"] = pd.Categorical.from_codes(idx[:, j], categories=ids)
                out[f"reason_{j + 1}_shap"] = vals[:, j]
        return out


def take_snapshot(model: PDModel, features: pd.DataFrame, as_of: str, *, explainer=None,
                  chunk_rows: int = CHUNK_ROWS) -> Snapshot:
    """Score and explain the firms of `features` (a `uscc` column and the model's features) as of `as_of`.

    SHAP values are computed `chunk_rows` at a time into one matrix (the same values as `explain` on the whole
    frame); `explainer` is the model booster's `TreeShap`, built once by a caller scoring many dates."""
    if "uscc" not in features:
        raise KeyError(f"the feature table as of {as_of} has no 'uscc' column")
    dup = features["uscc"].duplicated()
    if dup.any():
        raise ValueError(f"the feature table as of {as_of} repeats firm {features['uscc'][dup].iloc[0]!r}")
    uscc = pd.Index(features["uscc"].astype(str), name="uscc")
    if not len(features):
        expl = explain(model, features.reset_index(drop=True))
        data, values, base = expl.data, expl.values, float(expl.base)
    else:
        from techscore.explain.treeshap import TreeShap

        engine = explainer if explainer is not None else TreeShap(model.booster)
        data = model.prepare(features.reset_index(drop=True))
        values = np.empty(data.shape, dtype=np.float64)
        for start in range(0, len(data), chunk_rows):
            part = data.iloc[start:start + chunk_rows]
            values[start:start + len(part)] = engine.shap_values(part)
        base = float(np.asarray(engine.expected_value).reshape(-1)[0])
    data = data.set_axis(uscc, axis=0)
    p = model.calibrator.predict(base + values.sum(axis=1))
    return Snapshot(as_of=str(as_of), uscc=uscc, data=data, shap=values, base=base, pd=p,
                    grade=model.grade(p), grades=tuple(model.master_scale.grades))
