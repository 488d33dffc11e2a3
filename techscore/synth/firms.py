"""Firms: industry, region, founding date, size, codes, names, registered capital and latent traits.

Latent traits (capability, management quality, frailty, habits) are never written; they drive the observed
tables (see `techscore.synth.paths`) and the default hazard (`techscore.synth.risk`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from techscore.sources.industry import TECH_DIVISIONS
from techscore.sources.uscc import complete
from techscore.synth import regions
from techscore.synth.config import SynthConfig, year_of, year_start

# division -> (weight, base R&D intensity); tech-heavy divisions carry ~62% of firms
DIVISIONS: dict[str, tuple[float, float]] = {
    "C26": (4, 0.030), "C27": (5, 0.055), "C34": (5, 0.035), "C35": (5, 0.040), "C38": (6, 0.040),
    "C39": (8, 0.065), "C40": (3, 0.060), "I63": (3, 0.045), "I64": (6, 0.070), "I65": (12, 0.090),
    "M73": (3, 0.120), "M74": (4, 0.050), "M75": (4, 0.070),
    "C13": (1, 0.008), "C17": (1, 0.008), "C18": (1, 0.006), "C22": (1, 0.010), "C29": (2, 0.020),
    "C30": (1, 0.012), "C33": (2, 0.015), "C36": (2, 0.030), "C37": (1, 0.025), "C41": (0.5, 0.010),
    "A01": (1, 0.005), "B06": (0.3, 0.004), "D44": (0.7, 0.006), "E48": (3, 0.004), "F51": (6, 0.003),
    "F52": (3, 0.002), "G54": (2, 0.002), "H62": (1, 0.001), "K70": (0.5, 0.001), "L72": (4, 0.005),
    "N77": (1, 0.010), "O80": (0.5, 0.002), "P83": (0.5, 0.010), "Q84": (0.5, 0.010), "R86": (1, 0.010),
}
DIVISION_CODES = np.array(list(DIVISIONS))
DIVISION_WEIGHTS = np.array([w for w, _ in DIVISIONS.values()]) / sum(w for w, _ in DIVISIONS.values())
DIVISION_RD = np.array([r for _, r in DIVISIONS.values()])
DIVISION_TECH = np.isin(DIVISION_CODES, TECH_DIVISIONS)
DIVISION_SECTION = np.array([c[0] for c in DIVISION_CODES])

SIZE_BANDS: tuple[str, ...] = ("micro", "small", "medium", "large")
_SIZE_SHARES = np.array([0.45, 0.35, 0.15, 0.05])
_SIZE_LOG_REVENUE = np.log([2.5e6, 2.0e7, 1.2e8, 8.0e8])
CHAIN_LEADER_SHARE = 0.005

_SYLLABLES = np.array(list("华创新科智联博达信通睿瑞恒泰宏远兴盛鼎晟光源天成安康云海星辰中汇海纳嘉和启明德赛微芯锐捷凯迪铭宇腾飞聚能卓越思维金石蓝图"))
_SECTION_WORDS: dict[str, tuple[str, ...]] = {
    "C": ("科技", "电子", "精密制造", "新材料", "智能装备", "生物医药"),
    "I": ("信息技术", "软件", "网络科技", "数据科技", "智能科技"),
    "M": ("科技", "技术服务", "检测技术", "生物科技", "工程技术"),
    "A": ("农业科技", "生态农业"), "B": ("矿业",), "D": ("能源",), "E": ("建设工程", "建筑"),
    "F": ("贸易", "商贸"), "G": ("物流", "供应链"), "H": ("餐饮管理",), "K": ("置业",), "L": ("企业管理", "咨询"),
    "N": ("环保科技",), "O": ("服务",), "P": ("教育科技",), "Q": ("医疗科技",), "R": ("文化传媒",),
}
_WORDS = np.array(sorted({w for ws in _SECTION_WORDS.values() for w in ws}))
_SECTION_WORD_INDEX = {s: np.searchsorted(_WORDS, ws) for s, ws in _SECTION_WORDS.items()}


@dataclass
class Firms:
    """Static attributes (written to `enterprises`) and latent traits (never written) of every firm."""

    n: int
    division: np.ndarray  # index into DIVISION_CODES
    region: np.ndarray  # index into regions.REGIONS
    founded: np.ndarray  # day number
    founded_year: np.ndarray
    size_band: np.ndarray  # 0 micro .. 3 large
    log_revenue_mature: np.ndarray
    revenue_per_employee: np.ndarray
    registered_capital: np.ndarray
    chain_leader: np.ndarray
    rd_zero: np.ndarray  # firm does no R&D
    tech: np.ndarray  # innovation capability
    quality: np.ndarray  # management quality
    frailty: np.ndarray  # unobserved risk
    late_habit: np.ndarray
    ip_propensity: np.ndarray
    rd_effect: np.ndarray
    leverage_effect: np.ndarray
    growth_effect: np.ndarray
    inno_effect: np.ndarray
    uscc: pa.Array
    name: pa.Array

    @property
    def is_tech(self) -> np.ndarray:
        return DIVISION_TECH[self.division]

    @property
    def section(self) -> np.ndarray:
        return DIVISION_SECTION[self.division]

    @property
    def industry(self) -> np.ndarray:
        return DIVISION_CODES[self.division]


def org_check(digits: np.ndarray) -> np.ndarray:
    """GB 11714 check characters of 8-digit organisation codes (array of shape (n, 8) of digit values)."""
    c = 11 - (digits @ np.array([3, 7, 9, 10, 5, 8, 4, 2])) % 11
    return np.where(c == 10, "X", np.where(c == 11, "0", c.astype(str)))


def make_codes(rng: np.random.Generator, region_codes: np.ndarray) -> np.ndarray:
    """Unique, valid USCCs: ``91`` + region + 8-digit organisation code + its GB 11714 check + GB 32100 check."""
    n = len(region_codes)
    numbers = rng.choice(90_000_000, size=n, replace=False) + 10_000_000
    digits = (numbers[:, None] // 10 ** np.arange(7, -1, -1)) % 10
    org = np.char.add(numbers.astype("U8"), org_check(digits))
    return complete(np.char.add(np.char.add("91", region_codes.astype("U6")), org))


def make_names(rng: np.random.Generator, region: np.ndarray, section: np.ndarray) -> pa.Array:
    """Company names such as 深圳市华创科技有限公司."""
    n = len(region)
    word = np.zeros(n, dtype=np.int64)
    for s, idx in _SECTION_WORD_INDEX.items():
        where = np.flatnonzero(section == s)
        word[where] = idx[rng.integers(0, len(idx), size=len(where))]
    syl = pa.array(_SYLLABLES)
    city = pa.array(np.char.add(regions.CITIES, "市"))
    parts = [
        city.take(pa.array(region)),
        syl.take(pa.array(rng.integers(0, len(_SYLLABLES), n))),
        syl.take(pa.array(rng.integers(0, len(_SYLLABLES), n))),
        pa.array(_WORDS).take(pa.array(word)),
        pa.array(np.full(n, "有限公司")),
    ]
    return pc.binary_join_element_wise(*parts, "")


def make_firms(cfg: SynthConfig, rng: np.random.Generator) -> Firms:
    """Draw every firm's static attributes and latent traits."""
    n = cfg.n_firms
    division = rng.choice(len(DIVISION_CODES), size=n, p=DIVISION_WEIGHTS)
    region = regions.draw_regions(rng, n)
    # founding: 1995..(end_year-1), skewed young (exponential age, mean 6.5 years)
    span = cfg.end_year - cfg.first_founding_year
    age = rng.exponential(6.5, n)
    age = np.where(age >= span, rng.uniform(0, span, n), age)
    founded_year = (cfg.end_year - 1) - np.floor(age).astype(np.int64)
    y0 = year_start(founded_year)
    founded = y0 + np.floor(rng.random(n) * (year_start(founded_year + 1) - y0)).astype(np.int64)
    # size: older firms tend to be bigger
    size_score = rng.normal(size=n) + 0.35 * np.log1p(cfg.end_year - founded_year)
    cuts = np.quantile(size_score, np.cumsum(_SIZE_SHARES)[:-1])
    size_band = np.searchsorted(cuts, size_score)
    log_rev = _SIZE_LOG_REVENUE[size_band] + rng.normal(0, 0.45, n)
    sec = DIVISION_SECTION[division]
    rpe = np.exp(rng.normal(np.where(np.isin(sec, ["I", "M"]), np.log(5e5), np.log(8e5)), 0.35))
    # NOISE: registered capital is drawn independently of everything else
    capital = np.round(np.exp(rng.normal(np.log(5e6), 1.2, n)) / 1e4) * 1e4
    leader = (size_band == 3) & (founded_year <= cfg.end_year - 6) & (rng.random(n) < CHAIN_LEADER_SHARE / 0.033)
    is_tech = DIVISION_TECH[division]
    tech = rng.normal(size=n) + 0.6 * is_tech
    rd_zero = rng.random(n) < np.where(is_tech, 0.03, 0.35) * np.exp(-0.5 * tech)
    traits = rng.normal(size=(9, n))
    codes = make_codes(rng, regions.CODES[region])
    names = make_names(rng, region, sec)
    return Firms(
        n=n, division=division, region=region, founded=founded, founded_year=year_of(founded),
        size_band=size_band, log_revenue_mature=log_rev, revenue_per_employee=rpe, registered_capital=capital,
        chain_leader=leader, rd_zero=rd_zero, tech=tech, quality=traits[0], frailty=traits[1] * cfg.frailty_sd,
        late_habit=traits[2], ip_propensity=traits[3], rd_effect=traits[4], leverage_effect=traits[5],
        growth_effect=traits[6], inno_effect=traits[7], uscc=pa.array(codes), name=names,
    )
