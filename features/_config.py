"""The catalogue's replaceable rules: TOML files in `features/config/`, read once when the catalogue is imported.

Every figure a national or local text sets (point tables, thresholds, weights) lives in one of these files, never in
the code, so a user can put a region's official table in its place (shared/domain/README.md). Each file is checked
against a pydantic model; a bad file raises `SpecError` naming the file, the key and what was wrong.

==========================  =================================================================================
file                        rule
==========================  =================================================================================
innovation_points.toml      indicator specification, groups, stage weights, stage rule, list tiers
tech_sme.toml               tech-SME evaluation: point tables, eligibility, pass mark, direct qualification
high_tech.toml              high-tech enterprise R&D intensity thresholds by revenue band
ip_evaluation.toml          holistic IP evaluation score: parts, items, caps and weights
size_band.toml              micro / small / medium / large by employees and revenue, per industry section
lifecycle.toml              seed / start-up / growth / mature
==========================  =================================================================================
"""

from __future__ import annotations

import math
import tomllib
from pathlib import Path
from typing import TypeVar

import numpy as np
import pydantic
from pydantic import BaseModel, ConfigDict, Field, model_validator

from techscore.exceptions import SpecError

CONFIG_DIR = Path(__file__).resolve().parent / "config"

M = TypeVar("M", bound=BaseModel)


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


Band = tuple[float, float]
"""(lower bound, points): a value reaching the bound scores the points."""


def band_points(values: np.ndarray, bands: tuple[Band, ...]) -> np.ndarray:
    """Points of the first band (highest first) each value reaches; 0 below the last band or when missing.

    >>> band_points(np.array([0.31, 0.25, 0.05, np.nan]), ((0.30, 20), (0.25, 16))).tolist()
    [20.0, 16.0, 0.0, 0.0]
    """
    values = np.asarray(values, dtype=np.float64)
    return np.select([values >= lo for lo, _ in bands], [float(p) for _, p in bands], 0.0)


def _descending(bands: tuple[Band, ...]) -> tuple[Band, ...]:
    if list(bands) != sorted(bands, key=lambda b: -b[0]):
        raise ValueError(f"bands must be listed from the highest lower bound down; got {list(bands)}")
    return bands


# -- innovation points ----------------------------------------------------------------------------------------


class Group(_Spec):
    name_zh: str = ""
    name_en: str = ""
    weights: dict[str, float]


class Indicator(_Spec):
    id: str
    group: str
    name_zh: str = ""
    weight: float = Field(1.0, gt=0)
    """Relative weight within the group (equal by default)."""
    verified: bool = False


class StageRule(_Spec):
    startup_max_age: float
    startup_max_revenue: float
    stable_min_revenue: float
    stable_min_age: float


class Tiers(_Spec):
    min_rank: dict[int, float]
    """Tier -> lowest percentile rank of the points that reaches it."""


STAGES: tuple[str, ...] = ("start-up", "growth", "stable")
"""Stages of the innovation-points stage rule (innovation_points.md)."""


class InnovationSpec(_Spec):
    groups: dict[str, Group]
    indicators: tuple[Indicator, ...]
    stage_rule: StageRule
    tiers: Tiers

    @model_validator(mode="after")
    def _consistent(self) -> InnovationSpec:
        ids = [i.id for i in self.indicators]
        if len(set(ids)) != len(ids):
            raise ValueError(f"indicator ids must be unique; repeated: {sorted({i for i in ids if ids.count(i) > 1})}")
        for ind in self.indicators:
            if ind.group not in self.groups:
                raise ValueError(f"indicator {ind.id} names group {ind.group!r}; groups are {list(self.groups)}")
        for name, group in self.groups.items():
            if sorted(group.weights) != sorted(STAGES):
                raise ValueError(f"group {name} must weigh each stage {list(STAGES)}; got {list(group.weights)}")
            if not any(i.group == name for i in self.indicators):
                raise ValueError(f"group {name} has no indicator")
        for stage in STAGES:
            total = sum(g.weights[stage] for g in self.groups.values())
            if not math.isclose(total, 100.0):
                raise ValueError(f"group weights of stage {stage} must sum to 100; got {total:g}")
        return self

    @property
    def indicator_ids(self) -> tuple[str, ...]:
        return tuple(i.id for i in self.indicators)

    def weights(self, stage: str) -> np.ndarray:
        """Points per indicator (aligned with `indicator_ids`) for a firm of `stage`; they sum to 100."""
        totals = {g: sum(i.weight for i in self.indicators if i.group == g) for g in self.groups}
        return np.array([self.groups[i.group].weights[stage] * i.weight / totals[i.group] for i in self.indicators])


# -- tech-SME evaluation --------------------------------------------------------------------------------------


class Eligibility(_Spec):
    max_employees: float
    max_revenue: float
    max_total_assets: float


class _Bands(_Spec):
    @model_validator(mode="after")
    def _ordered(self):
        for _, value in self:
            if isinstance(value, tuple):
                _descending(value)
        return self


class StaffBands(_Bands):
    bands: tuple[Band, ...]


class RdBands(_Bands):
    revenue_bands: tuple[Band, ...]
    cost_bands: tuple[Band, ...]


class AchievementBands(_Bands):
    class1_bands: tuple[Band, ...]
    class2_bands: tuple[Band, ...]


class PassMark(_Spec):
    min_score: float


class Direct(_Spec):
    high_tech_certificate: bool = True
    min_rd_platform_level: float
    min_standards_led: float
    min_awards: float


class TechSmeSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    eligibility: Eligibility
    staff: StaffBands
    rd: RdBands
    achievements: AchievementBands
    pass_: PassMark = Field(alias="pass")
    direct: Direct


# -- high-tech enterprise R&D test ----------------------------------------------------------------------------


class RevenueBand(_Spec):
    max_revenue: float = math.inf
    min_ratio: float


class HighTechSpec(_Spec):
    years: int = Field(gt=0)
    bands: tuple[RevenueBand, ...]

    @model_validator(mode="after")
    def _ascending(self) -> HighTechSpec:
        tops = [b.max_revenue for b in self.bands]
        if not self.bands or tops != sorted(tops) or tops[-1] != math.inf:
            raise ValueError(f"bands must rise by max_revenue and the last must have none; got {tops}")
        return self

    def min_ratio(self, revenue: np.ndarray) -> np.ndarray:
        """The threshold of the band each revenue falls in (revenue <= max_revenue); NaN for a missing revenue."""
        revenue = np.asarray(revenue, dtype=np.float64)
        tops = np.array([b.max_revenue for b in self.bands])
        ratios = np.array([b.min_ratio for b in self.bands])
        out = ratios[np.searchsorted(tops, np.nan_to_num(revenue, nan=0.0), side="left").clip(0, len(tops) - 1)]
        return np.where(np.isnan(revenue), np.nan, out)


# -- IP evaluation score --------------------------------------------------------------------------------------


class Item(_Spec):
    feature: str
    cap: float = Field(gt=0)
    weight: float = Field(gt=0)
    invert: bool = False


class Part(_Spec):
    weight: float = Field(ge=0)
    items: tuple[Item, ...] = Field(min_length=1)


class IpEvaluationSpec(_Spec):
    parts: dict[str, Part]

    @model_validator(mode="after")
    def _hundred(self) -> IpEvaluationSpec:
        total = sum(p.weight for p in self.parts.values())
        if not math.isclose(total, 100.0):
            raise ValueError(f"part weights must sum to 100; got {total:g}")
        return self

    @property
    def inputs(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(i.feature for p in self.parts.values() for i in p.items))


# -- profile: size band and lifecycle -------------------------------------------------------------------------


class Threshold(_Spec):
    employees: float
    revenue: float


class SizeRule(_Spec):
    large: Threshold
    medium: Threshold
    small: Threshold


class SizeBandSpec(_Spec):
    default: SizeRule
    sections: dict[str, SizeRule] = {}


class SeedRule(_Spec):
    max_age: float
    max_revenue: float


class GrowthRule(_Spec):
    max_age: float
    min_revenue_growth: float


class LifecycleSpec(_Spec):
    seed: SeedRule
    startup: SeedRule
    growth: GrowthRule


# -- loading --------------------------------------------------------------------------------------------------


def load(name: str, model: type[M], folder: Path = CONFIG_DIR) -> M:
    """Read `folder/name` and check it against `model`; SpecError names the file, the key and the problem."""
    path = folder / name
    try:
        with path.open("rb") as fh:
            raw = tomllib.load(fh)
    except FileNotFoundError as exc:
        raise SpecError(f"feature configuration {path} is missing; the catalogue needs it.") from exc
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(f"feature configuration {path} is not valid TOML: {exc}.") from exc
    try:
        return model.model_validate(raw)
    except pydantic.ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or '(file)'}: {e['msg']} (got {e.get('input')!r})"
            for e in exc.errors()[:5]
        )
        raise SpecError(f"feature configuration {path} is invalid: {problems}.") from exc


INNOVATION = load("innovation_points.toml", InnovationSpec)
TECH_SME = load("tech_sme.toml", TechSmeSpec)
HIGH_TECH = load("high_tech.toml", HighTechSpec)
IP_EVALUATION = load("ip_evaluation.toml", IpEvaluationSpec)
SIZE_BAND = load("size_band.toml", SizeBandSpec)
LIFECYCLE = load("lifecycle.toml", LifecycleSpec)
