"""Scoring from raw tables: compute the model's features as of a date into a feature table, then score it.

The raw tables are loaded whole (as `techscore featurize` does), so this step's memory grows with the raw data;
the feature table it writes is then scored in chunks like any other. The table records the catalogue version
the features were computed with, so the schema guard refuses a model trained on another catalogue version.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from techscore.exceptions import ScoringError
from techscore.model.pdmodel import PDModel
from techscore.scoring.guard import CATALOGUE_KEY, ID_COLUMN

__all__ = ["AS_OF_COLUMN", "featurize_table", "is_raw_folder"]

AS_OF_COLUMN = "as_of"


def is_raw_folder(path: Path) -> bool:
    """True when `path` is a folder of raw tables (it holds an `enterprises` table)."""
    from techscore.sources.load import find_table_file

    return path.is_dir() and find_table_file(path, "enterprises") is not None


def featurize_table(
    folder: str | Path,
    as_of: str | pd.Timestamp,
    model: PDModel,
    out: str | Path,
    *,
    firms: Iterable[str] | None = None,
    workspace: str | Path | None = None,
) -> Path:
    """Write the model's features of `firms` (default: every firm) as known before `as_of` to Parquet `out`.

    Columns: `uscc`, `as_of` (ISO date), then the model's features; the schema metadata holds the catalogue
    version. Firms absent from the raw tables get missing features (scoring then rejects them).
    """
    from techscore.catalogue import load_catalogue
    from techscore.dataset.build import featurize

    try:
        date = pd.Timestamp(as_of)
    except (ValueError, TypeError) as exc:
        raise ScoringError(f"as-of must be a date like 2024-06-30; got {as_of!r}.") from exc
    if pd.isna(date):
        raise ScoringError(f"as-of must be a date like 2024-06-30; got {as_of!r}.")
    catalogue = load_catalogue(workspace)
    frame = featurize(folder, None if firms is None else list(firms), date, ids=model.feature_ids, catalogue=catalogue)
    frame = frame.reset_index()
    frame.insert(1, AS_OF_COLUMN, date.date().isoformat())
    if frame.columns[0] != ID_COLUMN:
        frame = frame.rename(columns={frame.columns[0]: ID_COLUMN})
    table = pa.Table.from_pandas(frame, preserve_index=False)
    version = catalogue.select(ids=[i for i in model.feature_ids if i in set(catalogue.ids)]).version
    table = table.replace_schema_metadata({**(table.schema.metadata or {}), CATALOGUE_KEY: version})
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path, compression="zstd")
    return path
