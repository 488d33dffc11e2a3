"""Promotion without downtime: follow the registry alias a service serves and switch to its new version live.

A `ModelWatcher` asks the registry which version `models:/name@alias` points at (every `poll_seconds`, at once
on SIGHUP or on `POST /v1/admin/reload`). When the alias has moved it loads that version in its own thread while
the old one keeps answering, then installs the new scorer with one assignment: a request reads the scorer once,
so it is scored, recorded and answered by one version, which its response names. A failed load leaves the old
version serving (and is counted in `/metrics`).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

from techscore.serve.engine import OnlineScorer
from techscore.serve.model import alias_version, load_served_model, registry_alias

__all__ = ["ModelWatcher", "ReloadResult", "admin_token_matches", "hash_admin_token"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReloadResult:
    """What one check found: the version served before and after, and whether the service switched."""

    previous: str
    version: str
    switched: bool
    follows: str | None  # the alias followed (None: a folder or a fixed version, nothing to follow)

    def as_dict(self) -> dict:
        return {"previous": self.previous, "version": self.version, "switched": self.switched,
                "follows": self.follows}


def hash_admin_token(token: str) -> str:
    """The SHA-256 of an admin token (the service keeps only this)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def admin_token_matches(token: str | None, expected_sha256: str | None) -> bool:
    """Whether `token` is the admin token (constant-time); never when no admin token is configured."""
    if not token or not expected_sha256:
        return False
    return hmac.compare_digest(hash_admin_token(token), expected_sha256)


class ModelWatcher:
    """Keeps the scorer in `install` current with the alias of `current.served.source`.

    `install(scorer)` makes a scorer the one answering (the app's state); `poll_seconds` None or 0: no polling,
    only `trigger()` (SIGHUP) and `check()` (the admin endpoint) look.
    """

    def __init__(self, current: OnlineScorer, install: Callable[[OnlineScorer], None], *,
                 tracking_uri: str | None = None, poll_seconds: float | None = None,
                 on_failure: Callable[[Exception], None] | None = None) -> None:
        self.current = current
        self.source = current.served.source
        self.follows = "{}@{}".format(*registry_alias(self.source)) if registry_alias(self.source) else None
        self._install = install
        self._tracking_uri = tracking_uri
        self._poll = poll_seconds if poll_seconds and poll_seconds > 0 else None
        self._on_failure = on_failure
        self._registry = None
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def check(self) -> ReloadResult:
        """Ask the registry now; load and switch to the alias's version if it moved. Raises when the registry or
        the load fails (the old version keeps serving)."""
        with self._lock:
            previous = self.current.served.version
            if self.follows is None:
                return ReloadResult(previous, previous, False, None)
            if self._registry is None:
                from techscore.model.registry import client

                self._registry = client(self._tracking_uri)
            version = alias_version(self.source, registry=self._registry)
            if version == previous:
                return ReloadResult(previous, previous, False, self.follows)
            served = load_served_model(self.source, tracking_uri=self._tracking_uri)
            scorer = OnlineScorer(served, self.current.chunk.k)
            self._install(scorer)
            self.current = scorer
            log.warning("switched from %s version %s to version %s", served.name, previous, served.version)
            return ReloadResult(previous, served.version, True, self.follows)

    def trigger(self) -> None:
        """Check soon, in the watcher's thread (safe from a signal handler)."""
        self._wake.set()

    def start(self) -> None:
        """Start the watcher's thread (it polls, and checks when triggered)."""
        if self.follows is None or self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="techscore-model-watcher", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self._poll)
            self._wake.clear()
            if self._stop.is_set():
                return
            try:
                self.check()
            except Exception as exc:  # a registry down or a broken version must not stop the service
                log.warning("could not follow %s: %s", self.follows, exc)
                if self._on_failure is not None:
                    self._on_failure(exc)
