"""SQL text helpers shared by the exporters: dialects, identifiers, exact number and string literals.

Numbers are written as approximate-numeric literals (``0.35581125048574763e0``) so that every engine reads them as
DOUBLE PRECISION, never as DECIMAL, and with Python's shortest round-trip digits so they parse to the very same
double LightGBM and numpy use.
"""

from __future__ import annotations

import math
import re

from techscore.exceptions import ModelError

__all__ = ["DIALECTS", "check_dialect", "ident", "input_column", "num", "sigmoid_sql", "text", "varchar"]

DIALECTS = ("duckdb", "ansi")
"""SQL dialects the exporters write: `duckdb` (also reads NaN as missing) and `ansi` (standard SQL only)."""

_SAFE = re.compile(r"[a-z_][a-z0-9_]*")
_RESERVED = frozenset("""all and any as asc between by case cast check column constraint create cross current default
delete desc distinct drop else end except exists false fetch for foreign from full grant group having in inner insert
intersect into is join left like limit natural not null offset on or order outer primary references right select
table then to true union unique update user using values when where with window""".split())


def check_dialect(dialect: str) -> str:
    if dialect not in DIALECTS:
        raise ModelError(f"SQL dialect must be one of {', '.join(DIALECTS)}; got {dialect!r}.")
    return dialect


def ident(name: str) -> str:
    """`name` as an SQL identifier: bare when it is a safe lower-case word, else double-quoted (quotes doubled)."""
    if _SAFE.fullmatch(name) and name not in _RESERVED:
        return name
    return '"' + name.replace('"', '""') + '"'


def num(value: float, *, where: str = "") -> str:
    """An exact DOUBLE PRECISION literal of `value` (finite only)."""
    value = float(value)
    if not math.isfinite(value):
        raise ModelError(f"{where or 'a model constant'} is {value!r}; SQL has no portable literal for it.")
    digits = repr(value)
    return digits if "e" in digits else digits + "e0"


def text(value: str) -> str:
    """A string literal (single quotes doubled)."""
    return "'" + str(value).replace("'", "''") + "'"


def varchar(expr: str) -> str:
    return f"CAST({expr} AS VARCHAR)"


def sigmoid_sql(z: str) -> str:
    """The logistic function of SQL expression `z`, split at 0 like techscore's numerically stable `sigmoid`."""
    return (f"CASE WHEN {z} >= 0 THEN 1.0e0 / (1.0e0 + EXP(-({z}))) "
            f"ELSE EXP({z}) / (1.0e0 + EXP({z})) END")


def input_column(column: str, kind: str, dialect: str) -> str:
    """A feature column as the exports read it: categoricals as VARCHAR, numbers as DOUBLE PRECISION (in DuckDB
    NaN read as missing, like NULL)."""
    if kind == "categorical":
        return varchar(column)
    value = f"CAST({column} AS DOUBLE PRECISION)"
    return f"CASE WHEN isnan({value}) THEN NULL ELSE {value} END" if dialect == "duckdb" else value
