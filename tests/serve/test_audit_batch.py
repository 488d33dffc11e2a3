"""Group commit: concurrent decisions share one audit transaction, each answered only after that commit; a commit
that fails fails exactly the requests in it.

The batches are made deterministic by holding SQLite's write lock from another connection: the log's writer then
waits in `BEGIN IMMEDIATE` with the batch it took, and the callers that come meanwhile queue for the next one.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import httpx
import pytest

from techscore.serve import ServiceConfig, create_app
from techscore.serve.audit import AuditError, AuditLog, AuditRecord
from techscore.serve.background import running_service
from tests.serve.conftest import as_records

REFUSE_BANK_X = ("CREATE TRIGGER refuse BEFORE INSERT ON decisions WHEN NEW.caller = 'bank-x' "
                 "BEGIN SELECT RAISE(ABORT, 'disk full'); END")


@contextmanager
def _write_lock_held(path) -> Iterator[None]:
    """Another connection holds the trail's write lock until the block ends (the log's writer waits for it)."""
    db = sqlite3.connect(path, isolation_level=None)
    try:
        db.execute("BEGIN IMMEDIATE")
        yield
        db.execute("COMMIT")
    finally:
        db.close()


def _until(condition, timeout: float = 60) -> None:
    """Poll `condition` (bounded)."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the audit writer did not reach the expected state"
        time.sleep(0.01)


def _request_ids(path) -> list[str]:
    with sqlite3.connect(path) as db:
        return [r[0] for r in db.execute("SELECT request_id FROM decisions ORDER BY seq")]


def _record(request_id: str, caller: str = "bank-a") -> AuditRecord:
    return AuditRecord(request_id, 0, "2026-12-02T05:00:00.000000+00:00", caller, "m", "1", None,
                       "91110108M80794078T", "ab", 0.1, 600.0, "BB", ("fin_leverage",))


def test_callers_queued_during_a_commit_share_the_next_one(tmp_path):
    path = tmp_path / "audit.sqlite"
    log = AuditLog(path)
    try:
        with _write_lock_held(path):
            first = log.submit([_record("r0")])
            _until(lambda: log.writing == 1)  # r0's transaction has begun (it waits for the lock)
            rest = [log.submit([_record(f"r{i}")]) for i in range(1, 7)]
            assert log.queued() == 6 and not first.done() and not any(f.done() for f in rest)
        for f in (first, *rest):
            assert f.result(timeout=60) is None
        assert log.commits == 2  # r0 alone, then r1..r6 in one transaction
        assert _request_ids(path) == [f"r{i}" for i in range(7)]
        log.append([_record("r7")])  # idle: committed at once, alone
        assert log.commits == 3
    finally:
        log.close()
    with pytest.raises(AuditError, match="closed"):
        log.append([_record("r8")])


def test_a_batch_is_bounded_in_rows(tmp_path):
    path = tmp_path / "audit.sqlite"
    log = AuditLog(path, max_batch_rows=3)
    try:
        with _write_lock_held(path):
            first = log.submit([_record("r0")])
            _until(lambda: log.writing == 1)
            rest = [log.submit([_record(f"r{i}")]) for i in range(1, 8)]
        for f in (first, *rest):
            f.result(timeout=60)
        assert log.commits == 4  # r0; r1-r3; r4-r6; r7
        assert _request_ids(path) == [f"r{i}" for i in range(8)]
    finally:
        log.close()


def test_a_failed_commit_fails_exactly_its_batch(tmp_path):
    path = tmp_path / "audit.sqlite"
    log = AuditLog(path)
    with sqlite3.connect(path) as db:
        db.execute(REFUSE_BANK_X)
    try:
        with _write_lock_held(path):
            first = log.submit([_record("r0")])
            _until(lambda: log.writing == 1)
            doomed = [log.submit([_record("r1")]), log.submit([_record("r2", "bank-x")]),
                      log.submit([_record("r3")])]
        assert first.result(timeout=60) is None
        for f in doomed:  # one caller's refused row fails the whole transaction, so every caller in it
            with pytest.raises(AuditError, match="disk full"):
                f.result(timeout=60)
        with _write_lock_held(path):
            head = log.submit([_record("r4")])
            _until(lambda: log.writing == 1)
            after = [log.submit([_record("r5")]), log.submit([_record("r6")])]
        for f in (head, *after):
            assert f.result(timeout=60) is None
        assert _request_ids(path) == ["r0", "r4", "r5", "r6"]
    finally:
        log.close()


def _post(base: str, record: dict, caller: str) -> httpx.Response:
    return httpx.post(f"{base}/v1/score", json={"records": [record]}, headers={"X-Caller": caller}, timeout=60)


def test_concurrent_requests_share_commits_and_answer_after_theirs(served, frame, tmp_path):
    """Eight requests wait for one held commit while the service still answers other requests (the event loop
    is free); released, they are committed in at most two transactions and every answer is in the trail."""
    path = tmp_path / "audit.sqlite"
    records = as_records(frame.head(8))
    app = create_app(ServiceConfig(model=str(served.source), audit=path), served=served)
    with running_service(app) as base, ThreadPoolExecutor(8) as pool:
        log: AuditLog = app.state.service["audit"]
        with _write_lock_held(path):
            answers = [pool.submit(_post, base, r, "bank-a") for r in records]
            _until(lambda: log.writing + log.queued() == 8)
            assert httpx.get(f"{base}/healthz", timeout=60).status_code == 200
            assert not any(a.done() for a in answers)  # none answered before its commit
        replies = [a.result(timeout=60) for a in answers]
        assert [r.status_code for r in replies] == [200] * 8
        assert log.commits <= 2
        assert sorted(_request_ids(path)) == sorted(r.json()["request_id"] for r in replies)


def test_a_failed_batch_answers_503_to_each_of_its_requests_only(served, frame, tmp_path):
    path = tmp_path / "audit.sqlite"
    records = as_records(frame.head(5))
    app = create_app(ServiceConfig(model=str(served.source), audit=path), served=served)
    with running_service(app) as base, ThreadPoolExecutor(4) as pool:
        log: AuditLog = app.state.service["audit"]
        with sqlite3.connect(path) as db:
            db.execute(REFUSE_BANK_X)
        with _write_lock_held(path):
            first = pool.submit(_post, base, records[0], "bank-a")
            _until(lambda: log.writing == 1)
            doomed = [pool.submit(_post, base, r, caller)
                      for r, caller in zip(records[1:4], ("bank-a", "bank-x", "bank-a"), strict=True)]
            _until(lambda: log.queued() == 3)
        assert first.result(timeout=60).status_code == 200
        for reply in (d.result(timeout=60) for d in doomed):
            assert reply.status_code == 503 and "results" not in reply.json()
            assert reply.json()["error"]["code"] == "audit_unavailable" and "disk full" in reply.json()["error"][
                "message"]
        last = _post(base, records[4], "bank-a")
        assert last.status_code == 200
    assert _request_ids(path) == [first.result().json()["request_id"], last.json()["request_id"]]


def test_a_caller_that_gives_up_does_not_stop_the_writer(tmp_path):
    """A request cancelled while it waits (its client went away) leaves its future cancelled; the writer still
    commits the batch and goes on serving the next callers."""
    path = tmp_path / "audit.sqlite"
    log = AuditLog(path)
    try:
        with _write_lock_held(path):
            first = log.submit([_record("r0")])
            _until(lambda: log.writing == 1)
            gone, kept = log.submit([_record("r1")]), log.submit([_record("r2")])
            assert gone.cancel()
        assert first.result(timeout=60) is None and kept.result(timeout=60) is None
        log.append([_record("r3")])
        assert _request_ids(path) == ["r0", "r1", "r2", "r3"]
    finally:
        log.close()


def test_no_commit_checkpoints_the_checkpointer_thread_does(tmp_path):
    """SQLite checkpoints inside the COMMIT that crosses 1,000 WAL pages unless told otherwise; the log leaves
    that to its own thread, so no request waits for the database file's writes and fsync."""
    sizes = {}
    for name, seconds in (("idle", 3600.0), ("busy", 0.05)):  # idle: the checkpointer sleeps throughout
        path = tmp_path / f"{name}.sqlite"
        log = AuditLog(path, checkpoint_seconds=seconds)
        try:
            before = path.stat().st_size
            for i in range(400):  # about 4 WAL pages per one-row commit: past SQLite's 1,000-page threshold
                log.append([_record(f"r{i}")])
            assert path.with_name(path.name + "-wal").stat().st_size > 1000 * 4096
            if name == "busy":
                _until(lambda p=path, b=before: p.stat().st_size > 4 * b, timeout=30)
                assert log.checkpoints > 0
            sizes[name] = (before, path.stat().st_size)
        finally:
            log.close()
        assert len(_request_ids(path)) == 400
    before, after = sizes["idle"]
    assert after == before  # 400 commits, and nothing copied into the database file by any of them
