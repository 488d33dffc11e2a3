"""One date of a portfolio as monitoring sees it: each firm's model inputs, SHAP values, PD and grade."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from techscore.explain import explain
from techscore.model.pdmodel import PDModel

__all__ = ["Snapshot", "take_snapshot"]


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

    def scores(self) -> pd.DataFrame:
        """`pd` and `grade` per firm, indexed by `uscc`."""
        return pd.DataFrame({"pd": self.pd, "grade": self.grade}, index=self.uscc)


def take_snapshot(model: PDModel, features: pd.DataFrame, as_of: str) -> Snapshot:
    """Score and explain the firms of `features` (a `uscc` column and the model's features) as of `as_of`."""
    if "uscc" not in features:
        raise KeyError(f"the feature table as of {as_of} has no 'uscc' column")
    dup = features["uscc"].duplicated()
    if dup.any():
        raise ValueError(f"the feature table as of {as_of} repeats firm {features['uscc'][dup].iloc[0]!r}")
    uscc = pd.Index(features["uscc"].astype(str), name="uscc")
    expl = explain(model, features.reset_index(drop=True))
    data = expl.data.set_axis(uscc, axis=0)
    p = model.calibrator.predict(expl.margin)
    return Snapshot(as_of=str(as_of), uscc=uscc, data=data, shap=expl.values, base=float(expl.base), pd=p,
                    grade=model.grade(p), grades=tuple(model.master_scale.grades))
