"""The data's snapshot date: the day the tables were extracted, which no event in them can follow.

It is recorded with the data, as ``snapshot_date`` (ISO date) in ``manifest.json`` or ``world.json`` of the data
folder (`techscore synth` writes it in ``world.json``), or given by the caller (``--snapshot-date``); without either,
it is today. Validation rejects every date of an event (`Column.past`) after it.

>>> snapshot_date(None, "2025-12-31")
(Timestamp('2025-12-31 00:00:00'), 'given')
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from techscore.exceptions import ValidationError

MANIFEST_FILES: tuple[str, ...] = ("manifest.json", "world.json")
"""Files of a data folder that may record the snapshot date, in the order they are read."""
KEY = "snapshot_date"


def recorded_snapshot(folder: str | Path) -> tuple[pd.Timestamp, Path] | None:
    """The snapshot date a data folder records and the file recording it; None when no file records one."""
    for name in MANIFEST_FILES:
        path = Path(folder) / name
        if not path.is_file():
            continue
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ValidationError(f"cannot read {path}: {exc}") from exc
        if isinstance(data, dict) and data.get(KEY) is not None:
            return _date(data[KEY], f"{path}, key {KEY}"), path
    return None


def snapshot_date(folder: str | Path | None, given: Any = None) -> tuple[pd.Timestamp, str]:
    """The snapshot date and where it came from: `given`, else the folder's record, else today."""
    if given is not None:
        return _date(given, "the snapshot date"), "given"
    if folder is not None:
        recorded = recorded_snapshot(folder)
        if recorded is not None:
            return recorded[0], str(recorded[1])
    return pd.Timestamp.today().normalize(), "today"


def parse_date(value: Any, where: str, error: type[Exception] = ValidationError) -> pd.Timestamp:
    """`value` as a date (anything `pd.Timestamp` reads), or `error` saying `where` must be a date."""
    try:
        date = pd.Timestamp(value)
    except (ValueError, TypeError) as exc:
        raise error(f"{where} must be a date like 2025-12-31; got {value!r}.") from exc
    if pd.isna(date):
        raise error(f"{where} must be a date like 2025-12-31; got {value!r}.")
    return date


def _date(value: Any, where: str) -> pd.Timestamp:
    return parse_date(value, where).normalize()
