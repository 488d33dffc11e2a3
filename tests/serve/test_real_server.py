"""`techscore serve` as a real process on a loopback port: ready, scores, records, stops cleanly."""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.serve.conftest import as_records

REPO = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_serve_on_loopback(model_dir, frame, tmp_path):
    port, audit = _free_port(), tmp_path / "audit.sqlite"
    command = [sys.executable, "-c", "from techscore.cli import main; main()", "serve", "--model", str(model_dir),
               "--host", "127.0.0.1", "--port", str(port), "--audit", str(audit), "--reasons", "3"]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    server = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            assert server.poll() is None, server.stdout.read().decode()
            try:
                if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the service did not become ready in 90 s"
            time.sleep(0.3)
        records = as_records(frame.head(3))
        r = httpx.post(f"{base}/v1/score", json={"records": records}, headers={"X-Caller": "bank-a"}, timeout=30)
        assert r.status_code == 200, r.text
        results = r.json()["results"]
        assert [x["uscc"] for x in results] == [x["uscc"] for x in records]
        assert all(len(x["reasons"]) <= 3 for x in results)
        assert httpx.get(f"{base}/v1/model", timeout=5).json()["name"] == model_dir.name
        assert "techscore_decisions_total 3.0" in httpx.get(f"{base}/metrics", timeout=5).text
        with sqlite3.connect(audit) as db:
            assert db.execute("SELECT count(*), min(caller) FROM decisions").fetchone() == (3, "bank-a")
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
    assert server.returncode in (0, -signal.SIGTERM)  # uvicorn re-raises the signal after a graceful shutdown
