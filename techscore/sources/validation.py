"""Validating the raw tables against the data contract: every broken rule listed, bad rows set apart.

`validate` reads a data folder (or takes tables in memory), checks every rule of `RULES` table by table, and returns
a `ValidationResult`: the problem list, the valid rows typed as `Sources`, the rejected rows with their reasons,
and per-table counts (``input == valid + rejected`` always).

>>> result = validate("data/world")                               # doctest: +SKIP
>>> result.ok, result.counts.loc["loans", ["input", "valid", "rejected"]].tolist()  # doctest: +SKIP
(False, [1200, 1198, 2])

Conventions
-----------
- ``row`` in a problem is the 1-based data row of the file, header excluded (row 1 is the first line after the
  header of a CSV, or the first row of a Parquet file); <NA> for a problem of the whole table.
- A row with at least one ``error`` is rejected; ``warning`` rows are kept.
- A value is changed only as its column's contract declares (`techscore.sources.schema.NORMALISATIONS`: white
  space, width, case, synonym), each change a warning with the value as read (``value``) and kept (``kept``).
- A table that lacks a required column (or the required `enterprises` table itself) is a file-level error: the
  table's rows are not checked one by one, all are rejected, and `ValidationResult.file_errors` lists it (the
  command exits 2).
- Dates of events (`Column.past`) after the snapshot date (`techscore.sources.snapshot`) and years after its year
  break ``after_snapshot``.
- Duplicate keys: the first row with a key is kept and every later row with the same key is rejected (reason
  names the first row), whether or not the first row passes its other rules.
- Foreign keys point at the *valid* rows of `enterprises`: a row whose firm is absent breaks ``foreign_key``;
  a row whose firm exists but was rejected breaks ``foreign_key_rejected`` (the reason names the firm's row).
  When `enterprises` itself has no file, ``table_missing`` is reported once and foreign keys are not checked.
- Checks run vectorised over whole columns (text columns through their distinct values), and problem rows are
  built only for the rows that fail, so millions of clean rows cost little beyond reading them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from techscore.sources import uscc
from techscore.sources._coerce import display
from techscore.sources._problems import PROBLEM_COLUMNS, empty_problems, problem_frame
from techscore.sources.asof import empty_table
from techscore.sources.industry import is_valid_industry
from techscore.sources.load import (
    RawTable,
    Sources,
    find_table_file,
    normalise_problems,
    raw_from_frame,
    read_table_file,
    type_problems,
)
from techscore.sources.schema import NORMALISATIONS, TABLE_NAMES, TABLES
from techscore.sources.snapshot import snapshot_date as resolve_snapshot

ERROR, WARNING = "error", "warning"
FILE_RULES: tuple[str, ...] = ("table_missing", "required_column")
"""Rules whose error makes a whole file unusable (the command exits 2)."""
YEARS: tuple[int, int] = (1900, 2100)
"""Plausible years (inclusive) of `year` columns and of dates."""
REQUIRED_TABLES: tuple[str, ...] = ("enterprises",)
"""Tables that must have a file; every other table may be absent."""

RULES: dict[str, str] = {
    "table_missing": "a required table has no file (file-level)",
    "required_column": "a required column is missing from the file (file-level: every row is rejected)",
    "unknown_column": "a column outside the contract; it is ignored (warning)",
    **{rule: f"{text} (warning)" for rule, text in NORMALISATIONS.items()},
    "type": "a value cannot be read as its column's type: date, number, integer or true/false",
    "required_value": "a required value is empty",
    "uscc_format": "a firm code is not 18 characters of the GB 32100-2015 alphabet",
    "uscc_check": "a firm code's check character does not verify (a warning with lenient_check_character)",
    "industry": "industry is not a GB/T 4754-2017 section, division, or section plus one of its divisions",
    "region": "region is not a 6-digit administrative division code",
    "choice": "a value is not one of the column's allowed values",
    "negative": "a money amount or a count is below zero",
    "year_range": f"a year or date lies outside {YEARS[0]}-{YEARS[1]}",
    "date_order": "dates out of order: filed <= granted <= expires, issued < default_date, date <= due/paid date",
    "after_snapshot": "the date of an event (or a year) after the data's snapshot (extraction) date",
    "duplicate_key": "a row repeats the key of an earlier row (the first is kept)",
    "foreign_key": "a firm code that is not in enterprises",
    "foreign_key_rejected": "a firm whose enterprises row was rejected",
    "year_before_founded": "a year before the firm's founding year (warning)",
}
"""Every rule by its stable id."""

_USCC_FORMAT = r"^[0-9A-HJ-NP-RTUWXY]{18}$"
_REGION = r"^\d{6}$"
_CODE_RULES: dict[tuple[str, str], tuple[str, Callable[[pd.Series], np.ndarray], str]] = {
    ("enterprises", "industry"): (
        "industry", lambda u: is_valid_industry(u).to_numpy(dtype=bool), "is not a GB/T 4754-2017 code"),
    ("enterprises", "region"): (
        "region", lambda u: _matches(u, _REGION), "is not a 6-digit administrative division code"),
}
"""Code columns checked against a code list: (table, column) -> (rule, test of distinct values, message)."""


@dataclass
class ValidationResult:
    """What `validate` found.

    Attributes
    ----------
    problems
        One row per broken rule (columns `techscore.sources._problems.PROBLEM_COLUMNS`), by table then row.
    valid
        The rows without errors, typed as `Sources`.
    rejects
        Per table present, the rejected rows as read (raw values) plus ``row`` and ``reasons`` (all error
        messages of the row joined by ``"; "``).
    counts
        Per table: file, input, valid, rejected, errors, warnings (problem counts).
    """

    problems: pd.DataFrame
    valid: Sources
    rejects: dict[str, pd.DataFrame]
    counts: pd.DataFrame
    folder: Path | None = None
    lenient_check_character: bool = False
    snapshot_date: pd.Timestamp | None = None
    snapshot_source: str = ""
    """Where the snapshot date came from: ``given``, the file recording it, or ``today``."""

    @property
    def n_errors(self) -> int:
        return int((self.problems["severity"] == ERROR).sum())

    @property
    def n_warnings(self) -> int:
        return int((self.problems["severity"] == WARNING).sum())

    @property
    def file_errors(self) -> pd.DataFrame:
        """The file-level errors (a missing required table or column): the data cannot be used as they are."""
        p = self.problems
        return p[(p["severity"] == ERROR) & p["rule"].isin(FILE_RULES)]

    @property
    def ok(self) -> bool:
        """True when no rule was broken at error severity."""
        return self.n_errors == 0

    def rule_counts(self) -> pd.DataFrame:
        """Problems per rule and severity (rules in `RULES` order)."""
        counts = self.problems.groupby(["rule", "severity"]).size().unstack(fill_value=0)
        counts = counts.reindex(columns=[ERROR, WARNING], fill_value=0)
        order = [r for r in RULES if r in counts.index]
        return counts.loc[order].rename(columns={ERROR: "errors", WARNING: "warnings"})


def validate(
    source: str | Path | Mapping[str, pd.DataFrame],
    *,
    lenient_check_character: bool = False,
    snapshot_date: str | pd.Timestamp | None = None,
    progress: Callable[[str], None] | None = None,
) -> ValidationResult:
    """Check raw tables against the data contract and separate the valid rows from the rejected ones.

    Parameters
    ----------
    source
        A data folder (``<table>.parquet`` or ``<table>.csv`` per table), or tables in memory: a `Sources` or a
        mapping of table name to DataFrame (typed or text).
    lenient_check_character
        Report a firm code whose check character fails (some genuine early-pilot codes do) as a warning and keep
        the row; the code must still be 18 characters of the alphabet.
    snapshot_date
        The data's extraction date (default: ``snapshot_date`` recorded in the folder's ``manifest.json`` or
        ``world.json``, else today); no event in the data may be dated after it.
    progress
        Called with each table's name before it is checked (for a progress display).
    """
    get_raw, folder = _reader(source)
    snapshot, snapshot_source = resolve_snapshot(folder, snapshot_date)
    problems: list[pd.DataFrame] = []
    valid: dict[str, pd.DataFrame] = {}
    paths: dict[str, Path | None] = {}
    rejects: dict[str, pd.DataFrame] = {}
    counts: list[dict] = []
    targets: dict[str, _KeyIndex] = {}
    for name in TABLE_NAMES:
        if progress is not None:
            progress(name)
        raw = get_raw(name)
        if raw is None:
            if name in REQUIRED_TABLES:
                where = str(folder) if folder is not None else "<sources>"
                message = f"table {name} is required: no {name}.parquet or {name}.csv in {where}"
                problems.append(problem_frame(where, name, None, None, None, "table_missing", message, ERROR))
            valid[name] = empty_table(name)
            counts.append(_count_row(name, None, 0, 0, problems[-1:] if name in REQUIRED_TABLES else []))
            continue
        check = _TableCheck(raw, lenient_check_character, targets, snapshot)
        check.run()
        if any(name == target for _, target in _all_foreign_keys()):
            targets[name] = _KeyIndex.of(check)
        table_problems = check.problems()
        problems.append(table_problems)
        rejects[name] = check.rejects_frame(table_problems)
        counts.append(_count_row(name, raw.file, raw.n_rows, int(check.error.sum()), [table_problems]))
        paths[name] = raw.path
        del raw
        check.raw.data = pa.table({})  # the raw values are no longer needed: free what typed columns do not share
        valid[name] = check.valid_frame()
        del check
    problems = [p for p in problems if len(p)]
    all_problems = pd.concat(problems, ignore_index=True) if problems else empty_problems()
    counts_frame = pd.DataFrame(counts).set_index("table")
    return ValidationResult(
        problems=all_problems[list(PROBLEM_COLUMNS)],
        valid=Sources.from_frames(valid, paths),
        rejects=rejects,
        counts=counts_frame,
        folder=folder,
        lenient_check_character=lenient_check_character,
        snapshot_date=snapshot,
        snapshot_source=snapshot_source,
    )


def _reader(source) -> tuple[Callable[[str], RawTable | None], Path | None]:
    """A function giving each table's `RawTable` (None when absent), and the folder if any."""
    if isinstance(source, (str, Path)):
        folder = Path(source)
        if not folder.is_dir():
            raise FileNotFoundError(f"data folder {folder} does not exist or is not a folder.")
        columns = {name: [c.name for c in TABLES[name].columns] for name in TABLE_NAMES}

        def from_folder(name: str) -> RawTable | None:
            path = find_table_file(folder, name)
            return None if path is None else read_table_file(path, name, columns[name])

        return from_folder, folder
    if isinstance(source, Mapping):
        paths = getattr(source, "paths", {}) or {}

        def from_memory(name: str) -> RawTable | None:
            frame = source.get(name)
            if frame is None or (isinstance(source, Sources) and paths.get(name) is None and len(frame) == 0):
                return None
            return raw_from_frame(name, frame, paths.get(name))

        return from_memory, None
    raise TypeError(f"source must be a data folder or a mapping of table name to DataFrame; got {type(source).__name__}.")


def _all_foreign_keys() -> list[tuple[str, str]]:
    return [fk for t in TABLES.values() for fk in t.foreign_keys]


def _count_row(name: str, file: str | None, n_input: int, n_rejected: int, problems: list[pd.DataFrame]) -> dict:
    severities = pd.concat(problems)["severity"] if problems else pd.Series([], dtype="string")
    return {
        "table": name, "file": file, "input": n_input, "valid": n_input - n_rejected, "rejected": n_rejected,
        "errors": int((severities == ERROR).sum()), "warnings": int((severities == WARNING).sum()),
    }


def _matches(values: pd.Series | pa.Array, pattern: str) -> np.ndarray:
    """Where each value fully matches the regular expression `pattern` (False where missing)."""
    arr = values if isinstance(values, (pa.Array, pa.ChunkedArray)) else pa.array(values, type=pa.string())
    return pc.fill_null(pc.match_substring_regex(arr, pattern), False).to_numpy(zero_copy_only=False)


def _runs(values: pa.ChunkedArray | pa.Array) -> tuple[np.ndarray, np.ndarray] | None:
    """Runs of equal consecutive values: each row's run number and each run's first row; None when runs are too
    short to pay for themselves."""
    if len(values) < 1024:
        return None
    changed = pc.fill_null(pc.not_equal(values.slice(1), values.slice(0, len(values) - 1)), True)
    changed = changed.to_numpy(zero_copy_only=False)
    starts = np.concatenate([[0], np.flatnonzero(changed) + 1])
    if len(starts) > len(values) // 2:
        return None
    return np.concatenate([[0], np.cumsum(changed, dtype=np.int64)]), starts


def _strictly_increasing(values: pa.ChunkedArray | pa.Array) -> bool:
    """True when every value is present and greater than the one before (so all are distinct)."""
    if values.null_count or len(values) < 2:
        return values.null_count == 0
    later, earlier = values.slice(1), values.slice(0, len(values) - 1)
    return bool(pc.all(pc.greater(later, earlier)).as_py())


def _quoted(column: str, text: str) -> Callable[[pd.Series, np.ndarray], pd.Series]:
    """A message maker: ``<column> '<value>' <text>``."""
    return lambda values, rows: f"{column} '" + values.fillna("") + f"' {text}"


@dataclass
class _KeyIndex:
    """The distinct firm codes of a target table and, per code: well-formed, check character verifies, has a
    valid row, first rejected row (1-based), founding year of the valid row."""

    values: pd.Series
    form: np.ndarray
    check: np.ndarray
    valid: np.ndarray
    rejected_row: np.ndarray
    founded_year: np.ndarray

    @classmethod
    def of(cls, check: _TableCheck) -> _KeyIndex:
        codes, uniques, _ = check.codes("uscc")
        form, check_ok = check.uscc_checks.get("uscc", (np.zeros(len(uniques), bool),) * 2)
        keep = ~check.error
        has = codes >= 0
        valid = np.zeros(len(uniques), dtype=bool)
        valid[codes[keep & has]] = True
        rejected_row = np.full(len(uniques), np.iinfo(np.int64).max, dtype=np.int64)
        rows = np.flatnonzero(~keep & has)
        np.minimum.at(rejected_row, codes[rows], rows + 1)
        founded_year = np.full(len(uniques), np.nan)
        if check.present("founded"):
            years = check.typed["founded"].dt.year.to_numpy(dtype=float, na_value=np.nan)
            rows = np.flatnonzero(keep & has)
            founded_year[codes[rows]] = years[rows]
        return cls(uniques, form, check_ok, valid, rejected_row, founded_year)

    def encode(self, values: pd.Series) -> tuple[np.ndarray, pd.Series, int]:
        """Factorize `values` with this table's codes first: codes, distinct values, and how many are this table's.

        One hash lookup of the column replaces a factorization plus a join (the column's codes below
        ``len(self.values)`` are positions in this index, -1 marks a missing value).
        """
        arr = pa.array(values)
        value_set = pa.array(self.values, type=arr.type)
        runs = _runs(arr)  # rows of one firm usually come together: look up each run once
        if runs is not None:
            run, starts = runs
            heads = arr.take(pa.array(starts))
            pos = pc.fill_null(pc.index_in(heads, value_set=value_set), -1).to_numpy(zero_copy_only=False)[run]
        else:
            pos = pc.fill_null(pc.index_in(arr, value_set=value_set), -1).to_numpy(zero_copy_only=False)
        codes = pos.astype(np.int64)
        unknown = np.flatnonzero((codes < 0) & values.notna().to_numpy(dtype=bool))
        extra = pd.Series([], dtype="string")
        if unknown.size:
            extra_codes, extra_values = pd.factorize(values.iloc[unknown])
            codes[unknown] = len(self.values) + extra_codes
            extra = pd.Series(extra_values, dtype="string")
        uniques = pd.concat([self.values, extra], ignore_index=True) if len(extra) else self.values
        return codes, uniques, len(self.values)


class _TableCheck:
    """The rules of one table, run column by column; collects problems and the rows that have an error."""

    def __init__(self, raw: RawTable, lenient: bool, targets: dict[str, _KeyIndex], snapshot: pd.Timestamp) -> None:
        self.raw = raw
        self.table = TABLES[raw.name]
        self.lenient = lenient
        self.targets = targets
        self.snapshot = snapshot
        self.typed, self.failed, self.changed = raw.typed()
        self.error = np.zeros(raw.n_rows, dtype=bool)
        self._problems: list[pd.DataFrame] = []
        self._codes: dict[str, tuple[np.ndarray, pd.Series, int]] = {}
        self._code_ok: dict[str, np.ndarray] = {}
        self.uscc_checks: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self.fk_targets = dict(self.table.foreign_keys)

    # -- plumbing ---------------------------------------------------------------------------------------------
    def present(self, column: str) -> bool:
        return column in self.raw.columns

    def values(self, column: str, rows: np.ndarray) -> pd.Series:
        """The raw values of `column` at `rows`, as text."""
        return display(self.raw.data.column(column).take(pa.array(rows, type=pa.int64())))

    def codes(self, column: str) -> tuple[np.ndarray, pd.Series, int]:
        """Integer codes (-1 where missing) and distinct values of a typed column, computed once; a firm-code column
        with a target table is coded against that table's firms, which take the first `n_known` codes."""
        if column not in self._codes:
            target = self.fk_targets.get(column)
            if target in self.targets:
                self._codes[column] = self.targets[target].encode(self.typed[column])
            else:
                codes, uniques = pd.factorize(self.typed[column])
                self._codes[column] = (np.asarray(codes, dtype=np.int64), pd.Series(uniques, dtype=self.typed[column].dtype), 0)
        return self._codes[column]

    def key_codes(self, column: str) -> tuple[np.ndarray, int]:
        """Codes of a key column (-1 where missing) and their number: integers by offset, other values factorized."""
        if column not in self._codes and self.table.column(column).kind == "int":
            values = self.typed[column]
            present = values.notna().to_numpy(dtype=bool)
            if not present.any():
                return np.full(len(values), -1, dtype=np.int64), 0
            ints = values.to_numpy(dtype=np.int64, na_value=0)
            low, high = int(ints[present].min()), int(ints[present].max())
            if high - low < 4 * len(values) + 1024:
                return np.where(present, ints - low, -1), high - low + 1
        codes, uniques, _ = self.codes(column)
        return codes, len(uniques)

    def add(self, rule: str, column: str | None, mask: np.ndarray, message, *, severity: str = ERROR,
            values: Callable[[np.ndarray], pd.Series] | None = None) -> None:
        """Record a problem for every row where `mask` holds.

        `message` is a fixed string or ``message(values, rows)`` building one message per failing row from their
        displayed values; `values(rows)` replaces the default display of `column`.
        """
        rows = np.flatnonzero(mask)
        if not rows.size:
            return
        if values is not None:
            values = values(rows)
        elif column is not None and self.present(column):
            values = self.values(column, rows)
        text = message(values, rows) if callable(message) else message
        self._problems.append(
            problem_frame(self.raw.file, self.raw.name, rows, column, values, rule, text, severity)
        )
        if severity == ERROR:
            self.error[rows] = True

    def add_table(self, rule: str, column: str | None, message: str, *, severity: str = ERROR) -> None:
        """Record a problem of the whole table; an error rejects every row."""
        self._problems.append(
            problem_frame(self.raw.file, self.raw.name, None, column, None, rule, message, severity)
        )
        if severity == ERROR:
            self.error[:] = True

    def problems(self) -> pd.DataFrame:
        if not self._problems:
            return empty_problems()
        frame = pd.concat(self._problems, ignore_index=True)
        return frame.sort_values("row", kind="stable", na_position="first", ignore_index=True)

    # -- rules ------------------------------------------------------------------------------------------------
    def run(self) -> None:
        self.check_columns()
        if self.raw.missing_required:
            return  # a file-level error: the rows are all rejected, not checked one by one
        self.check_changes()
        self.check_types()
        self.check_required()
        self.check_uscc()
        self.check_codes()
        self.check_choices()
        self.check_ranges()
        self.check_date_order()
        self.check_snapshot()
        self.check_duplicates()
        self.check_foreign_keys()

    def check_columns(self) -> None:
        for column in self.raw.missing_required:
            self.add_table(
                "required_column", column,
                f"{self.raw.file} lacks the required column {column} of table {self.raw.name}; the table cannot be "
                "used (every row is rejected)",
            )
        for column in self.raw.extra_columns:
            self.add_table(
                "unknown_column", column, f"column {column} is not in the {self.raw.name} contract; it is ignored",
                severity=WARNING,
            )

    def check_changes(self) -> None:
        """A warning for every value changed on the way in (the column's declared normalisations)."""
        if self.changed:
            self._problems.append(normalise_problems(self.raw, self.changed))
        self.changed = {}

    def check_snapshot(self) -> None:
        day = np.datetime64(self.snapshot.date(), "D")
        shown = str(self.snapshot.date())
        for col in self.table.columns:
            if col.kind == "date" and col.past and self.present(col.name):
                dates = self.typed[col.name].to_numpy()
                late = ~np.isnat(dates) & (dates.astype("datetime64[D]") > day)
                self.add("after_snapshot", col.name, late,
                         _quoted(col.name, f"is after the data's snapshot date {shown}"))
        if self.present("year") and "year" in self.table.columns_of_kind("int"):
            late = (self.typed["year"] > self.snapshot.year).fillna(False).to_numpy(dtype=bool)
            self.add("after_snapshot", "year", late,
                     _quoted("year", f"is after the year of the data's snapshot date {shown}"))

    def check_types(self) -> None:
        problems = type_problems(self.raw, self.failed)
        if len(problems):
            self._problems.append(problems)
            for mask in self.failed.values():
                self.error |= mask

    def check_required(self) -> None:
        for column in self.table.required:
            if self.present(column):
                missing = self.typed[column].isna().to_numpy() & ~self.failed[column]
                self.add("required_value", column, missing, f"{column} is empty; it is required")

    def check_uscc(self) -> None:
        for column in self.table.columns_of_kind("uscc"):
            if not self.present(column):
                continue
            codes, uniques, n_known = self.codes(column)
            form_u = np.zeros(len(uniques), dtype=bool)
            check_u = np.zeros(len(uniques), dtype=bool)
            if n_known:  # codes of the target table were checked there
                target = self.targets[self.fk_targets[column]]
                form_u[:n_known], check_u[:n_known] = target.form, target.check
            if len(uniques) > n_known:
                new = uniques.iloc[n_known:]
                form_u[n_known:] = _matches(new, _USCC_FORMAT)
                check_u[n_known:] = uscc.valid_mask(new)
            self.uscc_checks[column] = (form_u, check_u)
            has = codes >= 0
            form = has & form_u[codes]
            check = has & check_u[codes]
            self.add("uscc_format", column, has & ~form,
                     _quoted(column, "is not 18 characters of the GB 32100-2015 alphabet"))
            self.add("uscc_check", column, form & ~check,
                     _quoted(column, "fails the GB 32100-2015 check character"),
                     severity=WARNING if self.lenient else ERROR)
            self._code_ok[column] = form & (check | self.lenient)

    def check_codes(self) -> None:
        for (table, column), (rule, test, text) in _CODE_RULES.items():
            if table == self.raw.name and self.present(column):
                codes, uniques, _ = self.codes(column)
                ok_u = test(uniques) if len(uniques) else np.zeros(0, dtype=bool)
                self.add(rule, column, (codes >= 0) & ~ok_u[codes], _quoted(column, text))

    def check_choices(self) -> None:
        for col in self.table.columns:
            if col.choices and self.present(col.name):
                values = pa.array(self.typed[col.name])
                allowed = pc.is_in(values, value_set=pa.array(col.choices, type=values.type))
                outside = ~pc.fill_null(allowed, True).to_numpy(zero_copy_only=False)
                self.add("choice", col.name, outside, _quoted(col.name, f"is not one of {', '.join(col.choices)}"))

    def check_ranges(self) -> None:
        counts = [c for c in self.table.columns_of_kind("int") if c != "year"]
        for column in (*self.table.columns_of_kind("money"), *counts):
            if self.present(column):
                below = (self.typed[column] < 0).fillna(False).to_numpy(dtype=bool)
                self.add("negative", column, below, _quoted(column, "is negative"))
        lo, hi = YEARS
        if self.present("year") and "year" in self.table.columns_of_kind("int"):
            year = self.typed["year"]
            outside = ((year < lo) | (year > hi)).fillna(False).to_numpy(dtype=bool)
            self.add("year_range", "year", outside, _quoted("year", f"is outside {lo}-{hi}"))
        first, last = np.datetime64(f"{lo}-01-01", "ns"), np.datetime64(f"{hi + 1}-01-01", "ns")
        for column in self.table.columns_of_kind("date"):
            if self.present(column):
                dates = self.typed[column].to_numpy()
                outside = ~np.isnat(dates) & ((dates < first) | (dates >= last))
                self.add("year_range", column, outside, _quoted(column, f"is outside the years {lo}-{hi}"))

    def check_date_order(self) -> None:
        for earlier, later, strict in self.table.date_order:
            if not (self.present(earlier) and self.present(later)):
                continue
            a, b = self.typed[earlier].to_numpy(), self.typed[later].to_numpy()
            both = ~np.isnat(a) & ~np.isnat(b)
            broken = both & ((b <= a) if strict else (b < a))
            relation = "is not after" if strict else "is before"

            def message(values, rows, earlier=earlier, later=later, relation=relation):
                return f"{later} '" + values.fillna("") + f"' {relation} {earlier} '" + self.values(earlier, rows) + "'"

            self.add("date_order", later, broken, message)

    def check_duplicates(self) -> None:
        key = self.table.key
        n = self.raw.n_rows
        if not key or not all(self.present(c) for c in key) or n < 2:
            return
        if len(key) == 1 and key[0] not in self._codes and _strictly_increasing(pa.array(self.typed[key[0]])):
            return  # sorted unique ids (a common export): no hashing needed
        combined = np.zeros(n, dtype=np.int64)
        has = np.ones(n, dtype=bool)
        for column in key:
            codes, size = self.key_codes(column)
            has &= codes >= 0
            if int(combined.max()) * (size + 1) + size >= 4 * n + 1024:  # keep codes dense enough to count
                combined, _ = pd.factorize(combined)
            combined = combined * (size + 1) + (codes + 1)
        if int(combined.max()) >= 4 * n + 1024:
            combined, _ = pd.factorize(combined)
        rows = np.flatnonzero(has)
        keys = combined[rows]
        involved = np.bincount(keys)[keys] > 1
        if not involved.any():
            return
        rows, keys = rows[involved], keys[involved]
        first = pd.Series(rows).groupby(keys).transform("min").to_numpy()
        later = rows != first
        first_of = pd.Series(first[later] + 1, index=rows[later])
        mask = np.zeros(self.raw.n_rows, dtype=bool)
        mask[rows[later]] = True

        def key_values(rows):
            shown = self.values(key[0], rows).fillna("")
            for column in key[1:]:
                shown = shown + "," + self.values(column, rows).fillna("")
            return shown

        def message(values, rows):
            firsts = pd.Series(first_of.reindex(rows).to_numpy(), index=values.index).astype("string")
            return f"duplicate key ({', '.join(key)}) = (" + values + "): the same as row " + firsts

        self.add("duplicate_key", ",".join(key), mask, message, values=key_values)

    def check_foreign_keys(self) -> None:
        for column, target in self.table.foreign_keys:
            if not self.present(column) or target not in self.targets:
                continue
            index = self.targets[target]
            codes, _, n_known = self.codes(column)
            pos = np.where(codes < n_known, codes, -1)  # position in the target's firms, -1 where unknown or missing
            known = pos >= 0
            firm_ok = np.append(index.valid, False)[pos]
            considered = self._code_ok.get(column, codes >= 0)
            self.add("foreign_key", column, considered & ~known, _quoted(column, f"is not a firm in {target}"))

            def rejected_message(values, rows, column=column, target=target, index=index, pos=pos):
                firm_rows = pd.Series(index.rejected_row[pos[rows]], index=values.index).astype("string")
                return f"{column} '" + values.fillna("") + f"' refers to a firm rejected in {target} (row " + firm_rows + ")"

            self.add("foreign_key_rejected", column, considered & known & ~firm_ok, rejected_message)
            if column == "uscc" and self.present("year") and "year" in self.table.columns_of_kind("int"):
                founded = np.append(index.founded_year, np.nan)[pos]
                year = self.typed["year"].to_numpy(dtype=float, na_value=np.nan)

                def early_message(values, rows, founded=founded):
                    years = pd.Series(founded[rows].astype(np.int64), index=values.index).astype("string")
                    return "year '" + values.fillna("") + "' is before the firm's founding year " + years

                self.add("year_before_founded", "year", considered & firm_ok & (year < founded), early_message,
                         severity=WARNING)

    # -- outcome ----------------------------------------------------------------------------------------------
    def valid_frame(self) -> pd.DataFrame:
        """The typed rows without errors; call last, it hands over the typed columns (one column copied at a time)."""
        keep = ~self.error
        typed, self.typed = self.typed, pd.DataFrame()
        if keep.all():
            return typed
        columns = {name: typed.pop(name)[keep].reset_index(drop=True) for name in list(typed.columns)}
        return pd.DataFrame(columns, copy=False)

    def rejects_frame(self, problems: pd.DataFrame) -> pd.DataFrame:
        """The rejected rows as read, with their 1-based ``row`` and all their error messages as ``reasons``."""
        from techscore.sources.load import to_pandas

        rows = np.flatnonzero(self.error)
        frame = to_pandas(self.raw.data.take(pa.array(rows, type=pa.int64())))
        frame.insert(0, "row", pd.array(rows + 1, dtype="Int64"))
        errors = problems[problems["severity"] == ERROR]
        table_level = "; ".join(errors.loc[errors["row"].isna(), "message"])
        per_row = errors[errors["row"].notna()]
        if per_row["row"].is_unique:
            joined = pd.Series(per_row["message"].to_numpy(), index=per_row["row"].to_numpy())
        else:
            joined = per_row.groupby("row", sort=False)["message"].agg("; ".join)
            joined.index = joined.index.to_numpy()
        reasons = pd.Series(joined.reindex(rows + 1).to_numpy(), dtype="string")
        if table_level:
            reasons = (table_level + "; " + reasons).fillna(table_level)
        frame["reasons"] = reasons.to_numpy()
        frame["reasons"] = frame["reasons"].astype("string")
        return frame
