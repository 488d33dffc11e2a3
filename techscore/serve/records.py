"""Feature records from a JSON request, as the columns (or the Arrow table) the batch scorer's row checks take.

JSON has numbers, strings, booleans and null; the batch scorer takes Parquet or CSV columns. Each model feature
becomes one column typed as batch reads it: numbers (float64) when every value is a number, bool or null, text
otherwise (so a number sent as text is parsed, and text that is not a number is rejected `not_a_number`, as in
a CSV). What cannot be a column value at all (a missing key, a list, an object) and NaN (JSON has no NaN: a
missing value is `null`) are field errors found here, before the row checks.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pyarrow as pa

from techscore.scoring.guard import ID_COLUMN, InputSchema

__all__ = ["FieldError", "field_errors", "record_columns", "records_table"]


@dataclass(frozen=True)
class FieldError:
    """One problem of one record: `record` (0-based position), `field`, `code`, `message`."""

    record: int
    field: str
    code: str
    message: str

    def as_dict(self) -> dict:
        return {"record": self.record, "field": self.field, "code": self.code, "message": self.message}


FIELD_CODES: dict[str, str] = {
    "missing_field": "a model feature or the uscc is not in the record (send null for a missing value)",
    "wrong_type": "the value is a list or an object where a number, text or null is expected",
    "not_a_number": "NaN is not a JSON number; send null for a missing value",
}
"""Field problems found before the row checks (the row checks' codes are `guard.REJECT_CODES`)."""


def _kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "text"
    return type(value).__name__


def field_errors(records: list[dict], schema: InputSchema) -> list[FieldError]:
    """The problems that keep a record from being a table row at all: a missing key, a list or an object, NaN."""
    errors: list[FieldError] = []
    names = (ID_COLUMN, *schema.features)
    for i, record in enumerate(records):
        for name in names:
            if name not in record:
                errors.append(FieldError(i, name, "missing_field", f"{name}: missing; expected a "
                                         f"{'text' if name == ID_COLUMN or schema.is_categorical(name) else 'number'}"
                                         " or null."))
                continue
            value = record[name]
            kind = _kind(value)
            if kind not in ("null", "bool", "number", "text"):
                errors.append(FieldError(i, name, "wrong_type",
                                         f"{name}: expected a number, text or null; got {kind}."))
            elif kind == "number" and isinstance(value, float) and math.isnan(value):
                errors.append(FieldError(i, name, "not_a_number",
                                         f"{name}: NaN is not a JSON number; send null for a missing value."))
    return errors


def record_columns(records: list[dict], schema: InputSchema) -> tuple[dict[str, list] | None, list[FieldError]]:
    """The records as columns of `uscc` and the model's features (in model order), or the field errors.

    A column holds the values batch would read: text (or None) for the code and categorical features; for a
    numeric feature floats (or None) when every value is a number, bool or null, else text (or None) for every
    value. Keys that are not model features are ignored (callers may send more than a model uses).
    """
    errors = field_errors(records, schema)
    if errors:
        return None, errors
    columns: dict[str, list] = {ID_COLUMN: [_text(r[ID_COLUMN]) for r in records]}
    for name in schema.features:
        values = [r[name] for r in records]
        if not schema.is_categorical(name) and all(_kind(v) in ("null", "bool", "number") for v in values):
            columns[name] = [None if v is None else _float(v) for v in values]
        else:
            columns[name] = [_text(v) for v in values]
    return columns, []


def records_table(records: list[dict], schema: InputSchema) -> tuple[pa.Table | None, list[FieldError]]:
    """`record_columns` as the Arrow table batch scoring reads (numeric columns float64 unless they hold text)."""
    columns, errors = record_columns(records, schema)
    if columns is None:
        return None, errors
    return pa.table({name: pa.array(values, pa.float64() if _is_numbers(name, values, schema) else pa.string())
                     for name, values in columns.items()}), []


def _is_numbers(name: str, values: list, schema: InputSchema) -> bool:
    return name != ID_COLUMN and not schema.is_categorical(name) and not any(isinstance(v, str) for v in values)


def _float(value: bool | int | float) -> float:
    """JSON integers beyond float range become infinities (then rejected `infinite`, as batch would)."""
    try:
        return float(value)
    except OverflowError:
        return math.inf if value > 0 else -math.inf


def _text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    return str(value)
