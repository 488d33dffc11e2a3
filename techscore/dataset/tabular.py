"""Plain tabular data (one row per firm or loan, a label column) as a `LoanDataset`: ARFF, CSV, Parquet or
whitespace-separated text (`.dat`, `.txt`, `.data`, as UCI ships it; its column names given by the caller).

Files are read as hand-exported: a row with the wrong number of fields, a stray word in a column of numbers, a
label outside the declared values each stop the load with the file, row and column named.

Real column names are often not valid model feature names (LightGBM refuses `[ ] { } , : "`; the Polish data
has `(current assets - inventories) / long-term liabilities`), so every column gets a safe internal id
(`f000`, `f001`, ...) and keeps its real name as the display name (`FeatureMeta.name_en` / `name_zh`).

>>> ds = load_tabular("../shared/data/polish_bankruptcy/1year.arff", target="bankruptcy")  # doctest: +SKIP
>>> ds.features[36].name_en, ds.X.shape                                                        # doctest: +SKIP
('(current assets - inventories) / long-term liabilities', (7027, 64))
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from techscore.catalogue.meta import FeatureMeta
from techscore.dataset.fingerprint import fingerprint
from techscore.dataset.frame import LABEL, LoanDataset
from techscore.exceptions import SchemaError

__all__ = ["TABULAR_GROUP", "feature_id", "load_tabular", "read_arff", "read_table", "stratified_sample"]

TABULAR_GROUP = "tabular"
"""`FeatureMeta.group` of columns that come from a plain table rather than the catalogue."""
SUFFIXES: tuple[str, ...] = (".arff", ".csv", ".parquet", ".pq", ".dat", ".txt", ".data")
WHITESPACE_SUFFIXES: tuple[str, ...] = (".dat", ".txt", ".data")
MISSING = ("?", "", "NA")
"""Fields read as missing in a file without a header row (`?` is UCI's mark, `NA` R's, as pandas reads CSV)."""
PACKAGE_PREFIX = "package:"
"""`tabular = "package:NAME/path/in/package.csv"`: a data file shipped inside an installed Python package."""


def feature_id(position: int) -> str:
    """The safe internal id of the column at `position` (`f000`, `f001`, ...)."""
    return f"f{position:03d}"


def read_arff(path: str | Path) -> pd.DataFrame:
    """A dense ARFF file as a DataFrame: numeric attributes float64, nominal ones strings; `?` is missing."""
    path = Path(path)
    names: list[str] = []
    nominal: list[bool] = []
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    for n, raw in enumerate(lines, start=1):
        line = raw.strip()
        if not line or line.startswith("%"):
            continue
        lower = line.lower()
        if lower.startswith("@attribute"):
            name, kind = _attribute(line[len("@attribute"):].strip(), path, n)
            names.append(name)
            nominal.append(kind.startswith("{") or kind.lower() in ("string", "date"))
        elif lower.startswith("@data"):
            body = "\n".join(x for x in lines[n:] if x.strip() and not x.lstrip().startswith("%"))
            if body.lstrip().startswith("{"):
                raise SchemaError(f"{path}: sparse ARFF data is not supported (line {n + 1}).")
            dtypes = {name: ("string" if is_nominal else "float64") for name, is_nominal in zip(names, nominal, strict=True)}
            try:
                frame = pd.read_csv(io.StringIO(body), header=None, names=names, dtype=dtypes, na_values=["?"],
                                    keep_default_na=False, quotechar="'", skipinitialspace=True, index_col=False)
            except (ValueError, pd.errors.ParserError) as exc:
                raise SchemaError(f"{path}: cannot read the @data rows ({exc}).") from exc
            return frame
    raise SchemaError(f"{path}: no @data section found; is this an ARFF file?")


def _attribute(rest: str, path: Path, line: int) -> tuple[str, str]:
    if rest[:1] in ("'", '"'):
        end = rest.find(rest[0], 1)
        if end < 0:
            raise SchemaError(f"{path}: line {line}: unterminated attribute name.")
        return rest[1:end], rest[end + 1:].strip()
    parts = rest.split(None, 1)
    if len(parts) != 2:
        raise SchemaError(f"{path}: line {line}: attribute needs a name and a type; got {rest!r}.")
    return parts[0], parts[1]


def read_table(path: str | Path, columns: Sequence[str] | None = None) -> pd.DataFrame:
    """ARFF, CSV, Parquet or whitespace-separated text, chosen by suffix. `columns` names the columns of a file
    without a header row (required for whitespace-separated text; for CSV it means the file has no header)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"tabular data file {path} does not exist.")
    suffix = path.suffix.lower()
    if suffix == ".arff":
        return read_arff(path)
    if suffix == ".csv":
        if columns is None:
            return pd.read_csv(path, na_values=["?"])
        return _checked_rows(path, [_csv_fields(line) for line in _lines(path)], columns)
    if suffix in (".parquet", ".pq"):
        return pd.read_parquet(path)
    if suffix in WHITESPACE_SUFFIXES:
        if not columns:
            raise SchemaError(f"{path}: a whitespace-separated file has no header row; give the names of its "
                              f"columns (data.columns in the experiment spec).")
        return _checked_rows(path, [(n, line.split()) for n, line in _lines(path)], columns)
    raise SchemaError(f"{path}: tabular data must be one of {', '.join(SUFFIXES)}; got '{suffix}'.")


def _lines(path: Path) -> list[tuple[int, str]]:
    text = path.read_text(encoding="utf-8-sig", errors="strict")
    return [(n, line) for n, line in enumerate(text.splitlines(), start=1) if line.strip()]


def _csv_fields(numbered: tuple[int, str]) -> tuple[int, list[str]]:
    import csv

    n, line = numbered
    return n, [f.strip() for f in next(csv.reader([line]))]


def _checked_rows(path: Path, rows: list[tuple[int, list[str]]], columns: Sequence[str]) -> pd.DataFrame:
    """Numbered rows of text fields as a DataFrame of strings (`MISSING` fields missing), every row checked to
    hold exactly one field per column."""
    fields: list[list[str]] = []
    for n, values in rows:
        if len(values) != len(columns):
            raise SchemaError(f"{path}: line {n}: expected {len(columns)} fields ({', '.join(columns[:3])}, ...); "
                              f"got {len(values)}.")
        fields.append(values)
    frame = pd.DataFrame(fields, columns=list(columns), dtype="string")
    return frame.mask(frame.isin(MISSING))


def _numbers(values: pd.Series, path: Path, column: str) -> pd.Series | None:
    """`values` as float64 when the column holds numbers, None when it holds words. A column of numbers with a
    few words in it (a hand-edited export) is an error naming the first such row."""
    if pd.api.types.is_bool_dtype(values) or pd.api.types.is_numeric_dtype(values):
        return values.astype("float64")
    text = values.astype("string").str.strip()
    parsed = pd.to_numeric(text, errors="coerce")
    given = text.notna()
    bad = given & parsed.isna()
    if not given.any():  # an empty column: numbers, all missing (as pandas reads it from a CSV with a header)
        return parsed.astype("float64")
    if bad.mean() > 0.1 * given.mean():
        return None
    if bad.any():
        at = int(np.flatnonzero(bad.to_numpy())[0])
        raise SchemaError(f"{path}: data row {at + 1}: column '{column}' holds numbers, but this row has "
                          f"{text.iloc[at]!r}; fix the row, or list the column in data.categorical.")
    return parsed.astype("float64")


def _label(values: pd.Series, path: Path, target: str, event: str | None = None) -> pd.Series:
    if values.isna().any():
        row = int(np.flatnonzero(values.isna().to_numpy())[0]) + 1
        raise SchemaError(f"{path}: target column '{target}' is empty in row {row}.")
    text = values.astype("string").str.strip()
    if event is not None:
        seen = list(dict.fromkeys(text))
        if event not in seen or len(seen) != 2:
            raise SchemaError(f"{path}: target column '{target}' must hold two values, one of them the event "
                              f"{event!r}; got {', '.join(map(repr, seen[:5]))}.")
        return (text == event).astype("int64")
    text = text.str.lower()
    mapping = {"0": 0, "1": 1, "0.0": 0, "1.0": 1, "false": 0, "true": 1}
    out = text.map(mapping)
    if out.isna().any():
        at = int(np.flatnonzero(out.isna().to_numpy())[0])
        raise SchemaError(f"{path}: row {at + 1}: target column '{target}' must hold 0/1 (or false/true, or name "
                          f"the event value with data.event); got {text.iloc[at]!r}.")
    return out.astype("int64")


def stratified_sample(y: np.ndarray, fraction: float, seed: int) -> np.ndarray:
    """Positions of a stratified random `fraction` of the rows, in their original order."""
    rng = np.random.default_rng(seed)
    keep = [rng.choice(idx, size=max(1, round(fraction * len(idx))), replace=False)
            for idx in (np.flatnonzero(y == c) for c in np.unique(y))]
    return np.sort(np.concatenate(keep))


def load_tabular(
    path: str | Path,
    *,
    target: str,
    id_column: str | None = None,
    date_column: str | None = None,
    segment_columns: Sequence[str] = (),
    directions: Mapping[str, int] | None = None,
    sample: float | None = None,
    seed: int = 0,
    name: str | None = None,
    columns: Sequence[str] | None = None,
    categorical: Sequence[str] = (),
    event: str | None = None,
) -> LoanDataset:
    """Read a tabular file into a `LoanDataset` with safe feature ids and the real names kept for display.

    Parameters
    ----------
    path : ARFF, CSV or Parquet file, one row per observation.
    target : label column (0/1; 1 = default).
    id_column : column identifying rows (becomes the index; default: row number).
    date_column : a date column kept (parsed, under its own name) but not a feature: for out-of-time splits.
    segment_columns : columns kept as they are but not features: for metrics by segment.
    directions : declared risk direction (+1, -1, 0) by column name or feature id; undeclared columns get 0.
    sample : keep a stratified random share of rows (quick checks), drawn with `seed`.
    columns : names of the columns of a file without a header row (whitespace-separated text, or such a CSV).
    categorical : columns holding category codes, even when the codes are numbers.
    event : the target value that marks a default (the other value is 0); default: 0/1 or false/true.
    """
    path = Path(path)
    table = read_table(path, columns)
    if target not in table.columns:
        shown = ", ".join(map(str, table.columns[:5]))
        raise SchemaError(f"{path}: target column '{target}' not found; columns are {shown}, ...")
    y = _label(table[target], path, target, event)
    index = pd.RangeIndex(len(table), name="row")
    if id_column is not None:
        if id_column not in table.columns:
            raise SchemaError(f"{path}: id column '{id_column}' not found.")
        index = pd.Index(table[id_column].astype("string"), name=id_column)
    kept = [c for c in (date_column, *segment_columns) if c is not None]
    absent = [c for c in kept if c not in table.columns]
    if absent:
        raise SchemaError(f"{path}: column{'s' if len(absent) > 1 else ''} {', '.join(absent)} not found.")
    features_in = [c for c in table.columns if c not in (target, id_column, *kept)]
    directions = dict(directions or {})
    unknown = set(directions) - set(map(str, features_in)) - {feature_id(i) for i in range(len(features_in))}
    if unknown:
        raise SchemaError(f"{path}: directions name columns that are not in the file: {', '.join(sorted(unknown)[:5])}.")
    absent = sorted(set(categorical) - set(map(str, features_in)))
    if absent:
        raise SchemaError(f"{path}: categorical names columns that are not features of the file: {', '.join(absent[:5])}.")
    features, data = [], {}
    for i, column in enumerate(features_in):
        fid = feature_id(i)
        values = table[column]
        numbers = None if str(column) in categorical else _numbers(values, path, str(column))
        if numbers is not None:
            kind, data[fid] = "numeric", numbers
            categories: tuple[str, ...] = ()
        else:
            text = values.astype("string")
            categories = tuple(sorted(text.dropna().unique()))
            kind, data[fid] = "categorical", text.astype(pd.CategoricalDtype(list(categories)))
        direction = 0 if kind == "categorical" else int(directions.get(str(column), directions.get(fid, 0)))
        features.append(FeatureMeta(
            id=fid, group=TABULAR_GROUP, name_zh=str(column), name_en=str(column),
            description=f"column '{column}' of {path.name}", unit="", sources=(path.name,),
            direction=direction, kind=kind, categories=categories,  # type: ignore[arg-type]
        ))
    frame = pd.DataFrame({LABEL: y.to_numpy(), **{k: v.to_numpy() for k, v in data.items()}}, index=index)
    for f in features:  # to_numpy dropped the category dtype
        if f.kind == "categorical":
            frame[f.id] = pd.Categorical(frame[f.id], categories=list(f.categories))
    if date_column is not None:
        try:
            frame.insert(0, date_column, pd.to_datetime(table[date_column]).to_numpy())
        except (ValueError, TypeError) as exc:
            raise SchemaError(f"{path}: date column '{date_column}' holds a value that is not a date ({exc}).") from exc
    for i, c in enumerate(segment_columns):
        frame.insert(i + (date_column is not None), c, table[c].astype("string").to_numpy())
    if sample is not None:
        frame = frame.iloc[stratified_sample(frame[LABEL].to_numpy(), sample, seed)]
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    options = {"target": target, "id_column": id_column, **_reading(columns, categorical, event), "date_column": date_column,
               "segment_columns": list(segment_columns), "directions": directions, "sample": sample,
               "seed": seed if sample is not None else None}
    summary = {
        "rows": len(frame), "bad_rate": float(frame[LABEL].mean()) if len(frame) else None,
        "source": str(path), "target": target, "sample": sample,
        "missing_rate": {f.id: float(frame[f.id].isna().mean()) for f in features},
    }
    return LoanDataset(
        frame=frame, features=features, fingerprint=fingerprint({path.name: digest}, TABULAR_GROUP, options),
        name=name or path.stem, summary=summary, path=path,
    )


def _reading(columns: Sequence[str] | None, categorical: Sequence[str], event: str | None) -> dict:
    """The reading options that change the dataset, for its fingerprint (absent when unused, so fingerprints of
    files read without them stay as they were)."""
    given = {"columns": list(columns) if columns else None, "categorical": sorted(categorical) or None,
             "event": event}
    return {k: v for k, v in given.items() if v is not None}
