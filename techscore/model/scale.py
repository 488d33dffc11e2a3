"""From PD to score and grade: points-to-double-the-odds scaling and a master scale of PD bands.

``score = base_score + pdo / ln 2 * ln(odds / base_odds)`` with ``odds = (1 - PD) / PD`` (good:bad): a PD at the
base odds scores `base_score`, and doubling the odds of default (bad:good) takes `pdo` points away. Grades are
the master scale's bands: a PD gets the first grade whose upper bound it does not exceed.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from techscore.specs import MasterScaleSpec, ScalingSpec

__all__ = ["grade_table", "pd_to_grade", "pd_to_score", "score_to_pd"]

PD_FLOOR = 1e-6
"""PDs are clipped to [PD_FLOOR, 1 - PD_FLOOR] before scaling so the score stays finite."""


def pd_to_score(pd_: np.ndarray, scaling: ScalingSpec, *, rounded: bool = True) -> np.ndarray:
    """Score of each PD (higher is better)."""
    p = np.clip(np.asarray(pd_, dtype=np.float64), PD_FLOOR, 1 - PD_FLOOR)
    factor = scaling.pdo / np.log(2.0)
    score = scaling.base_score + factor * (np.log((1 - p) / p) - np.log(scaling.base_odds))
    return np.round(score, scaling.decimals) if rounded else score


def score_to_pd(score: np.ndarray, scaling: ScalingSpec) -> np.ndarray:
    """The PD a score stands for (inverse of `pd_to_score` without rounding)."""
    factor = scaling.pdo / np.log(2.0)
    log_odds_good = (np.asarray(score, dtype=np.float64) - scaling.base_score) / factor + np.log(scaling.base_odds)
    return 1.0 / (1.0 + np.exp(log_odds_good))


def pd_to_grade(pd_: np.ndarray, master: MasterScaleSpec) -> np.ndarray:
    """Grade label of each PD (object array; a missing PD gets None)."""
    p = np.asarray(pd_, dtype=np.float64)
    pos = np.searchsorted(np.asarray(master.pd_upper), p, side="left")
    labels = np.asarray(master.grades, dtype=object)
    out = labels[np.minimum(pos, len(labels) - 1)]
    out[np.isnan(p)] = None
    return out


def grade_table(master: MasterScaleSpec, scaling: ScalingSpec | None = None) -> pd.DataFrame:
    """The master scale as a table: grade, PD band and, with `scaling`, the score band."""
    upper = np.asarray(master.pd_upper)
    lower = np.concatenate([[0.0], upper[:-1]])
    table = pd.DataFrame({"grade": master.grades, "pd_lower": lower, "pd_upper": upper})
    if scaling is not None:
        table["score_min"] = pd_to_score(upper, scaling)
        table["score_max"] = np.where(lower > 0, pd_to_score(np.maximum(lower, PD_FLOOR), scaling), np.inf)
    return table
