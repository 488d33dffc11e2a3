"""What monitoring must find: a dated industry downturn and firms on a slide before default.

Both act through the world's own machinery, not through labels:

- **Shock**: from the first day of `SynthConfig.shock_start`, every firm of industry section
  `SynthConfig.shock_section` (GB/T 4754 letter: ``M``, research and technical services, by default) is hit by a downturn that
  reaches full strength over `SHOCK_RAMP_MONTHS` months: its log monthly default hazard rises by `shock_size`, its
  invoiced sales fall (amounts times ``exp(-SHOCK_SALES * severity * level)``), it pays its suppliers late more
  often (logit ``+SHOCK_LATE * severity * level``), and its revenue and profitability of the years the shock covers
  fall; severity is `shock_size` per `DEFAULT_SHOCK_SIZE` (the slides' likewise per `DEFAULT_SLIDE_SIZE`).
- **Slides**: a share `slide_share` of the eligible firms (at least a year old, buying from a supplier on the
  platform) start a slide on the first day of a random month from `loan_start_year` to the last year; over `slide_months` months their R&D intensity, revenue and ROA fall,
  leverage rises, tax standing weakens, sales shrink and late payments climb, while their log hazard rises by up to
  `slide_size`, so most of them default within a year or two of the start (some survive: a slide is a risk, not
  a sentence).

`level` is 0 before the start and rises linearly to 1 over the ramp. The hazard of month m reads the level at
the month's 16th day; yearly states (`paths`) move by the level averaged over the year's months, so the hazard's
lagged drivers see a slide's yearly states as well.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from techscore.synth import _arrow as A
from techscore.synth._arrow import NO_DAY
from techscore.synth.config import SynthConfig, day_of, year_start
from techscore.synth.firms import Firms
from techscore.synth.network import Network
from techscore.synth.paths import Paths

__all__ = ["FIRM_TRUTH_FILE", "Plants", "apply_to_paths", "firm_truth_table", "make_plants"]

FIRM_TRUTH_FILE = "firm_truth.parquet"
DEFAULT_SHOCK_SIZE = 1.0
DEFAULT_SLIDE_SIZE = 4.5
"""The sizes (log-hazard increases) at which the data moves below apply; other sizes scale them."""
MONTH_DAYS = 30.44
SHOCK_RAMP_MONTHS = 3
SHOCK_SALES = 1.0
"""Log points of invoiced sales lost at full shock."""
SHOCK_LATE = 4.0
"""Logit of paying an invoice late, added at full shock."""
SHOCK_REVENUE = 0.3
SHOCK_ROA = 0.02
SLIDE_SALES = 1.5
SLIDE_LATE = 3.0
SLIDE_REVENUE = 0.5
SLIDE_RD = 1.2
"""Log points of R&D intensity lost at the end of a slide."""
SLIDE_ROA = 0.05
SLIDE_LEVERAGE_Z = 0.8
SLIDE_TAX_Z = 1.2


@dataclass
class Plants:
    """The planted shock (a set of firms and a start day) and each firm's slide start (`NO_DAY`: none)."""

    shocked: np.ndarray  # bool per firm
    shock_start: int  # day number of the shock's first day
    shock_size: float
    slide_start: np.ndarray  # day number per firm, NO_DAY if the firm never slides
    slide_months: int
    slide_size: float

    def shock_level(self, firm: np.ndarray | slice, day: np.ndarray | int) -> np.ndarray:
        """0 before the shock, rising to 1 over `SHOCK_RAMP_MONTHS`, for shocked firms; 0 elsewhere."""
        ramp = _ramp(np.asarray(day) - self.shock_start, SHOCK_RAMP_MONTHS)
        return np.where(self.shocked[firm], ramp, 0.0) if self.shock_size > 0 else np.zeros(np.shape(ramp))

    def slide_level(self, firm: np.ndarray | slice, day: np.ndarray | int) -> np.ndarray:
        """0 before the firm's slide starts (or if it has none), rising to 1 over `slide_months`."""
        start = self.slide_start[firm]
        return np.where(start == NO_DAY, 0.0, _ramp(np.asarray(day) - start.astype(np.int64), self.slide_months))

    def log_hazard(self, day: int) -> np.ndarray:
        """Per firm, what the shock and the slides add to the log monthly hazard of the month holding `day`."""
        every = slice(None)
        return self.shock_size * self.shock_level(every, day) + self.slide_size * self.slide_level(every, day)

    @property
    def severity(self) -> tuple[float, float]:
        """Shock and slide sizes relative to the defaults: the data moves (`SHOCK_*`, `SLIDE_*`) scale with them."""
        return self.shock_size / DEFAULT_SHOCK_SIZE, self.slide_size / DEFAULT_SLIDE_SIZE

    def sales_factor(self, seller: np.ndarray, day: np.ndarray) -> np.ndarray:
        """Multiplier of an invoice's amount for a seller under stress on that day."""
        shock, slide = self.severity
        return np.exp(-SHOCK_SALES * shock * self.shock_level(seller, day)
                      - SLIDE_SALES * slide * self.slide_level(seller, day))

    def late_logit(self, buyer: np.ndarray, day: np.ndarray) -> np.ndarray:
        """What stress adds to the logit of a buyer paying an invoice of that day late."""
        shock, slide = self.severity
        return SHOCK_LATE * shock * self.shock_level(buyer, day) + SLIDE_LATE * slide * self.slide_level(buyer, day)

    def year_levels(self, years: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Shock and slide levels averaged over each year's months: two arrays (firms, years)."""
        every = slice(None)
        shock = np.zeros((len(self.shocked), len(years)))
        slide = np.zeros_like(shock)
        for j, y in enumerate(years):
            for m in range(12):
                day = int(np.datetime64(f"{int(y)}-{m + 1:02d}-16", "D").astype(np.int64))
                shock[:, j] += self.shock_level(every, day) / 12
                slide[:, j] += self.slide_level(every, day) / 12
        return shock, slide

    def drop_slides_after_default(self, default_day: np.ndarray) -> None:
        """Forget the slides of firms that defaulted before their slide would have started (they never slid)."""
        self.slide_start = np.where(default_day <= self.slide_start, NO_DAY, self.slide_start)

    def truth(self, cfg: SynthConfig) -> dict:
        """The plants as `ground_truth.json` and `world.json` record them."""
        sliding = self.slide_start != NO_DAY
        return {
            "shock": {
                "segment": {"column": "industry", "section": cfg.shock_section},
                "start": _iso(self.shock_start), "ramp_months": SHOCK_RAMP_MONTHS,
                "log_hazard_increase": self.shock_size, "firms": int(self.shocked.sum()),
                "moves": _scaled({"invoiced_sales_log_points": -SHOCK_SALES, "late_payment_logit": SHOCK_LATE,
                                  "revenue_log_points": -SHOCK_REVENUE, "roa": -SHOCK_ROA}, self.severity[0]),
            },
            "slides": {
                "firms": int(sliding.sum()), "share": cfg.slide_share, "ramp_months": self.slide_months,
                "log_hazard_increase": self.slide_size,
                "first_start": _iso(int(self.slide_start[sliding].min())) if sliding.any() else None,
                "last_start": _iso(int(self.slide_start[sliding].max())) if sliding.any() else None,
                "moves": _scaled({"invoiced_sales_log_points": -SLIDE_SALES, "late_payment_logit": SLIDE_LATE,
                                  "revenue_log_points": -SLIDE_REVENUE, "rd_intensity_log_points": -SLIDE_RD,
                                  "roa": -SLIDE_ROA, "leverage_z": SLIDE_LEVERAGE_Z,
                                  "tax_standing_z": -SLIDE_TAX_Z}, self.severity[1]),
                "file": "firm_truth.parquet",
            },
        }


def _ramp(days_since: np.ndarray, months: int) -> np.ndarray:
    """0 before day 0, then (days + one month) / ramp length, capped at 1: the start month already counts."""
    days_since = np.asarray(days_since, dtype=np.float64)
    return np.where(days_since >= 0, np.minimum(1.0, (days_since + MONTH_DAYS) / (months * MONTH_DAYS)), 0.0)


def _scaled(moves: dict[str, float], scale: float) -> dict[str, float]:
    return {k: round(v * scale, 4) for k, v in moves.items()}


def _iso(day: int) -> str:
    return str(np.datetime64(int(day), "D"))


def shock_start_day(cfg: SynthConfig) -> int:
    """Day number of the shock's first day: `cfg.shock_start`, checked to fall within the world's years."""
    day = day_of(cfg.shock_start) if cfg.shock_start else year_start(cfg.end_year) + 120  # 1 May of the last year
    if not year_start(cfg.start_year) < day <= cfg.snapshot_day:
        raise ValueError(f"shock_start must fall within {cfg.start_year + 1}..{cfg.end_year}; got {_iso(day)}.")
    return int(day)


def make_plants(firms: Firms, network: Network, cfg: SynthConfig, rng: np.random.Generator) -> Plants:
    """Choose the shocked firms (the configured section) and the sliding firms with their start months: firms at
    least a year old that buy from a supplier on the platform at the start (so their slide reaches invoices: sales
    shrink and payments turn late)."""
    start = shock_start_day(cfg)
    shocked = (firms.section == cfg.shock_section) if cfg.shock_section else np.zeros(firms.n, bool)
    months = np.arange(cfg.loan_start_year * 12, (cfg.end_year + 1) * 12)
    month_day = (months - 1970 * 12).astype("datetime64[M]").astype("datetime64[D]").astype(np.int64)
    pick = month_day[rng.integers(0, len(months), firms.n)]
    chosen = (rng.random(firms.n) < cfg.slide_share) & (firms.founded <= pick - 365)
    active = (network.start <= pick[network.buyer]) & (network.end > pick[network.buyer])
    buying = np.zeros(firms.n, bool)
    buying[network.buyer[active]] = True
    chosen &= buying
    slide_start = np.where(chosen, pick, NO_DAY).astype(np.int64)
    return Plants(shocked=shocked, shock_start=start, shock_size=cfg.shock_size, slide_start=slide_start,
                  slide_months=cfg.slide_months, slide_size=cfg.slide_size)


def apply_to_paths(paths: Paths, plants: Plants) -> None:
    """Move the yearly latent states of shocked and sliding firms by their yearly mean levels (in place)."""
    shock, slide = plants.year_levels(paths.years)
    shock_scale, slide_scale = plants.severity
    shock, slide = shock * shock_scale, slide * slide_scale
    recent = slice(len(paths.full_years) - len(paths.years), None)
    paths.log_revenue_full[:, recent] -= (SHOCK_REVENUE * shock + SLIDE_REVENUE * slide).astype(np.float32)
    rd = paths.rd_intensity_full[:, recent]
    paths.rd_intensity_full[:, recent] = (rd * np.exp(-SLIDE_RD * slide)).astype(np.float32)
    paths.roa -= (SHOCK_ROA * shock + SLIDE_ROA * slide).astype(np.float32)
    paths.leverage_z += (SLIDE_LEVERAGE_Z * slide).astype(np.float32)
    paths.tax_z -= (SLIDE_TAX_Z * slide).astype(np.float32)


def firm_truth_table(uscc: pa.Array, default_day: np.ndarray, plants: Plants) -> pa.Table:
    """The `firm_truth` table: `uscc`, `default_date` (the firm's default, first 90+ days past due or distress;
    empty if none by the snapshot), `shocked` (in the shocked section) and `slide_start` (empty if no slide)."""
    return pa.table({"uscc": uscc, "default_date": A.dates(default_day), "shocked": pa.array(plants.shocked),
                     "slide_start": A.dates(plants.slide_start)})
