"""Reading a feature table in chunks, so that scoring memory stays bounded whatever the input size.

A feature table is a Parquet file, a folder of Parquet parts, or a CSV file. Parquet keeps its types and is read
column-pruned, page by page; CSV is read as text (a malformed value becomes a rejected row, not a failed run) and
a line that does not split into the header's columns is reported as a malformed row with its number.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from techscore.exceptions import SchemaError, ScoringError

__all__ = ["Chunk", "TableInput", "input_format", "open_input"]

PARQUET_SUFFIXES = (".parquet", ".pq")
CSV_SUFFIXES = (".csv", ".txt")
READ_BUFFER_BYTES = 2**20
"""Parquet pages are streamed through a buffer of this size per column instead of reading whole column chunks
(so a file written as one huge row group still reads in bounded memory)."""
CSV_BLOCK_BYTES = 4 * 2**20


@dataclass(frozen=True)
class Chunk:
    """A slice of the input.

    rows : 1-based input row number (header excluded) of each row of `table`.
    table : the rows, with the columns asked for.
    malformed : (row number, reason) of input rows in this slice that could not be parsed at all (CSV).
    """

    rows: np.ndarray
    table: pa.Table
    malformed: list[tuple[int, str]] = field(default_factory=list)

    @property
    def n_input(self) -> int:
        """Input rows this chunk accounts for."""
        return self.table.num_rows + len(self.malformed)


def input_format(path: Path) -> str:
    """`parquet` or `csv`, from the file name; a folder of Parquet parts counts as `parquet`."""
    if path.is_dir():
        return "parquet"
    suffix = path.suffix.lower()
    if suffix in PARQUET_SUFFIXES:
        return "parquet"
    if suffix in CSV_SUFFIXES:
        return "csv"
    raise ScoringError(f"{path}: input must be a .parquet or .csv file (or a folder of Parquet parts); got {suffix!r}.")


@dataclass(frozen=True)
class TableInput:
    """An input feature table, opened: its columns, their types (Parquet), row count and metadata, read cheaply
    from headers and footers before any row is read."""

    path: Path
    format: str
    files: tuple[Path, ...]
    columns: list[str]
    types: dict[str, pa.DataType] | None
    rows: int | None
    metadata: dict[str, str]

    def chunks(self, chunk_rows: int, columns: list[str] | None = None) -> Iterator[Chunk]:
        """The rows in file order, about `chunk_rows` at a time, with only `columns` (default all)."""
        if chunk_rows < 1:
            raise ValueError(f"chunk_rows must be a positive integer; got {chunk_rows}.")
        wanted = list(columns) if columns is not None else list(self.columns)
        if self.format == "parquet":
            yield from self._parquet_chunks(chunk_rows, wanted)
        else:
            yield from self._csv_chunks(chunk_rows, wanted)

    def _parquet_chunks(self, chunk_rows: int, columns: list[str]) -> Iterator[Chunk]:
        first = 1
        for f in self.files:
            reader = pq.ParquetFile(f, buffer_size=READ_BUFFER_BYTES, pre_buffer=False)
            for batch in reader.iter_batches(batch_size=chunk_rows, columns=columns):
                n = batch.num_rows
                yield Chunk(np.arange(first, first + n, dtype=np.int64), pa.Table.from_batches([batch]))
                first += n

    def _csv_chunks(self, chunk_rows: int, columns: list[str]) -> Iterator[Chunk]:
        malformed: list[tuple[int, str]] = []  # (0-based record position, reason), in file order

        def on_invalid(row) -> str:
            text = row.text if len(row.text) <= 60 else row.text[:57] + "..."
            malformed.append((row.number - 2, f"malformed row: expected {row.expected_columns} fields, got "
                                              f"{row.actual_columns}: {text!r}"))
            return "skip"

        convert = pacsv.ConvertOptions(column_types={c: pa.string() for c in columns}, include_columns=columns,
                                       strings_can_be_null=True)
        parse = pacsv.ParseOptions(newlines_in_values=True, invalid_row_handler=on_invalid)
        read = pacsv.ReadOptions(block_size=CSV_BLOCK_BYTES, use_threads=False)  # serial: rows keep their numbers
        try:
            reader = pacsv.open_csv(self.path, read_options=read, parse_options=parse, convert_options=convert)
        except pa.ArrowInvalid as exc:
            raise ScoringError(f"{self.path}: cannot read the CSV file ({exc}).") from exc
        pending: list[pa.RecordBatch] = []
        held = valid = reported = 0

        def emit(table: pa.Table, final: bool = False) -> Chunk:
            nonlocal valid, reported
            n = table.num_rows
            # Row number of the k-th valid record: k plus the malformed records before it (1-based).
            starts = np.array([pos - j for j, (pos, _) in enumerate(malformed)], dtype=np.int64)
            k = np.arange(valid, valid + n, dtype=np.int64)
            rows = k + np.searchsorted(starts, k, side="right") + 1
            last = int(rows[-1]) if n else 0
            done = [(pos + 1, reason) for pos, reason in malformed[reported:] if final or pos + 1 < last]
            valid += n
            reported += len(done)
            return Chunk(rows, table, done)

        with reader:
            while True:
                try:
                    batch = reader.read_next_batch()
                except StopIteration:
                    break
                except pa.ArrowInvalid as exc:
                    raise ScoringError(f"{self.path}: cannot read the CSV file after row {valid + len(malformed)} "
                                       f"({exc}).") from exc
                pending.append(batch)
                held += batch.num_rows
                while held >= chunk_rows:
                    table = pa.Table.from_batches(pending)
                    yield emit(table.slice(0, chunk_rows))
                    rest = table.slice(chunk_rows)
                    pending, held = rest.to_batches(), rest.num_rows
            if held or reported < len(malformed):
                yield emit(pa.Table.from_batches(pending, schema=reader.schema), final=True)


def open_input(path: str | Path) -> TableInput:
    """Open a feature table: read its columns, types, row count and metadata without reading rows."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: input not found.")
    fmt = input_format(path)
    if fmt == "csv":
        try:
            skip = pacsv.ParseOptions(newlines_in_values=True, invalid_row_handler=lambda row: "skip")
            with pacsv.open_csv(path, read_options=pacsv.ReadOptions(block_size=1 << 16), parse_options=skip) as reader:
                columns = list(reader.schema.names)
        except pa.ArrowInvalid as exc:
            raise ScoringError(f"{path}: cannot read the CSV header ({exc}).") from exc
        return TableInput(path, fmt, (path,), columns, None, None, {})
    files = tuple(sorted(path.glob("*.parquet"))) if path.is_dir() else (path,)
    if not files:
        raise ScoringError(f"{path}: the folder holds no .parquet parts.")
    first = pq.ParquetFile(files[0])
    schema = first.schema_arrow
    rows = first.metadata.num_rows
    for f in files[1:]:
        other = pq.ParquetFile(f)
        if not other.schema_arrow.remove_metadata().equals(schema.remove_metadata()):
            diff = [n for n in schema.names if n not in other.schema_arrow.names
                    or other.schema_arrow.field(n).type != schema.field(n).type]
            raise SchemaError(f"{f}: the Parquet parts of {path} differ in their columns or types "
                              f"({', '.join(diff[:5]) or 'column order'} differ from {files[0].name}).")
        rows += other.metadata.num_rows
    metadata = {k.decode("utf-8", "replace"): v.decode("utf-8", "replace") for k, v in (schema.metadata or {}).items()}
    return TableInput(path, fmt, files, list(schema.names), {f.name: f.type for f in schema}, rows, metadata)
