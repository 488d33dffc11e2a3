"""The audit trail: every decision appended durably before its response leaves, and exported to Parquet.

SQLite in WAL mode with `synchronous=FULL`: a committed decision survives a killed process and a power cut.
One row per firm decision: request id, time (UTC, ISO 8601), caller, model name and version, the SHA-256 of the
firm's features (canonical JSON), pd, score, grade, the reason codes and, for a firm scored by its code, the
feature snapshot its features came from. A write that fails raises `AuditError`
and the service answers 503 rather than a decision nobody recorded. Checkpoints (WAL into the database file) run
in a thread of their own, so no commit, and no answer, waits for one.
"""

from __future__ import annotations

import hashlib
import json
import queue
import sqlite3
import threading
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from techscore.exceptions import TechscoreError

__all__ = ["AUDIT_COLUMNS", "AuditError", "AuditLog", "AuditRecord", "export_audit", "features_hash"]


class AuditError(TechscoreError, OSError):
    """The audit trail could not record a decision (or could not be read)."""


AUDIT_COLUMNS: tuple[str, ...] = (
    "request_id", "item", "time", "caller", "model_name", "model_version", "catalogue_version", "uscc",
    "features_sha256", "pd", "score", "grade", "reasons", "snapshot_id",
)
_SCHEMA = """
CREATE TABLE IF NOT EXISTS decisions (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    request_id TEXT NOT NULL, item INTEGER NOT NULL, time TEXT NOT NULL, caller TEXT NOT NULL,
    model_name TEXT NOT NULL, model_version TEXT NOT NULL, catalogue_version TEXT, uscc TEXT NOT NULL,
    features_sha256 TEXT NOT NULL, pd REAL NOT NULL, score REAL NOT NULL, grade TEXT NOT NULL, reasons TEXT NOT NULL,
    snapshot_id TEXT,
    UNIQUE (request_id, item)
);
CREATE INDEX IF NOT EXISTS decisions_time ON decisions (time);
"""
_INSERT = f"INSERT INTO decisions ({', '.join(AUDIT_COLUMNS)}) VALUES ({', '.join('?' * len(AUDIT_COLUMNS))})"


def features_hash(record: dict, features: Sequence[str]) -> str:
    """SHA-256 of the firm's code and model features as canonical JSON (sorted keys, no spaces)."""
    used = {name: record.get(name) for name in ("uscc", *features)}
    text = json.dumps(used, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class AuditRecord:
    """One decision as recorded (`reasons`: the reason codes, strongest first)."""

    request_id: str
    item: int
    time: str
    caller: str
    model_name: str
    model_version: str
    catalogue_version: str | None
    uscc: str
    features_sha256: str
    pd: float
    score: float
    grade: str
    reasons: tuple[str, ...]
    snapshot_id: str | None = None
    """The feature snapshot the firm's features were read from (None: the caller sent them)."""

    def row(self) -> tuple:
        return (self.request_id, self.item, self.time, self.caller, self.model_name, self.model_version,
                self.catalogue_version, self.uscc, self.features_sha256, self.pd, self.score, self.grade,
                json.dumps(list(self.reasons)), self.snapshot_id)


@dataclass
class _Pending:
    """One caller's rows waiting for the commit that includes them."""

    rows: list[tuple]
    done: Future


class AuditLog:
    """An append-only decision log in one SQLite file (WAL, synchronous=FULL), written by one thread.

    Group commit: callers hand their rows to the writer (`submit`) and wait for the commit that includes them;
    the writer takes whatever is queued (at most `max_batch_rows` rows, at least one caller's), commits it in one
    transaction and only then resolves those callers' futures. Nothing is queued: the writer commits the lone
    caller's rows at once (no added wait); while one fsync runs, the next callers gather for the following commit.
    A failed commit fails exactly the callers of that batch (`AuditError`); the next batch is tried afresh.
    """

    def __init__(self, path: str | Path, *, max_batch_rows: int = 1000, checkpoint_seconds: float = 0.5) -> None:
        self.path = Path(path)
        self.max_batch_rows = max(1, int(max_batch_rows))
        self.checkpoint_seconds = float(checkpoint_seconds)
        self.commits = 0
        """Transactions committed by this log (each one fsync): fewer than callers when commits were grouped."""
        self.checkpoints = 0
        """Checkpoints run by this log's checkpointer thread (never inside a commit)."""
        self.writing = 0
        """Callers whose rows are in the transaction being written now (0: the writer is idle or waiting)."""
        self._lock = threading.Lock()
        self._submitting = threading.Lock()
        self._queue: queue.SimpleQueue[_Pending | None] = queue.SimpleQueue()
        self._closed = False
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.execute("PRAGMA wal_autocheckpoint=0")  # checkpoints run in `_checkpoint_loop`, not in COMMIT
            self._db.executescript(_SCHEMA)
            columns = {row[1] for row in self._db.execute("PRAGMA table_info(decisions)")}
            if "snapshot_id" not in columns:  # a trail written before decisions named their snapshot
                self._db.execute("ALTER TABLE decisions ADD COLUMN snapshot_id TEXT")
        except (sqlite3.Error, OSError) as exc:
            raise AuditError(f"{self.path}: cannot open the audit trail: {exc}") from exc
        self._writer = threading.Thread(target=self._write_loop, name="techscore-audit-writer", daemon=True)
        self._writer.start()
        self._stop_checkpoints = threading.Event()
        self._checkpointer = threading.Thread(target=self._checkpoint_loop, name="techscore-audit-checkpoint",
                                              daemon=True)
        self._checkpointer.start()

    def submit(self, records: Sequence[AuditRecord]) -> Future:
        """Queue `records` for the next commit; the future resolves (None) once they are on disk, or raises
        `AuditError`. Await it from async code with `asyncio.wrap_future`."""
        done: Future = Future()
        pending = _Pending([r.row() for r in records], done)
        with self._submitting:
            if self._closed:
                done.set_exception(AuditError(f"{self.path}: the audit trail is closed; the decision is not "
                                              "recorded."))
            else:
                self._queue.put(pending)
        return done

    def append(self, records: Sequence[AuditRecord]) -> None:
        """Commit `records`; returns only once they are on disk (else `AuditError`). Blocks: async code awaits
        `submit` instead."""
        self.submit(records).result()

    def queued(self) -> int:
        """Callers waiting for a commit that has not started yet."""
        return self._queue.qsize()

    def _write_loop(self) -> None:
        carry: _Pending | None = None
        stop = False
        while not stop:
            first = carry or self._queue.get()
            if first is None:
                return
            batch, rows, carry = [first], len(first.rows), None
            while rows < self.max_batch_rows:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    stop = True  # close(): write this batch, then end
                    break
                if rows + len(more.rows) > self.max_batch_rows:
                    carry = more  # the next batch's first
                    break
                batch.append(more)
                rows += len(more.rows)
            self._commit(batch)

    def _commit(self, batch: list[_Pending]) -> None:
        """One transaction for every caller in `batch`; their futures resolve after COMMIT returned."""
        # RUNNING from here: a caller that gives up (its request cancelled) can no longer cancel the future under
        # the writer; its rows are written all the same (recorded, never acknowledged) and nobody is told.
        waiting = [p for p in batch if p.done.set_running_or_notify_cancel()]
        with self._lock:
            self.writing = len(batch)
            try:
                self._db.execute("BEGIN IMMEDIATE")
                for pending in batch:
                    self._db.executemany(_INSERT, pending.rows)
                self._db.execute("COMMIT")
                self.commits += 1
                error = None
            except Exception as exc:  # any failure fails this batch's callers; the writer goes on
                error = AuditError(f"{self.path}: the decision could not be recorded: {exc}")
                try:
                    if self._db.in_transaction:
                        self._db.execute("ROLLBACK")
                except sqlite3.Error:
                    pass  # the transaction is gone either way; the next batch begins afresh
            finally:
                self.writing = 0
        for pending in waiting:
            if error is None:
                pending.done.set_result(None)
            else:
                pending.done.set_exception(error)

    def _checkpoint_loop(self) -> None:
        """Copy committed WAL pages into the database file every `checkpoint_seconds`, on a connection of its own.

        SQLite would otherwise checkpoint inside the COMMIT that crosses its WAL threshold (1,000 pages), so the
        requests of that commit would also wait for the database file's writes and fsync. A PASSIVE checkpoint
        runs beside the writer without blocking it. Durability does not depend on it: a decision is on disk once
        its commit synced the WAL; a checkpoint only moves it into the database file (and lets the WAL be reused).
        """
        try:
            db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        except sqlite3.Error:
            return  # the writer's own connection reports the trouble; without checkpoints the WAL grows
        try:
            while not self._stop_checkpoints.wait(self.checkpoint_seconds):
                try:
                    db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                    self.checkpoints += 1
                except sqlite3.Error:
                    continue  # busy (another worker's checkpoint) or a passing fault: tried again next time
        finally:
            db.close()

    def count(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT count(*) FROM decisions").fetchone()[0])

    def close(self) -> None:
        """Commit what is queued, stop the writer, close the file. Later `submit`s fail with `AuditError`."""
        with self._submitting:
            closing, self._closed = not self._closed, True
            if closing:
                self._queue.put(None)
        if closing:
            self._writer.join()
            self._stop_checkpoints.set()
            self._checkpointer.join()
        with self._lock:
            self._db.close()


def _utc(name: str, text: str) -> str:
    """An ISO 8601 time as the trail writes it (UTC, microseconds); a time without zone is taken as UTC."""
    try:
        t = datetime.fromisoformat(text)
    except ValueError as exc:
        raise AuditError(f"{name} must be an ISO 8601 date or time (2026-12-01, 2026-12-01T08:00Z); got {text!r}.") \
            from exc
    t = t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)
    return t.isoformat(timespec="microseconds")


def export_audit(path: str | Path, out: str | Path, *, start: str | None = None, end: str | None = None) -> int:
    """Write the decisions with `start <= time < end` (ISO 8601 UTC; either may be None) to Parquet `out`, in
    the order they were recorded; returns how many. Reads a live log safely (WAL readers do not block)."""
    source = Path(path)
    if not source.is_file():
        raise AuditError(f"{source}: no audit trail there.")
    where, args = [], []
    if start:
        where.append("time >= ?")
        args.append(_utc("from", start))
    if end:
        where.append("time < ?")
        args.append(_utc("to", end))
    sql = f"SELECT {', '.join(AUDIT_COLUMNS)} FROM decisions"
    sql += (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY seq"
    try:
        with sqlite3.connect(f"file:{source}?mode=ro", uri=True) as db:
            rows = db.execute(sql, args).fetchall()
    except sqlite3.Error as exc:
        raise AuditError(f"{source}: cannot read the audit trail: {exc}") from exc
    types = [pa.string(), pa.int64(), pa.string(), pa.string(), pa.string(), pa.string(), pa.string(), pa.string(),
             pa.string(), pa.float64(), pa.float64(), pa.string(), pa.list_(pa.string()), pa.string()]
    columns = list(zip(*rows, strict=True)) if rows else [[] for _ in AUDIT_COLUMNS]
    arrays = []
    for name, typ, values in zip(AUDIT_COLUMNS, types, columns, strict=True):
        values = [json.loads(v) for v in values] if name == "reasons" else list(values)
        arrays.append(pa.array(values, typ))
    target = Path(out)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f"{target.name}.partial")
    pq.write_table(pa.Table.from_arrays(arrays, names=list(AUDIT_COLUMNS)), tmp)
    tmp.replace(target)
    return len(rows)
