"""Scoring from raw tables: validate them, compute the model's features as of a date, then score the table.

Raw tables go through the same contract as `techscore validate` (`techscore.sources.validate`): rows validation
rejects are left out of the features and counted, and a firm whose own `enterprises` row is rejected (an invalid
region, a duplicated row, ...) is not scored: its row in the feature table carries the rule id
(`VALIDATION_RULE_COLUMN`) and the scorer sends it to the rejects with that id, so scored + rejected still equals
the firms asked for. The batch goes on past bad rows; ``strict=True`` stops at the first validation error, and a
file-level error (a missing required table or column) always stops it.

The valid tables are held whole (as `techscore featurize` does), so this step's memory grows with the raw data; the
feature table it writes is then scored in chunks like any other. The table records the catalogue version the
features were computed with, so the schema guard refuses a model trained on another catalogue version.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from techscore.exceptions import ScoringError, ValidationError
from techscore.model.pdmodel import PDModel
from techscore.scoring.guard import CATALOGUE_KEY, ID_COLUMN
from techscore.scoring.score import VALIDATION_REASON_COLUMN, VALIDATION_RULE_COLUMN

__all__ = ["AS_OF_COLUMN", "RawFeatures", "RawTables", "featurize_table", "firm_rejects", "for_many_dates",
           "is_raw_folder", "load_raw", "raw_features"]

AS_OF_COLUMN = "as_of"


@dataclass(frozen=True)
class RawFeatures:
    """The feature table written from raw tables (a path-like), and what validating the tables found.

    `tables` holds per table ``input``, ``valid`` and ``rejected`` rows (input = valid + rejected); `firms` the
    firms in the feature table and `firms_rejected` those rejected for their own `enterprises` row.
    """

    path: Path
    firms: int
    firms_rejected: int
    errors: int
    warnings: int
    snapshot_date: str
    tables: dict[str, dict[str, int]] = field(default_factory=dict)

    def __fspath__(self) -> str:
        return os.fspath(self.path)

    def as_dict(self) -> dict:
        return {"firms": self.firms, "firms_rejected": self.firms_rejected, "errors": self.errors,
                "warnings": self.warnings, "snapshot_date": self.snapshot_date, "tables": self.tables}


def is_raw_folder(path: Path) -> bool:
    """True when `path` is a folder of raw tables (it holds an `enterprises` table)."""
    from techscore.sources.load import find_table_file

    return path.is_dir() and find_table_file(path, "enterprises") is not None


def firm_rejects(result) -> pd.DataFrame:
    """Firms whose own `enterprises` row validation rejected: ``uscc`` (as kept), ``rule`` (the row's first
    error) and ``reason`` (file, row and every error of the row); one row per firm, its first rejected row."""
    from techscore.sources import normalise
    from techscore.sources.schema import TABLES

    rejects = result.rejects.get("enterprises")
    if rejects is None or not len(rejects) or "uscc" not in rejects.columns:
        return pd.DataFrame({"uscc": pd.Series(dtype="string"), "rule": pd.Series(dtype="string"),
                             "reason": pd.Series(dtype="string")})
    codes, _ = normalise(pa.chunked_array([pa.array(rejects["uscc"].astype("string"), type=pa.string())]),
                         TABLES["enterprises"].column("uscc"))
    p = result.problems
    errors = p[(p["table"] == "enterprises") & (p["severity"] == "error") & p["row"].notna()]
    first_rule = errors.drop_duplicates("row").set_index("row")["rule"]
    file = Path(str(result.counts.loc["enterprises", "file"])).name
    out = pd.DataFrame({
        "uscc": pd.Series(codes.to_pandas(), dtype="string"),
        "rule": pd.Series(first_rule.reindex(rejects["row"].to_numpy()).to_numpy(), dtype="string"),
        "reason": (f"{file} row " + rejects["row"].astype("string") + ": " + rejects["reasons"]).to_numpy(),
    })
    return out[out["uscc"].notna()].drop_duplicates("uscc").reset_index(drop=True)


@dataclass(frozen=True)
class RawTables:
    """Raw tables validated once, ready to compute features as of any number of dates (`raw_features`).

    `result` is the `techscore.sources.validate` result (its valid rows are what features read); `rejected` the
    firms whose own `enterprises` row was rejected (`firm_rejects`). Validation does not depend on the as-of date,
    so one validation serves every date of a monitoring run.
    """

    result: object
    rejected: pd.DataFrame


def load_raw(folder: str | Path, *, snapshot_date: str | pd.Timestamp | None = None,
             strict: bool = False) -> RawTables:
    """Validate the raw tables of `folder` (see `featurize_table` for what stops it)."""
    from techscore.sources import summarize, validate

    result = validate(folder, snapshot_date=snapshot_date)
    if len(result.file_errors):
        raise ValidationError(f"the raw tables cannot be scored: {summarize(result.file_errors)}",
                              problems=result.file_errors)
    if strict and not result.ok:
        errors = result.problems[result.problems["severity"] == "error"]
        raise ValidationError(f"{len(errors):,} validation error(s) in the raw tables (--strict stops at the first): "
                              f"{summarize(errors, 1)}", problems=errors)
    return RawTables(result=result, rejected=firm_rejects(result))


FIRM_COLUMNS: dict[str, tuple[str, ...]] = {"supply_chain": ("seller_uscc", "buyer_uscc")}
"""The columns naming a table's firms (default `uscc`): their rows' order is what sorting must keep."""


def _order_keeping_firms(frame: pd.DataFrame, name: str) -> np.ndarray | None:
    """The stable sort of `frame` by when its rows become known, when it leaves every firm's own rows in their order
    (so per-firm sums add in the same order and give the same bits); None when the table is sorted already or when
    sorting would reorder a firm's rows."""
    from techscore.sources.asof import known_key

    order = np.argsort(known_key(frame, name), kind="stable")
    if len(order) < 2 or bool((order[1:] > order[:-1]).all()):
        return None
    for column in FIRM_COLUMNS.get(name, ("uscc",)):
        firm = pd.factorize(frame[column], use_na_sentinel=False)[0][order]
        grouped = np.argsort(firm, kind="stable")
        by_firm, same = order[grouped], firm[grouped]  # original rows, firm by firm in sorted order
        if (by_firm[1:] < by_firm[:-1])[same[1:] == same[:-1]].any():
            return None
    return order


def for_many_dates(raw: RawTables, *, unread: Mapping[str, Iterable[str]] | None = None) -> RawTables:
    """The same validated tables, arranged for computing features at many dates: each table but `enterprises` (whose
    order is the firms') sorted by when its rows become known (`techscore.sources.asof.KNOWN_BY`) where that keeps
    every firm's own rows in their order, so the point-in-time view at each date is a slice of it instead of a copy
    (`techscore.sources.asof.sort_by_known` without reordering any firm's rows: every feature is the same to the
    bit); the columns of `unread` (table -> columns nothing reads) dropped. The tables are replaced one at a time."""
    valid = raw.result.valid
    tables: dict[str, pd.DataFrame] = {}
    for name in valid:
        frame = valid[name]
        drop = [c for c in (unread or {}).get(name, ()) if c in frame.columns]
        if drop:
            frame = frame.drop(columns=drop)
        order = None if name == "enterprises" else _order_keeping_firms(frame, name)
        if order is not None:
            frame = frame.take(order)
        tables[name] = frame
    result = dataclasses.replace(raw.result, valid=dataclasses.replace(valid, **tables))
    return dataclasses.replace(raw, result=result)


def raw_features(raw: RawTables, as_of: str | pd.Timestamp, model: PDModel, catalogue,
                 firms: Iterable[str] | None = None) -> pd.DataFrame:
    """The feature frame `featurize_table` writes (same columns, rows and values), as of `as_of`, from tables
    validated once (`load_raw`); `catalogue` is the workspace's (`techscore.catalogue.load_catalogue`)."""
    from techscore.dataset.build import featurize
    from techscore.sources.snapshot import parse_date

    date = parse_date(as_of, "as-of", ScoringError)
    result, rejected = raw.result, raw.rejected
    if firms is None:
        codes = list(dict.fromkeys([*result.valid.enterprises["uscc"].dropna(), *rejected["uscc"]]))
    else:
        codes = list(dict.fromkeys(str(f) for f in firms))
    bad = rejected.set_index("uscc")
    is_bad = np.isin(np.asarray(codes, dtype=object), bad.index.to_numpy(dtype=object))
    good = [c for c, b in zip(codes, is_bad, strict=True) if not b]
    computed = featurize(result.valid, good, date, ids=model.feature_ids, catalogue=catalogue)
    frame = computed.reindex(pd.Index(codes, name=computed.index.name)).reset_index()
    del computed
    if frame.columns[0] != ID_COLUMN:
        frame = frame.rename(columns={frame.columns[0]: ID_COLUMN})
    frame.insert(1, AS_OF_COLUMN, date.date().isoformat())
    frame[VALIDATION_RULE_COLUMN] = pd.Series(bad["rule"].reindex(codes).to_numpy(), dtype="string")
    frame[VALIDATION_REASON_COLUMN] = pd.Series(bad["reason"].reindex(codes).to_numpy(), dtype="string")
    return frame


def featurize_table(
    folder: str | Path,
    as_of: str | pd.Timestamp,
    model: PDModel,
    out: str | Path,
    *,
    firms: Iterable[str] | None = None,
    workspace: str | Path | None = None,
    snapshot_date: str | pd.Timestamp | None = None,
    strict: bool = False,
) -> RawFeatures:
    """Validate the raw tables of `folder`, then write the model's features of `firms` (default: every firm of
    `enterprises`, the valid ones in file order, then those rejected) as known before `as_of` to Parquet `out`.

    Columns: `uscc`, `as_of` (ISO date), the model's features, then `VALIDATION_RULE_COLUMN` and
    `VALIDATION_REASON_COLUMN` (set for a firm whose `enterprises` row was rejected; its features are missing).
    The schema metadata holds the catalogue version. Firms absent from the raw tables get missing features
    (scoring then rejects them).

    Raises
    ------
    ValidationError : a file-level error (a missing required table or column), or any error with `strict`.
    """
    from techscore.catalogue import load_catalogue
    from techscore.sources.snapshot import parse_date

    parse_date(as_of, "as-of", ScoringError)
    raw = load_raw(folder, snapshot_date=snapshot_date, strict=strict)
    result = raw.result
    catalogue = load_catalogue(workspace)
    frame = raw_features(raw, as_of, model, catalogue, firms)
    n_bad = int(frame[ID_COLUMN].isin(raw.rejected["uscc"]).sum())
    table = pa.Table.from_pandas(frame, preserve_index=False)
    version = catalogue.select(ids=[i for i in model.feature_ids if i in set(catalogue.ids)]).version
    table = table.replace_schema_metadata({**(table.schema.metadata or {}), CATALOGUE_KEY: version})
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path, compression="zstd")
    counts = result.counts
    return RawFeatures(
        path=path, firms=len(frame), firms_rejected=n_bad, errors=result.n_errors,
        warnings=result.n_warnings, snapshot_date=str(result.snapshot_date.date()),
        tables={name: {k: int(row[k]) for k in ("input", "valid", "rejected")} for name, row in counts.iterrows()
                if not pd.isna(row["file"])},
    )
