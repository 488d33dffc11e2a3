"""Writing scores and rejects so that a killed run leaves no partial output: temporary file, then an atomic move."""

from __future__ import annotations

import os
from pathlib import Path
from types import TracebackType

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from techscore.exceptions import ScoringError


def output_format(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix in {".parquet", ".pq"}:
        return "parquet"
    if suffix == ".csv":
        return "csv"
    raise ScoringError(f"{path}: output must end in .parquet or .csv; got {suffix!r}.")


class AtomicTableWriter:
    """Append DataFrame chunks to `<path>.partial-<pid>`; `commit()` moves it to `path`, `abort()` removes it.

    Used as a context manager, it commits on success and aborts on any error, so `path` only ever holds a
    complete result (a previous complete result stays until the new one replaces it).
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.format = output_format(self.path)
        self.tmp = self.path.with_name(f"{self.path.name}.partial-{os.getpid()}")
        self.rows = 0
        self._parquet: pq.ParquetWriter | None = None
        self._schema: pa.Schema | None = None
        self._csv_started = False

    def write(self, frame: pd.DataFrame) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.format == "parquet":
            table = pa.Table.from_pandas(frame, preserve_index=False, schema=self._schema)
            if self._parquet is None:
                self._schema = table.schema
                self._parquet = pq.ParquetWriter(self.tmp, self._schema, compression="zstd")
            self._parquet.write_table(table)
        else:
            frame.to_csv(self.tmp, mode="a" if self._csv_started else "w", header=not self._csv_started, index=False)
            self._csv_started = True
        self.rows += len(frame)

    def commit(self, empty_frame: pd.DataFrame | None = None) -> Path:
        """Close and move into place; with no rows written, writes `empty_frame`'s columns (a header only)."""
        if self.rows == 0 and empty_frame is not None:
            self.write(empty_frame.iloc[:0])
        if self._parquet is not None:
            self._parquet.close()
        if self.tmp.exists():
            with open(self.tmp, "rb") as handle:
                os.fsync(handle.fileno())
            os.replace(self.tmp, self.path)
        return self.path

    def abort(self) -> None:
        if self._parquet is not None:
            self._parquet.close()
        self.tmp.unlink(missing_ok=True)

    def __enter__(self) -> AtomicTableWriter:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if exc_type is not None:
            self.abort()
