"""Where synthetic firms are registered: 6-digit GB/T 2260 codes of cities and districts with tech-SME weights."""

from __future__ import annotations

import numpy as np

REGIONS: tuple[tuple[str, str, float], ...] = (
    ("440300", "深圳", 9.0),
    ("440100", "广州", 6.0),
    ("441900", "东莞", 3.0),
    ("440600", "佛山", 2.5),
    ("110108", "北京", 6.0),  # Haidian district
    ("110105", "北京", 2.5),  # Chaoyang district
    ("310115", "上海", 5.0),  # Pudong new area
    ("310104", "上海", 2.0),  # Xuhui district
    ("320500", "苏州", 4.5),
    ("320100", "南京", 3.5),
    ("320200", "无锡", 2.0),
    ("330100", "杭州", 5.0),
    ("330200", "宁波", 2.5),
    ("420100", "武汉", 5.0),
    ("430100", "长沙", 3.0),
    ("510100", "成都", 4.0),
    ("500112", "重庆", 2.5),  # Yubei district
    ("610100", "西安", 3.0),
    ("340100", "合肥", 3.0),
    ("370200", "青岛", 2.0),
    ("370100", "济南", 2.0),
    ("350200", "厦门", 1.5),
    ("350100", "福州", 1.5),
    ("120116", "天津", 2.0),  # Binhai new area
    ("410100", "郑州", 2.0),
    ("210200", "大连", 1.0),
    ("360100", "南昌", 1.0),
    ("450100", "南宁", 2.0),
    ("450200", "柳州", 1.0),
    ("450300", "桂林", 0.7),
    ("530100", "昆明", 1.0),
    ("520100", "贵阳", 0.8),
    ("220100", "长春", 0.8),
    ("230100", "哈尔滨", 0.8),
    ("130100", "石家庄", 0.8),
    ("140100", "太原", 0.6),
)
"""(code, city name used in firm names, relative weight)."""

CODES = np.array([r[0] for r in REGIONS])
CITIES = np.array([r[1] for r in REGIONS])
WEIGHTS = np.array([r[2] for r in REGIONS]) / sum(r[2] for r in REGIONS)
GUANGXI = np.array([c.startswith("45") for c in CODES])
"""Regions in Guangxi (the regional bank's home province)."""


def draw_regions(rng: np.random.Generator, n: int) -> np.ndarray:
    """Indices into `REGIONS` for `n` firms."""
    return rng.choice(len(REGIONS), size=n, p=WEIGHTS)
