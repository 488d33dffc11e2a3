"""True yearly quantities of every firm: revenue, R&D intensity, leverage, ROA, payment habit, tax standing.

These are the latent states behind the observed tables. The default hazard (`techscore.synth.risk`) is a
function of them, and the written tables observe them with noise, so a model sees the drivers only through
noisy, lagged measurements (as with real filings).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from techscore.synth.config import SynthConfig, year_start
from techscore.synth.firms import DIVISION_RD, Firms

MACRO_REVENUE: dict[int, float] = {2020: -0.10, 2021: 0.05, 2022: -0.05}
"""Common revenue shocks by calendar year (log points)."""
MACRO_ROA: dict[int, float] = {2020: -0.8, 2022: -0.4}
"""Common profitability shocks by year (in standard deviations of the ROA state)."""


@dataclass
class Paths:
    """Firm-year latent states; arrays of shape (n_firms, n_years) over `years` (float32)."""

    years: np.ndarray  # start_year..end_year
    full_years: np.ndarray  # first_founding_year..end_year (revenue and R&D only, for the IP history)
    log_revenue_full: np.ndarray
    rd_intensity_full: np.ndarray
    alive_full: np.ndarray  # year >= founding year
    leverage_z: np.ndarray
    roa: np.ndarray
    late_z: np.ndarray
    tax_z: np.ndarray
    inno_z: np.ndarray

    def recent(self, full: np.ndarray) -> np.ndarray:
        """The `years` columns of a full-span array."""
        return full[:, len(self.full_years) - len(self.years):]

    @property
    def log_revenue(self) -> np.ndarray:
        return self.recent(self.log_revenue_full)

    @property
    def rd_intensity(self) -> np.ndarray:
        return self.recent(self.rd_intensity_full)

    @property
    def growth(self) -> np.ndarray:
        """True log revenue growth over the previous year (0 in a firm's first year)."""
        full = np.diff(self.log_revenue_full, axis=1, prepend=self.log_revenue_full[:, :1])
        full = np.where(self.alive_full & np.roll(self.alive_full, 1, axis=1), full, 0.0)
        return self.recent(full).astype(np.float32)

    @property
    def leverage(self) -> np.ndarray:
        return (1.0 / (1.0 + np.exp(-(-0.15 + 0.7 * self.leverage_z)))).astype(np.float32)


def _ar1(rng: np.random.Generator, n: int, t: int, phi: float, sd: float) -> np.ndarray:
    """Stationary AR(1) paths, shape (n, t), float32."""
    out = np.empty((n, t), dtype=np.float32)
    x = rng.normal(0, sd / np.sqrt(1 - phi**2), n)
    for j in range(t):
        x = phi * x + rng.normal(0, sd, n) if j else x
        out[:, j] = x
    return out


def _macro(years: np.ndarray, table: dict[int, float]) -> np.ndarray:
    return np.array([table.get(int(y), 0.0) for y in years], dtype=np.float32)


def make_paths(firms: Firms, cfg: SynthConfig, rng: np.random.Generator) -> Paths:
    """Draw every firm's yearly latent states."""
    n = firms.n
    full_years = np.arange(cfg.first_founding_year, cfg.end_year + 1)
    years = cfg.years
    mid = year_start(full_years) + 182
    age = np.maximum((mid[None, :] - firms.founded[:, None]) / 365.25, 0.25).astype(np.float32)
    alive_full = full_years[None, :] >= firms.founded_year[:, None]
    # revenue: mature level x ramp-up with age x firm trend x persistent growth shocks x macro years
    trend = (0.04 * firms.growth_effect + 0.025 * firms.tech).astype(np.float32)
    shocks = _ar1(rng, n, len(full_years), 0.6, 0.07)
    level = np.empty_like(shocks)
    c = np.zeros(n, dtype=np.float32)
    for j in range(len(full_years)):  # damped cumulative growth: growth shocks persist, levels slowly revert
        c = 0.97 * c + shocks[:, j]
        level[:, j] = c
    log_rev = (
        firms.log_revenue_mature[:, None].astype(np.float32)
        + np.log1p(-np.exp(-age / 2.5) + 0.02)
        + trend[:, None] * np.minimum(age, 8.0)
        + level
        + _macro(full_years, MACRO_REVENUE)[None, :]
    )
    # R&D intensity: industry base x capability x firm effect x smaller firms spend more x persistent shocks
    base = DIVISION_RD[firms.division] * np.exp(0.35 * firms.tech + 0.3 * firms.rd_effect - 0.12 * firms.size_band)
    rd = base[:, None].astype(np.float32) * np.exp(_ar1(rng, n, len(full_years), 0.85, 0.15))
    rd = np.where(firms.rd_zero[:, None], 0.0, np.clip(rd, 0.0005, 0.6)).astype(np.float32)
    t = len(years)
    leverage_z = (0.8 * firms.leverage_effect[:, None] + _ar1(rng, n, t, 0.9, 0.25)).astype(np.float32)
    roa_z = _ar1(rng, n, t, 0.9, 0.4) + _macro(years, MACRO_ROA)[None, :]
    roa = (0.03 + 0.03 * firms.quality[:, None] + 0.035 * roa_z - 0.012 * leverage_z).astype(np.float32)
    late_z = (0.8 * firms.late_habit[:, None] + _ar1(rng, n, t, 0.9, 0.25) - 0.25 * roa_z).astype(np.float32)
    tax_z = (0.7 * firms.quality[:, None] + _ar1(rng, n, t, 0.9, 0.25) - 0.2 * leverage_z).astype(np.float32)
    inno_z = (0.6 * firms.tech + 0.5 * firms.inno_effect)[:, None] + _ar1(rng, n, t, 0.9, 0.1)
    return Paths(
        years=years, full_years=full_years, log_revenue_full=log_rev.astype(np.float32),
        rd_intensity_full=rd, alive_full=alive_full, leverage_z=leverage_z, roa=roa, late_z=late_z,
        tax_z=tax_z, inno_z=inno_z.astype(np.float32),
    )
