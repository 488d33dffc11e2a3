"""Loading the raw tables from a folder: one file a table, typed per the data contract (DESIGN.md section 4).

A folder holds ``<table>.parquet``, ``<table>.csv`` or ``<table>.csv.gz`` for each of the seven tables of
`techscore.sources.schema.TABLES`; a table may be absent (it loads as an empty frame), but not present twice.
Parquet is read with pyarrow; CSV is read by pyarrow as text and typed by `techscore.sources._coerce` (the same
rules for both), so a column's pandas dtype depends only on its kind (`techscore.sources._coerce.DTYPES`).

>>> sources = load_sources("data/world")                        # doctest: +SKIP
>>> sources.financials["revenue"].dtype, sources["enterprises"]["founded"].dtype    # doctest: +SKIP
(dtype('float64'), dtype('<M8[ns]'))

`load_sources` trusts the rules it does not check (keys, codes, date order): run `techscore.sources.validation` first
when the data are not known to be clean, and use its ``valid`` tables.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pv
import pyarrow.parquet as pq

from techscore.exceptions import SchemaError, ValidationError
from techscore.sources._coerce import EXPECTED, coerce, display
from techscore.sources._normalise import INVISIBLE, Changes, normalise
from techscore.sources._problems import empty_problems, problem_frame, summarize
from techscore.sources.asof import empty_table
from techscore.sources.schema import TABLE_NAMES, TABLES

SUFFIXES: tuple[str, ...] = (".parquet", ".csv", ".csv.gz")
"""File endings a table may have, in the order they are looked for."""
NULL_TOKENS: tuple[str, ...] = ("", "NA", "N/A", "#N/A", "NULL", "null", "None", "NaN", "nan")
"""CSV cells read as missing."""


@dataclass
class RawTable:
    """One table as stored: the contract's columns present in the file, untyped (CSV: text; Parquet: as stored).

    `data` keeps the file's row order, so row ``i`` (0-based) is data row ``i + 1`` of the file, header excluded.
    """

    name: str
    path: Path | None
    data: pa.Table
    n_rows: int
    extra_columns: tuple[str, ...] = ()

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(self.data.column_names)

    @property
    def missing_columns(self) -> tuple[str, ...]:
        """Contract columns the file lacks."""
        return tuple(c.name for c in TABLES[self.name].columns if c.name not in self.data.column_names)

    @property
    def missing_required(self) -> tuple[str, ...]:
        return tuple(c for c in TABLES[self.name].required if c not in self.data.column_names)

    @property
    def file(self) -> str:
        """The file as named in problems: its path, or ``<table>`` for a table given in memory."""
        return str(self.path) if self.path is not None else f"<{self.name}>"

    @property
    def frame(self) -> pd.DataFrame:
        """The raw values as a DataFrame (text stays text)."""
        return to_pandas(self.data)

    def typed(self) -> tuple[pd.DataFrame, dict[str, np.ndarray], dict[str, tuple[pa.ChunkedArray, Changes]]]:
        """All contract columns normalised and typed (absent ones all missing): the frame, per present column where
        typing failed, and per normalised column the text kept and the rows each change altered."""
        columns: dict[str, pd.Series] = {}
        failed: dict[str, np.ndarray] = {}
        changed: dict[str, tuple[pa.ChunkedArray, Changes]] = {}
        for col in TABLES[self.name].columns:
            if col.name in self.data.column_names:
                kept, changes = normalise(self.data.column(col.name), col)
                if changes:
                    changed[col.name] = (kept, changes)
                columns[col.name], failed[col.name] = coerce(kept, col.kind)
            else:
                columns[col.name], _ = coerce(pa.nulls(self.n_rows), col.kind)
        return pd.DataFrame(columns, copy=False), failed, changed


@dataclass(eq=False)
class Sources(Mapping[str, pd.DataFrame]):
    """The seven raw tables, typed: attribute (``sources.loans``) and mapping (``sources["loans"]``) access.

    A table the folder lacks is an empty frame with the contract's columns; `paths` names the file each table was
    read from (None when absent or built in memory).
    """

    enterprises: pd.DataFrame
    financials: pd.DataFrame
    ip_rights: pd.DataFrame
    innovation_indicators: pd.DataFrame
    supply_chain: pd.DataFrame
    tax: pd.DataFrame
    loans: pd.DataFrame
    paths: dict[str, Path | None] = field(default_factory=dict)

    @classmethod
    def from_frames(cls, frames: Mapping[str, pd.DataFrame], paths: Mapping[str, Path | None] | None = None) -> Sources:
        """Sources from a mapping of table name to frame; missing tables become empty typed frames."""
        unknown = sorted(set(frames) - set(TABLE_NAMES))
        if unknown:
            raise SchemaError(f"sources hold tables named {', '.join(TABLE_NAMES)}; got {', '.join(unknown[:5])}.")
        tables = {name: frames[name] if name in frames else empty_table(name) for name in TABLE_NAMES}
        return cls(**tables, paths={name: (paths or {}).get(name) for name in TABLE_NAMES})

    def __getitem__(self, name: str) -> pd.DataFrame:
        if name not in TABLE_NAMES:
            raise KeyError(name)
        return getattr(self, name)

    def __iter__(self) -> Iterator[str]:
        return iter(TABLE_NAMES)

    def __len__(self) -> int:
        return len(TABLE_NAMES)

    def __repr__(self) -> str:
        sizes = ", ".join(f"{name}={len(self[name]):,}" for name in TABLE_NAMES)
        return f"Sources({sizes})"


def find_table_file(folder: str | Path, name: str) -> Path | None:
    """The file holding table `name` in `folder`, None when there is none; an error when there are several."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"data folder {folder} does not exist or is not a folder.")
    found = [folder / f"{name}{suffix}" for suffix in SUFFIXES if (folder / f"{name}{suffix}").is_file()]
    if len(found) > 1:
        raise ValidationError(
            f"table {name} is ambiguous in {folder}: found {', '.join(p.name for p in found)}; keep one file a table."
        )
    return found[0] if found else None


def load_table(folder: str | Path, name: str, *, columns: list[str] | tuple[str, ...] | None = None) -> RawTable:
    """Read table `name` from `folder` as stored (untyped), keeping only the contract's columns.

    Parameters
    ----------
    folder
        The data folder.
    name
        One of `techscore.sources.schema.TABLE_NAMES`.
    columns
        Contract columns to read (default all); columns the file lacks are simply not in the result.
    """
    if name not in TABLES:
        raise SchemaError(f"table must be one of {', '.join(TABLE_NAMES)}; got {name!r}.")
    path = find_table_file(folder, name)
    if path is None:
        raise FileNotFoundError(f"no {name}.parquet or {name}.csv in {folder}.")
    wanted = [c.name for c in TABLES[name].columns] if columns is None else list(columns)
    unknown = [c for c in wanted if c not in {col.name for col in TABLES[name].columns}]
    if unknown:
        raise SchemaError(f"table {name} has no column {', '.join(unknown[:5])} in the data contract.")
    return read_table_file(path, name, wanted)


def read_table_file(path: Path, name: str, wanted: list[str]) -> RawTable:
    """Read `wanted` columns of a table file (Parquet or CSV); CSV cells are read as text."""
    contract = {c.name for c in TABLES[name].columns}
    try:
        if path.name.endswith(".parquet"):
            header = [c for c in pq.read_schema(path).names if not c.startswith("__index_level_")]
            present = [c for c in wanted if c in header]
            data = pq.read_table(path, columns=present or header[:1])
        else:
            with pv.open_csv(path) as reader:
                header = reader.schema.names
            present = [c for c in wanted if c in header]
            data = pv.read_csv(
                path,
                convert_options=pv.ConvertOptions(
                    column_types={c: pa.string() for c in header},
                    include_columns=present or header[:1],
                    strings_can_be_null=True,
                    quoted_strings_can_be_null=True,
                    null_values=list(NULL_TOKENS),
                ),
            )
    except (pa.ArrowInvalid, OSError) as exc:
        if isinstance(exc, FileNotFoundError):
            raise
        raise ValidationError(f"cannot read {path}: {exc}") from exc
    n_rows = data.num_rows
    if not present:
        data = data.select([])
    extra = tuple(c for c in header if c not in contract)
    return RawTable(name, path, data, n_rows, extra)


def raw_from_frame(name: str, frame: pd.DataFrame, path: Path | None = None) -> RawTable:
    """A `RawTable` of a DataFrame held in memory (typed or text), keeping only the contract's columns."""
    contract = [c.name for c in TABLES[name].columns]
    arrays = {}
    for column in (c for c in contract if c in frame.columns):
        series = frame[column]
        try:
            arrays[column] = pa.Array.from_pandas(series)
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            arrays[column] = pa.Array.from_pandas(series.astype("string"))
    extra = tuple(str(c) for c in frame.columns if c not in contract)
    data = pa.table(arrays) if arrays else pa.table({})
    return RawTable(name, path, data, len(frame), extra)


def to_pandas(data: pa.Table) -> pd.DataFrame:
    """An Arrow table as pandas with nullable integers, booleans and strings (no float or object surprises)."""
    mapping = {
        pa.string(): pd.StringDtype(), pa.large_string(): pd.StringDtype(), pa.bool_(): pd.BooleanDtype(),
        **{t: pd.Int64Dtype() for t in (pa.int8(), pa.int16(), pa.int32(), pa.int64())},
    }
    return data.to_pandas(types_mapper=mapping.get)


def load_sources(
    folder: str | Path, *, tables: list[str] | tuple[str, ...] | None = None, errors: str = "raise"
) -> Sources:
    """Load the tables of `folder` typed per the contract; absent tables become empty frames.

    Parameters
    ----------
    folder
        The data folder (``<table>.parquet`` or ``<table>.csv`` per table).
    tables
        Names of the tables to read (default all); the others are empty frames. A named table must exist.
    errors
        ``"raise"`` (default): a missing required column raises `SchemaError`, a value that cannot be typed
        raises `ValidationError` naming file, row, column and value. ``"coerce"``: such values become missing.
    """
    if errors not in ("raise", "coerce"):
        raise ValueError(f"errors must be 'raise' or 'coerce'; got {errors!r}.")
    names = TABLE_NAMES if tables is None else tuple(tables)
    unknown = [n for n in names if n not in TABLES]
    if unknown:
        raise SchemaError(f"tables must be among {', '.join(TABLE_NAMES)}; got {', '.join(unknown[:5])}.")
    frames: dict[str, pd.DataFrame] = {}
    paths: dict[str, Path | None] = {}
    for name in names:
        if tables is None and find_table_file(folder, name) is None:
            continue
        raw = load_table(folder, name)
        if errors == "raise" and raw.missing_required:
            raise SchemaError(f"{raw.file} lacks required column(s) {', '.join(raw.missing_required)} of {name}.")
        frames[name], failed, changed = raw.typed()
        paths[name] = raw.path
        if changed:
            changes = normalise_problems(raw, changed)
            warnings.warn(
                f"{len(changes):,} value(s) in {raw.file} were normalised as the data contract declares (run "
                f"`techscore validate` for the full list): {summarize(changes)}", NormalisedValueWarning, stacklevel=2)
        if errors == "raise" and any(mask.any() for mask in failed.values()):
            problems = type_problems(raw, failed)
            raise ValidationError(
                f"{len(problems):,} value(s) in {raw.file} cannot be read as their column's type "
                f"(run `techscore validate` for a full report): {summarize(problems)}",
                problems=problems,
            )
    return Sources.from_frames(frames, paths)


class NormalisedValueWarning(UserWarning):
    """Values were changed on the way in as the contract declares (white space, width, case, another spelling)."""


_SHOWN = "[" + "".join(f"\\u{ord(c):04x}" for c in INVISIBLE if c != " ") + "]"
_CHANGE_TEXT: dict[str, str] = {
    "whitespace": "has white space or invisible characters around it",
    "width": "has full-width characters",
    "case": "is not in the contract's case",
    "synonym": "is another spelling of the contract's value",
}


def visible(values: pd.Series) -> pd.Series:
    """Text with every invisible or unusual space shown as ``<U+XXXX>`` (tab, no-break, zero-width, BOM, ...), so a
    message says what was removed; the problem's ``value`` keeps the text as read."""
    return values.str.replace(_SHOWN, lambda m: f"<U+{ord(m.group(0)):04X}>", regex=True)


def normalise_problems(raw: RawTable, changed: dict[str, tuple[pa.ChunkedArray, Changes]]) -> pd.DataFrame:
    """The warnings (one per change and cell) of the values `RawTable.typed` changed: value as read, value kept."""
    parts = []
    for column, (kept, changes) in changed.items():
        for rule, mask in changes:
            rows = np.flatnonzero(mask)
            take = pa.array(rows, type=pa.int64())
            values = display(raw.data.column(column).take(take))
            kept_values = display(kept.take(take))
            shown = kept_values.fillna("<missing>")
            message = (f"{column} '" + visible(values.fillna("")) + f"' {_CHANGE_TEXT[rule]}; kept '" + shown
                       + "'").str.replace("'<missing>'", "as missing", regex=False)
            parts.append(problem_frame(raw.file, raw.name, rows, column, values, rule, message, "warning",
                                       kept=kept_values))
    return pd.concat(parts, ignore_index=True) if parts else empty_problems()



def type_problems(raw: RawTable, failed: dict[str, np.ndarray]) -> pd.DataFrame:
    """The problem rows (rule ``type``) of values that could not be typed."""
    parts = []
    for column, mask in failed.items():
        rows = np.flatnonzero(mask)
        if rows.size:
            kind = TABLES[raw.name].column(column).kind
            values = display(raw.data.column(column).take(pa.array(rows)))
            message = f"{column} '" + values.fillna("") + f"' is not {EXPECTED[kind]}"
            parts.append(problem_frame(raw.file, raw.name, rows, column, values, "type", message, "error"))
    return pd.concat(parts, ignore_index=True) if parts else empty_problems()
