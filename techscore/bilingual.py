"""Feature values as a reviewer reads them: units, percent, 万元/亿元, yes/no, in Chinese or English.

One place decides how a value of each catalogue unit is written, so reason codes, plots and reports agree.
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
import pandas as pd

from techscore.catalogue.meta import FeatureMeta
from techscore.sources.industry import SECTIONS

Lang = Literal["zh", "en"]
LANGS: tuple[str, ...] = ("zh", "en")

_PERCENT_UNITS = {"share", "ratio"}
"""Units written as a percentage (a ratio of 0.032 reads 3.2%) unless the feature's `unit_zh` says otherwise."""
_DEFAULT_RATIO_ZH = {"", "比率", "占比"}

_UNIT_EN = {"years": "years", "months": "months", "days": "days", "points": "points", "score": "points"}
_UNIT_ZH = {"years": "年", "months": "个月", "days": "天", "points": "分", "score": "分", "count": "个"}


PROVINCES: dict[str, tuple[str, str]] = {
    "11": ("北京", "Beijing"), "12": ("天津", "Tianjin"), "13": ("河北", "Hebei"), "14": ("山西", "Shanxi"),
    "15": ("内蒙古", "Inner Mongolia"), "21": ("辽宁", "Liaoning"), "22": ("吉林", "Jilin"),
    "23": ("黑龙江", "Heilongjiang"), "31": ("上海", "Shanghai"), "32": ("江苏", "Jiangsu"), "33": ("浙江", "Zhejiang"),
    "34": ("安徽", "Anhui"), "35": ("福建", "Fujian"), "36": ("江西", "Jiangxi"), "37": ("山东", "Shandong"),
    "41": ("河南", "Henan"), "42": ("湖北", "Hubei"), "43": ("湖南", "Hunan"), "44": ("广东", "Guangdong"),
    "45": ("广西", "Guangxi"), "46": ("海南", "Hainan"), "50": ("重庆", "Chongqing"), "51": ("四川", "Sichuan"),
    "52": ("贵州", "Guizhou"), "53": ("云南", "Yunnan"), "54": ("西藏", "Tibet"), "61": ("陕西", "Shaanxi"),
    "62": ("甘肃", "Gansu"), "63": ("青海", "Qinghai"), "64": ("宁夏", "Ningxia"), "65": ("新疆", "Xinjiang"),
    "71": ("台湾", "Taiwan"), "81": ("香港", "Hong Kong"), "82": ("澳门", "Macao"),
}
"""Province-level divisions by the first two digits of a GB/T 2260 region code."""
CATEGORY_WORDS: dict[str, tuple[str, str]] = {
    "seed": ("种子期", "seed"), "start-up": ("初创期", "start-up"), "startup": ("初创期", "start-up"),
    "growth": ("成长期", "growth"), "stable": ("稳定期", "stable"), "mature": ("成熟期", "mature"),
    "micro": ("微型", "micro"), "small": ("小型", "small"), "medium": ("中型", "medium"), "large": ("大型", "large"),
}
"""Chinese words for the category values the catalogue's stage and size features use."""
TAX_GRADES: tuple[str, ...] = ("A", "B", "M", "C", "D")
"""Tax credit grades, best first; an ordinal tax-grade feature holds 1 (A) to 5 (D)."""


def category_label(value: str, meta: FeatureMeta, lang: Lang) -> str:
    """A category value as a reader knows it: industry sections and provinces by name, stages and sizes in
    Chinese for Chinese text; other values unchanged."""
    v = str(value)
    if "industry" in meta.id and v in SECTIONS:
        return f"{v} {SECTIONS[v][2]}" if lang == "zh" else f"{v} ({SECTIONS[v][3]})"
    if "region" in meta.id and v[:2] in PROVINCES and v.isdigit():
        zh, en = PROVINCES[v[:2]]
        return zh if lang == "zh" else f"{en} ({v})"
    words = CATEGORY_WORDS.get(v.lower())
    if words is not None:
        return words[0] if lang == "zh" else words[1]
    return v


def is_tax_grade(meta: FeatureMeta) -> bool:
    """An ordinal tax credit grade (1 = A ... 5 = D), written as its letter."""
    return meta.unit == "grade" and "tax" in meta.id


def check_lang(lang: str) -> Lang:
    """Return `lang` if it is a supported report language, else raise ValueError naming the allowed ones."""
    if lang not in LANGS:
        raise ValueError(f"lang must be one of {', '.join(LANGS)}; got {lang!r}.")
    return lang  # type: ignore[return-value]


def feature_name(meta: FeatureMeta, lang: Lang) -> str:
    """The feature's display name in `lang` (falls back to the id when the catalogue gives none)."""
    name = meta.name_zh if lang == "zh" else meta.name_en
    return name or meta.id


def is_percent(meta: FeatureMeta) -> bool:
    """Whether values of `meta` are written as percentages (shares and ratios, unless `unit_zh` names another
    unit such as 倍)."""
    if meta.unit_zh == "%":
        return True
    return meta.unit in _PERCENT_UNITS and meta.unit_zh in _DEFAULT_RATIO_ZH


def _number(x: float, digits: int) -> str:
    if abs(x - round(x)) < 1e-9 and abs(x) < 1e15:
        return f"{int(round(x)):,}"
    return f"{x:,.{digits}f}"


def _sig(x: float) -> int:
    """Decimals that keep about three significant figures for |x| (at most 2, none from 100 up)."""
    a = abs(x)
    if a >= 100:
        return 0
    if a >= 10:
        return 1
    return 2


def _yuan(x: float, lang: Lang) -> str:
    a = abs(x)
    if lang == "zh":
        if a >= 1e8:
            return f"{x / 1e8:,.2f} 亿元"
        if a >= 1e4:
            return f"{x / 1e4:,.{_sig(x / 1e4)}f} 万元"
        return f"{_number(x, 0)} 元"
    if a >= 1e9:
        return f"{x / 1e9:,.2f} billion yuan"
    if a >= 1e6:
        return f"{x / 1e6:,.2f} million yuan"
    if a >= 1e4:
        return f"{x / 1e3:,.0f} thousand yuan"
    return f"{_number(x, 0)} yuan"


def _ordinal(n: int) -> str:
    if 10 <= n % 100 <= 20:
        return f"{n}th"
    return f"{n}{ {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th') }"


def format_value(value: object, meta: FeatureMeta, lang: Lang, *, with_unit: bool = True) -> str:
    """One value of feature `meta` written for a reader in `lang`, with its unit.

    >>> m = FeatureMeta("rd_intensity", "rd", "研发强度", "R&D intensity", "", "ratio", (), -1)
    >>> format_value(0.0321, m, "zh"), format_value(0.0321, m, "en")
    ('3.21%', '3.21%')
    """
    missing = value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA
    if not missing and not isinstance(value, str):
        try:
            missing = bool(pd.isna(value))
        except (TypeError, ValueError):
            missing = False
    if missing:
        return "无数据" if lang == "zh" else "not available"
    if meta.kind == "categorical" or meta.unit == "category" or isinstance(value, str):
        return category_label(str(value), meta, lang)
    x = float(value)  # type: ignore[arg-type]
    unit = meta.unit
    if is_tax_grade(meta) and 1 <= round(x) <= len(TAX_GRADES):
        return TAX_GRADES[int(round(x)) - 1]
    if unit == "flag":
        yes = x >= 0.5
        return ("是" if yes else "否") if lang == "zh" else ("yes" if yes else "no")
    if is_percent(meta):
        p = 100 * x
        if p == 0:
            return "0%"
        return f"{p:,.{_sig(p) if abs(p) >= 10 else (1 if abs(p) >= 1 else 2)}f}%"
    if unit == "yuan":
        return _yuan(x, lang) if with_unit else _number(x, _sig(x))
    if unit == "rank":
        pct = int(round(100 * x)) if x <= 1 else int(round(x))
        return f"第 {pct} 百分位" if lang == "zh" else f"{_ordinal(pct)} percentile"
    text = _number(x, _sig(x))
    if not with_unit:
        return text
    if lang == "zh":
        u = meta.unit_zh if meta.unit_zh and meta.unit_zh not in {"比率", "类别", "是/否", "分位"} else _UNIT_ZH.get(unit, "")
        if unit in {"level", "grade"} and not meta.unit_zh:
            u = "级" if unit == "level" else ""
        return f"{text} {u}".strip()
    u = _UNIT_EN.get(unit, "")
    if u and abs(x) == 1:
        u = u.rstrip("s")
    return f"{text} {u}".strip()


def axis_scale(meta: FeatureMeta) -> tuple[float, str, str]:
    """How a feature's values are drawn on a chart axis: (multiplier, unit in Chinese, unit in English)."""
    if meta.unit == "flag":
        return 100.0, "%", "%"
    if is_percent(meta):
        return 100.0, "%", "%"
    if meta.unit == "yuan":
        return 1e-6, "百万元", "million yuan"
    if meta.unit == "rank":
        return 100.0, "百分位", "percentile"
    zh = {"count": meta.unit_zh or "个", "points": "分", "score": "分", "years": "年", "months": "月", "days": "天"}
    en = {"points": "points", "score": "points", "years": "years", "months": "months", "days": "days"}
    return 1.0, zh.get(meta.unit, meta.unit_zh or ""), en.get(meta.unit, "")


def format_values(values: pd.Series | np.ndarray, meta: FeatureMeta, lang: Lang) -> list[str]:
    """`format_value` over many values (a list, in order)."""
    return [format_value(v, meta, lang) for v in (values.tolist() if hasattr(values, "tolist") else values)]


def format_pd(pd_value: float) -> str:
    """A probability of default as a percentage with two decimals (0.0123 -> '1.23%')."""
    return f"{100 * float(pd_value):.2f}%"


def change_sentence(meta: FeatureMeta, before: object, after: object, lang: Lang) -> str:
    """How a feature moved between two dates, in `lang`.

    >>> m = FeatureMeta("rd_intensity", "rd", "研发强度", "R&D intensity", "", "ratio", (), -1)
    >>> change_sentence(m, 0.061, 0.012, "zh"), change_sentence(m, 0.061, 0.012, "en")
    ('研发强度从 6.1% 降至 1.2%', 'R&D intensity fell from 6.1% to 1.2%')
    """
    name = feature_name(meta, lang)
    old, new = format_value(before, meta, lang), format_value(after, meta, lang)
    if old == new:
        return f"{name}保持 {new}" if lang == "zh" else f"{name} stayed at {new}"
    numeric = meta.kind != "categorical" and not isinstance(before, str) and not isinstance(after, str)
    try:
        x0, x1 = (float(before), float(after)) if numeric else (math.nan, math.nan)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        x0 = x1 = math.nan
    if math.isnan(x0) or math.isnan(x1) or meta.unit == "flag":
        return f"{name}从 {old} 变为 {new}" if lang == "zh" else f"{name} changed from {old} to {new}"
    if is_tax_grade(meta):  # 1 = A is the best grade
        if lang == "zh":
            return f"{name}从 {old} {'降' if x1 > x0 else '升'}至 {new}"
        return f"{name} {'fell' if x1 > x0 else 'rose'} from {old} to {new}"
    if lang == "zh":
        return f"{name}从 {old} {'升' if x1 > x0 else '降'}至 {new}"
    return f"{name} {'rose' if x1 > x0 else 'fell'} from {old} to {new}"
