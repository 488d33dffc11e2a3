"""A monitoring spec (`experiments/*monitor*.toml`): the model, the raw data, the portfolio, the dates, the
thresholds of the early-warning list and where the tables go."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import pandas as pd
from pydantic import Field, field_validator

from techscore.specs import SpecFile, SpecPart, load_spec

__all__ = ["EventOptions", "MonitorSpec", "Outcomes", "Thresholds", "load_monitor_spec"]


class Thresholds(SpecPart):
    """When a firm goes on the early-warning list, and how many reasons it gets."""

    pd_factor: Annotated[float, Field(gt=1)] = 2.0
    grade_drop: Annotated[int, Field(ge=1)] = 2
    watch_grade: str | None = None
    reasons: Annotated[int, Field(ge=1, le=20)] = 3


class EventOptions(SpecPart):
    """Thresholds of the event signals from the raw tables (`[events]`; `techscore.monitor.events`)."""

    partner_months: Annotated[int, Field(ge=1, le=60)] = 12
    """Trades within this many months before the later date make a trade partner."""
    partner_share_high: Annotated[float, Field(gt=0, le=1)] = 0.2
    """A defaulted partner's share of the firm's trade from which the event is high severity."""
    late_months: Annotated[int, Field(ge=1, le=24)] = 6
    """Invoices due within this many months before each date make the late-payment share."""
    late_grace_days: Annotated[int, Field(ge=0)] = 30
    """An invoice paid more than this many days after its due date, or unpaid by then, is late."""
    late_share_rise: Annotated[float, Field(gt=0, le=1)] = 0.2
    """The rise of the late share (by amount) between the dates that makes an event."""


class Outcomes(SpecPart):
    """Performance and backtest once outcomes arrive (`[outcomes]`; `techscore.monitor.performance`, `backtest`)."""

    window_months: Annotated[int, Field(ge=1, le=60)] | None = None
    """The label window; default the model's (`window_months` in its provenance), else 12."""
    observation_end: str | None = None
    """The last date outcomes are observed; default the loans table's last issue or default date."""
    amber_p: Annotated[float, Field(gt=0, lt=1)] = 0.05
    """Jeffreys p-value below which a backtest row is amber (the PD is too low at 95% confidence)."""
    red_p: Annotated[float, Field(gt=0, lt=1)] = 0.001
    """Jeffreys p-value below which it is red (99.9% confidence)."""
    reference_dates: list[str] | None = None
    """Extra as-of dates scored only to calibrate the performance estimate (`techscore.monitor.performance`): their
    PDs against the defaults that followed. Default: the date one label window before the first date; `[]` for
    none (the model's own PDs until a monitored date's window has closed)."""

    @field_validator("red_p")
    @classmethod
    def _below_amber(cls, red: float, info) -> float:
        amber = info.data.get("amber_p")
        if amber is not None and red >= amber:
            raise ValueError(f"red_p must be below amber_p ({amber}); got {red}")
        return red

    @field_validator("observation_end")
    @classmethod
    def _iso(cls, value: str | None) -> str | None:
        return None if value is None else _iso_date(value, "observation_end")

    @field_validator("reference_dates")
    @classmethod
    def _iso_list(cls, values: list[str] | None) -> list[str] | None:
        return None if values is None else [_iso_date(v, "reference_dates") for v in values]


def _iso_date(value: str, key: str) -> str:
    try:
        return pd.Timestamp(value).date().isoformat()
    except ValueError as exc:
        raise ValueError(f"{key} must hold ISO dates (YYYY-MM-DD): {exc}") from None


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
    events: EventOptions = EventOptions()
    outcomes: Outcomes = Outcomes()

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
