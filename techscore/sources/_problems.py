"""The problem list: one row per broken rule, naming file, 1-based data row, column and value."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

PROBLEM_COLUMNS: tuple[str, ...] = ("file", "table", "row", "column", "value", "kept", "rule", "message", "severity")
"""Columns of a problem frame. ``row`` is the 1-based data row of the file (header excluded; <NA> for a problem of
the whole table), ``value`` the offending value as read (text), ``kept`` the value kept after a declared change
(normalisation warnings; <NA> otherwise), ``severity`` ``error`` (the row is rejected) or ``warning``."""


def problem_frame(
    file: str,
    table: str,
    rows: np.ndarray | Sequence[int] | None,
    column: str | None,
    values: pd.Series | Sequence | None,
    rule: str,
    message: pd.Series | Sequence[str] | str,
    severity: str,
    *,
    kept: pd.Series | None = None,
) -> pd.DataFrame:
    """Problem rows for 0-based row positions `rows` (None: one problem about the whole table)."""
    if rows is None:
        row = pd.array([pd.NA], dtype="Int64")
    else:
        row = pd.array(np.asarray(rows, dtype=np.int64) + 1, dtype="Int64")
    n = len(row)
    value = pd.array([pd.NA] * n if values is None else list(values) if not isinstance(values, pd.Series)
                     else values.to_numpy(), dtype="string")
    msg = pd.array([message] * n if isinstance(message, str) else
                   (message.to_numpy() if isinstance(message, pd.Series) else list(message)), dtype="string")
    return pd.DataFrame({
        "file": pd.array([file] * n, dtype="string"),
        "table": pd.array([table] * n, dtype="string"),
        "row": row,
        "column": pd.array([column] * n, dtype="string"),
        "value": value,
        "kept": pd.array([pd.NA] * n, dtype="string") if kept is None else pd.array(kept.to_numpy(), dtype="string"),
        "rule": pd.array([rule] * n, dtype="string"),
        "message": msg,
        "severity": pd.array([severity] * n, dtype="string"),
    })


def empty_problems() -> pd.DataFrame:
    """A problem frame with no rows."""
    return problem_frame("", "", [], None, [], "", [], "")


def summarize(problems: pd.DataFrame, n: int = 5) -> str:
    """The first `n` problems as one line each: file, row, column, value and message."""
    lines = []
    for p in problems.head(n).itertuples(index=False):
        where = p.file if pd.isna(p.row) else f"{p.file} row {p.row}"
        lines.append(f"{where}, column {p.column}: {p.message}")
    more = f" (and {len(problems) - n:,} more)" if len(problems) > n else ""
    return "; ".join(lines) + more
