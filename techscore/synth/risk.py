"""The latent default model: a monthly hazard driven by each firm's true state, with contagion through trade.

log h(i, month) = b0 + macro(year) + sum_k direction_k * coef_k * z_k(i, year - 1) + frailty(i) + noise(i, year)
                  + contagion * (share of i's trade with partners that defaulted in the last 12 months)

`z_k` standardises the firm's TRUE quantity behind planted feature k (`DRIVERS`) at the end of the previous year
(the last balance-sheet date; the states are persistent AR(1) paths, so the firm-year state matters and older
filings carry less information). The written tables observe
these quantities with noise and with reporting lags, so no feature reveals them exactly. Frailty and the
firm-year noise are never observed; they keep a good model's AUC well below 1 (crude proxies of eight drivers
reach an out-of-time AUC of about 0.78). `b0` is calibrated by secant steps on full simulations (common random
numbers) so that loans, weighted by the loan-issuance intensity, default within 12 months at the target rate.
A firm defaults at most once: its default date is the first 90+ days past due of its loans (for a firm without
loans, its distress), after which it exits (no new loans, trade stops, patents lapse). Young micro firms carry
the highest hazard, so about 40% of firms exit within the ten years while ~3% of loans default within 12 months.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from techscore.synth._arrow import NO_DAY
from techscore.synth.config import SynthConfig, year_start
from techscore.synth.firms import Firms
from techscore.synth.ip import expected_invention_stock
from techscore.synth.network import Network
from techscore.synth.paths import Paths
from techscore.synth.plants import Plants


@dataclass(frozen=True)
class Driver:
    feature: str
    direction: int
    coef: float
    latent: str


DRIVERS: tuple[Driver, ...] = (
    Driver("rd_intensity_3y", -1, 0.72, "log of the true 3-year mean R&D intensity"),
    Driver("ip_invention_in_force", -1, 0.72, "log1p of the expected stock of granted invention patents in force"),
    Driver("inno_points", -1, 0.72, "latent innovation capacity (drives tech contracts, venture capital, R&D platforms)"),
    Driver("sc_late_rate_as_buyer", 1, 0.96, "latent propensity to pay suppliers late"),
    Driver("sc_customer_hhi", 1, 0.72, "true customer concentration (HHI of expected sales shares)"),
    Driver("fin_leverage", 1, 0.96, "true liabilities / assets"),
    Driver("fin_roa", -1, 0.84, "true return on assets"),
    Driver("fin_revenue_growth", -1, 0.72, "true log revenue growth"),
    Driver("fin_tax_grade", 1, 0.96, "latent tax-compliance weakness behind the published grade"),
    Driver("profile_age_years", -1, 0.84, "log of the firm's age"),
)
"""Planted drivers: feature id (notes/FEATURES.md), direction of risk, log-hazard per standard deviation."""

CONTAGION_FEATURE = "sc_defaulted_partner_share"
NOISE_FEATURES: tuple[str, ...] = (
    "profile_registered_capital", "ip_claims_per_patent", "inno_graduates_hired", "inno_awards", "inno_standards_led",
)
"""Features generated independently of risk."""

LAGGED = True
"""The hazard of year t uses the drivers' state at the end of year t-1 (the last balance-sheet date)."""

MACRO_HAZARD: dict[int, float] = {2016: -0.1, 2017: -0.1, 2019: 0.05, 2020: 0.3, 2022: 0.2, 2023: 0.15, 2024: 0.05}


@dataclass
class Defaults:
    default_day: np.ndarray  # per firm, NO_DAY if the firm never defaults
    eta: np.ndarray  # (n, years) calibrated log monthly hazard without contagion
    intercept: float
    driver_sd: dict[str, float]
    contagion_sd: float
    month_hazard: np.ndarray | None = None  # (n, months) the monthly hazard drawn from, contagion included


def driver_values(firms: Firms, paths: Paths, network: Network, cfg: SynthConfig) -> dict[str, np.ndarray]:
    """Each driver's true quantity per firm and year, oriented as its feature (higher = more of the feature)."""
    rd = paths.rd_intensity
    rd3 = (rd + np.roll(rd, 1, axis=1) + np.roll(rd, 2, axis=1)) / 3
    rd3[:, :2] = rd[:, :2]
    mid = year_start(paths.years) + 182
    age = np.maximum((mid[None, :] - firms.founded[:, None]) / 365.25, 0.1)
    shape = rd.shape
    return {
        "rd_intensity_3y": np.log(rd3 + 0.005),
        "ip_invention_in_force": np.log1p(expected_invention_stock(firms, paths, np.arange(firms.n))),
        "inno_points": paths.inno_z,
        "sc_late_rate_as_buyer": paths.late_z,
        "sc_customer_hhi": np.broadcast_to(network.customer_hhi[:, None], shape),
        "fin_leverage": paths.leverage,
        "fin_roa": paths.roa,
        "fin_revenue_growth": np.clip(paths.growth, -1.0, 1.0),
        "fin_tax_grade": -paths.tax_z,
        "profile_age_years": np.log(age),
    }


def log_hazard(firms: Firms, paths: Paths, network: Network, cfg: SynthConfig,
               rng: np.random.Generator) -> tuple[np.ndarray, dict[str, float]]:
    """Log monthly hazard per firm and year, before the intercept and contagion; and each driver's sd."""
    alive = paths.recent(paths.alive_full)
    values = driver_values(firms, paths, network, cfg)
    eta = np.zeros(alive.shape, dtype=np.float32)
    sds: dict[str, float] = {}
    for d in DRIVERS:
        x = np.asarray(values[d.feature], dtype=np.float64)
        x = np.concatenate([x[:, :1], x[:, :-1]], axis=1) if LAGGED else x
        mean, sd = x[alive].mean(), x[alive].std()
        sds[d.feature] = float(sd)
        eta += (d.direction * d.coef * cfg.signal * (x - mean) / sd).astype(np.float32)
    eta += np.array([MACRO_HAZARD.get(int(y), 0.0) for y in paths.years], dtype=np.float32)[None, :]
    eta += firms.frailty[:, None].astype(np.float32)
    eta += rng.normal(0, cfg.year_noise_sd, eta.shape).astype(np.float32)
    return eta, sds


def month_starts(cfg: SynthConfig) -> np.ndarray:
    """Day number (days since 1970-01-01) of the first day of each simulated month, and of the month after the last."""
    months = np.arange(cfg.start_year * 12, (cfg.end_year + 1) * 12 + 1)
    return (np.array(months - 1970 * 12).astype("datetime64[M]").astype("datetime64[D]")).astype(np.int64)


def simulate(eta: np.ndarray, network: Network, firms: Firms, cfg: SynthConfig, seed: np.random.SeedSequence,
             track: bool = False, hazard_out: np.ndarray | None = None,
             plants: Plants | None = None) -> tuple[np.ndarray, float]:
    """Monthly default draws with contagion; returns default days and the sd of exposure over firm-months.
    `hazard_out` (firms x months), when given, receives each firm-month's hazard, contagion included; `plants` adds
    the planted shock and slides to each month's log hazard."""
    rng = np.random.default_rng(seed)
    n = firms.n
    starts = month_starts(cfg)
    base = np.exp(eta)
    default_day = np.full(n, NO_DAY, dtype=np.int64)
    recent = np.zeros(n, dtype=np.float32)
    history: list[np.ndarray] = []
    s1 = s2 = count = 0.0
    for m in range(len(starts) - 1):
        d0, d1 = starts[m], starts[m + 1]
        t = m // 12
        exposure = network.weights @ recent
        h = base[:, t]
        if plants is not None:
            h = h * np.exp(plants.log_hazard(int(d0) + 15)).astype(np.float32)
        nz = np.flatnonzero(exposure)
        if len(nz):
            h = h.copy()
            h[nz] *= np.exp(cfg.contagion * exposure[nz])
        if hazard_out is not None:
            hazard_out[:, m] = h
        at_risk = (firms.founded < d1) & (default_day == NO_DAY)
        u = rng.random(n)
        new = np.flatnonzero(at_risk & (u < -np.expm1(-h)))
        day = d0 + np.floor(rng.random(len(new)) * (d1 - d0)).astype(np.int64)
        default_day[new] = np.maximum(day, firms.founded[new] + 1)
        if track:
            e = exposure[at_risk]
            s1, s2, count = s1 + float(e.sum()), s2 + float((e.astype(np.float64) ** 2).sum()), count + len(e)
        recent[new] = 1.0
        history.append(new)
        if len(history) > 12:
            recent[history.pop(0)] = 0.0
    sd = float(np.sqrt(max(s2 / count - (s1 / count) ** 2, 0.0))) if count else 0.0
    return default_day, sd


WINDOW_SHORTFALL = 1.1
"""Loans shorter than 12 months (and issue dates spread over the year) lower the rate the mid-year estimate
below gives; the calibration aims this much higher (measured over worlds of 30,000 firms)."""


def loan_default_rate(default_day: np.ndarray, intensity: np.ndarray, firms: Firms, cfg: SynthConfig) -> float:
    """Expected 12-month default rate of loans issued mid-year, weighted by the loan intensity (complete windows)."""
    num = den = 0.0
    for t, year in enumerate(range(cfg.start_year, cfg.end_year)):
        if year < cfg.loan_start_year:
            continue
        d = year_start(year) + 182
        w = intensity[:, t] * ((firms.founded < d) & (default_day >= d))
        num += float((w * (default_day < d + 365)).sum())
        den += float(w.sum())
    return num / den if den else 0.0


def make_defaults(firms: Firms, paths: Paths, network: Network, intensity: np.ndarray, cfg: SynthConfig,
                  rng: np.random.Generator, plants: Plants | None = None) -> Defaults:
    """Calibrate the intercept to the target loan default rate, then draw every firm's default date."""
    eta, sds = log_hazard(firms, paths, network, cfg, rng)
    seed = np.random.SeedSequence(int(rng.integers(0, 2**63)))
    target = cfg.default_rate * WINDOW_SHORTFALL
    b = float(np.log(target / 12)) - 1.0
    best = (np.inf, b, None, 0.0)
    previous: tuple[float, float] | None = None
    slope = 0.5  # d log(rate) / d b: below 1, since the riskiest firms default whatever b is
    for _ in range(6):  # secant steps on log(rate); common random numbers keep the rate smooth in b
        default_day, sd = simulate(eta + b, network, firms, cfg, seed, track=True, plants=plants)
        rate = max(loan_default_rate(default_day, intensity, firms, cfg), 1e-6)
        gap = abs(np.log(rate / target))
        if gap < best[0]:
            best = (gap, b, default_day, sd)
        if gap < 0.04:
            break
        if previous is not None and abs(b - previous[0]) > 1e-6:
            slope = float(np.clip((np.log(rate) - np.log(previous[1])) / (b - previous[0]), 0.1, 1.5))
        previous = (b, rate)
        b += np.log(target / rate) / slope
    _, b, default_day, sd = best
    hazard = np.empty((firms.n, len(month_starts(cfg)) - 1), dtype=np.float32)
    replay, _ = simulate(eta + b, network, firms, cfg, seed, hazard_out=hazard, plants=plants)  # common random numbers: same draws
    if not np.array_equal(replay, default_day):
        raise RuntimeError("replaying the default simulation gave other default days; the hazards would not match.")
    return Defaults(default_day=default_day, eta=eta + b, intercept=b, driver_sd=sds, contagion_sd=sd,
                    month_hazard=hazard)
