"""Writing what validation found: the rejected rows, the valid tables and a machine-readable report.

>>> result = validate("data/world")                                # doctest: +SKIP
>>> write_valid(result, "data/clean"); write_rejects(result, "data/clean")      # doctest: +SKIP
>>> write_report(result, "data/world/validation_report.json")      # doctest: +SKIP

For every table present, ``<table>.parquet`` (valid rows, typed) and ``<table>.rejects.parquet`` (rejected rows as
read, with ``row`` and ``reasons``) together hold every input row once: valid + rejected = input.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from techscore.exceptions import ValidationError
from techscore.sources.validation import RULES, ValidationResult

PROBLEMS_FILE = "problems.parquet"
"""Name of the full problem list written beside the JSON report."""


def write_rejects(result: ValidationResult, folder: str | Path) -> dict[str, Path]:
    """Write ``<table>.rejects.parquet`` for every table present (empty when nothing was rejected)."""
    folder = _out_folder(result, folder)
    paths = {}
    for name, frame in result.rejects.items():
        paths[name] = folder / f"{name}.rejects.parquet"
        frame.to_parquet(paths[name], index=False)
    return paths


def write_valid(result: ValidationResult, folder: str | Path) -> dict[str, Path]:
    """Write the valid rows of every table present as ``<table>.parquet`` (typed; a folder `load_sources` reads)."""
    folder = _out_folder(result, folder)
    paths = {}
    for name in result.rejects:  # the tables present in the input
        paths[name] = folder / f"{name}.parquet"
        result.valid[name].to_parquet(paths[name], index=False)
    return paths


def report(result: ValidationResult, *, max_problems: int = 100) -> dict:
    """The report as plain data: outcome, counts per table, problems per rule and the first `max_problems`."""
    counts = result.counts
    rules = result.rule_counts()
    first = result.problems.head(max_problems).astype(object).where(result.problems.head(max_problems).notna(), None)
    return {
        "ok": result.ok,
        "folder": str(result.folder) if result.folder is not None else None,
        "lenient_check_character": result.lenient_check_character,
        "snapshot_date": None if result.snapshot_date is None else str(result.snapshot_date.date()),
        "snapshot_source": result.snapshot_source,
        "file_errors": [str(m) for m in result.file_errors["message"]],
        "errors": result.n_errors,
        "warnings": result.n_warnings,
        "tables": {
            name: {
                "file": None if pd.isna(row["file"]) else str(row["file"]),
                **{k: int(row[k]) for k in ("input", "valid", "rejected", "errors", "warnings")},
            }
            for name, row in counts.iterrows()
        },
        "rules": {
            rule: {"errors": int(rules.loc[rule, "errors"]), "warnings": int(rules.loc[rule, "warnings"]),
                   "description": RULES[rule]}
            for rule in rules.index
        },
        "problems_total": len(result.problems),
        "problems_shown": len(first),
        "problems_file": PROBLEMS_FILE,
        "problems": [{k: (int(v) if k == "row" and v is not None else v) for k, v in p.items()}
                     for p in first.to_dict(orient="records")],
    }


def write_report(result: ValidationResult, path: str | Path, *, max_problems: int = 100) -> Path:
    """Write the JSON report to `path` and the full problem list as ``problems.parquet`` beside it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report(result, max_problems=max_problems), ensure_ascii=False, indent=2) + "\n",
                    encoding="utf-8")
    result.problems.to_parquet(path.parent / PROBLEMS_FILE, index=False)
    return path


def _out_folder(result: ValidationResult, folder: str | Path) -> Path:
    folder = Path(folder)
    if result.folder is not None and folder.resolve() == Path(result.folder).resolve():
        raise ValidationError(f"the output folder {folder} is the input folder; choose another so no input is overwritten.")
    folder.mkdir(parents=True, exist_ok=True)
    return folder
