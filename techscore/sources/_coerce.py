"""Typing one raw column: text or stored values -> the contract's pandas dtype, and which values failed.

Every kind has a fast path for clean data (one Arrow cast of the whole column) and a vectorised fallback that
finds the failing values without a Python loop, so clean and dirty data are typed the same way:

==========  ==============================================================================================
kind        accepted
==========  ==============================================================================================
date        ISO 8601 ``YYYY-MM-DD`` or ``YYYY-MM-DD[ T]HH:MM[:SS[.f]]`` without a zone; Arrow dates and
            timestamps (a zoned timestamp is read as its local wall time); years 1678-2261 (datetime64[ns])
money/float decimal numbers (``-1.5``, ``2e6``); Arrow integers, floats and decimals; finite values only
int         as float, but integral (``2020`` or ``2020.0``)
bool        ``true/false`` (any case), ``1/0``; Arrow booleans; 0/1
str, uscc,  any value; an empty string is missing
category
==========  ==============================================================================================

Typing changes no value: white space, full-width forms, case and other spellings (``是``, ``yes``) are changes the
contract declares per column, made before typing by `techscore.sources._normalise` with a warning each. Text that
reaches this module as ``" 12"`` is not a number.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from techscore.sources.schema import Kind

DTYPES: dict[str, str] = {
    "str": "string", "uscc": "string", "category": "string", "int": "Int64", "float": "float64",
    "money": "float64", "date": "datetime64[ns]", "bool": "boolean",
}
"""The pandas dtype of each column kind (text is pandas' nullable ``string``, backed by Arrow)."""

EXPECTED: dict[str, str] = {
    "date": "an ISO date (YYYY-MM-DD)", "money": "a number", "float": "a number", "int": "an integer",
    "bool": "true or false", "str": "text", "uscc": "text", "category": "text",
}
"""How a type error describes what the column expects."""

_NUMBER = r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$"
_ISO_DATE = r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?)?$"
_TRUE = ("true", "1", "1.0")
_FALSE = ("false", "0", "0.0")
_NS_YEARS = (1678, 2261)
"""Years a datetime64[ns] holds; dates outside are type errors (the year-range rule is stricter anyway)."""
_NS_SECONDS = tuple(int(np.datetime64(f"{y}-01-01", "s").view(np.int64)) for y in (_NS_YEARS[0], _NS_YEARS[1] + 1))
_INT_LIMIT = 2.0**53


def coerce(values: pa.ChunkedArray | pa.Array, kind: Kind) -> tuple[pd.Series, np.ndarray]:
    """Type one column as `kind`.

    Returns the typed Series (dtype `DTYPES[kind]`, missing where the value was missing or unreadable) and a boolean
    array, True where a value was present but could not be read as `kind`.
    """
    if isinstance(values, pa.Array):
        values = pa.chunked_array([values], type=values.type)
    if pa.types.is_dictionary(values.type):
        values = values.cast(values.type.value_type)
    if pa.types.is_null(values.type):
        values = values.cast(pa.string())
    if kind in ("str", "uscc", "category"):
        return _as_text_series(text(values)), np.zeros(len(values), dtype=bool)
    return _COERCERS[kind](values)


def text(values: pa.ChunkedArray) -> pa.ChunkedArray:
    """Values as text, an empty string made missing (nothing else changes: see the module docstring)."""
    if not _is_text(values):
        values = _display(values)
    if not len(values):
        return values
    if pc.min(pc.binary_length(values)).as_py() != 0:
        return values  # the common case: keep the original buffers
    return pc.if_else(pc.equal(values, ""), pa.scalar(None, values.type), values)


def display(values: pa.ChunkedArray | pa.Array) -> pd.Series:
    """Values as the text a person reads in a problem list (dates without a midnight time); missing -> <NA>."""
    return _as_text_series(_display(values))


def _display(values: pa.ChunkedArray | pa.Array) -> pa.ChunkedArray:
    if isinstance(values, pa.Array):
        values = pa.chunked_array([values], type=values.type)
    if pa.types.is_dictionary(values.type):
        values = values.cast(values.type.value_type)
    if pa.types.is_timestamp(values.type) or pa.types.is_date(values.type):
        if pa.types.is_timestamp(values.type) and values.type.tz is not None:
            values = pc.local_timestamp(values)
        shown = pc.strftime(values.cast(pa.timestamp("s"), safe=False), format="%Y-%m-%dT%H:%M:%S")
        return pc.replace_substring_regex(shown, "T00:00:00$", "")
    if _is_text(values):
        return values
    return values.cast(pa.string())


def _as_text_series(values: pa.ChunkedArray) -> pd.Series:
    return values.to_pandas(types_mapper={pa.string(): pd.StringDtype(), pa.large_string(): pd.StringDtype()}.get)


def _numeric(values: pa.ChunkedArray) -> bool:
    t = values.type
    return pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t)


def _is_text(values: pa.ChunkedArray) -> bool:
    return pa.types.is_string(values.type) or pa.types.is_large_string(values.type)


def _floats(values: pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray]:
    """Float64 values (NaN where missing) and the mask of present values that are not finite numbers."""
    if _numeric(values):
        present = values.is_valid().to_numpy(zero_copy_only=False)
        out = values.cast(pa.float64())
    else:
        values = text(values)
        present = values.is_valid().to_numpy(zero_copy_only=False)
        try:
            out = values.cast(pa.float64())
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            ok = pc.match_substring_regex(values, _NUMBER)
            out = pc.if_else(ok, values, pa.scalar(None, values.type)).cast(pa.float64())
    arr = out.to_numpy(zero_copy_only=False).astype(np.float64, copy=False)
    finite = np.isfinite(arr)
    bad = present & ~finite
    if bad.any():
        arr = np.where(finite, arr, np.nan)
    return arr, bad


def _coerce_float(values: pa.ChunkedArray) -> tuple[pd.Series, np.ndarray]:
    arr, bad = _floats(values)
    return pd.Series(arr, dtype="float64", copy=False), bad


def _coerce_int(values: pa.ChunkedArray) -> tuple[pd.Series, np.ndarray]:
    if pa.types.is_integer(values.type):
        ints = values.cast(pa.int64())
        mask = ints.is_null().to_numpy(zero_copy_only=False)
        data = pc.fill_null(ints, 0).to_numpy(zero_copy_only=False)
        return pd.Series(pd.arrays.IntegerArray(data, mask)), np.zeros(len(values), dtype=bool)
    arr, bad = _floats(values)
    present = ~np.isnan(arr)
    integral = present & (np.floor(arr) == arr) & (np.abs(arr) < _INT_LIMIT)
    bad |= present & ~integral
    data = np.where(integral, arr, 0).astype(np.int64)
    return pd.Series(pd.arrays.IntegerArray(data, ~integral)), bad


def _coerce_bool(values: pa.ChunkedArray) -> tuple[pd.Series, np.ndarray]:
    if pa.types.is_boolean(values.type):
        mask = values.is_null().to_numpy(zero_copy_only=False)
        data = pc.fill_null(values, False).to_numpy(zero_copy_only=False)
        return pd.Series(pd.arrays.BooleanArray(data, mask)), np.zeros(len(values), dtype=bool)
    words = pc.utf8_lower(text(values))
    present = words.is_valid().to_numpy(zero_copy_only=False)
    is_true = pc.is_in(words, value_set=pa.array(_TRUE)).to_numpy(zero_copy_only=False)
    is_false = pc.is_in(words, value_set=pa.array(_FALSE)).to_numpy(zero_copy_only=False)
    known = is_true | is_false
    return pd.Series(pd.arrays.BooleanArray(is_true, ~known)), present & ~known


def _coerce_date(values: pa.ChunkedArray) -> tuple[pd.Series, np.ndarray]:
    if pa.types.is_timestamp(values.type) and values.type.tz is not None:
        values = pc.local_timestamp(values)
    stored = pa.types.is_timestamp(values.type) or pa.types.is_date(values.type)
    if not stored:
        values = text(values)
    try:  # the common case: one checked cast (it fails on unparseable text and on years a datetime64[ns] lacks)
        nanos = values.cast(pa.timestamp("ns")).to_numpy(zero_copy_only=False)
        return pd.Series(nanos, dtype="datetime64[ns]", copy=False), np.zeros(len(values), dtype=bool)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass
    present = values.is_valid().to_numpy(zero_copy_only=False)
    if stored:
        stamps = values.cast(pa.timestamp("s"), safe=False).to_numpy(zero_copy_only=False)
    else:
        stamps = _parse_iso(values)
    seconds = np.asarray(stamps).astype("datetime64[s]").view(np.int64)
    in_range = present & (seconds >= _NS_SECONDS[0]) & (seconds < _NS_SECONDS[1])
    nanos = np.where(in_range, seconds * 1_000_000_000, np.iinfo(np.int64).min).view("datetime64[ns]")
    return pd.Series(nanos, dtype="datetime64[ns]", copy=False), present & ~in_range


def _parse_iso(values: pa.ChunkedArray) -> np.ndarray:
    """Datetime64 values of ISO text that failed the one-cast path: pandas parses the well-formed ones only."""
    ok = pc.fill_null(pc.match_substring_regex(values, _ISO_DATE), False).to_numpy(zero_copy_only=False)
    out = np.full(len(values), np.datetime64("NaT", "s"))
    if ok.any():
        shown = values.filter(pa.array(ok)).to_pandas()
        parsed = pd.to_datetime(shown, format="ISO8601", errors="coerce")
        out[ok] = parsed.to_numpy(dtype="datetime64[s]")
    return out


_COERCERS = {
    "int": _coerce_int, "float": _coerce_float, "money": _coerce_float, "date": _coerce_date, "bool": _coerce_bool,
}
