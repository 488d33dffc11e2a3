"""The schema guard and row checks: what a feature table must hold for the model, and which rows it cannot score."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from techscore.exceptions import SchemaError
from techscore.sources.uscc import valid_mask

ID_COLUMN = "uscc"
MAX_NAMED = 5


@dataclass(frozen=True)
class InputSchema:
    """What the model was trained on: feature ids in order, their kinds and, for categorical ones, the levels."""

    features: tuple[str, ...]
    categorical: dict[str, tuple[str, ...]] = field(default_factory=dict)
    catalogue_version: str | None = None

    def is_categorical(self, name: str) -> bool:
        return name in self.categorical


def _listing(names: list[str]) -> str:
    shown = ", ".join(names[:MAX_NAMED])
    return shown + (f" and {len(names) - MAX_NAMED} more" if len(names) > MAX_NAMED else "")


def check_columns(columns: list[str], dtypes: dict[str, str] | None, schema: InputSchema, source: str) -> None:
    """Raise a `SchemaError` naming the missing or mistyped columns (at most five of each)."""
    problems = []
    if ID_COLUMN not in columns:
        problems.append(f"{source}: the feature table has no '{ID_COLUMN}' column to identify firms.")
    missing = [f for f in schema.features if f not in columns]
    if missing:
        problems.append(
            f"{source}: feature table is missing {len(missing)} column{'s' if len(missing) > 1 else ''} the model "
            f"was trained on: {_listing(missing)}."
        )
    if dtypes:
        mistyped = [
            f"{f} ({dtypes[f]}, expected {'text or category' if schema.is_categorical(f) else 'a number'})"
            for f in schema.features
            if f in dtypes and not _type_fits(dtypes[f], schema.is_categorical(f))
        ]
        if mistyped:
            problems.append(f"{source}: {len(mistyped)} columns have the wrong type: {_listing(mistyped)}.")
    if problems:
        raise SchemaError(" ".join(problems))


def _type_fits(dtype: str, categorical: bool) -> bool:
    d = dtype.lower()
    if categorical:
        return d in {"category", "object", "string", "str", "large_string", "dictionary"} or d.startswith(("string", "dictionary"))
    return d.startswith(("int", "uint", "float", "double", "bool", "decimal")) or d in {"string", "str", "large_string", "object"}


def split_rows(chunk: pd.DataFrame, schema: InputSchema, first_row: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split a chunk into rows the model can score and rejects carrying `row` and `reason`.

    Reasons: a missing or invalid unified social credit code, a value that is not a number where the model takes a
    number, an infinite value, or a category the model never saw in training.
    """
    reasons = pd.Series("", index=chunk.index, dtype=object)

    def flag(mask: np.ndarray | pd.Series, text: str | pd.Series) -> None:
        mask = np.asarray(mask, dtype=bool)
        if not mask.any():
            return
        addition = text[mask] if isinstance(text, pd.Series) else text
        current = reasons[mask]
        reasons[mask] = np.where(current == "", addition, current + "; " + addition)

    codes = chunk[ID_COLUMN]
    present = codes.notna().to_numpy()
    flag(~present, "missing uscc")
    flag(present & ~valid_mask(codes), "invalid uscc (GB 32100-2015 check character or format): " + codes.astype(str))

    clean = {}
    for name in schema.features:
        column = chunk[name]
        if schema.is_categorical(name):
            text = column.astype("string")
            known = text.isna() | text.isin(schema.categorical[name])
            flag(~known.to_numpy(), f"{name}: category not seen in training: " + text.fillna("").astype(str))
            clean[name] = pd.Categorical(text.where(known), categories=list(schema.categorical[name]))
        else:
            if pd.api.types.is_bool_dtype(column) or pd.api.types.is_numeric_dtype(column):
                values = pd.to_numeric(column, errors="coerce").astype("float64")
            else:
                values = pd.to_numeric(column.astype("string").str.strip(), errors="coerce").astype("float64")
                bad = values.isna() & column.notna() & (column.astype("string").str.strip() != "")
                flag(bad.to_numpy(), f"{name}: not a number: " + column.astype(str))
            arr = values.to_numpy()
            flag(np.isinf(arr), f"{name}: infinite value")
            clean[name] = arr
    ok = (reasons == "").to_numpy()
    rows = np.arange(first_row, first_row + len(chunk))
    features = pd.DataFrame(clean, index=chunk.index)
    good = pd.concat([chunk[[ID_COLUMN]], features], axis=1)[ok]
    good.insert(0, "row", rows[ok])
    rejects = chunk[~ok].copy()
    rejects.insert(0, "row", rows[~ok])
    rejects["reason"] = reasons[~ok].to_numpy()
    return good.reset_index(drop=True), rejects.reset_index(drop=True)
