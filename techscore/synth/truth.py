"""Each loan's true probability of default within its 12-month label window, from the hazards the world drew from.

The label counts a loan as bad when its firm defaults (first 90+ days past due) after the issue day, within the
loan's term and before the window ends (issue date + 12 months). The simulation draws a default in month m with
probability ``p_m = 1 - exp(-h_m)`` (``h_m`` the firm's monthly hazard, contagion as it happened) on a uniformly
drawn day of that month, so given the firm was still performing on the issue day the true probability is

    1 - prod_m (1 - q_m),   q_m = p_m * (window days in month m) / (days in month m),

with the issue month's q divided by ``1 - p * (days up to the issue day) / (days in month)``. Windows that run past
the simulated horizon get NaN (their label is not observed either).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["LOAN_TRUTH_FILE", "TRUE_PD", "loan_true_pd"]

LOAN_TRUTH_FILE = "loan_truth.parquet"
TRUE_PD = "true_pd_12m"
WINDOW_MONTHS = 12


def loan_true_pd(firm: np.ndarray, issued: np.ndarray, term_months: np.ndarray, month_hazard: np.ndarray,
                 month_starts: np.ndarray) -> np.ndarray:
    """True 12-month PD of each loan (firm index, issue day, term in months) from the firm-month hazards."""
    issued = np.asarray(issued, dtype=np.int64)
    window_end = (pd.to_datetime(issued, unit="D") + pd.DateOffset(months=WINDOW_MONTHS)).to_numpy()
    window_end = window_end.astype("datetime64[D]").astype(np.int64)
    term_end = issued + np.round(np.asarray(term_months) * 30.44).astype(np.int64)
    last = np.minimum(term_end, window_end - 1)  # last day a default still makes the loan bad
    first = issued + 1
    m0 = np.searchsorted(month_starts, issued, side="right") - 1
    n_months = len(month_starts) - 1
    survival = np.ones(len(issued))
    complete = last < month_starts[-1]
    for k in range(WINDOW_MONTHS + 2):
        m = m0 + k
        inside = (m >= 0) & (m < n_months)
        mc = np.clip(m, 0, n_months - 1)
        lo, hi = month_starts[mc], month_starts[mc + 1]
        days = np.clip(np.minimum(last + 1, hi) - np.maximum(first, lo), 0, None)
        p = -np.expm1(-month_hazard[firm, mc].astype(np.float64))
        q = p * days / (hi - lo)
        if k == 0:
            q = q / (1.0 - p * (issued - lo + 1) / (hi - lo))
        survival *= np.where(inside & (days > 0), 1.0 - q, 1.0)
    return np.where(complete, 1.0 - survival, np.nan)


def loan_truth_table(loans: dict, firm_uscc: object, month_hazard: np.ndarray, month_starts: np.ndarray) -> object:
    """The `loan_truth` table (loan_id, true_pd_12m) of the `loans` columns generated for the world."""
    import pyarrow as pa

    index = {code: i for i, code in enumerate(pa.array(firm_uscc).to_pylist())}
    firm = np.fromiter((index[c] for c in loans["uscc"].to_pylist()), dtype=np.int64, count=len(loans["uscc"]))
    issued = loans["issued"].cast(pa.int32()).to_numpy(zero_copy_only=False).astype(np.int64)
    term = loans["term_months"].to_numpy(zero_copy_only=False)
    truth = loan_true_pd(firm, issued, term, month_hazard, month_starts)
    return pa.table({"loan_id": loans["loan_id"], TRUE_PD: pa.array(truth, type=pa.float64(), from_pandas=True)})
