"""Helper nodes several feature groups share: the firms' registry rows and their known financial statements.

Every frame here is indexed by the `firms` index object itself (one row per firm, in its order, NaN where nothing
is known), so features combine them without re-aligning on strings.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from techscore.catalogue import node
from techscore.sources.schema import CERTIFICATIONS

from ._frame import Rows, floats, latest_year, positions, same_keys, through

FIN_COLUMNS: tuple[str, ...] = (
    "revenue", "rd_expense", "total_assets", "total_liabilities", "net_profit", "operating_cash_flow",
    "total_costs", "employees", "rd_staff", "high_tech_revenue",
)
"""Numeric columns of `financials` the features use."""


@node
def firm_ent_pos(firms: pd.Index, enterprises: pd.DataFrame) -> np.ndarray:
    """Position of each firm in `enterprises` (the platform's firms registered before D), -1 where it is not there."""
    registry = enterprises["uscc"]
    if same_keys(firms, registry):  # the default: every registered firm, in registry order
        return np.arange(len(firms))
    return positions(firms, pd.Index(registry))


@node
def ent_firm_pos(firm_ent_pos: np.ndarray, enterprises: pd.DataFrame) -> np.ndarray:
    """Row in `firms` of each row of `enterprises`, -1 for a registered firm not being computed."""
    out = np.full(len(enterprises), -1, dtype=np.int64)
    known = firm_ent_pos >= 0
    out[firm_ent_pos[known]] = np.flatnonzero(known)
    return out


@node
def fin_ent_pos(financials: pd.DataFrame, enterprises: pd.DataFrame) -> np.ndarray:
    """Row in `enterprises` of each financial statement (-1: firm not registered before D). Keys are hashed once
    per table; the per-firm views chain through `ent_firm_pos`."""
    return positions(financials["uscc"], pd.Index(enterprises["uscc"]))


ENT_COLUMNS: tuple[str, ...] = ("uscc", "industry", "region", "founded", "registered_capital", *CERTIFICATIONS)
"""Registry columns the features use."""


@node
def ent_firms(enterprises: pd.DataFrame, firms: pd.Index, firm_ent_pos: np.ndarray) -> pd.DataFrame:
    """Registry rows of the firms (columns ENT_COLUMNS present), aligned to `firms` (all missing for a firm not
    registered before D)."""
    frame = enterprises[[c for c in ENT_COLUMNS if c in enterprises.columns]]
    if len(firm_ent_pos) != len(frame) or not np.array_equal(firm_ent_pos, np.arange(len(frame))):
        frame = frame.iloc[np.clip(firm_ent_pos, 0, None)] if len(frame) else frame.reindex(range(len(firms)))
    rows = frame.set_axis(firms, axis=0)
    missing = firm_ent_pos < 0
    return rows.mask(pd.Series(missing, index=firms), axis=0) if missing.any() else rows


@node
def fin_rows(financials: pd.DataFrame, fin_ent_pos: np.ndarray, ent_firm_pos: np.ndarray, firms: pd.Index) -> Rows:
    """The firms' known financial statements: `pos` (row of the firm in `firms`), `year`, `lag` (years before the
    firm's latest known fiscal year: 0 latest, 1 the year before...) and the columns FIN_COLUMNS as float64."""
    pos = through(ent_firm_pos, fin_ent_pos)
    keep = pos >= 0
    year = floats(financials, "year", keep)
    latest = latest_year(pos[keep], year, len(firms))
    return Rows(pos=pos[keep], year=year, lag=latest[pos[keep]] - year,
                **{c: floats(financials, c, keep) for c in FIN_COLUMNS})


def _statement(fin_rows: Rows, firms: pd.Index, lag: int) -> pd.DataFrame:
    rows = fin_rows.where(fin_rows["lag"] == lag)
    out = np.full((len(firms), len(FIN_COLUMNS) + 1), np.nan)
    out[rows["pos"]] = np.column_stack([rows[c] for c in ("year", *FIN_COLUMNS)])
    return pd.DataFrame(out, index=firms, columns=["year", *FIN_COLUMNS])


@node
def fin_latest(fin_rows: Rows, firms: pd.Index) -> pd.DataFrame:
    """Each firm's latest known financial statement (columns `year` and FIN_COLUMNS), aligned to `firms`."""
    return _statement(fin_rows, firms, 0)


@node
def fin_prev(fin_rows: Rows, firms: pd.Index) -> pd.DataFrame:
    """Each firm's statement of the fiscal year before its latest known one (NaN when that year is not known)."""
    return _statement(fin_rows, firms, 1)
