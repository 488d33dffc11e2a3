"""Writing scores and rejects so that a killed run leaves no partial output: a temporary file, then an atomic move.

Chunks are appended to `<name>.partial-<pid>` beside the target; only a finished run moves it onto the target
name (`os.replace`, atomic on one file system), so the target holds either nothing, the previous complete result
or the new complete result, never a part. Leftovers of killed runs (their process gone) are removed by the next
run that writes the same target.
"""

from __future__ import annotations

import os
from pathlib import Path
from types import TracebackType

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from techscore.exceptions import ScoringError

__all__ = ["AtomicTableWriter", "output_format"]

PARTIAL = ".partial-"


def output_format(path: Path) -> str:
    """`parquet` or `csv`, from the file name."""
    suffix = path.suffix.lower()
    if suffix in {".parquet", ".pq"}:
        return "parquet"
    if suffix == ".csv":
        return "csv"
    raise ScoringError(f"{path}: output must end in .parquet or .csv; got {suffix!r}.")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    return True


def remove_stale_partials(path: Path) -> list[Path]:
    """Delete `<path>.partial-<pid>` files whose process no longer runs (killed runs); returns them."""
    removed = []
    for leftover in path.parent.glob(f"{path.name}{PARTIAL}*"):
        suffix = leftover.name[len(path.name) + len(PARTIAL):]
        if suffix.isdigit() and int(suffix) != os.getpid() and not _alive(int(suffix)):
            leftover.unlink(missing_ok=True)
            removed.append(leftover)
    return removed


class AtomicTableWriter:
    """Append Arrow tables of one fixed `schema` to a temporary file; `commit()` moves it onto `path`.

    Used as a context manager, it removes the temporary file on any error (a clean failure); a killed process
    leaves it behind, and the next writer of the same path removes it. Parquet is written with zstd, one row
    group per chunk; CSV with a header line (also when no row is written).
    """

    def __init__(self, path: str | Path, schema: pa.Schema) -> None:
        self.path = Path(path)
        self.format = output_format(self.path)
        self.schema = schema
        self.rows = 0
        self.path.parent.mkdir(parents=True, exist_ok=True)
        remove_stale_partials(self.path)
        self.tmp = self.path.with_name(f"{self.path.name}{PARTIAL}{os.getpid()}")
        self._sink = None
        if self.format == "parquet":
            self._writer = pq.ParquetWriter(self.tmp, schema, compression="zstd")
        else:
            self._sink = pa.OSFile(str(self.tmp), "wb")
            self._writer = pacsv.CSVWriter(self._sink, schema)
        self._open = True

    def write(self, table: pa.Table) -> None:
        """Append `table` (its columns are selected and cast to the writer's schema)."""
        if table.num_rows == 0:
            return
        if table.schema != self.schema:
            table = table.select(self.schema.names).cast(self.schema)
        self._writer.write_table(table)
        self.rows += table.num_rows

    def _close(self) -> None:
        if self._open:
            self._open = False
            self._writer.close()
            if self._sink is not None:
                self._sink.close()

    def commit(self) -> Path:
        """Close the file, flush it to disk and move it onto the target name."""
        self._close()
        fd = os.open(self.tmp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(self.tmp, self.path)
        _fsync_dir(self.path.parent)
        return self.path

    def abort(self) -> None:
        """Close and delete the temporary file; the target is left as it was."""
        try:
            self._close()
        finally:
            self.tmp.unlink(missing_ok=True)

    def __enter__(self) -> AtomicTableWriter:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if exc_type is not None or self._open:  # an error, or left without commit()
            self.abort()


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory handles
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)
