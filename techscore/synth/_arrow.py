"""Arrow types of the raw contract and small builders that turn NumPy arrays into its columns.

Files are written straight from NumPy through pyarrow (no pandas metadata), so their bytes depend only on the
values, the chunking and the pyarrow version.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from techscore.sources.schema import TABLES, Kind

ARROW_TYPES: dict[Kind, pa.DataType] = {
    "str": pa.string(), "uscc": pa.string(), "category": pa.string(), "int": pa.int64(), "float": pa.float64(),
    "money": pa.float64(), "date": pa.date32(), "bool": pa.bool_(),
}
"""Arrow type written for each column kind of `techscore.sources.schema`."""

NO_DAY = np.iinfo(np.int32).max
"""Day number standing for "no date" in the generators' int arrays."""


def arrow_schema(table: str) -> pa.Schema:
    """The Arrow schema of raw table `table`: its contract columns in order, each with the type of its kind."""
    return pa.schema([pa.field(c.name, ARROW_TYPES[c.kind]) for c in TABLES[table].columns])


def dates(days: np.ndarray) -> pa.Array:
    """Day numbers since 1970-01-01 as a date32 column; `NO_DAY` becomes null."""
    days = np.asarray(days)
    mask = days == NO_DAY
    return pa.array(days.astype(np.int32), type=pa.int32(), mask=mask if mask.any() else None).view(pa.date32())


def ints(values: np.ndarray, mask: np.ndarray | None = None) -> pa.Array:
    """Integers as int64; `mask` True marks nulls."""
    return pa.array(np.asarray(values, dtype=np.int64), type=pa.int64(), mask=mask)


def floats(values: np.ndarray) -> pa.Array:
    """Floats as float64; NaN becomes null."""
    values = np.asarray(values, dtype=np.float64)
    mask = np.isnan(values)
    return pa.array(values, type=pa.float64(), mask=mask if mask.any() else None)


def take(strings: pa.Array, index: np.ndarray) -> pa.Array:
    """`strings[index]` without going through Python objects (codes, names and labels by integer index)."""
    return strings.take(pa.array(np.asarray(index, dtype=np.int64)))


def numbered(prefix: str, numbers: np.ndarray, width: int) -> pa.Array:
    """Identifiers `prefix` + zero-padded `numbers` (e.g. ``INV0000000042``)."""
    digits = pc.utf8_lpad(pc.cast(pa.array(np.asarray(numbers, dtype=np.int64)), pa.string()), width=width, padding="0")
    return pc.binary_join_element_wise(prefix, digits, "")


class TableWriter:
    """Append record batches of one raw table to a Parquet file (deterministic: fixed options, no timestamps)."""

    def __init__(self, path: Path, table: str) -> None:
        self.table = table
        self.path = path
        self.schema = arrow_schema(table)
        self.rows = 0
        self._writer = pq.ParquetWriter(path, self.schema, compression="zstd", write_statistics=True)

    def write(self, columns: dict[str, pa.Array]) -> None:
        """Write one chunk; `columns` must hold exactly the table's contract columns."""
        names = [f.name for f in self.schema]
        missing = set(names) ^ set(columns)
        if missing:
            raise ValueError(f"chunk of {self.table} has the wrong columns: {sorted(missing)[:5]}.")
        arrays = [columns[n].cast(self.schema.field(n).type) for n in names]
        batch = pa.Table.from_arrays(arrays, schema=self.schema)
        if batch.num_rows:
            self._writer.write_table(batch, row_group_size=1 << 20)
        self.rows += batch.num_rows

    def close(self) -> int:
        self._writer.close()
        return self.rows

    def __enter__(self) -> TableWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
