"""Reading a feature table in chunks, so that scoring memory stays bounded whatever the input size."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from techscore.exceptions import ScoringError


@dataclass(frozen=True)
class Chunk:
    """A slice of the input: its rows and the 1-based file row number of its first row (header excluded)."""

    first_row: int
    frame: pd.DataFrame


def input_format(path: Path) -> str:
    """`parquet` or `csv`, from the file name; a folder of Parquet parts counts as `parquet`."""
    if path.is_dir():
        return "parquet"
    suffix = path.suffix.lower()
    if suffix in {".parquet", ".pq"}:
        return "parquet"
    if suffix in {".csv", ".txt"}:
        return "csv"
    raise ScoringError(f"{path}: input must be a .parquet or .csv file (or a folder of Parquet parts); got {suffix!r}.")


def count_rows(path: Path) -> int | None:
    """Rows in the input when cheap to know (Parquet metadata), else None."""
    if input_format(path) != "parquet":
        return None
    files = sorted(path.glob("*.parquet")) if path.is_dir() else [path]
    return sum(pq.ParquetFile(f).metadata.num_rows for f in files)


def input_columns(path: Path) -> list[str]:
    """Column names of the input, read from its header or Parquet schema without reading rows."""
    if input_format(path) == "parquet":
        first = sorted(path.glob("*.parquet"))[0] if path.is_dir() else path
        return list(pq.ParquetFile(first).schema_arrow.names)
    with pacsv.open_csv(path, read_options=pacsv.ReadOptions(block_size=1 << 16)) as reader:
        return list(reader.schema.names)


def iter_chunks(path: Path, chunk_rows: int = 100_000) -> Iterator[Chunk]:
    """Yield the input in chunks of about `chunk_rows` rows, in file order.

    CSV columns are read as text, so that a malformed value becomes a row-level reject instead of failing the
    whole file; Parquet keeps its types.
    """
    if not path.exists():
        raise FileNotFoundError(f"{path}: input not found.")
    first_row = 1
    if input_format(path) == "parquet":
        files = sorted(path.glob("*.parquet")) if path.is_dir() else [path]
        for f in files:
            for batch in pq.ParquetFile(f).iter_batches(batch_size=chunk_rows):
                frame = batch.to_pandas()
                yield Chunk(first_row, frame)
                first_row += len(frame)
        return
    columns = input_columns(path)
    convert = pacsv.ConvertOptions(column_types={c: pa.string() for c in columns}, strings_can_be_null=True)
    with pacsv.open_csv(
        path, read_options=pacsv.ReadOptions(block_size=1 << 24), convert_options=convert
    ) as reader:
        pending: list[pd.DataFrame] = []
        held = 0
        for batch in reader:
            pending.append(batch.to_pandas())
            held += batch.num_rows
            while held >= chunk_rows:
                frame = pd.concat(pending, ignore_index=True)
                yield Chunk(first_row, frame.iloc[:chunk_rows].reset_index(drop=True))
                first_row += chunk_rows
                rest = frame.iloc[chunk_rows:].reset_index(drop=True)
                pending, held = ([rest], len(rest)) if len(rest) else ([], 0)
        if held:
            yield Chunk(first_row, pd.concat(pending, ignore_index=True))
