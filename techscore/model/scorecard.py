"""The challenger validators expect: a logistic regression on weight-of-evidence bins, with a points table.

Binning is optbinning's `BinningProcess` (optimal binning with each numeric feature's monotonic trend taken from
its declared risk direction: +1 ascending default rate, -1 descending, 0 found from the data), the scorecard is
optbinning's `Scorecard` scaled with the same base score, base odds and PDO as the champion. Missing and special
values get their own bins, so they never break scoring.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from techscore.catalogue.meta import FeatureMeta
from techscore.exceptions import ModelError
from techscore.specs import ScalingSpec

__all__ = ["ScorecardModel", "fit_scorecard"]

TRENDS = {1: "ascending", -1: "descending", 0: "auto"}
"""Declared direction -> optbinning monotonic trend of the default (event) rate."""


@dataclass
class ScorecardModel:
    """A fitted WOE logistic scorecard over `features` (the ones kept by binning selection)."""

    scorecard: object
    features: list[FeatureMeta]
    selected: list[str]

    def _frame(self, X: pd.DataFrame) -> pd.DataFrame:
        return _as_input(X, self.features)

    def predict_pd(self, X: pd.DataFrame) -> np.ndarray:
        """PD of each row."""
        return np.asarray(self.scorecard.predict_proba(self._frame(X))[:, 1], dtype=np.float64)

    def points(self, X: pd.DataFrame) -> np.ndarray:
        """Scorecard points of each row (the sum of its bins' points)."""
        return np.asarray(self.scorecard.score(self._frame(X)), dtype=np.float64)

    def points_table(self) -> pd.DataFrame:
        """One row per feature and bin: count, default rate, WOE, IV, coefficient, points; with display names."""
        table = self.scorecard.table(style="detailed").reset_index(drop=True)
        names = {f.id: f.name_en for f in self.features}
        table.insert(1, "name", table["Variable"].map(names))
        table = table.rename(columns=lambda c: str(c).strip().lower().replace(" (%)", "_share").replace(" ", "_"))
        return table


def _as_input(X: pd.DataFrame, features: Sequence[FeatureMeta]) -> pd.DataFrame:
    """Categoricals as plain object strings (missing as NaN) and numbers as float, as optbinning expects."""
    cols = {}
    for f in features:
        col = X[f.id]
        if f.kind == "categorical":
            cols[f.id] = col.astype("string").astype(object).where(col.notna(), np.nan)
        else:
            cols[f.id] = col.astype(np.float64)
    return pd.DataFrame(cols, index=X.index)


def fit_scorecard(
    X: pd.DataFrame,
    y: np.ndarray,
    features: Sequence[FeatureMeta],
    scaling: ScalingSpec,
    *,
    max_n_prebins: int = 10,
    min_iv: float = 0.02,
    max_features: int | None = 30,
) -> ScorecardModel:
    """Fit binning and the logistic scorecard on the training rows.

    Features with information value below `min_iv` are dropped, and at most `max_features` with the highest IV
    are kept (a readable scorecard); binning uses the MIP solver so the same data give the same bins.
    """
    from optbinning import BinningProcess, Scorecard
    from sklearn.linear_model import LogisticRegression

    features = list(features)
    names = [f.id for f in features]
    categorical = [f.id for f in features if f.kind == "categorical"]
    fit_params = {f.id: {"solver": "mip", **({} if f.kind == "categorical" else
                                               {"monotonic_trend": TRENDS[int(f.direction)]})} for f in features}
    selection: dict = {"iv": {"min": min_iv}}
    if max_features:
        selection["iv"].update(strategy="highest", top=max_features)
    process = BinningProcess(names, categorical_variables=categorical or None, max_n_prebins=max_n_prebins,
                             min_prebin_size=0.05, selection_criteria=selection, binning_fit_params=fit_params)
    card = Scorecard(process, LogisticRegression(max_iter=2000), scaling_method="pdo_odds",
                     scaling_method_params={"pdo": scaling.pdo, "odds": scaling.base_odds,
                                            "scorecard_points": scaling.base_score})
    try:
        card.fit(_as_input(X, features), np.asarray(y).astype(int))
    except (ValueError, RuntimeError) as exc:
        raise ModelError(f"the challenger scorecard could not be fitted: {exc}") from exc
    selected = [str(n) for n in card.binning_process_.get_support(names=True)]
    return ScorecardModel(card, features, selected)
