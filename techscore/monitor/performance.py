"""Performance before outcomes arrive (confidence-based performance estimation, CBPE), and after.

A calibrated PD is the probability of the firm's own label. Treating each label as an independent Bernoulli(PD)
gives, before any outcome is known, the expected default rate (the mean PD) and the expected ROC AUC: as NannyML's
CBPE does, the ratio of the expected number of correctly ordered (defaulter, non-defaulter) pairs to the expected
number of such pairs,

    E[AUC] ~ sum_{i != j} p_i (1 - p_j) [s_i > s_j] (ties count 1/2) / sum_{i != j} p_i (1 - p_j),

computed exactly in O(n log n) from PD groups (the score s is the PD). Once the label window has passed, the realized
figures come from the loans table and the difference is reported.

The population is the firms with a loan outstanding at the date (issued before it, not past its term, the firm not
in default): only their outcomes can be observed. A firm is bad when one of its loans defaults (first 90+ days past
due) within the window after the date.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from techscore.model.metrics import auc

__all__ = ["PERFORMANCE_COLUMNS", "expected_auc", "exposed_firms", "performance_row"]

PERFORMANCE_COLUMNS: tuple[str, ...] = (
    "as_of", "window_end", "firms", "exposed", "expected_default_rate", "expected_auc", "outcomes", "defaults",
    "realized_default_rate", "realized_auc", "default_rate_difference", "auc_difference")


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
                    observation_end: pd.Timestamp) -> dict:
    """One date's row of the `performance` table: the expected default rate and AUC of the exposed firms' PDs
    (`scores`: PD indexed by uscc), and once `as_of + window_months <= observation_end` the realized figures and
    the differences (realized minus expected)."""
    d = pd.Timestamp(as_of)
    end = d + pd.DateOffset(months=window_months)
    book = exposed_firms(loans, d, window_months)
    book = book.loc[book.index.isin(scores.index)]
    p = scores.reindex(book.index).to_numpy(dtype=np.float64)
    row = {"as_of": as_of, "window_end": end.date().isoformat(), "firms": int(len(scores)), "exposed": int(len(p)),
           "expected_default_rate": float(p.mean()) if len(p) else float("nan"), "expected_auc": expected_auc(p),
           "outcomes": "known" if end <= observation_end else "pending", "defaults": np.nan,
           "realized_default_rate": np.nan, "realized_auc": np.nan}
    if row["outcomes"] == "known" and len(p):
        y = book.to_numpy(dtype=int)
        row["defaults"] = int(y.sum())
        row["realized_default_rate"] = float(y.mean())
        row["realized_auc"] = auc(y, p) if 0 < y.sum() < len(y) else float("nan")
    row["default_rate_difference"] = row["realized_default_rate"] - row["expected_default_rate"]
    row["auc_difference"] = row["realized_auc"] - row["expected_auc"]
    return row
