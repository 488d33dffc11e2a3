"""Loans from four banks of very different sizes and lending preferences.

Firms borrow at a yearly Poisson intensity that rises with size, tech industry, supplying a chain leader,
innovation and leverage, from `loan_start_year` on; firms that defaulted get no new loans. Each loan goes to a
bank with probability proportional to the bank's target share times its preference for the firm (see
`config.BANK_PREFERENCES`), the multipliers raked so banks hold ~50/30/15/5% of loans. Products follow the
policies (首贷 for a first loan, 知识产权质押贷款 for patent holders, 供应链金融 for chain-leader suppliers...).
`default_date` is the firm's default date (first 90+ days past due) when it falls within the loan's term.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from techscore.synth import _arrow as A
from techscore.synth import regions
from techscore.synth._arrow import NO_DAY
from techscore.synth.config import BANKS, SynthConfig, year_start
from techscore.synth.firms import Firms
from techscore.synth.network import Network
from techscore.synth.paths import Paths

PRODUCTS: dict[str, tuple[int, ...]] = {
    "首贷": (12,),
    "积分贷": (12, 24),
    "研发贷": (12, 24, 36),
    "知识产权质押贷款": (12, 24, 36),
    "知识价值信用贷款": (12, 24, 36),
    "供应链金融": (6, 12),
    "流动资金贷款": (6, 12, 12, 24),
}
"""Products and the terms (months) they come in."""


def loan_intensity(firms: Firms, paths: Paths, network: Network, cfg: SynthConfig) -> np.ndarray:
    """Expected loans per firm and year (0 before `loan_start_year` and in a firm's first half-year)."""
    mid = year_start(paths.years) + 182
    age_ok = (mid[None, :] - firms.founded[:, None]) >= 182
    rate = 0.3 * np.exp(
        0.25 * firms.size_band + 0.25 * firms.is_tech + 0.3 * network.supplies_leader
    )[:, None] * np.exp(0.15 * paths.inno_z + 0.15 * paths.leverage_z)
    return np.where(age_ok & (paths.years[None, :] >= cfg.loan_start_year), rate, 0.0).astype(np.float32)


def _pick(rng: np.random.Generator, weights: np.ndarray) -> np.ndarray:
    """One column index per row, with probability proportional to the row's weights."""
    cum = np.cumsum(weights, axis=1)
    u = rng.random(len(weights)) * cum[:, -1]
    return np.minimum((cum < u[:, None]).sum(axis=1), weights.shape[1] - 1)


def make_loans(firms: Firms, paths: Paths, network: Network, default_day: np.ndarray, first_patent: np.ndarray,
               cfg: SynthConfig, rng: np.random.Generator) -> dict[str, pa.Array]:
    """The `loans` table."""
    intensity = loan_intensity(firms, paths, network, cfg)
    counts = rng.poisson(intensity).ravel()
    cell = np.repeat(np.arange(counts.size), counts)
    firm, t = np.divmod(cell, intensity.shape[1])
    ys = year_start(paths.years)
    lo = np.maximum(ys[t], firms.founded[firm] + 182)
    issued = lo + np.floor(rng.random(len(cell)) * np.maximum(ys[t] + 365 - lo, 1)).astype(np.int64)
    keep = (issued < default_day[firm]) & (issued <= cfg.snapshot_day)
    order = np.lexsort((firm[keep], issued[keep]))
    firm, t, issued = firm[keep][order], t[keep][order], issued[keep][order]
    n = len(firm)
    first = np.zeros(n, dtype=bool)  # the firm's first loan on the platform
    first[np.unique(firm, return_index=True)[1]] = True
    age = np.log1p((issued - firms.founded[firm]) / 365.25)
    has_patent = first_patent[firm] < issued
    inno = paths.inno_z[firm, t]
    score = np.stack([
        0.6 * firms.size_band[firm] + 0.5 * age,
        0.9 * firms.is_tech[firm] + 0.4 * inno - 0.5 * age,
        1.8 * network.supplies_leader[firm],
        2.0 * regions.GUANGXI[firms.region[firm]] + 0.8 * has_patent,
    ], axis=1)
    target = np.array(list(BANKS.values()))
    pref = np.exp(score - score.max(axis=1, keepdims=True))
    mult = target.copy()
    for _ in range(30):  # rake the multipliers so each bank's expected share meets its target
        p = pref * mult
        p /= p.sum(axis=1, keepdims=True)
        mult *= target / np.maximum(p.mean(axis=0), 1e-12)
    bank = _pick(rng, pref * mult)
    names = list(PRODUCTS)
    rd = paths.rd_intensity[firm, t] > 0
    w = np.zeros((n, len(names)))
    w[:, 0] = 3.0 * first
    w[:, 1] = np.exp(inno) * np.where(np.isin(bank, [1, 3]), 1.5, 0.5)
    w[:, 2] = rd * np.where(bank == 1, 2.0, 0.7)
    w[:, 3] = has_patent * np.where(bank == 3, 3.0, 1.0)
    w[:, 4] = firms.is_tech[firm] * 0.8
    w[:, 5] = np.where(network.supplies_leader[firm], np.where(bank == 2, 6.0, 1.0), 0.1 * (bank == 2))
    w[:, 6] = np.where(bank == 0, 4.0, 1.5)
    product = _pick(rng, w)
    terms = np.array([PRODUCTS[p][j % len(PRODUCTS[p])] for p in names for j in range(4)]).reshape(len(names), 4)
    term = terms[product, rng.integers(0, 4, n)]
    amount = np.exp(paths.log_revenue[firm, t] + rng.normal(np.log(0.06), 0.5, n))
    cap = np.where(product == names.index("知识价值信用贷款"), 1e7, 3e7)
    amount = np.round(np.clip(amount, 1e5, cap) / 1e4) * 1e4
    d = default_day[firm]
    end = issued + np.round(term * 30.44).astype(np.int64)
    default_date = np.where((d > issued) & (d <= end), d, NO_DAY)
    return {
        "loan_id": A.numbered("LN", np.arange(1, n + 1), 10),
        "bank_id": A.take(pa.array(list(BANKS)), bank),
        "uscc": A.take(firms.uscc, firm),
        "issued": A.dates(issued),
        "amount": A.floats(amount),
        "term_months": A.ints(term),
        "product": A.take(pa.array(names), product),
        "default_date": A.dates(default_date),
    }
