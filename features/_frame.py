"""Array helpers the catalogue's nodes and features share: codes for firm keys, dates as day numbers, per-firm sums.

Features over a million firms and tens of millions of IP and trade rows stay fast by hashing each key column once
(Arrow's `index_in`, several times faster than pandas' string hash tables) and doing everything after on integer
positions with NumPy (`bincount`, boolean masks). Every per-firm result is aligned to the `firms` index object
itself, so arithmetic between features never re-aligns on strings.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

DAY_SECONDS = 86_400.0
YEAR_DAYS = 365.25
MONTH_DAYS = YEAR_DAYS / 12


class Rows:
    """Columns of equal length as NumPy arrays: a light frame for the row sets nodes hand to features (a DataFrame
    would copy every column into one block). `rows["amount"]` is a column; `len(rows)` the number of rows."""

    def __init__(self, **columns: np.ndarray) -> None:
        self.columns = columns

    def __getitem__(self, name: str) -> np.ndarray:
        return self.columns[name]

    def __len__(self) -> int:
        return len(next(iter(self.columns.values()), ()))

    def where(self, mask: np.ndarray, *columns: str) -> Rows:
        """The rows where `mask` holds (a boolean array or positions), of `columns` (default all)."""
        return Rows(**{k: self.columns[k][mask] for k in (columns or self.columns)})


def arrow(values: pd.Series | pd.Index | np.ndarray | pa.Array | pa.ChunkedArray,
          rows: np.ndarray | None = None) -> pa.Array | pa.ChunkedArray:
    """`values` as an Arrow array (no copy for Arrow-backed text), optionally only the `rows` where a mask holds."""
    if not isinstance(values, (pa.Array, pa.ChunkedArray)):
        array = values.array if isinstance(values, (pd.Series, pd.Index)) else values
        try:
            values = pa.array(array)
        except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError):
            values = pa.array(np.asarray(array, dtype=object).astype(str))
    if rows is not None and not rows.all():
        values = values.filter(pa.array(rows))
    return values


def positions(values: pd.Series | pd.Index | pa.Array | pa.ChunkedArray, universe: pd.Index) -> np.ndarray:
    """Position of each value in `universe` (unique), -1 where it is absent or missing (int64).

    >>> positions(pd.Series(["b", "x", "a"]), pd.Index(["a", "b"])).tolist()
    [1, -1, 0]
    """
    if len(values) == 0:
        return np.empty(0, dtype=np.int64)
    if isinstance(getattr(values, "dtype", None), pd.CategoricalDtype):
        cats = positions(pd.Index(values.cat.categories if isinstance(values, pd.Series) else values.categories),
                         universe)
        codes = np.asarray(values.cat.codes if isinstance(values, pd.Series) else values.codes)
        return np.where(codes >= 0, cats[codes], -1).astype(np.int64)
    value_set = arrow(universe)
    if isinstance(value_set, pa.ChunkedArray):
        value_set = value_set.combine_chunks()
    found = pc.index_in(arrow(values), value_set=value_set)
    return np.asarray(pc.fill_null(found, -1).to_numpy(zero_copy_only=False), dtype=np.int64)


def same_keys(a: pd.Series | pd.Index, b: pd.Series | pd.Index) -> bool:
    """Whether two key columns hold the same values in the same order (compared by Arrow, without hashing)."""
    if len(a) != len(b):
        return False
    return bool(len(a) == 0 or pc.all(pc.equal(arrow(a), arrow(b)), skip_nulls=False).as_py())


def days(values: pd.Series | np.ndarray, reference: pd.Timestamp) -> np.ndarray:
    """Days from `reference` to each date (negative before it), NaN where the date is missing (float64)."""
    raw = values if isinstance(values, np.ndarray) and values.dtype.kind == "M" else days_source(values)
    unit = np.datetime_data(raw.dtype)[0]
    ticks = raw.view(np.int64)
    origin = pd.Timestamp(reference).to_datetime64().astype(raw.dtype).astype(np.int64)
    out = (ticks - origin) / float(np.timedelta64(1, "D") / np.timedelta64(1, unit))
    out[ticks == np.iinfo(np.int64).min] = np.nan  # NaT
    return out


def months_before(as_of: pd.Timestamp, months: int) -> float:
    """Days from `as_of` back to the same day `months` calendar months earlier (a negative number)."""
    return -float((as_of - (as_of - pd.DateOffset(months=months))).days)


def _pick(values: np.ndarray, rows: np.ndarray | None) -> np.ndarray:
    if rows is None or (rows.dtype == bool and rows.all()):
        return values
    return values[rows]


def floats(frame: pd.DataFrame, column: str, rows: np.ndarray | None = None) -> np.ndarray:
    """Column as float64 (missing -> NaN), optionally only `rows`; all NaN when the table lacks the optional column."""
    if column not in frame.columns:
        return _pick(np.full(len(frame), np.nan), rows)
    return _pick(frame[column].to_numpy(dtype=np.float64, na_value=np.nan), rows)


def flags(frame: pd.DataFrame, column: str, rows: np.ndarray | None = None) -> np.ndarray:
    """Boolean column as bool (missing -> False), optionally only `rows`; all False when the table lacks it."""
    if column not in frame.columns:
        return _pick(np.zeros(len(frame), dtype=bool), rows)
    return _pick(frame[column].to_numpy(dtype=bool, na_value=False), rows)


def dates(frame: pd.DataFrame, column: str, reference: pd.Timestamp, rows: np.ndarray | None = None) -> np.ndarray:
    """Days from `reference` of a date column (NaN when missing), optionally only `rows`; all NaN when absent."""
    if column not in frame.columns:
        return _pick(np.full(len(frame), np.nan), rows)
    return days(_pick(days_source(frame[column]), rows), reference)


def days_source(values: pd.Series) -> np.ndarray:
    """A date column as a datetime64 NumPy array (parsed when it is not typed yet)."""
    if not pd.api.types.is_datetime64_any_dtype(values.dtype):
        values = pd.to_datetime(values)
    return np.asarray(values)


def per_firm(pos: np.ndarray, n: int, weights: np.ndarray | None = None) -> np.ndarray:
    """Sum of `weights` (or count of rows) per firm position 0..n-1 (float64)."""
    return np.bincount(pos, weights=weights, minlength=n).astype(np.float64, copy=False)


def ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """numerator / denominator where the denominator is positive, else NaN."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(denominator > 0, numerator / np.where(denominator > 0, denominator, 1.0), np.nan)


def scatter(pos: np.ndarray, values: np.ndarray, n: int, fill: float = np.nan) -> np.ndarray:
    """Array of length n holding `values` at `pos` and `fill` elsewhere."""
    out = np.full(n, fill, dtype=np.float64)
    out[pos] = values
    return out


def series(values: np.ndarray, firms: pd.Index) -> pd.Series:
    """A float64 (or object, for categories) Series on the `firms` index object itself."""
    return pd.Series(values, index=firms, copy=False)


def nan_flag(condition: np.ndarray, known: np.ndarray) -> np.ndarray:
    """1.0 where `condition`, 0.0 where not, NaN where the inputs are not `known`."""
    return np.where(known, condition.astype(np.float64), np.nan)


def take(values: np.ndarray, pos: np.ndarray, fill: float = np.nan) -> np.ndarray:
    """values[pos] with `fill` where pos is -1 (float64)."""
    values = np.asarray(values, dtype=np.float64)
    if len(values) == 0:
        return np.full(len(pos), fill)
    return np.where(pos >= 0, values[np.clip(pos, 0, None)], fill)


def latest_year(pos: np.ndarray, year: np.ndarray, n: int) -> np.ndarray:
    """Largest `year` per firm position 0..n-1 (-inf for a firm without rows); `pos` must be >= 0."""
    latest = np.full(n, -np.inf)
    np.maximum.at(latest, pos, year)
    return latest


def latest_mask(pos: np.ndarray, year: np.ndarray, n: int) -> np.ndarray:
    """True on each row whose `year` is the latest of its firm position (rows with pos -1 are False)."""
    keep = pos >= 0
    latest = latest_year(pos[keep], year[keep], n)
    return keep & (year == latest[np.clip(pos, 0, None)])


def year_end_days(year: np.ndarray, reference: pd.Timestamp) -> np.ndarray:
    """Days from 31 December of each `year` to `reference` (NaN for a missing year)."""
    missing = np.isnan(year)
    y = np.where(missing, 1970, year).astype(np.int64)
    dec31 = (y - 1969).astype("datetime64[Y]").astype("datetime64[D]").astype(np.int64) - 1
    ref = (pd.Timestamp(reference) - pd.Timestamp(0)).days
    return np.where(missing, np.nan, (ref - dec31).astype(np.float64))


def through(mapping: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """mapping[codes] for codes >= 0 and -1 elsewhere: chains positions (table row -> registry row -> firm row)."""
    if len(mapping) == 0:
        return np.full(len(codes), -1, dtype=np.int64)
    return np.where(codes >= 0, mapping[np.clip(codes, 0, None)], -1)


def first_label(conditions: list[np.ndarray], labels: tuple[str, ...], missing: np.ndarray | None = None
                ) -> np.ndarray:
    """Object array holding, per row, the label of the first condition that holds (the last label when none does)
    and None where `missing`; labels[i] goes with conditions[i], so len(labels) == len(conditions) + 1."""
    code = np.select(conditions, np.arange(len(conditions)), len(conditions))
    if missing is not None:
        code = np.where(missing, len(labels), code)
    return np.array([*labels, None], dtype=object)[code]
