"""Per-caller API keys: created and revoked from the command line, stored hashed, each scoped to one bank.

A key reads `ts_<key id>_<secret>`; only the SHA-256 of the secret is stored (the secret is 192 random bits, so a
plain hash suffices; a leaked key file reveals no key). Keys are looked up per request, so a revocation takes
effect at once, without restarting the service. Each key has its own rate limit (requests per second).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import sqlite3
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from techscore.exceptions import AuthError

__all__ = ["ApiKey", "KeyStore", "RateLimiter"]

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


class RateLimiter:
    """A token bucket per key: `rate` requests per second on average, bursts of up to `rate` (at least 1)."""

    def __init__(self, clock=time.monotonic) -> None:
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def allow(self, key: ApiKey) -> float:
        """0 when the request may go ahead (one token taken), else the seconds until one will be available."""
        capacity = max(1.0, key.rate)
        now = self._clock()
        with self._lock:
            tokens, last = self._buckets.get(key.key_id, (capacity, now))
            tokens = min(capacity, tokens + (now - last) * key.rate)
            if tokens >= 1.0:
                self._buckets[key.key_id] = (tokens - 1.0, now)
                return 0.0
            self._buckets[key.key_id] = (tokens, now)
            return (1.0 - tokens) / key.rate
