"""A monitoring spec (`experiments/*monitor*.toml`): the model, the raw data, the portfolio, the dates, the
thresholds of the early-warning list and where the tables go."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import pandas as pd
from pydantic import Field, field_validator

from techscore.specs import SpecFile, SpecPart, load_spec

__all__ = ["MonitorSpec", "Thresholds", "load_monitor_spec"]


class Thresholds(SpecPart):
    """When a firm goes on the early-warning list, and how many reasons it gets."""

    pd_factor: Annotated[float, Field(gt=1)] = 2.0
    grade_drop: Annotated[int, Field(ge=1)] = 2
    watch_grade: str | None = None
    reasons: Annotated[int, Field(ge=1, le=20)] = 3


class MonitorSpec(SpecFile):
    """`techscore monitor SPEC`: score the portfolio at each date and compare consecutive dates."""

    name: str
    model: str
    """MLflow model URI (models:/name@champion) or a local model folder."""
    data: str
    """Folder of the raw tables."""
    dates: Annotated[list[str], Field(min_length=2)]
    """As-of dates, in order (monthly, e.g. the first of each month)."""
    firms: str | None = None
    """File of the portfolio's firms (text, CSV or Parquet with uscc); default every firm."""
    segment: str | None = None
    """A model feature whose values split the drivers of change (e.g. profile_industry_section)."""
    out: str = "monitor-output"
    experiment: str = "techscore_monitoring"
    """MLflow experiment of the per-date runs."""
    thresholds: Thresholds = Thresholds()

    @field_validator("dates")
    @classmethod
    def _ordered(cls, dates: list[str]) -> list[str]:
        try:
            parsed = [pd.Timestamp(d) for d in dates]
        except ValueError as exc:
            raise ValueError(f"dates must be ISO dates (YYYY-MM-DD): {exc}") from None
        if any(b <= a for a, b in zip(parsed, parsed[1:], strict=False)):
            raise ValueError(f"dates must increase strictly; got {dates}")
        return [p.date().isoformat() for p in parsed]


def load_monitor_spec(path: str | Path, *, workspace: str | Path | None = None) -> MonitorSpec:
    """Read and check a monitoring spec; errors name the file and the dotted key."""
    return load_spec(MonitorSpec, path, workspace=workspace, folder="experiments")
