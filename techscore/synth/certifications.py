"""The certification ladder, acquired over time with plausible prerequisites.

- tech_sme (from 2017): an SME doing R&D (true mean intensity >= 2%), likelier for capable firms;
- high_tech: true mean R&D intensity over the threshold of its revenue band (5% / 4% / 3%) and at least one
  granted class I or II right, certified after that grant;
- innovative_sme (from June 2022) after tech_sme or high_tech; specialized_sme after innovative_sme;
  little_giant after specialized_sme;
- gazelle: the year after three years of revenue growth above 20% a year at 10 million yuan or more;
- unicorn: a handful of young firms with outstanding capability and growth.
Every date is after founding, before the firm's default and not after the snapshot date.
"""

from __future__ import annotations

import numpy as np

from techscore.sources.schema import CERTIFICATIONS, IP_KINDS
from techscore.synth._arrow import NO_DAY
from techscore.synth.config import SynthConfig, day_of, year_start
from techscore.synth.firms import Firms
from techscore.synth.ip import CLASS_I, CLASS_II
from techscore.synth.paths import Paths


def _years(x: np.ndarray) -> np.ndarray:
    return np.round(np.asarray(x) * 365.25).astype(np.int64)


def first_grant(ip_rows: dict[str, np.ndarray], idx: np.ndarray, kinds: tuple[str, ...]) -> np.ndarray:
    """Earliest grant day per firm of `idx` among rights of `kinds` (NO_DAY if none)."""
    sel = np.isin(ip_rows["kind"], [IP_KINDS.index(k) for k in kinds]) & (ip_rows["granted"] != NO_DAY)
    out = np.full(len(idx), NO_DAY, dtype=np.int64)
    np.minimum.at(out, np.searchsorted(idx, ip_rows["firm"][sel]), ip_rows["granted"][sel])
    return out


def make_certifications(firms: Firms, paths: Paths, ip_rows: dict[str, np.ndarray], default_day: np.ndarray,
                        idx: np.ndarray, cfg: SynthConfig, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Certification dates (day numbers, NO_DAY if never) of firms `idx`."""
    n = len(idx)
    founded = firms.founded[idx]
    alive = paths.alive_full[idx]
    rd = paths.rd_intensity_full[idx]
    rd_mean = np.where(alive, rd, 0).sum(axis=1) / np.maximum(alive.sum(axis=1), 1)
    revenue = np.exp(firms.log_revenue_mature[idx])
    u = rng.random((8, n))
    does_rd = ~firms.rd_zero[idx]
    tech = firms.tech[idx]
    out: dict[str, np.ndarray] = {}

    def when(ok: np.ndarray, day: np.ndarray) -> np.ndarray:
        day = np.maximum(day, founded + 1)
        return np.where(ok, day, NO_DAY)

    sme = (firms.size_band[idx] < 3) & (revenue <= 2e8)
    ok = does_rd & sme & (rd_mean >= 0.02) & (u[0] < 1 / (1 + np.exp(-0.5 - tech)))
    out["tech_sme"] = when(ok, np.maximum(founded + 365, day_of("2017-06-01")) + _years(4.0 * u[1]))
    threshold = np.select([revenue <= 5e7, revenue <= 2e8], [0.05, 0.04], 0.03)
    first_ip = first_grant(ip_rows, idx, CLASS_I + CLASS_II)
    ok = does_rd & (rd_mean >= threshold) & (first_ip != NO_DAY) & (u[2] < 0.75)
    start = np.maximum(np.maximum(founded + 365, first_ip + _years(0.1 + 0.9 * u[3])), day_of("2008-07-01"))
    out["high_tech"] = when(ok, start + _years(2.0 * u[4]))
    out = {k: _clip(v, default_day[idx], cfg) for k, v in out.items()}
    base = np.minimum(out["tech_sme"], out["high_tech"])
    v = rng.random((6, n))
    ok = (base != NO_DAY) & (v[0] < 0.45)
    out["innovative_sme"] = _clip(when(ok, np.maximum(base + 90, day_of("2022-06-01")) + _years(2.5 * v[1])), default_day[idx], cfg)
    prev = out["innovative_sme"]
    ok = (prev != NO_DAY) & (v[2] < 0.4)
    out["specialized_sme"] = _clip(when(ok, prev + _years(0.3 + 1.7 * v[3])), default_day[idx], cfg)
    prev = out["specialized_sme"]
    ok = (prev != NO_DAY) & (firms.size_band[idx] >= 1) & (v[4] < 0.2)
    out["little_giant"] = _clip(when(ok, prev + _years(0.5 + 2.5 * v[5])), default_day[idx], cfg)
    # gazelle: first year with 3-year revenue CAGR > 20%, revenue >= 10 million and age <= 12
    lr = paths.log_revenue_full[idx]
    fy = paths.full_years
    fast = (lr - np.roll(lr, 3, axis=1) > 3 * np.log(1.2)) & (lr >= np.log(1e7)) & alive & np.roll(alive, 3, axis=1)
    fast &= (fy[None, :] - firms.founded_year[idx][:, None] <= 12) & (fy[None, :] >= max(cfg.start_year - 1, fy[0] + 3))
    first = np.where(fast.any(axis=1), fy[np.argmax(fast, axis=1)], 0)
    ok = fast.any(axis=1) & (u[5] < 0.6)
    out["gazelle"] = _clip(when(ok, year_start(first + 1) + 180 + _years(0.25 * u[6])), default_day[idx], cfg)
    star = (tech + firms.inno_effect[idx] + firms.growth_effect[idx]) / np.sqrt(3)
    ok = (star > 3.3) & (firms.founded_year[idx] >= 2010)
    out["unicorn"] = _clip(when(ok, founded + _years(3 + 6 * u[7])), default_day[idx], cfg)
    return {c: out[c] for c in CERTIFICATIONS}


def _clip(day: np.ndarray, default_day: np.ndarray, cfg: SynthConfig) -> np.ndarray:
    """No certificate after the snapshot or on/after the firm's default."""
    return np.where((day <= cfg.snapshot_day) & (day < default_day), day, NO_DAY)
