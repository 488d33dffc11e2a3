"""Intellectual-property rights from an R&D-driven filing process.

Each firm files rights of each kind at a yearly Poisson rate that grows with its R&D spending (trademarks with its
revenue), scaled by a latent patenting propensity and by industry (software copyrights in I, utility models in C).
Applications are decided after a kind-specific lag (inventions 1.5-4 years); some are rejected (status invalid at
the decision date), undecided ones at the snapshot are pending. Granted rights expire at the legal term from
filing (invention 20 years, utility model 10, design 15, or 10 if filed before 2021-06-01), lapse earlier when
fees stop (more often after the firm defaults), a few are transferred out or invalidated, and some in force are
pledged. Citations grow with age and the firm's patenting quality; claims are NOISE (independent of everything,
the patent's kind included, so a firm's mean claims says nothing of its mix of inventions and utility models;
design patents have no claims).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from techscore.sources.schema import IP_KINDS, IP_STATUSES
from techscore.synth import _arrow as A
from techscore.synth._arrow import NO_DAY
from techscore.synth.config import SynthConfig, day_of, year_start
from techscore.synth.firms import Firms
from techscore.synth.paths import Paths

CLASS_I: tuple[str, ...] = ("invention", "ic_layout", "plant_variety")
CLASS_II: tuple[str, ...] = ("utility_model", "design", "software_copyright")
_ID_PREFIX = {"invention": "CNI", "utility_model": "CNU", "design": "CND", "trademark": "TM",
              "software_copyright": "SR", "ic_layout": "BS", "plant_variety": "PV"}
# kind -> (decision lag lo, hi in years, grant probability, lapse hazard per year)
_PROCESS = {
    "invention": (1.5, 4.0, 0.60, 0.04), "utility_model": (0.4, 1.2, 0.90, 0.10),
    "design": (0.3, 0.9, 0.92, 0.10), "trademark": (0.6, 1.5, 0.85, 0.0),
    "software_copyright": (0.05, 0.25, 0.99, 0.0), "ic_layout": (0.3, 0.8, 0.95, 0.05),
    "plant_variety": (1.0, 3.0, 0.70, 0.05),
}
_KIND = {k: i for i, k in enumerate(IP_KINDS)}
_STATUS = {s: i for i, s in enumerate(IP_STATUSES)}
_DESIGN_LAW_2021 = day_of("2021-06-01")


def kind_rates(firms: Firms, paths: Paths, idx: np.ndarray) -> np.ndarray:
    """Expected filings per year: shape (kinds, len(idx), full years), float32."""
    log_rev = paths.log_revenue_full[idx]
    rd = np.exp(log_rev) * paths.rd_intensity_full[idx] / 1e6  # R&D in million yuan
    sec = firms.section[idx][:, None]
    ipq = firms.ip_propensity[idx][:, None]
    tech = firms.tech[idx][:, None]
    ys = year_start(paths.full_years)
    exposure = np.clip((ys[None, :] + 365 - firms.founded[idx][:, None]) / 365.0, 0.0, 1.0).astype(np.float32)
    c, i_, m = (sec == "C"), (sec == "I"), (sec == "M")
    out = np.zeros((len(IP_KINDS), len(idx), len(paths.full_years)), dtype=np.float32)
    rd55 = rd**0.55
    out[_KIND["invention"]] = 0.22 * rd55 * np.exp(0.5 * ipq + 0.3 * tech) * np.where(c | i_ | m, 1.0, 0.4)
    out[_KIND["utility_model"]] = 0.35 * rd**0.5 * np.exp(0.4 * ipq) * np.where(c, 1.5, np.where(m, 0.6, np.where(i_, 0.2, 0.5)))
    out[_KIND["design"]] = 0.10 * rd**0.4 * np.where(c, 1.0, 0.3)
    out[_KIND["software_copyright"]] = 0.35 * rd**0.5 * np.where(i_, 2.0, np.where(m, 1.0, np.where(c, 0.4, 0.2))) + 0.02
    out[_KIND["trademark"]] = 0.08 * np.exp(0.3 * (log_rev - 16.0))
    out[_KIND["ic_layout"]] = 0.05 * rd**0.5 * (firms.industry[idx] == "C39")[:, None]
    out[_KIND["plant_variety"]] = 0.08 * (sec == "A")
    return out * exposure[None, :, :]


def expected_invention_stock(firms: Firms, paths: Paths, idx: np.ndarray) -> np.ndarray:
    """Expected granted invention patents in force per firm and year (the true quantity behind the IP driver)."""
    lam = kind_rates(firms, paths, idx)[_KIND["invention"]]
    fy, ry = paths.full_years[:, None], paths.years[None, :]
    lag = ry - fy
    weight = np.where((lag >= 2) & (lag < 20), _PROCESS["invention"][2] * np.exp(-0.04 * lag), 0.0).astype(np.float32)
    return lam @ weight


def _years(days: np.ndarray) -> np.ndarray:
    return np.round(np.asarray(days) * 365.25).astype(np.int64)


def make_ip(firms: Firms, paths: Paths, default_day: np.ndarray, idx: np.ndarray, cfg: SynthConfig,
            rng: np.random.Generator, first_id: int) -> tuple[dict[str, pa.Array], dict[str, np.ndarray]]:
    """IP rows of firms `idx`; returns the table's columns and per-row arrays (firm, kind, granted, status)."""
    snapshot = cfg.snapshot_day
    lam = kind_rates(firms, paths, idx)
    ys = year_start(paths.full_years)
    # no filings after a firm's default year
    dflt_year_start = np.where(default_day[idx] == NO_DAY, NO_DAY, default_day[idx])
    lam *= (ys[None, :] <= dflt_year_start[:, None])[None, :, :]
    counts = rng.poisson(lam).ravel()
    cell = np.repeat(np.arange(counts.size), counts)
    k, rest = np.divmod(cell, lam.shape[1] * lam.shape[2])
    local, t = np.divmod(rest, lam.shape[2])
    firm = idx[local]
    n = len(cell)
    lo = np.maximum(ys[t], firms.founded[firm])
    hi = np.minimum(ys[t] + 365, np.minimum(default_day[firm], snapshot + 1))
    filed = lo + np.floor(rng.random(n) * np.maximum(hi - lo, 1)).astype(np.int64)
    lag_lo = np.array([_PROCESS[x][0] for x in IP_KINDS])[k]
    lag_hi = np.array([_PROCESS[x][1] for x in IP_KINDS])[k]
    p_grant = np.array([_PROCESS[x][2] for x in IP_KINDS])[k]
    ipq = firms.ip_propensity[firm]
    p_grant = np.where(k == _KIND["invention"], np.clip(p_grant + 0.08 * ipq, 0.2, 0.9), p_grant)
    decision = filed + _years(rng.uniform(lag_lo, lag_hi))
    granted_ok = rng.random(n) < p_grant
    status = np.full(n, _STATUS["pending"])
    granted = np.full(n, NO_DAY, dtype=np.int64)
    status_date = np.full(n, NO_DAY, dtype=np.int64)
    decided = decision <= snapshot
    rejected = decided & ~granted_ok
    status[rejected] = _STATUS["invalid"]
    status_date[rejected] = decision[rejected]
    g = decided & granted_ok
    granted[g] = decision[g]
    status[g] = _STATUS["granted"]
    # legal term
    term = np.select(
        [k == _KIND["invention"], k == _KIND["design"], k == _KIND["software_copyright"], k == _KIND["trademark"],
         k == _KIND["plant_variety"]],
        [20.0, np.where(filed >= _DESIGN_LAW_2021, 15.0, 10.0), 50.0, 10.0, 15.0], 10.0)
    from_grant = (k == _KIND["trademark"]) | (k == _KIND["plant_variety"])
    expires = np.where(from_grant, granted, filed) + _years(term)
    renewed = (k == _KIND["trademark"]) & (expires <= snapshot) & (rng.random(n) < 0.7)
    expires = np.where(renewed, expires + _years(10.0), expires)
    expires = np.where(g, expires, NO_DAY)
    # lapse (fees stop), more so after the firm's default; transfers; invalidations; expiry
    hazard = np.array([_PROCESS[x][3] for x in IP_KINDS])[k] * np.exp(-0.3 * ipq)
    natural = np.where(hazard > 0, granted + _years(rng.exponential(1.0, n) / np.maximum(hazard, 1e-9)), NO_DAY)
    d = default_day[firm]
    after_default = np.where((d != NO_DAY) & (rng.random(n) < 0.8), np.maximum(d, granted) + _years(rng.uniform(0.3, 1.5, n)), NO_DAY)
    lapse = np.minimum(np.minimum(natural, after_default), expires)
    transfer = np.where(rng.random(n) < 0.02, granted + _years(rng.uniform(0.2, 6.0, n)), NO_DAY)
    invalidate = np.where((k <= _KIND["utility_model"]) & (rng.random(n) < 0.005), granted + _years(rng.uniform(0.5, 5, n)), NO_DAY)
    first = np.minimum(np.minimum(lapse, transfer), invalidate)
    happens = g & (first <= snapshot)
    status_date = np.where(happens, first, status_date)
    status = np.where(happens & (first == lapse), _STATUS["lapsed"], status)
    status = np.where(happens & (first == transfer) & (first < lapse), _STATUS["transferred_out"], status)
    status = np.where(happens & (first == invalidate) & (first < lapse) & (first < transfer), _STATUS["invalid"], status)
    # pledges of rights in force (patents and trademarks), likelier for leveraged firms
    pledgeable = (status == _STATUS["granted"]) & np.isin(k, [_KIND["invention"], _KIND["utility_model"], _KIND["trademark"]])
    p_pledge = 1 / (1 + np.exp(3.0 - 0.5 * firms.leverage_effect[firm]))
    pledged = pledgeable & (rng.random(n) < p_pledge)
    pledged_date = np.where(pledged, granted + np.floor(rng.random(n) * np.maximum(snapshot - granted, 1)).astype(np.int64), NO_DAY)
    # citations grow with age and quality; claims are noise
    patent = k <= _KIND["design"]
    rate = np.select([k == _KIND["invention"], k == _KIND["utility_model"]], [0.5, 0.15], 0.02) * np.exp(0.4 * ipq + 0.2 * firms.tech[firm])
    years_out = np.maximum(snapshot - filed, 0) / 365.25
    citations = rng.poisson(rate * years_out * rng.gamma(2.0, 0.5, n) * (g | (status != _STATUS["pending"])))
    claimed = (k == _KIND["invention"]) | (k == _KIND["utility_model"])
    claims = 1 + rng.poisson(6.0, n)
    # order rows by firm, then filing date
    order = np.lexsort((filed, firm))
    ids = first_id + np.arange(n)
    prefixes = pa.array([_ID_PREFIX[x] for x in IP_KINDS])
    ip_id = pc.binary_join_element_wise(
        A.take(prefixes, k[order]), A.numbered("", ids, 10), "")
    cols = {
        "uscc": A.take(firms.uscc, firm[order]),
        "ip_id": ip_id,
        "kind": A.take(pa.array(IP_KINDS), k[order]),
        "filed": A.dates(filed[order]),
        "granted": A.dates(granted[order]),
        "status": A.take(pa.array(IP_STATUSES), status[order]),
        "status_date": A.dates(status_date[order]),
        "expires": A.dates(expires[order]),
        "pledged": pa.array(pledged[order]),
        "pledged_date": A.dates(pledged_date[order]),
        "citations": A.ints(citations[order], mask=~patent[order]),
        "claims": A.ints(claims[order], mask=~claimed[order]),
    }
    rows = {"firm": firm[order], "kind": k[order], "granted": granted[order], "status": status[order]}
    return cols, rows
