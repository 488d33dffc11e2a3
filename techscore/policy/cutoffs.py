"""The cut-off table of a scored book under the policy tools.

Loans are approved best PD first; a cut-off never splits loans of equal PD. For every cut-off: approval rate,
expected bad rate (amount-weighted mean PD of the approved, the NPL ratio the book is expected to reach), the
bank's expected loss after the tools, and its expected margin. Per scenario the summary gives the cut-off at the
NPL tolerance (bank NPL ratio + tolerance), the cut-off with the highest expected margin within it, and how many
firms (and first-time borrowers) the scenario lets the bank approve for the expected loss the bank alone carries
at the tolerance cut-off.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from techscore.exceptions import SpecError
from techscore.policy.spec import PolicySpec
from techscore.policy.tools import loan_economics, pool_compensation, scenario_tools

__all__ = ["BASELINE", "book_curve", "cutoff_table", "load_book", "policy_summary"]

BASELINE = "baseline"
"""The scenario without tools, against which the others are compared (always computed)."""

CURVE_COLUMNS = ("approved", "approval_rate", "first_loans", "pd_cutoff", "expected_bad_rate", "expected_loss",
                 "pool_compensation", "expected_margin", "within_tolerance")


def load_book(scores: str | Path, *, amount_column: str | None = None, first_loan_column: str | None = None,
              features: str | Path | None = None, default_amount: float = 1.0) -> pd.DataFrame:
    """A scored book: `uscc`, `pd`, `amount` (the column, else `default_amount`) and `first_loan` (bool; False
    without a column), from a scores file of `techscore score`. Columns missing from the scores are taken from
    `features` (a feature table with `uscc`), joined by firm."""
    path = Path(scores)
    frame = pd.read_csv(path) if path.suffix == ".csv" else pd.read_parquet(path)
    for column in ("uscc", "pd"):
        if column not in frame:
            raise SpecError(f"{path}: no column '{column}'; a scores file of `techscore score` has uscc and pd.")
    wanted = [c for c in (amount_column, first_loan_column) if c and c not in frame]
    if wanted:
        if features is None:
            raise SpecError(f"{path}: no column {wanted[0]!r}; give a feature table that has it.")
        fpath = Path(features)
        extra = pd.read_csv(fpath) if fpath.suffix == ".csv" else pd.read_parquet(fpath)
        missing = [c for c in ["uscc", *wanted] if c not in extra]
        if missing:
            raise SpecError(f"{fpath}: no column {missing[0]!r}.")
        frame = frame.merge(extra[["uscc", *wanted]].drop_duplicates("uscc"), on="uscc", how="left", validate="m:1")
    pd_ = pd.to_numeric(frame["pd"], errors="coerce").to_numpy(dtype=np.float64)
    bad = np.flatnonzero(~((pd_ >= 0) & (pd_ <= 1)))
    if len(bad):
        raise SpecError(f"{path}: row {bad[0] + 1}, column 'pd': expected a probability in [0, 1]; "
                        f"got {frame['pd'].iloc[bad[0]]!r}.")
    if amount_column:
        amount = pd.to_numeric(frame[amount_column], errors="coerce").to_numpy(dtype=np.float64)
        bad = np.flatnonzero(~(amount > 0))
        if len(bad):
            raise SpecError(f"{path}: row {bad[0] + 1}, column {amount_column!r}: expected a positive amount; "
                            f"got {frame[amount_column].iloc[bad[0]]!r}.")
    else:
        amount = np.full(len(frame), float(default_amount))
    first = (frame[first_loan_column].fillna(0).astype(float).to_numpy() > 0 if first_loan_column
             else np.zeros(len(frame), dtype=bool))
    return pd.DataFrame({"uscc": frame["uscc"].astype(str).to_numpy(), "pd": pd_, "amount": amount,
                         "first_loan": first})


def _ranked(book: pd.DataFrame) -> pd.DataFrame:
    return book.sort_values(["pd", "uscc"], kind="mergesort", ignore_index=True)


def book_curve(book: pd.DataFrame, spec: PolicySpec, tools: list[str]) -> pd.DataFrame:
    """Every admissible cut-off of `book` under the scenario's `tools`: one row per number of loans approved
    (0, and each end of a run of equal PDs), with the columns of the cut-off table."""
    ranked = _ranked(book)
    p, a = ranked["pd"].to_numpy(), ranked["amount"].to_numpy()
    econ = loan_economics(p, a, spec.bank, scenario_tools(spec, tools))
    n = len(ranked)
    ends = np.flatnonzero(np.r_[p[1:] != p[:-1], True]) if n else np.array([], dtype=np.int64)
    k = np.r_[0, ends + 1]
    cum = lambda x: np.r_[0.0, np.cumsum(x)][k]  # noqa: E731
    net_loss, income = cum(econ.net_loss), cum(econ.income)
    amount, bad_amount = cum(a), cum(p * a)
    paid = pool_compensation(net_loss, econ.pools)
    with np.errstate(invalid="ignore", divide="ignore"):
        bad_rate = np.where(amount > 0, bad_amount / np.where(amount > 0, amount, 1.0), 0.0)
    loss = net_loss - paid
    return pd.DataFrame({
        "approved": k, "approval_rate": k / max(n, 1),
        "first_loans": np.r_[0, np.cumsum(ranked["first_loan"].to_numpy(dtype=np.int64))][k],
        "pd_cutoff": np.r_[0.0, p][k], "expected_bad_rate": bad_rate, "expected_loss": loss,
        "pool_compensation": paid, "expected_margin": income - loss,
        "within_tolerance": bad_rate <= spec.bank.bad_rate_limit + 1e-12,
    })


def _scenarios(spec: PolicySpec) -> dict[str, list[str]]:
    scenarios = spec.scenario_tools()
    return scenarios if BASELINE in scenarios else {BASELINE: [], **scenarios}


def cutoff_table(book: pd.DataFrame, spec: PolicySpec) -> pd.DataFrame:
    """The cut-off table: per scenario, the cut-off at approval rates 1/steps ... 1 (the largest admissible cut-off
    not above each rate)."""
    steps = np.arange(1, spec.approval_steps + 1) / spec.approval_steps
    parts = []
    for name, tools in _scenarios(spec).items():
        curve = book_curve(book, spec, tools)
        rows = np.searchsorted(curve["approval_rate"].to_numpy(), steps + 1e-12, side="right") - 1
        part = curve.iloc[rows].reset_index(drop=True)
        parts.append(part.assign(scenario=name, target_rate=steps)[["scenario", "target_rate", *CURVE_COLUMNS]])
    return pd.concat(parts, ignore_index=True)


def _best(curve: pd.DataFrame) -> pd.Series:
    """The cut-off with the highest expected margin within the tolerance (the fewest loans on a tie)."""
    inside = curve.loc[curve["within_tolerance"]]
    return inside.iloc[int(np.argmax(inside["expected_margin"].to_numpy()))]


def policy_summary(book: pd.DataFrame, spec: PolicySpec) -> pd.DataFrame:
    """Per scenario: the tolerance cut-off (the most loans whose expected bad rate stays within NPL ratio +
    tolerance), the margin-maximising cut-off within the tolerance, and the approvals for the expected loss the
    bank alone carries where it lends alone (the baseline's margin-maximising cut-off within the tolerance), with
    the firms and first-time borrowers gained over that baseline."""
    curves = {name: book_curve(book, spec, tools) for name, tools in _scenarios(spec).items()}
    base_at = _best(curves[BASELINE])
    budget = float(base_at["expected_loss"])
    rows = []
    for name, curve in curves.items():
        inside = curve.loc[curve["within_tolerance"]]
        at = inside.iloc[-1]
        best = _best(curve)
        same = curve.loc[curve["expected_loss"] <= budget * (1 + 1e-12) + 1e-9].iloc[-1]
        rows.append({
            "scenario": name, "tools": "+".join(_scenarios(spec)[name]) or "-",
            "tolerance_approved": int(at["approved"]), "tolerance_approval_rate": float(at["approval_rate"]),
            "tolerance_pd_cutoff": float(at["pd_cutoff"]), "tolerance_bad_rate": float(at["expected_bad_rate"]),
            "tolerance_expected_loss": float(at["expected_loss"]), "tolerance_margin": float(at["expected_margin"]),
            "best_approved": int(best["approved"]), "best_first_loans": int(best["first_loans"]),
            "best_approval_rate": float(best["approval_rate"]), "best_pd_cutoff": float(best["pd_cutoff"]),
            "best_expected_loss": float(best["expected_loss"]),
            "best_bad_rate": float(best["expected_bad_rate"]), "best_margin": float(best["expected_margin"]),
            "same_loss_approved": int(same["approved"]), "same_loss_first_loans": int(same["first_loans"]),
            "same_loss_bad_rate": float(same["expected_bad_rate"]),
            "extra_firms": int(same["approved"] - base_at["approved"]),
            "extra_first_loans": int(same["first_loans"] - base_at["first_loans"]),
        })
    return pd.DataFrame(rows)
