"""GB/T 4754-2017 industry classification: sections A-T and their 2-digit divisions."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

SECTIONS: dict[str, tuple[int, int, str, str]] = {
    "A": (1, 5, "农、林、牧、渔业", "agriculture, forestry, animal husbandry, fishery"),
    "B": (6, 12, "采矿业", "mining"),
    "C": (13, 43, "制造业", "manufacturing"),
    "D": (44, 46, "电力、热力、燃气及水生产和供应业", "utilities"),
    "E": (47, 50, "建筑业", "construction"),
    "F": (51, 52, "批发和零售业", "wholesale and retail"),
    "G": (53, 60, "交通运输、仓储和邮政业", "transport, storage, post"),
    "H": (61, 62, "住宿和餐饮业", "accommodation and catering"),
    "I": (63, 65, "信息传输、软件和信息技术服务业", "information transmission, software and IT services"),
    "J": (66, 69, "金融业", "finance"),
    "K": (70, 70, "房地产业", "real estate"),
    "L": (71, 72, "租赁和商务服务业", "leasing and business services"),
    "M": (73, 75, "科学研究和技术服务业", "scientific research and technical services"),
    "N": (76, 79, "水利、环境和公共设施管理业", "water, environment, public facilities"),
    "O": (80, 82, "居民服务、修理和其他服务业", "resident and repair services"),
    "P": (83, 83, "教育", "education"),
    "Q": (84, 85, "卫生和社会工作", "health and social work"),
    "R": (86, 90, "文化、体育和娱乐业", "culture, sports, entertainment"),
    "S": (91, 96, "公共管理、社会保障和社会组织", "public administration and social organisations"),
    "T": (97, 97, "国际组织", "international organisations"),
}
"""Section letter -> (first division, last division, Chinese name, English name)."""

TECH_DIVISIONS: tuple[str, ...] = (
    "C26", "C27", "C34", "C35", "C38", "C39", "C40", "I63", "I64", "I65", "M73", "M74", "M75",
)
"""Tech-heavy divisions (shared/domain/identifiers.md)."""

_DIVISION_SECTION = np.full(100, "", dtype=object)
for _letter, (_lo, _hi, _zh, _en) in SECTIONS.items():
    _DIVISION_SECTION[_lo : _hi + 1] = _letter

_PATTERN = re.compile(r"^(?P<letter>[A-T])?(?P<division>\d{2})?$")


def section_of(codes: pd.Series) -> pd.Series:
    """The section letter of each code (`C`, `C39`, `39`), or <NA> where the code is not a GB/T 4754-2017 code."""
    s = codes.astype("string").str.strip().str.upper()
    parts = s.str.extract(_PATTERN)
    letter = parts["letter"]
    division = pd.to_numeric(parts["division"], errors="coerce")
    from_division = pd.Series(
        np.where(division.notna(), _DIVISION_SECTION[division.fillna(0).astype(int).clip(0, 99)], ""),
        index=s.index,
    ).replace("", pd.NA)
    ok_letter = letter.notna() & letter.isin(list(SECTIONS))
    consistent = division.isna() | (from_division == letter) | letter.isna()
    result = letter.where(ok_letter & consistent.fillna(False))
    result = result.fillna(from_division.where(letter.isna()))
    valid = s.str.fullmatch(_PATTERN.pattern).fillna(False) & (letter.notna() | division.notna())
    return result.where(valid).astype("string")


def is_valid_industry(codes: pd.Series) -> pd.Series:
    """True where the code is a GB/T 4754-2017 section, a division, or a section plus one of its divisions."""
    return section_of(codes).notna()
