"""Declaring a feature: a plain function with its metadata beside it.

A feature's function name is its id; its parameters name its inputs (raw tables already cut to what was known
before the as-of date, helper nodes, or other features), so the dependency graph is read off the code.

>>> @feature(group="rd", name_zh="研发强度", name_en="R&D intensity", unit="ratio", direction=-1,
...          sources=("financials",), description="R&D expense over revenue, latest known fiscal year.")
... def rd_intensity(fin_latest):
...     return fin_latest["rd_expense"] / fin_latest["revenue"].where(fin_latest["revenue"] > 0)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

DIRECTION_TEXT: dict[int, tuple[str, str]] = {
    1: ("数值越高，风险越高", "higher value, higher risk"),
    -1: ("数值越高，风险越低", "higher value, lower risk"),
    0: ("不设方向", "no direction declared"),
}
"""Direction -> (Chinese, English) reading, for catalogue pages and reports."""
UNITS: tuple[str, ...] = (
    "ratio", "share", "yuan", "count", "years", "months", "days", "points", "rank", "flag", "category", "score",
    "level", "grade",
)
UNITS_ZH: dict[str, str] = {
    "ratio": "比率", "share": "占比", "yuan": "元", "count": "个", "years": "年", "months": "月", "days": "天",
    "points": "分", "rank": "分位", "flag": "是/否", "category": "类别", "score": "分", "level": "级", "grade": "等级",
}
"""Default Chinese unit for each unit (a feature's `unit_zh` overrides it)."""
Direction = Literal[-1, 0, 1]
Drift = Literal["value", "clock"]
DRIFTS: tuple[str, ...] = ("value", "clock")


@dataclass(frozen=True)
class FeatureMeta:
    """What a reviewer and the model need to know about a feature."""

    id: str
    group: str
    name_zh: str
    name_en: str
    description: str
    unit: str
    sources: tuple[str, ...]
    direction: Direction
    """+1 more risk as the value grows, -1 less, 0 none declared (categorical features are 0)."""
    kind: Literal["numeric", "categorical"] = "numeric"
    unit_zh: str = ""
    """Unit as written in Chinese sentences (件, 元, 年, %); filled from the unit when empty."""
    description_zh: str = ""
    """The description in Chinese (catalogue pages show it beside the English one when given)."""
    categories: tuple[str, ...] = ()
    """Categorical features only: the fixed category list, so training and scoring frames share one encoding
    (values outside it become missing). Empty: categories are the values seen, sorted."""
    drift: Drift = "value"
    """How the feature moves between as-of dates: "value" when only the data move it; "clock" when the date itself
    does (an age, months since a statement or a loan: every firm's value grows by a month a month), so a month-to-
    month PSI measures the calendar, not a shift of the population, and monitoring bands it apart."""


@dataclass(frozen=True)
class GroupMeta:
    """A feature group, declared in `features/` (`feature_group`): its id, names in both languages, and where it
    comes in the catalogue's order (lower first)."""

    id: str
    name_zh: str
    name_en: str
    order: int = 100


def feature_group(id: str, *, name_zh: str, name_en: str, order: int = 100) -> GroupMeta:  # noqa: A002
    """Declare a feature group at module level in `features/` (``RD = feature_group("rd", name_zh="研发投入",
    name_en="R&D", order=10)``); features name it in `@feature(group=...)`. A bank adds a group the same way."""
    return GroupMeta(id=id, name_zh=name_zh, name_en=name_en, order=order)


@dataclass(frozen=True)
class NodeMeta:
    """A helper computation other features use (not itself a model input)."""

    id: str
    description: str


def feature(
    *,
    group: str,
    name_zh: str,
    name_en: str,
    unit: str,
    direction: Direction,
    sources: tuple[str, ...],
    description: str,
    kind: Literal["numeric", "categorical"] = "numeric",
    unit_zh: str = "",
    description_zh: str = "",
    categories: tuple[str, ...] = (),
    drift: Drift = "value",
) -> Callable[[Callable], Callable]:
    """Mark a function as a catalogue feature; metadata is checked by the catalogue when it is loaded."""

    def mark(fn: Callable) -> Callable:
        fn.__techscore_feature__ = FeatureMeta(
            id=fn.__name__, group=group, name_zh=name_zh, name_en=name_en, description=description,
            unit=unit, sources=tuple(sources), direction=direction, kind=kind, unit_zh=unit_zh,
            description_zh=description_zh, categories=tuple(categories), drift=drift,
        )
        return fn

    return mark


def node(fn: Callable) -> Callable:
    """Mark a function as a helper node: computed once per as-of date and shared by the features that name it."""
    fn.__techscore_node__ = NodeMeta(id=fn.__name__, description=(fn.__doc__ or "").strip().split("\n")[0])
    return fn
