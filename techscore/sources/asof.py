"""Point-in-time views: each raw table cut to what was known before an as-of date.

Features as of a date D may use only what a lender could have known before D. This module is the single place
that rule is applied, table by table (docs: notes/FEATURES.md, "base inputs"):

========================  ===========================================================================================
table                     known before D
========================  ===========================================================================================
enterprises               firms founded before D; certification dates on/after D become NaT
financials                fiscal years whose reporting date (31 May of year+1 by default) is before D
innovation_indicators     years whose reporting date (31 May of year+1 by default) is before D
ip_rights                 rights filed before D; a grant on/after D becomes NaT and the status reverts to what was
                          known at D (granted if granted before D, else pending); a status change dated on/after D
                          reverts the same way; a pledge dated on/after D is not yet known (pledged False).
                          A change without its own date (status beyond granted without status_date, granted
                          without a grant date, pledged without pledged_date, or those columns absent) is known
                          only from the data's snapshot date (`PointInTime.snapshot`; default never): before it
                          the right is taken as it was at grant (granted if granted before D, else pending;
                          not pledged)
supply_chain              invoices dated before D; a payment on/after D becomes NaT (still unpaid at D)
tax                       grades published before D (30 April of year+1 by default)
loans                     loans issued before D; a default on/after D becomes NaT
========================  ===========================================================================================

Tables cover all firms (peer ranks need the whole cohort). A table with nothing to hide is returned as is (no copy);
otherwise only the changed columns are new (pandas copy-on-write shares the rest).

>>> loans = pd.DataFrame({"loan_id": ["a", "b"], "uscc": ["X", "X"], "issued": pd.to_datetime(["2023-01-05", "2024-02-01"]),
...                       "default_date": pd.to_datetime(["2024-03-01", None])})
>>> known_as_of({"loans": loans}, "2024-01-01", tables=["loans"])["loans"][["loan_id", "default_date"]]
  loan_id default_date
0       a          NaT
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from techscore.exceptions import SchemaError
from techscore.sources.schema import CERTIFICATIONS, TABLE_NAMES, TABLES, PointInTime

RULES_VERSION = "2"
"""Changes whenever a point-in-time rule changes, so cached datasets built under the old rules are rebuilt."""

_EMPTY_DTYPES = {
    "str": "string", "uscc": "string", "category": "string", "int": "Int64", "float": "float64",
    "money": "float64", "date": "datetime64[ns]", "bool": "boolean",
}


def empty_table(name: str) -> pd.DataFrame:
    """An empty frame with the contract's columns and types of table `name` (a table the data did not provide)."""
    table = TABLES[name]
    return pd.DataFrame({c.name: pd.Series(dtype=_EMPTY_DTYPES[c.kind]) for c in table.columns})


def as_tables(sources: Any, names: Iterable[str] = TABLE_NAMES) -> dict[str, pd.DataFrame]:
    """The raw tables of `sources` by name: a `Sources` object (attribute per table) or a mapping of DataFrames.

    Tables the sources lack become empty frames with the contract's columns; date columns not yet typed (text in a
    hand-built frame) are parsed, so the views below can compare them with a date.
    """
    out: dict[str, pd.DataFrame] = {}
    for name in names:
        if name not in TABLES:
            raise SchemaError(f"tables must be among {', '.join(TABLE_NAMES)}; got {name!r}.")
        if isinstance(sources, Mapping):
            frame = sources.get(name)
        else:
            frame = getattr(sources, name, None)
        if frame is None:
            frame = empty_table(name)
        elif not isinstance(frame, pd.DataFrame):
            raise SchemaError(f"sources table {name} must be a pandas DataFrame; got {type(frame).__name__}.")
        for column in TABLES[name].columns_of_kind("date"):
            if column in frame.columns and not pd.api.types.is_datetime64_any_dtype(frame[column].dtype):
                frame = frame.assign(**{column: pd.to_datetime(frame[column], errors="raise")})
        out[name] = frame
    return out


def last_known_year(as_of: pd.Timestamp, known: tuple[int, int]) -> int:
    """The latest year Y whose record (reported on month/day `known` of Y+1) is known strictly before `as_of`."""
    month, day = known
    day = min(day, calendar.monthrange(as_of.year, month)[1])
    return as_of.year - 1 if pd.Timestamp(as_of.year, month, day) < as_of else as_of.year - 2


def known_as_of(
    sources: Any, as_of: Any, point_in_time: PointInTime | None = None, tables: Iterable[str] | None = None
) -> dict[str, pd.DataFrame]:
    """Every raw table as known strictly before `as_of` (rules in the module docstring).

    Parameters
    ----------
    sources
        A `Sources` object or a mapping of table name to DataFrame (typed columns; missing tables are empty).
    as_of
        The as-of date D (anything `pd.Timestamp` accepts).
    point_in_time
        When yearly records become known; default `PointInTime()`.
    tables
        Only these tables (default all seven): the catalogue asks only for those its features read.
    """
    d = pd.Timestamp(as_of)
    pit = point_in_time or PointInTime()
    names = TABLE_NAMES if tables is None else tuple(tables)
    t = as_tables(sources, names)
    views = {
        "enterprises": lambda f: _enterprises(f, d),
        "financials": lambda f: _years_known(f, last_known_year(d, pit.financials_known)),
        "innovation_indicators": lambda f: _years_known(f, last_known_year(d, pit.indicators_known)),
        "ip_rights": lambda f: _ip_rights(f, d, _snapshot_known(pit, d)),
        "supply_chain": lambda f: _null_on_after(_rows_before(f, "date", d), ("paid_date",), d),
        "tax": lambda f: _years_known(f, last_known_year(d, pit.tax_known)),
        "loans": lambda f: _null_on_after(_rows_before(f, "issued", d), ("default_date",), d),
    }
    return {name: views[name](t[name]) for name in names}


KNOWN_BY: dict[str, str] = {
    "enterprises": "founded", "financials": "year", "innovation_indicators": "year", "ip_rights": "filed",
    "supply_chain": "date", "tax": "year", "loans": "issued",
}
"""The column that decides whether a row of each table is known at a date."""


def sort_by_known(sources: Any) -> dict[str, pd.DataFrame]:
    """The tables sorted (stably) by the column that says when a row becomes known (`KNOWN_BY`).

    Views of sorted tables cut a prefix of rows (a view, no copy) instead of filtering every column, which matters
    when many as-of dates are taken from the same tables (`techscore.dataset.build_dataset`). Rows with a missing
    key go last (they are never known). Every view holds the same rows; only their order differs.
    """
    out = {}
    for name, frame in as_tables(sources).items():
        key = _key_values(frame[KNOWN_BY[name]])
        if len(frame) > 1 and not _sorted(key):
            frame = frame.iloc[np.argsort(key, kind="stable")]
        out[name] = frame
    return out


def known_key(frame: pd.DataFrame, name: str) -> np.ndarray:
    """When each row of table `name` becomes known (its `KNOWN_BY` column) as a sortable NumPy array, missing last."""
    return _key_values(frame[KNOWN_BY[name]])


def _key_values(key: pd.Series) -> np.ndarray:
    """A sortable NumPy array of a key column: missing values are NaN (years) or NaT (dates), which sort last."""
    if pd.api.types.is_datetime64_any_dtype(key.dtype):
        return key.to_numpy()
    return key.to_numpy(dtype="float64", na_value=np.nan)


def _sorted(values: np.ndarray) -> bool:
    """Non-decreasing, missing values (if any) only at the end."""
    missing = np.isnan(values)
    n = len(values) - int(missing.sum())
    if missing[:n].any():
        return False
    return bool(np.all(values[1:n] >= values[: n - 1]))


def _keep(frame: pd.DataFrame, mask: pd.Series | np.ndarray) -> pd.DataFrame:
    mask = np.asarray(mask, dtype=bool)
    return frame if mask.all() else frame.loc[mask]


def _cut(frame: pd.DataFrame, column: str, value: object, side: str) -> pd.DataFrame:
    """Rows whose `column` is before `value` (side "left": <, "right": <=); missing values are never kept.

    A sorted column (see `sort_by_known`) gives a prefix slice; otherwise a boolean filter.
    """
    key = _key_values(frame[column])
    bound = np.datetime64(pd.Timestamp(value)).astype(key.dtype) if key.dtype.kind == "M" else np.float64(value)
    if len(key) > 1 and _sorted(key):
        k = int(np.searchsorted(key, bound, side=side))
        return frame if k == len(frame) else frame.iloc[:k]
    return _keep(frame, key < bound if side == "left" else key <= bound)


def _rows_before(frame: pd.DataFrame, column: str, d: pd.Timestamp) -> pd.DataFrame:
    return _cut(frame, column, d, "left")


def _years_known(frame: pd.DataFrame, last_year: int) -> pd.DataFrame:
    return _cut(frame, "year", last_year, "right")


def _on_after(frame: pd.DataFrame, column: str, d: pd.Timestamp) -> np.ndarray:
    if column not in frame.columns:
        return np.zeros(len(frame), dtype=bool)
    return (frame[column] >= d).to_numpy(dtype=bool, na_value=False)


def _null_on_after(frame: pd.DataFrame, columns: tuple[str, ...], d: pd.Timestamp) -> pd.DataFrame:
    changes = {}
    for column in columns:
        late = _on_after(frame, column, d)
        if late.any():
            changes[column] = frame[column].mask(late)
    return frame.assign(**changes) if changes else frame


def _enterprises(frame: pd.DataFrame, d: pd.Timestamp) -> pd.DataFrame:
    frame = _rows_before(frame, "founded", d)
    return _null_on_after(frame, tuple(c for c in CERTIFICATIONS if c in frame.columns), d)


def _set(values: pd.Series, where: np.ndarray, value: object) -> pd.Series:
    """`values` with `value` where `where` holds, keeping a categorical dtype (adding `value` if need be)."""
    if isinstance(values.dtype, pd.CategoricalDtype) and value not in values.cat.categories:
        values = values.cat.add_categories([value])
    return values.mask(where, value)


def _snapshot_known(pit: PointInTime, d: pd.Timestamp) -> bool:
    """Whether changes without a date of their own are known before `d`: only once the data were extracted."""
    return pit.snapshot is not None and pd.Timestamp(pit.snapshot) < d


def _undated(frame: pd.DataFrame, column: str, changed: np.ndarray) -> np.ndarray:
    """Rows with a change (`changed`) whose date `column` is missing (or the column absent)."""
    if column not in frame.columns:
        return changed
    return changed & frame[column].isna().to_numpy(dtype=bool)


def _ip_rights(frame: pd.DataFrame, d: pd.Timestamp, undated_known: bool = False) -> pd.DataFrame:
    frame = _rows_before(frame, "filed", d)
    changes: dict[str, pd.Series] = {}
    late_grant = _on_after(frame, "granted", d)
    late_status = _on_after(frame, "status_date", d)
    late_pledge = _on_after(frame, "pledged_date", d)
    if not undated_known and len(frame):  # a change of unknown date: not known before the snapshot
        status = frame["status"] if "status" in frame.columns else pd.Series("pending", index=frame.index)
        granted_status = (status == "granted").to_numpy(dtype=bool, na_value=False)
        changed = ~status.isin(["pending", "granted"]).to_numpy(dtype=bool) & status.notna().to_numpy(dtype=bool)
        late_grant = late_grant | _undated(frame, "granted", granted_status)
        late_status = late_status | _undated(frame, "status_date", changed)
        if "pledged" in frame.columns:
            pledged = frame["pledged"].fillna(False).to_numpy(dtype=bool)
            late_pledge = late_pledge | _undated(frame, "pledged_date", pledged)
    if late_grant.any() or late_status.any():
        granted_known = (frame["granted"] < d).to_numpy(dtype=bool, na_value=False) if "granted" in frame else (
            np.zeros(len(frame), dtype=bool)
        )
        status = frame["status"]
        # A status change after D is unknown: the right is as it was (granted if granted before D, else pending).
        status = _set(status, late_status & granted_known, "granted")
        # Without a grant known at D, nothing beyond "pending" can be known (lapse, invalidation, transfer follow
        # the grant).
        not_pending = (status != "pending").to_numpy(dtype=bool, na_value=False)
        status = _set(status, (late_status & ~granted_known) | (late_grant & not_pending), "pending")
        changes["status"] = status
        for column, late in (("granted", late_grant), ("status_date", late_status)):
            if late.any() and column in frame.columns:
                changes[column] = frame[column].mask(late)
    if late_pledge.any():
        if "pledged_date" in frame.columns:
            changes["pledged_date"] = frame["pledged_date"].mask(late_pledge)
        if "pledged" in frame.columns:
            changes["pledged"] = _set(frame["pledged"], late_pledge, False)
    return frame.assign(**changes) if changes else frame
