"""Feature snapshots for the online service: the platform's latest featurized table, looked up one firm at a time.

A snapshot store is a folder. Each snapshot is one SQLite file `<snapshot id>.sqlite`, written once and never
changed: one row per (firm, as-of date) holding the firm's feature record as JSON, with a unique index on the
firm code and date. `CURRENT` names the snapshot served. `write_snapshot` writes a featurized table (`techscore featurize`)
as a new snapshot and then points `CURRENT` at it by an atomic rename; a serving `SnapshotHolder` notices the
pointer move on its next lookup and switches between two requests, so each answer comes from one whole snapshot
and names it.

The service only sees `FeatureSnapshot` (id, as-of dates of a firm's rows, close), so another embedded store can
replace SQLite behind `open_snapshot`. SQLite was chosen because a primary-key lookup reads a few pages from the
OS cache (shared by every worker process) without loading the table into each worker's memory.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

import numpy as np
import pandas as pd

from techscore.exceptions import TechscoreError
from techscore.scoring.guard import ID_COLUMN
from techscore.sources.snapshot import parse_date

__all__ = ["AS_OF_COLUMN", "CURRENT_FILE", "FeatureSnapshot", "SnapshotError", "SnapshotHolder", "SnapshotInfo",
           "SqliteSnapshot", "open_snapshot", "write_snapshot"]

AS_OF_COLUMN = "as_of"
"""The column of a featurized table holding each row's as-of date (else one date is given for the table)."""
CURRENT_FILE = "CURRENT"
"""The file of a store naming the snapshot served (its id, one line)."""
SUFFIX = ".sqlite"
CHUNK_ROWS = 20_000
_SCHEMA = """
CREATE TABLE firms (uscc TEXT NOT NULL, as_of TEXT NOT NULL, record TEXT NOT NULL);
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""
_INDEX = "CREATE UNIQUE INDEX firms_uscc ON firms (uscc, as_of)"  # built after the rows: faster than during


class SnapshotError(TechscoreError, ValueError):
    """A featurized table cannot become a snapshot, or a store has no usable snapshot."""


@dataclass(frozen=True)
class SnapshotInfo:
    """What `write_snapshot` wrote: the id, its file, how many rows and firms, and its as-of dates."""

    snapshot_id: str
    path: Path
    rows: int
    firms: int
    as_of: tuple[str, ...]


class FeatureSnapshot(Protocol):
    """One snapshot as the service reads it."""

    snapshot_id: str

    def lookup(self, uscc: str) -> dict[str, dict]:
        """The firm's feature records by as-of date (ISO `YYYY-MM-DD`), oldest first; empty when unknown."""
        ...

    def close(self) -> None: ...


class SqliteSnapshot:
    """A snapshot file opened read-only (immutable: written once, so SQLite takes no locks reading it)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        try:
            self._db = sqlite3.connect(f"file:{self.path}?mode=ro&immutable=1", uri=True, check_same_thread=False)
            meta = dict(self._db.execute("SELECT key, value FROM meta").fetchall())
        except sqlite3.Error as exc:
            raise SnapshotError(f"{self.path}: not a feature snapshot: {exc}.") from exc
        self.snapshot_id: str = meta.get("snapshot_id", self.path.stem)
        self.meta = meta
        self._lock = threading.Lock()

    def lookup(self, uscc: str) -> dict[str, dict]:
        with self._lock:
            rows = self._db.execute("SELECT as_of, record FROM firms WHERE uscc = ? ORDER BY as_of",
                                    (uscc,)).fetchall()
        return {as_of: json.loads(record) for as_of, record in rows}

    def close(self) -> None:
        with self._lock:
            self._db.close()


def open_snapshot(path: str | Path) -> FeatureSnapshot:
    """Open one snapshot file (the store's only format today: SQLite)."""
    return SqliteSnapshot(path)


def _json_value(value: object) -> object:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, pd.Timestamp | datetime):
        return value.isoformat()
    return str(value)


def _iso_date(value: object, where: str) -> str:
    return parse_date(value, where, SnapshotError).strftime("%Y-%m-%d")


def _row_chunks(frame: pd.DataFrame, as_of: object | None, source: str,
                chunk: int = CHUNK_ROWS) -> Iterator[list[tuple[str, str, str]]]:
    """(uscc, as_of, record JSON) of each row, `chunk` rows at a time: every column but the code and date, missing
    values as null (so a large table is never held as Python objects all at once)."""
    if ID_COLUMN not in frame.columns:
        if frame.index.name != ID_COLUMN:
            raise SnapshotError(f"{source}: a featurized table needs a '{ID_COLUMN}' column (or index); columns: "
                                f"{', '.join(map(str, frame.columns[:5]))}.")
        frame = frame.reset_index()
    if AS_OF_COLUMN in frame.columns:
        stamps = pd.to_datetime(frame[AS_OF_COLUMN], errors="coerce")
        if stamps.isna().any():
            i = int(np.flatnonzero(stamps.isna().to_numpy())[0])
            _iso_date(frame[AS_OF_COLUMN].iloc[i], f"{source}: column {AS_OF_COLUMN}, row {i}")  # raises, naming it
        dates = stamps.dt.strftime("%Y-%m-%d").tolist()
    elif as_of is not None:
        dates = [_iso_date(as_of, "as_of")] * len(frame)
    else:
        raise SnapshotError(f"{source}: no '{AS_OF_COLUMN}' column; give the date the features are as of "
                            "(techscore serve snapshot --as-of).")
    codes = frame[ID_COLUMN].astype("string")
    missing = codes.isna() | (codes.str.strip() == "")
    if missing.any():
        raise SnapshotError(f"{source}: row {int(np.flatnonzero(missing.to_numpy())[0])} has no {ID_COLUMN}.")
    codes = codes.tolist()
    features = frame.drop(columns=[c for c in (ID_COLUMN, AS_OF_COLUMN) if c in frame.columns])
    names = [str(c) for c in features.columns]
    for start in range(0, len(frame), chunk):
        part = features.iloc[start:start + chunk]
        part = part.astype(object).where(part.notna(), None)
        yield [(str(code), date, json.dumps(dict(zip(names, row, strict=True)), ensure_ascii=False, allow_nan=True,
                                            separators=(",", ":"), default=_json_value))
               for code, date, row in zip(codes[start:start + chunk], dates[start:start + chunk],
                                          part.itertuples(index=False, name=None), strict=True)]


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_snapshot(frame: pd.DataFrame, store: str | Path, *, as_of: object | None = None,
                   source: str = "featurized table", make_current: bool = True) -> SnapshotInfo:
    """Write `frame` (one row per firm and as-of date: `uscc`, features, optionally `as_of`) as a new snapshot in
    the folder `store`, and point `CURRENT` at it (an atomic rename: a serving service switches on its next
    request). The id is the latest as-of date and the first 12 hex digits of the content's SHA-256, so writing
    the same table twice gives the same snapshot."""
    folder = Path(store)
    folder.mkdir(parents=True, exist_ok=True)
    partial = folder / f".writing-{os.getpid()}-{threading.get_ident()}{SUFFIX}"
    partial.unlink(missing_ok=True)
    seen: set[tuple[str, str]] = set()
    digest = hashlib.sha256()
    db = sqlite3.connect(partial)
    try:
        db.executescript(_SCHEMA)
        for rows in _row_chunks(frame, as_of, source):
            for code, date, record in rows:
                if (code, date) in seen:
                    raise SnapshotError(f"{source}: firm {code} appears twice as of {date}; a snapshot holds one row "
                                        "per firm and date.")
                seen.add((code, date))
                digest.update(f"{code}\t{date}\t{record}\n".encode())
            db.executemany("INSERT INTO firms VALUES (?, ?, ?)", rows)
        if not seen:
            raise SnapshotError(f"{source}: no rows; a snapshot needs at least one firm.")
        db.execute(_INDEX)
        dates = tuple(sorted({d for _, d in seen}))
        snapshot_id = f"{dates[-1].replace('-', '')}-{digest.hexdigest()[:12]}"
        meta = {"snapshot_id": snapshot_id, "created": datetime.now(UTC).isoformat(timespec="seconds"),
                "source": source, "rows": str(len(seen)), "as_of": ",".join(dates)}
        db.executemany("INSERT INTO meta VALUES (?, ?)", sorted(meta.items()))
        db.commit()
    except BaseException:
        db.close()
        partial.unlink(missing_ok=True)
        raise
    db.close()
    path = folder / f"{snapshot_id}{SUFFIX}"
    if path.exists():  # the same table again: the snapshot written before is kept
        partial.unlink()
    else:
        _fsync(partial)
        partial.replace(path)
    if make_current:
        pointer = folder / f"{CURRENT_FILE}.partial"
        pointer.write_text(snapshot_id + "\n", encoding="utf-8")
        _fsync(pointer)
        pointer.replace(folder / CURRENT_FILE)
    return SnapshotInfo(snapshot_id, path, len(seen), len({c for c, _ in seen}), dates)


class SnapshotHolder:
    """The snapshot a service serves from the store folder `store`: the one `CURRENT` names, re-read when the
    pointer changes (checked by one `stat` per lookup), swapped in whole between requests."""

    def __init__(self, store: str | Path) -> None:
        self.store = Path(store)
        self._lock = threading.Lock()
        self._seen: tuple[int, int, int] | None = None
        self._current: FeatureSnapshot | None = None
        self._retired: list[FeatureSnapshot] = []

    def current(self) -> FeatureSnapshot:
        """The snapshot to answer with (`SnapshotError` when the store has none)."""
        pointer = self.store / CURRENT_FILE
        try:
            st = pointer.stat()
        except OSError as exc:
            raise SnapshotError(f"{self.store}: no feature snapshot yet; write one with `techscore serve snapshot`."
                                ) from exc
        key = (st.st_ino, st.st_mtime_ns, st.st_size)
        if key != self._seen or self._current is None:
            with self._lock:
                if key != self._seen or self._current is None:
                    snapshot_id = pointer.read_text(encoding="utf-8").strip()
                    path = self.store / f"{snapshot_id}{SUFFIX}"
                    if not path.is_file():
                        raise SnapshotError(f"{pointer} names snapshot {snapshot_id!r}, but {path} does not exist.")
                    fresh = open_snapshot(path)
                    if self._current is not None:  # a request may still read it: closed at the next swap
                        for old in self._retired:
                            old.close()
                        self._retired = [self._current]
                    self._current, self._seen = fresh, key
        return self._current

    def close(self) -> None:
        with self._lock:
            for snapshot in [*self._retired, *([self._current] if self._current is not None else [])]:
                snapshot.close()
            self._retired, self._current, self._seen = [], None, None
