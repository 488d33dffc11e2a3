"""Loan applications, a bank's approval rule, and the outcomes of the applicants it turned away.

With ``generate(..., applications=True)`` (or an `ApprovalRule`) the loans the world draws (`techscore.synth.loans`)
become **applications**: each goes through the banks' declared approval rule, only approved ones become loans in
``loans.parquet``, and every application is listed in ``applications.parquet`` (application_id, bank_id, uscc,
applied, amount, term_months, product, approval_score, approved, loan_id): what a bank knows of the applicants it
saw. ``application_truth.parquet`` holds what no bank sees: each applicant's true 12-month PD and whether its firm
defaulted within the window (the outcome the applicant would have had with the loan; a firm defaults on its own
latent hazard, with or without the loan), for the rejected applicants too.

The approval rule is an older scorecard on three observable facts, as known strictly before the first day of the
application month (the dataset builder's as-of date), so its points are a function of the data a model sees:

    approval_score = age_weight * log1p(firm age in years) - leverage_weight * leverage of the latest known fiscal
                     year (liabilities / assets, clipped to 0..1.5; missing: `missing_leverage`)
                     - tax penalty of the latest published tax grade (`TAX_PENALTY`; none published: M's)

The decision adds the loan officer's judgement, ``-soft_info * frailty / frailty_sd`` (what no table holds: the
firm's unobserved frailty, a driver of its hazard), approves the applications at or above the cut-off, the
(1 - `approval_rate`) quantile of points + judgement, then flips `override_rate` of the decisions at random
(overrides). At ``soft_info = 0`` (the default) approval depends only on observed data (outcomes missing at random
given the features); above 0 it also depends on unobserved risk (missing not at random), the case reject
inference cannot correct from the data alone. ``applications.parquet`` records the points, not the judgement.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from techscore.sources.schema import PointInTime
from techscore.synth import _arrow as A
from techscore.synth._arrow import NO_DAY
from techscore.synth.truth import TRUE_PD, loan_true_pd

__all__ = ["APPLICATIONS_FILE", "APPLICATION_TRUTH_FILE", "TAX_PENALTY", "TRUE_BAD", "ApprovalRule",
           "approval_score", "decide", "make_applications"]

APPLICATIONS_FILE = "applications.parquet"
APPLICATION_TRUTH_FILE = "application_truth.parquet"
TRUE_BAD = "true_bad_12m"
TAX_PENALTY: dict[str, float] = {"A": 0.0, "B": 0.3, "M": 0.5, "C": 1.2, "D": 2.5}
"""Points the approval rule takes off for the latest published tax grade."""


@dataclass(frozen=True)
class ApprovalRule:
    """The banks' declared approval rule (see the module docstring); every field is recorded in the ground truth."""

    approval_rate: float = 0.7
    age_weight: float = 0.8
    leverage_weight: float = 2.0
    missing_leverage: float = 0.8
    override_rate: float = 0.05
    soft_info: float = 0.0

    def __post_init__(self) -> None:
        if not 0 < self.approval_rate <= 1:
            raise ValueError(f"approval_rate must be in (0, 1]; got {self.approval_rate}.")
        if not 0 <= self.override_rate < 0.5:
            raise ValueError(f"override_rate must be in [0, 0.5); got {self.override_rate}.")


def _latest_known(uscc: np.ndarray, as_of: np.ndarray, table: pd.DataFrame, column: str,
                  known: tuple[int, int]) -> np.ndarray:
    """Value of `column` in the latest year of `table` (uscc, year, column) known strictly before each as-of day."""
    month, day = known
    known_day = (pd.to_datetime(table["year"].astype(str) + f"-{month:02d}-{day:02d}")
                 + pd.DateOffset(years=1)).to_numpy().astype("datetime64[D]").astype(np.int64)
    right = pd.DataFrame({"uscc": table["uscc"].to_numpy(), "_day": known_day + 1, "_v": table[column].to_numpy()})
    right = right.dropna(subset=["_v"]).sort_values("_day", kind="stable")
    left = pd.DataFrame({"uscc": uscc, "_day": as_of, "_pos": np.arange(len(uscc))}).sort_values("_day", kind="stable")
    merged = pd.merge_asof(left, right, on="_day", by="uscc", direction="backward")
    out = np.empty(len(uscc), dtype=object)
    out[merged["_pos"].to_numpy()] = merged["_v"].to_numpy()
    return out


def approval_score(uscc: np.ndarray, applied: np.ndarray, founded: np.ndarray, financials: pd.DataFrame,
                   tax: pd.DataFrame, rule: ApprovalRule, point_in_time: PointInTime = PointInTime()) -> np.ndarray:  # noqa: B008 - frozen dataclass
    """The scorecard's points of each application (higher = safer), from facts known before its application month.

    `financials` has uscc, year, total_assets, total_liabilities; `tax` has uscc, year, grade; days are days since
    1970-01-01.
    """
    applied = np.asarray(applied, dtype=np.int64)
    as_of = applied.astype("datetime64[D]").astype("datetime64[M]").astype("datetime64[D]").astype(np.int64)
    fin = financials.assign(_lev=financials["total_liabilities"] / financials["total_assets"].where(
        financials["total_assets"] > 0))
    leverage = _latest_known(uscc, as_of, fin, "_lev", point_in_time.financials_known).astype(np.float64)
    grade = _latest_known(uscc, as_of, tax, "grade", point_in_time.tax_known)
    penalty = np.array([TAX_PENALTY.get(g, TAX_PENALTY["M"]) if isinstance(g, str) else TAX_PENALTY["M"]
                        for g in grade])
    age = np.maximum(as_of - np.asarray(founded, dtype=np.int64), 0) / 365.25
    lev = np.where(np.isnan(leverage), rule.missing_leverage, np.clip(leverage, 0.0, 1.5))
    return rule.age_weight * np.log1p(age) - rule.leverage_weight * lev - penalty


def decide(score: np.ndarray, rule: ApprovalRule, rng: np.random.Generator) -> tuple[np.ndarray, float]:
    """(approved, cut-off): approve scores at or above the (1 - approval_rate) quantile, then flip
    `override_rate` of the decisions at random."""
    cutoff = float(np.quantile(score, 1 - rule.approval_rate)) if len(score) else 0.0
    approved = score >= cutoff
    flip = rng.random(len(score)) < rule.override_rate
    return approved ^ flip, cutoff


def make_applications(out: Path, loans: dict[str, pa.Array], founded: np.ndarray, frailty: np.ndarray,
                      firm_uscc: pa.Array, default_day: np.ndarray, month_hazard: np.ndarray,
                      month_starts: np.ndarray, frailty_sd: float, rule: ApprovalRule,
                      rng: np.random.Generator) -> tuple[dict[str, pa.Array], dict]:
    """Write ``applications.parquet`` and ``application_truth.parquet`` in `out` from the drawn `loans` (every one
    an application), and return the approved ones as the `loans` table (renumbered) and the ground-truth entry.

    Reads ``financials.parquet`` and ``tax.parquet`` already written in `out` (the rule sees what a bank sees)."""
    index = {code: i for i, code in enumerate(firm_uscc.to_pylist())}
    uscc = np.asarray(loans["uscc"].to_pylist(), dtype=object)
    firm = np.fromiter((index[c] for c in uscc), dtype=np.int64, count=len(uscc))
    applied = loans["issued"].cast(pa.int32()).to_numpy(zero_copy_only=False).astype(np.int64)
    term = loans["term_months"].to_numpy(zero_copy_only=False)
    financials = pq.read_table(out / "financials.parquet",
                               columns=["uscc", "year", "total_assets", "total_liabilities"]).to_pandas()
    tax = pq.read_table(out / "tax.parquet", columns=["uscc", "year", "grade"]).to_pandas()
    frailty_z = frailty[firm] / frailty_sd if frailty_sd > 0 else np.zeros(len(firm))
    score = approval_score(uscc, applied, founded[firm], financials, tax, rule)
    approved, cutoff = decide(score - rule.soft_info * frailty_z, rule, rng)

    n, n_ok = len(uscc), int(approved.sum())
    loan_no = np.cumsum(approved)
    window_end = (pd.to_datetime(applied, unit="D") + pd.DateOffset(months=12)).to_numpy()
    window_end = window_end.astype("datetime64[D]").astype(np.int64)
    term_end = applied + np.round(np.asarray(term) * 30.44).astype(np.int64)
    d = default_day[firm]
    true_bad = (d != NO_DAY) & (d > applied) & (d < np.minimum(term_end + 1, window_end))
    true_pd = loan_true_pd(firm, applied, term, month_hazard, month_starts)
    true_bad = np.where(np.isnan(true_pd), np.nan, true_bad.astype(np.float64))
    application_id = A.numbered("AP", np.arange(1, n + 1), 10)
    loan_id = A.numbered("LN", loan_no, 10)
    table = {
        "application_id": application_id,
        "bank_id": loans["bank_id"], "uscc": loans["uscc"], "applied": loans["issued"], "amount": loans["amount"],
        "term_months": loans["term_months"], "product": loans["product"],
        "approval_score": A.floats(score),
        "approved": pa.array(approved),
        "loan_id": pa.array(loan_id.to_pylist(), mask=~approved, type=pa.string()),
    }
    pq.write_table(pa.table(table), out / APPLICATIONS_FILE, compression="zstd")
    truth = {"application_id": application_id,
             TRUE_PD: pa.array(true_pd, type=pa.float64(), from_pandas=True),
             TRUE_BAD: pa.array(true_bad, type=pa.float64(), from_pandas=True)}
    pq.write_table(pa.table(truth), out / APPLICATION_TRUTH_FILE, compression="zstd")

    keep = pa.array(approved)
    approved_loans = {k: v.filter(keep) for k, v in loans.items()}
    approved_loans["loan_id"] = A.numbered("LN", np.arange(1, n_ok + 1), 10)
    entry = {
        "files": {"applications": APPLICATIONS_FILE, "truth": APPLICATION_TRUTH_FILE},
        "applications": n, "approved": n_ok, "cutoff": round(cutoff, 6), "rule": asdict(rule),
        "tax_penalty": TAX_PENALTY,
        "rule_form": "approval_score = age_weight * log1p(age years) - leverage_weight * clip(latest known "
                     "leverage, 0, 1.5) - tax_penalty[latest published grade]; approved when approval_score - "
                     "soft_info * frailty / frailty_sd >= cutoff (its 1 - approval_rate quantile), then "
                     "override_rate of decisions flipped at random",
        "missing": "not at random (soft_info > 0)" if rule.soft_info else "at random given the observed features",
        "truth": {TRUE_PD: "true 12-month PD of every applicant", TRUE_BAD: "1 if the firm defaulted within the "
                  "loan's 12-month window and term, whether or not the loan was granted (NaN: window unobserved)"},
    }
    return approved_loans, entry
