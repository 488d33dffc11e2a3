"""Real services for the tests: `techscore serve` as a process on loopback, and clients sending load.

(uvicorn in a thread: `techscore.serve.background.running_service`.)
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[2]
CLI = [sys.executable, "-c", "from techscore.cli import main; main()"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cli_env(**extra: str) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO), **extra}


def wait_ready(base: str, process: subprocess.Popen | None = None, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if process is not None and process.poll() is not None:
            raise AssertionError(f"the service exited with {process.returncode}: {process.stdout.read().decode()}")
        try:
            if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, f"the service at {base} was not ready in {timeout} s"
        time.sleep(0.2)


def start_service(args: list[str], port: int, **env: str) -> subprocess.Popen:
    """`techscore serve ARGS --port PORT` as a process (its output piped); ready when this returns."""
    process = subprocess.Popen([*CLI, "serve", *args, "--host", "127.0.0.1", "--port", str(port)],
                               env=cli_env(**env), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               start_new_session=True)
    try:
        wait_ready(f"http://127.0.0.1:{port}", process)
    except BaseException:
        stop(process, signal.SIGKILL)
        raise
    return process


def stop(process: subprocess.Popen, sig: int = signal.SIGTERM, timeout: float = 60) -> int:
    """Send `sig` to the service and wait for it (killing its whole group if it does not end)."""
    if process.poll() is None:
        process.send_signal(sig)
    try:
        return process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        raise


class Load:
    """`clients` threads, each sending single-record requests one after another until stopped (or `limit`
    requests each), keeping every outcome: (record index, status or exception name, JSON body or None)."""

    def __init__(self, base: str, records: list[dict], clients: int = 4, limit: int = 5000,
                 headers: dict[str, str] | None = None) -> None:
        self.base, self.records, self.limit, self.headers = base, records, limit, headers or {}
        self.outcomes: list[list[tuple[int, int | str, dict | None]]] = [[] for _ in range(clients)]
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._client, args=(c,), daemon=True) for c in range(clients)]

    def __enter__(self) -> Load:
        for t in self._threads:
            t.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def stop(self) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(timeout=60)

    def _client(self, c: int) -> None:
        out = self.outcomes[c]
        with httpx.Client(base_url=self.base, timeout=30, headers=self.headers) as http:
            for n in range(self.limit):
                if self._stop.is_set():
                    return
                i = (c * 7919 + n) % len(self.records)
                try:
                    r = http.post("/v1/score", json={"records": [self.records[i]]})
                except httpx.TransportError as exc:
                    out.append((i, type(exc).__name__, None))
                    continue
                out.append((i, r.status_code, r.json() if r.status_code == 200 else None))

    def wait_until(self, condition, timeout: float = 90) -> None:
        """Until `condition(outcomes)` holds (bounded: fails after `timeout` seconds)."""
        deadline = time.monotonic() + timeout
        while not condition(self.outcomes):
            assert time.monotonic() < deadline, "the load did not reach the expected state in time"
            assert any(t.is_alive() for t in self._threads), "every client stopped"
            time.sleep(0.05)
