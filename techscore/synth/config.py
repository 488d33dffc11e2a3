"""Parameters of a synthetic world, and the random streams each part of it draws from.

Every table draws from its own child of ``np.random.SeedSequence(seed)`` (``SeedSequence.spawn``), so changing
how one table is generated never shifts the random numbers of another, and the same seed gives the same bytes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

STREAMS: tuple[str, ...] = (
    "firms", "paths", "network", "defaults", "financials", "ip_rights", "innovation_indicators",
    "supply_chain", "tax", "loans", "certifications", "dirty", "applications", "plants",
)
"""Named random streams, one per part of the world; the order is part of the format (append, never reorder)."""

BANKS: dict[str, float] = {"BANK_A": 0.50, "BANK_B": 0.30, "BANK_C": 0.15, "BANK_D": 0.05}
"""Banks and their target shares of all loans."""

BANK_PREFERENCES: dict[str, str] = {
    "BANK_A": "large national bank: favours large and old firms",
    "BANK_B": "technology bank: favours tech-industry, innovative and young firms",
    "BANK_C": "supply-chain lender: favours suppliers of chain-leader firms",
    "BANK_D": "regional bank (Guangxi): favours firms in Guangxi and firms holding patents",
}


@dataclass(frozen=True)
class SynthConfig:
    """What world to make.

    Parameters
    ----------
    n_firms, seed
        Size and seed; the same values give byte-identical files.
    start_year, end_year
        Years of financial, innovation, tax and trade records (the snapshot date is 31 December of `end_year`).
    loan_start_year
        First year loans are issued.
    default_rate
        Target share of loans (issued with a complete 12-month window) that default within 12 months.
    frailty_sd, year_noise_sd
        Standard deviations of the unobserved firm and firm-year terms of the log hazard (they set how well any
        model can rank firms).
    signal
        Multiplier of every planted driver's coefficient (the strength of the observable signal).
    contagion
        Log-hazard increase per unit share of a firm's trade with partners that defaulted in the last 12 months.
    chunk_firms, chunk_edges
        Firms (trade relationships) generated per chunk; bounds peak memory. Part of the output's identity:
        the same seed with another chunk size gives another (equally valid) world.
    shock_section, shock_start, shock_size
        The planted downturn (`techscore.synth.plants`): industry section hit (GB/T 4754 letter; None for no
        shock), its first day (ISO date; default 1 May of `end_year`) and the log-hazard increase at full strength
        (0.7 by default: the section's hazard doubles, within the 2-3 times of a real sector downturn).
    slide_share, slide_months, slide_size
        Share of the eligible firms put on a slide before default (eligible: at least a year old and buying from a
        supplier on the platform at the drawn start month), the months over which a slide reaches full strength,
        and the log-hazard increase at full slide (0 share: no slides).
    """

    n_firms: int
    seed: int
    start_year: int = 2016
    end_year: int = 2025
    loan_start_year: int = 2018
    first_founding_year: int = 1995
    default_rate: float = 0.03
    frailty_sd: float = 0.3
    year_noise_sd: float = 0.3
    contagion: float = 4.0
    signal: float = 1.0
    chunk_firms: int = 100_000
    chunk_edges: int = 400_000
    shock_section: str | None = "M"
    shock_start: str | None = None
    shock_size: float = 1.0
    slide_share: float = 0.04
    slide_months: int = 9
    slide_size: float = 4.5

    @property
    def n_years(self) -> int:
        return self.end_year - self.start_year + 1

    @property
    def years(self) -> np.ndarray:
        return np.arange(self.start_year, self.end_year + 1)

    @property
    def snapshot_day(self) -> int:
        """Days since 1970-01-01 of the snapshot date (31 December of `end_year`)."""
        return year_start(self.end_year + 1) - 1


def year_start(year: int | np.ndarray) -> np.ndarray | int:
    """Days since 1970-01-01 of 1 January of `year` (vectorised)."""
    y = np.asarray(year, dtype="int64") - 1970
    out = (y.astype("datetime64[Y]").astype("datetime64[D]")).astype(np.int64)
    return int(out) if np.ndim(out) == 0 else out


def day_of(text: str) -> int:
    """Days since 1970-01-01 of an ISO date."""
    return int(np.datetime64(text, "D").astype(np.int64))


def year_of(days: np.ndarray) -> np.ndarray:
    """Calendar year of day numbers (vectorised)."""
    return np.asarray(days).astype("datetime64[D]").astype("datetime64[Y]").astype(np.int64) + 1970


def streams(seed: int) -> dict[str, np.random.Generator]:
    """One independent generator per name in `STREAMS`."""
    children = np.random.SeedSequence(seed).spawn(len(STREAMS))
    return {name: np.random.default_rng(child) for name, child in zip(STREAMS, children, strict=True)}
