"""A killed service loses no acknowledged decision: SIGKILL under load, restart, reconcile from the Parquet export.

Every request that got a 200 (its request id) must be in the audit trail with the outputs it was answered with;
the trail reopens after the kill (SQLite WAL recovery) and the restarted service records again.
"""

from __future__ import annotations

import signal
import subprocess

import httpx
import pandas as pd
import pytest

from tests.serve._live import CLI, Load, cli_env, free_port, start_service, stop
from tests.serve.conftest import as_records

pytestmark = pytest.mark.slow


def _export(audit, out) -> pd.DataFrame:
    done = subprocess.run([*CLI, "audit", "export", "--audit", str(audit), "--from", "2000-01-01", "--to",
                           "2999-01-01", "--out", str(out)], env=cli_env(), capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    return pd.read_parquet(out)


def test_no_acknowledged_decision_is_lost_across_a_kill(model_dir, frame, tmp_path):
    audit = tmp_path / "audit.sqlite"
    records = as_records(frame.head(50))
    args = ["--model", str(model_dir), "--audit", str(audit), "--reasons", "5"]
    service = start_service(args, free_port())
    base = f"http://127.0.0.1:{service.args[-1]}"
    try:
        with Load(base, records, clients=4, headers={"X-Caller": "bank-k"}) as load:
            load.wait_until(lambda out: sum(status == 200 for c in out for _, status, _ in c) >= 150)
            service.send_signal(signal.SIGKILL)  # mid-load: requests are in flight
            assert service.wait(timeout=30) == -signal.SIGKILL
    finally:
        stop(service, signal.SIGKILL)
    answered = [(i, body) for c in load.outcomes for i, status, body in c if status == 200]
    assert len(answered) >= 150
    assert {status for c in load.outcomes for _, status, _ in c} - {200} <= {
        "ConnectError", "RemoteProtocolError", "ReadError", "WriteError", "ReadTimeout"}  # no error answer

    restarted = start_service(args, free_port())
    try:
        after = httpx.post(f"http://127.0.0.1:{restarted.args[-1]}/v1/score", json={"records": records[:1]},
                           headers={"X-Caller": "bank-k"}, timeout=30)
        assert after.status_code == 200
    finally:
        assert stop(restarted) in (0, -signal.SIGTERM)

    trail = _export(audit, tmp_path / "decisions.parquet").set_index("request_id")
    assert trail.index.is_unique  # one firm per request
    assert after.json()["request_id"] in trail.index
    assert [body["request_id"] for _, body in answered if body["request_id"] not in trail.index] == []
    for i, body in answered:
        row, result = trail.loc[body["request_id"]], body["results"][0]
        assert row["uscc"] == records[i]["uscc"] == result["uscc"] and row["caller"] == "bank-k"
        assert (row["pd"], row["score"], row["grade"]) == (result["pd"], result["score"], result["grade"])
        assert list(row["reasons"]) == [r["code"] for r in result["reasons"]]
        assert row["model_version"] == body["model"]["version"]
