"""Innovation-points indicators per firm and year, consistent with the statements and the IP table.

R&D, revenue, profit, staff and high-tech revenue indicators are computed from the same firm-year values as
`financials` (collected separately, so the indicator rows have their own ~3% gaps); class I / II IP counts from
the rights granted in the last three years; technology contracts, venture capital and R&D platforms from the
latent innovation capacity. NOISE: graduates hired, awards and standards led are drawn independently of risk.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from techscore.sources.schema import IP_KINDS
from techscore.synth import _arrow as A
from techscore.synth.config import year_of, year_start
from techscore.synth.financials import FinancialGrid
from techscore.synth.firms import Firms
from techscore.synth.ip import CLASS_I, CLASS_II
from techscore.synth.paths import Paths

MISSING_SHARE = 0.03


def _growth(x: np.ndarray, reported: np.ndarray, relative_to_abs: bool = False) -> np.ndarray:
    prev = np.roll(x, 1, axis=1).astype(np.float64)
    ok = reported & np.roll(reported, 1, axis=1)
    ok[:, 0] = False
    base = np.abs(prev) if relative_to_abs else prev
    with np.errstate(divide="ignore", invalid="ignore"):
        g = (x - prev) / base
    return np.where(ok & (base > 0), g, np.nan)


def _window_sum(events: np.ndarray, width: int) -> np.ndarray:
    c = np.cumsum(events, axis=1)
    out = c.copy()
    out[:, width:] -= c[:, :-width]
    return out


def _full_window_sum(events: np.ndarray, width: int) -> np.ndarray:
    """Sums over full `width`-year windows of events drawn for `width - 1` years before the first year too, so
    early years are not short windows (a count that grows with the calendar would track the macro cycle)."""
    return _window_sum(events, width)[:, width - 1:].astype(np.float64)


def _ip_counts(ip_rows: dict[str, np.ndarray], grid: FinancialGrid, years: np.ndarray, kinds: tuple[str, ...]) -> np.ndarray:
    """Rights of `kinds` granted in each year's last three years (y-2..y), per firm of the grid."""
    codes = [IP_KINDS.index(k) for k in kinds]
    sel = np.isin(ip_rows["kind"], codes) & (ip_rows["granted"] <= year_start(years[-1] + 1))
    local = np.searchsorted(grid.idx, ip_rows["firm"][sel])
    gy = year_of(ip_rows["granted"][sel]) - years[0]
    ok = (gy >= 0) & (gy < len(years))
    per_year = np.zeros((len(grid.idx), len(years)))
    np.add.at(per_year, (local[ok], gy[ok]), 1)
    return _window_sum(per_year, 3)


def make_innovation(grid: FinancialGrid, ip_rows: dict[str, np.ndarray], firms: Firms, paths: Paths,
                    rng: np.random.Generator) -> dict[str, pa.Array]:
    """The `innovation_indicators` columns of the grid's firms."""
    idx, years = grid.idx, paths.years
    shape = grid.revenue.shape
    rep = grid.reported
    inno = paths.inno_z[idx]
    with np.errstate(divide="ignore", invalid="ignore"):
        values: dict[str, np.ndarray] = {
            "rd_expense": grid.rd_expense,
            "rd_expense_growth": _growth(grid.rd_expense, rep),
            "rd_intensity": grid.rd_expense / grid.revenue,
            "rd_staff_share": grid.rd_staff / grid.employees,
        }
        has_contract = (grid.rd_expense > 0) & (rng.random(shape) < 1 / (1 + np.exp(1.0 - 0.9 * inno)))
        values["tech_contract_value"] = np.where(
            has_contract, np.round(grid.revenue * 0.05 * np.exp(0.5 * inno + rng.normal(0, 0.6, shape)), 2), 0.0)
        values["class1_ip_3y"] = _ip_counts(ip_rows, grid, years, CLASS_I)
        values["class2_ip_3y"] = _ip_counts(ip_rows, grid, years, CLASS_II)
        values["revenue_growth"] = _growth(grid.revenue, rep)
        values["high_tech_revenue"] = grid.high_tech_revenue
        equity = grid.total_assets - grid.total_liabilities
        values["return_on_net_assets"] = np.where(equity > 0, grid.net_profit / equity, np.nan)
        values["net_profit_growth"] = _growth(grid.net_profit, rep, relative_to_abs=True)
    tax_rate = rng.uniform(0.02, 0.05, len(idx))[:, None]
    values["taxes_paid"] = np.round(grid.revenue * tax_rate + np.maximum(grid.net_profit, 0) * 0.15, 2)
    values["employee_growth"] = _growth(grid.employees, rep)
    # NOISE: independent of every latent quantity
    hiring = np.exp(rng.normal(0.3, 1.0, len(idx)))[:, None]
    values["graduates_hired"] = rng.poisson(np.broadcast_to(hiring, shape)).astype(np.float64)
    values["venture_capital"] = np.where(
        (years[None, :] - firms.founded_year[idx][:, None] < 8) & (rng.random(shape) < 1 / (1 + np.exp(3.2 - 1.0 * inno))),
        np.round(np.exp(rng.normal(np.log(2e7), 1.0, shape)), -4), 0.0)
    platform = inno + 0.3 * firms.size_band[idx][:, None] + rng.normal(0, 0.3, (len(idx), 1))
    level = np.maximum.accumulate(np.select([platform > 2.6, platform > 1.8, platform > 1.0], [3, 2, 1], 0), axis=1)
    values["rd_platform_level"] = level.astype(np.float64)
    values["standards_led"] = _full_window_sum(rng.poisson(0.03, (shape[0], shape[1] + 4)), 5)
    values["awards"] = _full_window_sum(rng.poisson(0.04, (shape[0], shape[1] + 4)), 5)
    keep = rep & (rng.random(shape) >= MISSING_SHARE)
    i, t = np.nonzero(keep)
    cols = {"uscc": A.take(firms.uscc, idx[i]), "year": A.ints(years[t])}
    for name, v in values.items():
        cols[name] = A.floats(np.asarray(v, dtype=np.float64)[i, t])
    return cols
