"""Performance before outcomes arrive (confidence-based performance estimation, CBPE), and after.

A calibrated PD is the probability of the firm's own label. Treating each label as an independent Bernoulli(PD)
gives, before any outcome is known, the expected default rate (the mean PD) and the expected ROC AUC: as NannyML's
CBPE does, the ratio of the expected number of correctly ordered (defaulter, non-defaulter) pairs to the expected
number of such pairs,

    E[AUC] ~ sum_{i != j} p_i (1 - p_j) [s_i > s_j] (ties count 1/2) / sum_{i != j} p_i (1 - p_j),

computed exactly in O(n log n) from PD groups (the score s is the PD). Once the label window has passed, the realized
figures come from the loans table and the difference is reported.

The estimate is only as good as the PDs' calibration, and a model's calibration drifts (a PD of 2% may default at 3%
a year later, and unevenly across the scale). So, as NannyML calibrates on a reference period, the PDs are first
mapped through an isotonic calibration fitted on the latest *reference*: an earlier date whose label window had
closed by the monitored date, its PDs against the defaults that followed (`Calibration`, `PerformanceEstimator`).
Only outcomes known at the monitored date are used. With no such reference the model's own PDs are used, and the
row says so (`calibrated_on` empty). The calibration serves the AUC, which rests on the PDs' shape; the expected
default rate stays the mean of the model's own PDs, since the level of a reference a window old carries that
year's credit cycle (the calibrated PDs' mean is kept beside it as `calibrated_default_rate`). The standard error of the realized AUC around the estimate is Hanley and
McNeil's (1982) for the expected numbers of defaulters and non-defaulters: a realized AUC more than two standard
errors away is more than label noise.

The population is the firms with a loan outstanding at the date (issued before it, not past its term, the firm not
in default): only their outcomes can be observed. A firm is bad when one of its loans defaults (first 90+ days past
due) within the window after the date.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from techscore.model.metrics import auc

__all__ = ["PERFORMANCE_COLUMNS", "Calibration", "PerformanceEstimator", "auc_standard_error", "expected_auc",
           "exposed_firms", "fit_calibration", "performance_row", "reference_dates"]

PERFORMANCE_COLUMNS: tuple[str, ...] = (
    "as_of", "window_end", "firms", "exposed", "calibrated_on", "expected_default_rate", "calibrated_default_rate",
    "expected_auc", "expected_auc_se", "outcomes", "defaults", "realized_default_rate", "realized_auc", "default_rate_difference",
    "auc_difference", "auc_z")


def expected_auc(pd_values: np.ndarray) -> float:
    """The expected ROC AUC of the PDs as scores when each label is Bernoulli(its PD): expected correctly ordered
    pairs over expected pairs (module docstring). NaN with fewer than two firms or no uncertainty.

    >>> round(expected_auc(np.array([0.2, 0.6])), 6)  # 0.6 * 0.8 / (0.2 * 0.4 + 0.6 * 0.8)
    0.857143
    """
    p = np.asarray(pd_values, dtype=np.float64)
    p = p[np.isfinite(p)]
    if len(p) < 2:
        return float("nan")
    values, inverse = np.unique(p, return_inverse=True)           # groups of equal PD, ascending
    pos = np.bincount(inverse, weights=p, minlength=len(values))
    neg = np.bincount(inverse, weights=1 - p, minlength=len(values))
    self_pairs = np.bincount(inverse, weights=p * (1 - p), minlength=len(values))
    neg_below = np.concatenate([[0.0], np.cumsum(neg)[:-1]])
    numerator = float(np.sum(pos * neg_below) + 0.5 * np.sum(pos * neg - self_pairs))
    denominator = float(pos.sum() * neg.sum() - self_pairs.sum())
    return numerator / denominator if denominator > 0 else float("nan")


def auc_standard_error(auc_value: float, defaulters: float, others: float) -> float:
    """Hanley and McNeil's (1982) standard error of an AUC over `defaulters` positive and `others` negative cases.

    >>> round(auc_standard_error(0.8, 400, 30_000), 4)
    0.0134
    """
    a = float(auc_value)
    if not (np.isfinite(a) and defaulters > 0 and others > 0):
        return float("nan")
    q1, q2 = a / (2 - a), 2 * a * a / (1 + a)
    var = (a * (1 - a) + (defaulters - 1) * (q1 - a * a) + (others - 1) * (q2 - a * a)) / (defaulters * others)
    return float(np.sqrt(max(var, 0.0)))


@dataclass(frozen=True)
class Calibration:
    """An isotonic map from a model's PD to the default rate observed after a reference date (`fit_calibration`).
    Between its knots it interpolates linearly; beyond them it holds the end values."""

    as_of: str
    window_end: pd.Timestamp
    knots: np.ndarray
    rates: np.ndarray

    def __call__(self, pd_values: np.ndarray) -> np.ndarray:
        """The calibrated PDs."""
        return np.interp(np.asarray(pd_values, dtype=np.float64), self.knots, self.rates)


def fit_calibration(as_of: str, scores: pd.Series, loans: pd.DataFrame, *, window_months: int) -> Calibration | None:
    """The isotonic calibration of the PDs `scores` (indexed by uscc) at `as_of` against the defaults of the exposed
    firms within the window after it; None when the book has no defaulter or no non-defaulter. The rates are kept
    inside [1e-6, 1 - 1e-6] so that no firm is certain."""
    return _calibration(as_of, *_exposed(as_of, scores, loans, window_months), window_months)


def _calibration(as_of: str, p: np.ndarray, y: np.ndarray, window_months: int) -> Calibration | None:
    from sklearn.isotonic import IsotonicRegression

    if not 0 < y.sum() < len(y):
        return None
    iso = IsotonicRegression(y_min=1e-6, y_max=1 - 1e-6, out_of_bounds="clip").fit(p, y.astype(np.float64))
    end = pd.Timestamp(as_of) + pd.DateOffset(months=window_months)
    return Calibration(str(as_of), end, np.asarray(iso.X_thresholds_, dtype=np.float64),
                       np.asarray(iso.y_thresholds_, dtype=np.float64))


def _exposed(as_of: str, scores: pd.Series, loans: pd.DataFrame, window_months: int) -> tuple[np.ndarray, np.ndarray]:
    """The PDs and outcomes (1: defaulted within the window) of the scored firms exposed at `as_of`."""
    book = exposed_firms(loans, as_of, window_months)
    book = book.loc[book.index.isin(scores.index)]
    return scores.reindex(book.index).to_numpy(dtype=np.float64), book.to_numpy(dtype=int)


def exposed_firms(loans: pd.DataFrame, as_of: str | pd.Timestamp, window_months: int) -> pd.Series:
    """Firms with a loan outstanding at `as_of` (issued before it, within its term when the term is known, the firm
    with no default before it), indexed by `uscc`: True when a loan of the firm defaults in
    [as_of, as_of + window_months)."""
    d = pd.Timestamp(as_of)
    issued, default = loans["issued"], loans["default_date"]
    defaulted_before = set(loans.loc[(default < d).to_numpy(bool, na_value=False), "uscc"])
    term = pd.to_numeric(loans["term_months"], errors="coerce") if "term_months" in loans else None
    live = (issued < d).to_numpy(bool, na_value=False)
    if term is not None:  # a loan without a term counts as outstanding
        ends = issued + pd.to_timedelta(term.to_numpy(dtype=np.float64) * 30.4375, unit="D")
        live = live & ((ends > d).to_numpy(bool, na_value=False) | term.isna().to_numpy(bool))
    book = loans.loc[live & ~loans["uscc"].isin(defaulted_before).to_numpy(bool)]
    end = d + pd.DateOffset(months=window_months)
    bad = ((book["default_date"] >= d) & (book["default_date"] < end)).to_numpy(bool, na_value=False)
    out = pd.Series(bad, index=pd.Index(book["uscc"].astype(str), name="uscc")).groupby(level=0).any()
    return out.rename("bad")


def performance_row(as_of: str, scores: pd.Series, loans: pd.DataFrame, *, window_months: int,
                    observation_end: pd.Timestamp, calibration: Calibration | None = None) -> dict:
    """One date's row of the `performance` table for the exposed firms' PDs (`scores`: PD indexed by uscc): the
    expected default rate (the mean PD), the expected AUC of the PDs through `calibration` (as they are without
    one) and the mean of the calibrated PDs (`calibrated_default_rate`), and once
    `as_of + window_months <= observation_end` the realized figures and the differences (realized minus expected,
    and that difference in standard errors)."""
    return _row(as_of, len(scores), *_exposed(as_of, scores, loans, window_months), window_months=window_months,
                observation_end=observation_end, calibration=calibration)


def _row(as_of: str, firms: int, p: np.ndarray, y: np.ndarray, *, window_months: int,
         observation_end: pd.Timestamp, calibration: Calibration | None) -> dict:
    end = pd.Timestamp(as_of) + pd.DateOffset(months=window_months)
    q = calibration(p) if calibration is not None else p
    expected = expected_auc(q)
    row = {"as_of": as_of, "window_end": end.date().isoformat(), "firms": int(firms), "exposed": int(len(p)),
           "calibrated_on": calibration.as_of if calibration is not None else "",
           "expected_default_rate": float(p.mean()) if len(p) else float("nan"),
           "calibrated_default_rate": float(q.mean()) if len(q) else float("nan"), "expected_auc": expected,
           "expected_auc_se": auc_standard_error(expected, q.sum(), (1 - q).sum()),
           "outcomes": "known" if end <= observation_end else "pending", "defaults": np.nan,
           "realized_default_rate": np.nan, "realized_auc": np.nan}
    if row["outcomes"] == "known" and len(p):
        row["defaults"] = int(y.sum())
        row["realized_default_rate"] = float(y.mean())
        row["realized_auc"] = auc(y, p) if 0 < y.sum() < len(y) else float("nan")
    row["default_rate_difference"] = row["realized_default_rate"] - row["expected_default_rate"]
    row["auc_difference"] = row["realized_auc"] - row["expected_auc"]
    row["auc_z"] = row["auc_difference"] / row["expected_auc_se"] if row["expected_auc_se"] > 0 else float("nan")
    return row


class PerformanceEstimator:
    """The `performance` table date by date, each date estimated through the calibration of the latest reference
    whose window had closed by then (module docstring). References are extra dates scored for calibration only
    (`add_reference`) and every monitored date itself once its window has closed by a later date."""

    def __init__(self, loans: pd.DataFrame, *, window_months: int, observation_end: pd.Timestamp) -> None:
        self.loans, self.window_months, self.observation_end = loans, window_months, pd.Timestamp(observation_end)
        self.calibrations_: list[Calibration] = []

    def add_reference(self, as_of: str, scores: pd.Series) -> Calibration | None:
        """Fit and keep the calibration of `scores` at `as_of` when its window has closed by the observation end."""
        if not self._closed(as_of):
            return None
        return self._keep(_calibration(as_of, *_exposed(as_of, scores, self.loans, self.window_months),
                                       self.window_months))

    def reference_for(self, as_of: str) -> Calibration | None:
        """The calibration of the latest reference date whose window had closed by `as_of`."""
        d = pd.Timestamp(as_of)
        known = [c for c in self.calibrations_ if c.window_end <= d]
        return max(known, key=lambda c: pd.Timestamp(c.as_of)) if known else None

    def row(self, as_of: str, scores: pd.Series) -> dict:
        """`as_of`'s row (`performance_row` through `reference_for(as_of)`); the date then serves as a reference
        for later ones (the exposed firms found once for both)."""
        p, y = _exposed(as_of, scores, self.loans, self.window_months)
        out = _row(as_of, len(scores), p, y, window_months=self.window_months, observation_end=self.observation_end,
                   calibration=self.reference_for(as_of))
        if self._closed(as_of):
            self._keep(_calibration(as_of, p, y, self.window_months))
        return out

    def _closed(self, as_of: str) -> bool:
        return pd.Timestamp(as_of) + pd.DateOffset(months=self.window_months) <= self.observation_end

    def _keep(self, calibration: Calibration | None) -> Calibration | None:
        if calibration is not None:
            self.calibrations_.append(calibration)
        return calibration


def reference_dates(dates: Iterable[str], window_months: int) -> list[str]:
    """The default reference of a run over `dates`: the date one label window before the first, whose outcomes are
    known when monitoring starts."""
    first = min(pd.Timestamp(d) for d in dates)
    return [(first - pd.DateOffset(months=window_months)).date().isoformat()]
