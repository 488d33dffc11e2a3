"""Per-caller API keys: created and revoked from the command line, stored hashed, each scoped to one bank.

A key reads `ts_<key id>_<secret>`; only the SHA-256 of the secret is stored (the secret is 192 random bits, so a
plain hash suffices; a leaked key file reveals no key). Keys are looked up per request, so a revocation takes
effect at once, without restarting the service. Each key has its own rate limit (requests per second), held
across the service's worker processes through a shared file of buckets (`RateLimiter`).
"""

from __future__ import annotations

import fcntl
import hashlib
import hmac
import math
import mmap
import os
import re
import secrets
import sqlite3
import struct
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from techscore.exceptions import AuthError

__all__ = ["ApiKey", "KeyStore", "RateLimiter", "rate_limit_file"]

_TOKEN = re.compile(r"^ts_([0-9a-f]{12})_([A-Za-z0-9_-]{20,64})$")
_BANK = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
DEFAULT_RATE = 50.0
_SCHEMA = """
CREATE TABLE IF NOT EXISTS api_keys (
    key_id TEXT PRIMARY KEY, bank TEXT NOT NULL, secret_sha256 TEXT NOT NULL, rate REAL NOT NULL,
    created TEXT NOT NULL, revoked TEXT
);
"""


@dataclass(frozen=True)
class ApiKey:
    """A key as stored: its id, its bank, its rate limit (requests/s), when created and revoked (or None)."""

    key_id: str
    bank: str
    rate: float
    created: str
    revoked: str | None = None


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class KeyStore:
    """The API keys of one service, in a SQLite file."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(_SCHEMA)

    def add(self, bank: str, *, rate: float = DEFAULT_RATE) -> tuple[ApiKey, str]:
        """A new key for `bank`: (the stored key, the token to hand over; it is shown once and never stored)."""
        if not _BANK.match(bank):
            raise AuthError(f"bank must be 1-64 letters, digits, '_', '.' or '-'; got {bank!r}.")
        if not rate > 0:
            raise AuthError(f"rate must be a positive number of requests per second; got {rate!r}.")
        key = ApiKey(secrets.token_hex(6), bank, float(rate), _now())
        secret = secrets.token_urlsafe(24)
        with self._lock:
            self._db.execute("INSERT INTO api_keys VALUES (?, ?, ?, ?, ?, NULL)",
                             (key.key_id, key.bank, _digest(secret), key.rate, key.created))
        return key, f"ts_{key.key_id}_{secret}"

    def revoke(self, key_id: str) -> ApiKey:
        """Revoke `key_id` (from now on its requests get 401); revoking twice keeps the first time."""
        with self._lock:
            self._db.execute("UPDATE api_keys SET revoked = ? WHERE key_id = ? AND revoked IS NULL",
                             (_now(), key_id))
        key = self.get(key_id)
        if key is None:
            raise AuthError(f"no API key {key_id!r} in {self.path}.")
        return key

    def get(self, key_id: str) -> ApiKey | None:
        with self._lock:
            row = self._db.execute("SELECT key_id, bank, rate, created, revoked FROM api_keys WHERE key_id = ?",
                                   (key_id,)).fetchone()
        return ApiKey(*row) if row else None

    def keys(self) -> list[ApiKey]:
        with self._lock:
            rows = self._db.execute("SELECT key_id, bank, rate, created, revoked FROM api_keys ORDER BY created, "
                                    "key_id").fetchall()
        return [ApiKey(*r) for r in rows]

    def authenticate(self, token: str) -> tuple[ApiKey | None, str]:
        """(the key, "") for a valid unrevoked token, else (None, why): "malformed", "unknown" or "revoked"."""
        match = _TOKEN.match(token)
        if not match:
            return None, "malformed"
        key_id, secret = match.groups()
        with self._lock:
            row = self._db.execute("SELECT key_id, bank, rate, created, revoked, secret_sha256 FROM api_keys "
                                   "WHERE key_id = ?", (key_id,)).fetchone()
        if row is None or not hmac.compare_digest(row[5], _digest(secret)):
            return None, "unknown"
        key = ApiKey(*row[:5])
        return (None, "revoked") if key.revoked else (key, "")

    def close(self) -> None:
        with self._lock:
            self._db.close()


def rate_limit_file(keys: str | Path) -> Path:
    """The shared rate-limit buckets of the services using the key store `keys`: beside it."""
    keys = Path(keys)
    return keys.with_name(keys.name + ".buckets")


_NEW_BUCKET = math.inf
"""The tokens of a bucket not yet used: `_refill` caps them at the key's burst (a full bucket)."""


def _refill(tokens: float, last: float, now: float, rate: float) -> tuple[float, float]:
    """The bucket after taking one token if it holds one: (tokens left, seconds to wait; 0 when taken)."""
    capacity = max(1.0, rate)
    tokens = capacity if now < last else min(capacity, tokens + (now - last) * rate)   # now < last: a reboot
    return (tokens - 1.0, 0.0) if tokens >= 1.0 else (tokens, (1.0 - tokens) / rate)


class RateLimiter:
    """A token bucket per key: `rate` requests per second on average, bursts of up to `rate` (at least 1).

    With `path` the buckets are shared by every process that opens the same file: the worker processes of one
    service (`--workers N`) then hold a key to its rate together, not N times it. The file is a fixed table of
    slots (key id, tokens, time of the last take) mapped into memory and changed under an exclusive `flock`; the
    time is CLOCK_MONOTONIC, which all processes of the machine share. Without `path` the buckets live in this
    process only."""

    SLOTS = 16_384
    _SLOT = struct.Struct("<16sdd")

    def __init__(self, clock=time.monotonic, path: str | Path | None = None) -> None:
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()
        self._map = self._fd = None
        if path is not None:
            size = self.SLOTS * self._SLOT.size
            try:
                self._fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o600)
            except OSError as exc:
                raise AuthError(f"{path}: cannot open the shared rate-limit buckets (beside the key store; the "
                                f"service needs to write there): {exc.strerror}") from exc
            if os.fstat(self._fd).st_size != size:
                with _flocked(self._fd):
                    if os.fstat(self._fd).st_size != size:   # a new file, or one of another layout: start empty
                        os.ftruncate(self._fd, 0)
                        os.ftruncate(self._fd, size)
            self._map = mmap.mmap(self._fd, size)

    def allow(self, key: ApiKey) -> float:
        """0 when the request may go ahead (one token taken), else the seconds until one will be available."""
        now = self._clock()
        with self._lock:
            if self._map is None:
                tokens, wait = _refill(*self._buckets.get(key.key_id, (_NEW_BUCKET, now)), now, key.rate)
                self._buckets[key.key_id] = (tokens, now)
                return wait
            with _flocked(self._fd):
                return self._allow_shared(key, now)

    def _allow_shared(self, key: ApiKey, now: float) -> float:
        ident = hashlib.sha256(key.key_id.encode()).digest()[:16]
        start = int.from_bytes(ident[:4], "little") % self.SLOTS
        for probe in range(self.SLOTS):   # open addressing; a slot is never freed, keys are few
            offset = ((start + probe) % self.SLOTS) * self._SLOT.size
            held, tokens, last = self._SLOT.unpack_from(self._map, offset)
            if held == ident:
                break
            if held == bytes(16):
                tokens, last = _NEW_BUCKET, now
                break
        else:
            raise AuthError(f"the rate-limit file holds {self.SLOTS} keys already; remove it to start afresh.")
        tokens, wait = _refill(tokens, last, now, key.rate)
        self._SLOT.pack_into(self._map, offset, ident, tokens, now)
        return wait

    def close(self) -> None:
        """Unmap and close the shared file (when there is one)."""
        if self._map is not None:
            self._map.close()
            os.close(self._fd)
            self._map = self._fd = None


@contextmanager
def _flocked(fd: int) -> Iterator[None]:
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
