"""Yearly financial statements observed from the latent paths with reporting noise.

A firm reports from its first full year after founding up to its default year (half the defaulters still file
that year), within `start_year..end_year`; about 5% of firm-years are missing at random. Revenue, R&D (its
intensity varies by industry, capability and size), staff, assets, liabilities (the latent leverage), profit (the
latent ROA), cash flow, costs and high-tech revenue are tied together as in real statements.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from techscore.synth import _arrow as A
from techscore.synth._arrow import NO_DAY
from techscore.synth.config import year_of
from techscore.synth.firms import Firms
from techscore.synth.paths import Paths

MISSING_SHARE = 0.05


@dataclass
class FinancialGrid:
    """Observed statement values of a chunk of firms on a (firms, years) grid; `reported` marks real rows."""

    idx: np.ndarray
    reported: np.ndarray  # firm-year has statements (before random missingness)
    revenue: np.ndarray
    rd_expense: np.ndarray
    total_assets: np.ndarray
    total_liabilities: np.ndarray
    net_profit: np.ndarray
    operating_cash_flow: np.ndarray
    total_costs: np.ndarray
    employees: np.ndarray
    rd_staff: np.ndarray
    high_tech_revenue: np.ndarray


def reporting_mask(firms: Firms, default_day: np.ndarray, idx: np.ndarray, years: np.ndarray,
                   rng: np.random.Generator) -> np.ndarray:
    """Firm-years with statements: after the founding year, up to the default year (half file that year)."""
    fy = firms.founded_year[idx][:, None]
    dy = np.where(default_day[idx] == NO_DAY, 10_000, year_of(np.minimum(default_day[idx], 2_900_000)))[:, None]
    files_default_year = rng.random((len(idx), 1)) < 0.5
    return (years[None, :] > fy) & ((years[None, :] < dy) | ((years[None, :] == dy) & files_default_year))


def make_grid(firms: Firms, paths: Paths, default_day: np.ndarray, idx: np.ndarray,
              rng: np.random.Generator) -> FinancialGrid:
    """Statement values of firms `idx` for every year of `paths.years`."""
    shape = (len(idx), len(paths.years))
    reported = reporting_mask(firms, default_day, idx, paths.years, rng)

    def noise(sd: float) -> np.ndarray:
        return np.exp(rng.normal(0, sd, shape))

    rev_true = np.exp(paths.log_revenue[idx].astype(np.float64))
    rd_int = paths.rd_intensity[idx].astype(np.float64)
    revenue = rev_true * noise(0.04)
    rd = revenue * rd_int * noise(0.12)
    asset_ratio = np.exp(rng.normal(np.log(1.1), 0.35, len(idx)))[:, None]
    assets = rev_true * asset_ratio * noise(0.05)
    liabilities = assets * paths.leverage[idx] * noise(0.06)
    profit = assets * (paths.roa[idx] + rng.normal(0, 0.008, shape))
    pretax = np.where(profit > 0, profit / 0.85, profit)
    costs = np.maximum(revenue - pretax, 0.3 * revenue)
    cash = profit + revenue * rng.normal(0.03, 0.06, shape)
    employees = np.maximum(1, np.round(rev_true / firms.revenue_per_employee[idx][:, None] * noise(0.08)))
    staff_share = np.clip(3.0 * rd_int + 0.03 + rng.normal(0, 0.03, shape), 0, 0.9)
    rd_staff = np.where(rd_int > 0, np.round(employees * staff_share), 0)
    ht_share = np.clip(0.2 + 6.0 * rd_int + rng.normal(0, 0.1, shape), 0, 0.98)
    ht = np.where(firms.is_tech[idx][:, None] | (rd_int > 0.02), revenue * ht_share, 0.0)
    r2 = lambda x: np.round(x, 2)  # noqa: E731 - money to the fen
    return FinancialGrid(
        idx=idx, reported=reported, revenue=r2(revenue), rd_expense=r2(rd), total_assets=r2(assets),
        total_liabilities=r2(liabilities), net_profit=r2(profit), operating_cash_flow=r2(cash), total_costs=r2(costs),
        employees=employees.astype(np.int64), rd_staff=rd_staff.astype(np.int64), high_tech_revenue=r2(ht),
    )


def financial_rows(grid: FinancialGrid, firms: Firms, years: np.ndarray, rng: np.random.Generator) -> dict[str, pa.Array]:
    """The `financials` columns of a grid, dropping ~5% of firm-years at random."""
    keep = grid.reported & (rng.random(grid.reported.shape) >= MISSING_SHARE)
    i, t = np.nonzero(keep)
    cols = {"uscc": A.take(firms.uscc, grid.idx[i]), "year": A.ints(years[t])}
    for name in ("revenue", "rd_expense", "total_assets", "total_liabilities", "net_profit", "operating_cash_flow",
                 "total_costs", "high_tech_revenue"):
        cols[name] = A.floats(getattr(grid, name)[i, t])
    cols["employees"] = A.ints(grid.employees[i, t])
    cols["rd_staff"] = A.ints(grid.rd_staff[i, t])
    return cols
