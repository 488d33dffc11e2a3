"""The schema guard and row checks: what a feature table must hold for the model, and which rows it cannot score.

Two levels. `check_columns` looks at the table as a whole before any row is read: a missing or mistyped model
column, or a feature table computed with another catalogue version, stops the run with a `SchemaError` naming
the columns. `check_rows` then looks at every row of a chunk and turns it into the float matrix the model scores,
setting aside the rows it cannot take, each with a code and a readable reason (`REJECT_CODES`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from techscore.exceptions import SchemaError
from techscore.model.pdmodel import PDModel
from techscore.sources.uscc import is_valid, valid_mask

__all__ = ["ID_COLUMN", "REJECT_CODES", "ROW_RULES", "InputSchema", "RowCheck", "check_columns", "check_rows",
           "check_values"]

ID_COLUMN = "uscc"
"""The firm's unified social credit code: every scored row carries it."""
CATALOGUE_KEY = "techscore.catalogue_version"
"""Parquet metadata key of the feature-catalogue version a feature table was computed with."""
MAX_NAMED = 5
MAX_VALUE_CHARS = 40

REJECT_CODES: dict[str, str] = {
    "malformed_row": "the line could not be parsed into the header's columns",
    "missing_uscc": "no unified social credit code",
    "invalid_uscc": "the code is not 18 characters of GB 32100-2015 with a valid check character",
    "not_a_number": "a numeric feature holds text that is not a number",
    "infinite": "a numeric feature is infinite",
    "unknown_category": "a categorical feature holds a category the model never saw in training",
    "no_features": "every model feature is missing (a firm unknown as of the date)",
}
"""Why a row is rejected: code -> meaning. A row's `reject_code` is its first problem; `reason` lists them all."""
_CODE_INDEX = {code: i for i, code in enumerate(REJECT_CODES)}
ROW_RULES: dict[str, str] = {
    "missing_uscc": "missing {field}",
    "invalid_uscc": "invalid uscc (GB 32100-2015): {value}",
    "not_a_number": "{field}: not a number: {value}",
    "infinite": "{field}: infinite value",
    "unknown_category": "{field}: category not seen in training: {value}",
    "no_features": "no feature values",
}
"""The row checks' reject texts by code (`field`: the column; `value`: the offending value, shortened). The rules
are evaluated in one order by both evaluators: the code (missing, then invalid), each feature in model order (a
numeric one: not a number, then infinite; a categorical one: unknown category), then no feature values.
`check_rows` evaluates them on Arrow columns (batches), `check_values` on Python values (a few online records)."""


@dataclass(frozen=True)
class InputSchema:
    """What the model was trained on: feature ids in booster order, category levels, catalogue version.

    `categorical` maps each categorical feature to the levels the model accepts; `codes` to the list whose
    positions are the codes LightGBM was trained on (its stored pandas categories; usually the same list).
    """

    features: tuple[str, ...]
    categorical: dict[str, tuple[str, ...]] = field(default_factory=dict)
    codes: dict[str, tuple[str, ...]] = field(default_factory=dict)
    catalogue_version: str | None = None

    @classmethod
    def from_model(cls, model: PDModel) -> InputSchema:
        stored = getattr(model.booster, "pandas_categorical", None) or []
        cats = [f for f in model.features if f.kind == "categorical"]
        codes = {}
        for i, f in enumerate(cats):
            lightgbm_levels = tuple(str(c) for c in stored[i]) if i < len(stored) else ()
            codes[f.id] = lightgbm_levels or tuple(f.categories)
        return cls(
            features=tuple(model.feature_ids),
            categorical={f.id: tuple(str(c) for c in f.categories) or codes[f.id] for f in cats},
            codes=codes,
            catalogue_version=model.catalogue_version,
        )

    def is_categorical(self, name: str) -> bool:
        return name in self.categorical

    def levels(self, name: str) -> tuple[frozenset[str], dict[str, float]]:
        """A categorical feature's accepted levels and each level's code (the first position in `codes`)."""
        return self._levels[name]

    @cached_property
    def _levels(self) -> dict[str, tuple[frozenset[str], dict[str, float]]]:
        out = {}
        for name, accepted in self.categorical.items():
            codes: dict[str, float] = {}
            for i, level in enumerate(self.codes.get(name, ())):
                codes.setdefault(level, float(i))
            out[name] = (frozenset(accepted), codes)
        return out


def _listing(names: list[str]) -> str:
    shown = ", ".join(names[:MAX_NAMED])
    return shown + (f" and {len(names) - MAX_NAMED} more" if len(names) > MAX_NAMED else "")


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def check_columns(
    columns: list[str],
    types: dict[str, pa.DataType] | None,
    schema: InputSchema,
    source: str,
    *,
    catalogue_version: str | None = None,
    require_id: bool = True,
) -> None:
    """Raise a `SchemaError` naming what does not fit the model: missing, duplicated or mistyped columns
    (at most five named of each) or a table computed with another feature-catalogue version.

    Parameters
    ----------
    columns : the table's column names.
    types : their Arrow types (Parquet); None when the format has none (CSV: values are checked row by row).
    schema : what the model takes.
    source : the table's name for messages (its path).
    catalogue_version : the catalogue version the table was computed with, when it records one.
    require_id : whether the `uscc` column must be present.
    """
    problems = []
    if require_id and ID_COLUMN not in columns:
        problems.append(f"the feature table has no '{ID_COLUMN}' column to identify firms.")
    missing = [f for f in schema.features if f not in columns]
    if missing:
        problems.append(
            f"feature table is missing {_plural(len(missing), 'column')} the model was trained on: {_listing(missing)}."
        )
    seen: set[str] = set()
    duplicated = [c for c in columns if c in seen or seen.add(c)]  # type: ignore[func-returns-value]
    duplicated = [c for c in dict.fromkeys(duplicated) if c in schema.features or c == ID_COLUMN]
    if duplicated:
        problems.append(f"feature table has {_plural(len(duplicated), 'duplicated column')}: {_listing(duplicated)}.")
    if types:
        mistyped = [
            f"{f} ({types[f]}; expected {'text' if schema.is_categorical(f) else 'a number'})"
            for f in schema.features
            if f in types and not _type_fits(types[f], schema.is_categorical(f))
        ]
        if ID_COLUMN in types and not _is_text(types[ID_COLUMN]) and not pa.types.is_null(types[ID_COLUMN]):
            mistyped.insert(0, f"{ID_COLUMN} ({types[ID_COLUMN]}; expected text)")
        if mistyped:
            problems.append(f"{_plural(len(mistyped), 'column')} of the feature table have the wrong type: "
                            f"{_listing(mistyped)}.")
    if catalogue_version and schema.catalogue_version and catalogue_version != schema.catalogue_version:
        problems.append(
            f"the feature table was computed with feature catalogue version {catalogue_version}; the model was "
            f"trained on version {schema.catalogue_version} (recompute the features, or skip this check knowingly)."
        )
    if problems:
        raise SchemaError(f"{source}: " + " ".join(problems))


def _is_text(t: pa.DataType) -> bool:
    if pa.types.is_dictionary(t):
        t = t.value_type
    return pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t)


def _type_fits(t: pa.DataType, categorical: bool) -> bool:
    if pa.types.is_null(t):
        return True
    if categorical:
        return _is_text(t) or pa.types.is_integer(t) or (pa.types.is_dictionary(t) and pa.types.is_integer(t.value_type))
    return pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_boolean(t) or pa.types.is_decimal(t)


@dataclass
class RowCheck:
    """The outcome of `check_rows` on a chunk of n rows.

    ok : (n,) bool, the rows the model can score.
    X : (ok.sum(), n_features) float64, C-ordered: the scorable rows as the booster reads them (categories as
        the codes LightGBM was trained on, missing as NaN).
    codes, reasons : for the other rows, in order: the first problem's code and every problem as text.
    problems : for the other rows, in order: every problem as (code, field, text), the field being `uscc`, a
        feature id, or "" for a row-level problem (no feature values); what a service reports field by field.
    """

    ok: np.ndarray
    X: np.ndarray
    codes: np.ndarray
    reasons: np.ndarray
    problems: list[list[tuple[str, str, str]]] = field(default_factory=list)


class _Problems:
    """Row problems collected column by column; texts are built only for the flagged rows."""

    def __init__(self, n: int) -> None:
        self.first = np.full(n, -1, dtype=np.int16)
        self.parts: list[tuple[np.ndarray, object, str, str]] = []

    def add(self, mask: np.ndarray | list[bool], code: str, column: str = "", shown=None) -> None:
        """Flag rows `mask` with `code` (about `column`; "" for the row as a whole), its text from `ROW_RULES`;
        `shown`: a function of the flagged positions giving their values as `_shown_value` prints them."""
        rows = np.flatnonzero(mask)
        if rows.size == 0:
            return
        fresh = rows[self.first[rows] < 0]
        self.first[fresh] = _CODE_INDEX[code]
        template = ROW_RULES[code]
        values = shown(rows) if shown is not None else [""] * rows.size
        texts = np.asarray([template.format(field=column, value=v) for v in values], dtype=object)
        self.parts.append((rows, texts, code, column))

    def result(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[list[tuple[str, str, str]]]]:
        if not self.parts:  # every row passes (the usual case)
            empty = np.empty(0, dtype=object)
            return np.ones(self.first.size, dtype=bool), empty, empty.copy(), []
        bad = self.first >= 0
        names = np.asarray(list(REJECT_CODES), dtype=object)
        codes = names[self.first[bad]]
        where = np.cumsum(bad) - 1  # row -> position among the rejected rows
        reasons = np.full(int(bad.sum()), "", dtype=object)
        problems: list[list[tuple[str, str, str]]] = [[] for _ in range(reasons.size)]
        for rows, texts, code, column in self.parts:
            pos = where[rows]
            current = reasons[pos]
            reasons[pos] = np.where(current == "", texts, current + "; " + texts)
            for p, t in zip(pos.tolist(), texts.tolist(), strict=True):
                problems[p].append((code, column, t))
        return ~bad, codes, reasons, problems


def _shown_value(value: object) -> str:
    """A value as a short printable string (for reject reasons)."""
    s = str(value)
    return repr(s if len(s) <= MAX_VALUE_CHARS else s[: MAX_VALUE_CHARS - 3] + "...")


def _shown(values: pa.Array | pa.ChunkedArray, rows: np.ndarray) -> list[str]:
    """The values at `rows` as short printable strings (for reject reasons)."""
    return [_shown_value(v) for v in values.take(pa.array(rows)).to_pylist()]


def check_rows(table: pa.Table, schema: InputSchema, *, require_id: bool = True) -> RowCheck:
    """Check every row of `table` and build the model's float matrix of the rows that pass.

    A row is rejected for a missing or invalid unified social credit code, a numeric feature that is not a
    number (text input) or is infinite, a category the model never saw in training, or no feature value at
    all. Missing feature values are not problems: the model routes them as it learned to.
    """
    n = table.num_rows
    problems = _Problems(n)
    if ID_COLUMN in table.column_names:
        ids = _as_text(table.column(ID_COLUMN))
        present = pc.fill_null(pc.greater(pc.utf8_length(ids), 0), False).to_numpy(zero_copy_only=False)
        problems.add(~present, "missing_uscc", ID_COLUMN)
        valid = valid_mask(ids.to_pandas()) if n else np.zeros(0, dtype=bool)
        problems.add(present & ~valid, "invalid_uscc", ID_COLUMN, lambda rows: _shown(ids, rows))
    elif require_id:
        raise SchemaError(f"the feature table has no '{ID_COLUMN}' column to identify firms.")
    X = np.empty((n, len(schema.features)), dtype=np.float64)
    for j, name in enumerate(schema.features):
        column = table.column(name)
        if schema.is_categorical(name):
            X[:, j] = _category_codes(column, name, schema, problems)
        else:
            X[:, j] = _numbers(column, name, problems)
    return _finish(X, problems)


def check_values(columns: dict[str, list], schema: InputSchema, *, require_id: bool = True) -> RowCheck:
    """`check_rows` for a few rows given as Python values: the same rules, problems and matrix, value by value.

    `columns` maps `uscc` and each model feature to its values, as a column reader gives them: text or None for
    the code and categorical features; for a numeric feature floats or None (a float64 column), or text or None
    (a text column, parsed as `check_rows` parses one). Made for online requests of a record or a few, where
    building Arrow columns costs more than the checks; a column of text takes the Arrow path all the same.
    """
    features = schema.features
    n = len(columns[ID_COLUMN] if ID_COLUMN in columns else columns[features[0]]) if features or columns else 0
    problems = _Problems(n)
    if ID_COLUMN in columns:
        ids = columns[ID_COLUMN]
        present = [bool(code) for code in ids]
        if not all(present):
            problems.add([not p for p in present], "missing_uscc", ID_COLUMN)
        invalid = [p and not is_valid(code) for p, code in zip(present, ids, strict=True)]
        if any(invalid):
            problems.add(invalid, "invalid_uscc", ID_COLUMN, lambda rows: [_shown_value(ids[i]) for i in rows])
    elif require_id:
        raise SchemaError(f"the feature table has no '{ID_COLUMN}' column to identify firms.")
    X = np.empty((n, len(features)), dtype=np.float64)
    for j, name in enumerate(features):
        values = columns[name]
        if schema.is_categorical(name) and schema.categorical[name]:
            X[:, j] = _category_values(values, name, schema, problems)
        elif schema.is_categorical(name) or any(isinstance(v, str) for v in values):
            X[:, j] = _numbers(pa.chunked_array([pa.array(values, pa.string())]), name, problems)
        else:
            xs = [math.nan if v is None else v for v in values]
            if any(map(math.isinf, xs)):
                problems.add([math.isinf(x) for x in xs], "infinite", name)
            X[:, j] = xs
    return _finish(X, problems)


def _category_values(values: list[str | None], name: str, schema: InputSchema, problems: _Problems) -> list[float]:
    """`_category_codes` of Python values: LightGBM's codes (NaN where missing or unseen), unseen ones flagged."""
    accepted, codes = schema.levels(name)
    unseen = [v is not None and v not in accepted for v in values]
    if any(unseen):
        problems.add(unseen, "unknown_category", name, lambda rows: [_shown_value(values[i]) for i in rows])
    return [codes.get(v, math.nan) if v is not None else math.nan for v in values]


def _finish(X: np.ndarray, problems: _Problems) -> RowCheck:
    """The last rule (no feature values) and the outcome of both evaluators."""
    if X.shape[0] and X.shape[1]:
        problems.add(np.isnan(X).all(axis=1), "no_features")
    ok, codes, reasons, details = problems.result()
    scorable = X[ok] if not ok.all() else X
    return RowCheck(ok=ok, X=np.ascontiguousarray(scorable), codes=codes, reasons=reasons, problems=details)


def _as_text(column: pa.ChunkedArray) -> pa.ChunkedArray:
    if pa.types.is_string(column.type):
        return column
    return pc.cast(column, pa.string())


def _numbers(column: pa.ChunkedArray, name: str, problems: _Problems) -> np.ndarray:
    t = column.type
    if pa.types.is_dictionary(t):
        column, t = pc.cast(column, t.value_type), t.value_type
    if _is_text(t):
        values = _parse_numbers(column, name, problems)
    elif pa.types.is_null(t):
        values = np.full(len(column), np.nan)
    else:
        values = pc.cast(column, pa.float64()).to_numpy(zero_copy_only=False)
        if values.dtype != np.float64:  # an all-valid array may come back read-only; nulls come back as NaN
            values = values.astype(np.float64)
    problems.add(np.isinf(values), "infinite", name)
    return values


def _parse_numbers(column: pa.ChunkedArray, name: str, problems: _Problems) -> np.ndarray:
    """Numbers from text: Arrow's parser first (fast), pandas' for the rare column holding non-numbers."""
    text = pc.utf8_trim_whitespace(pc.cast(column, pa.string()))
    text = pc.if_else(pc.equal(pc.utf8_length(text), 0), pa.scalar(None, pa.string()), text)
    try:
        return pc.cast(text, pa.float64()).to_numpy(zero_copy_only=False).astype(np.float64, copy=False)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass
    series = text.to_pandas()
    values = pd.to_numeric(series, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    lowered = series.str.lower()
    values = np.where(lowered == "true", 1.0, np.where(lowered == "false", 0.0, values))
    bad = np.isnan(values) & series.notna().to_numpy() & ~lowered.isin(["nan", "-nan", "+nan"]).to_numpy()
    problems.add(bad, "not_a_number", name, lambda rows: _shown(text, rows))
    return values


def _category_codes(column: pa.ChunkedArray, name: str, schema: InputSchema, problems: _Problems) -> np.ndarray:
    """LightGBM's codes of a categorical column (NaN where missing); unseen categories are flagged."""
    accepted = schema.categorical[name]
    text = _as_text(column) if not pa.types.is_null(column.type) else pa.chunked_array([pa.nulls(len(column), pa.string())])
    if not accepted:  # a model trained on codes without a category list: the values are the codes
        return _numbers(column, name, problems)
    known = pc.is_valid(pc.index_in(text, value_set=pa.array(accepted, pa.string())))
    unseen = pc.and_(pc.is_valid(text), pc.invert(known)).to_numpy(zero_copy_only=False)
    problems.add(unseen, "unknown_category", name, lambda rows: _shown(text, rows))
    codes = pc.index_in(text, value_set=pa.array(schema.codes[name], pa.string()))
    return pc.cast(codes, pa.float64()).to_numpy(zero_copy_only=False).astype(np.float64, copy=False)
