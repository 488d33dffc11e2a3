"""API keys: stored hashed, scoped to a bank, revoked at once; 401/403/429 with clear bodies; per-key rate limits."""

from __future__ import annotations

import json
import sqlite3

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from techscore.cli import app as cli
from techscore.serve import ServiceConfig, create_app
from techscore.serve.keys import ApiKey, RateLimiter, rate_limit_file
from tests.serve.conftest import as_records


def _add(keys, bank: str, rate: float = 50.0) -> dict:
    result = CliRunner().invoke(cli, ["serve", "keys", "add", "--bank", bank, "--keys", str(keys), "--rate",
                                      str(rate), "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


@pytest.fixture
def keyed(served, tmp_path):
    keys = tmp_path / "keys.sqlite"
    config = ServiceConfig(model=served.source, audit=tmp_path / "audit.sqlite", keys=keys)
    _add(keys, "BANK_A")  # the store exists before the service starts
    with TestClient(create_app(config, served=served)) as c:
        yield c, keys


def test_keys_are_stored_hashed_and_listed_without_tokens(tmp_path):
    keys = tmp_path / "keys.sqlite"
    made = _add(keys, "BANK_A", rate=5)
    assert made["token"].startswith(f"ts_{made['key_id']}_") and made["bank"] == "BANK_A"
    secret = made["token"].split("_", 2)[2]
    with sqlite3.connect(keys) as db:
        dump = "\n".join(db.iterdump())
    assert secret not in dump and made["key_id"] in dump
    listed = json.loads(CliRunner().invoke(cli, ["serve", "keys", "list", "--keys", str(keys), "--json"]).output)
    assert listed == [{"key_id": made["key_id"], "bank": "BANK_A", "rate": 5.0, "created": listed[0]["created"],
                       "revoked": None}]
    bad = CliRunner().invoke(cli, ["serve", "keys", "add", "--bank", "bank a!", "--keys", str(keys)])
    assert bad.exit_code == 2 and "bank must be" in bad.output
    missing = CliRunner().invoke(cli, ["serve", "keys", "revoke", "nope", "--keys", str(keys)])
    assert missing.exit_code == 2 and "no API key 'nope'" in missing.output


def test_401_403_and_revocation(keyed, frame, tmp_path):
    client, keys = keyed
    body = {"records": as_records(frame.head(1))}
    r = client.post("/v1/score", json=body)
    assert r.status_code == 401 and r.json()["error"]["code"] == "missing_key"
    assert r.headers["www-authenticate"] == "Bearer"
    r = client.post("/v1/score", json=body, headers={"Authorization": "Bearer ts_000000000000_" + "x" * 32})
    assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_key"
    assert client.post("/v1/score", json=body, headers={"X-API-Key": "hello"}).json()["error"]["code"] == "invalid_key"
    made = _add(keys, "BANK_B")
    auth = {"Authorization": f"Bearer {made['token']}"}
    assert client.post("/v1/score", json=body, headers=auth).status_code == 200
    assert client.post("/v1/score", json=body, headers={"X-API-Key": made["token"]}).status_code == 200
    assert client.post("/v1/score", json=body | {"bank": "BANK_B"}, headers=auth).status_code == 200
    r = client.post("/v1/score", json=body | {"bank": "BANK_A"}, headers=auth)
    assert r.status_code == 403 and r.json()["error"]["code"] == "wrong_bank"
    assert "scoped to bank BANK_B" in r.json()["error"]["message"]
    assert client.get("/v1/model").status_code == 401 and client.get("/v1/model", headers=auth).status_code == 200
    assert client.get("/healthz").status_code == 200 and client.get("/readyz").status_code == 200
    with sqlite3.connect(tmp_path / "audit.sqlite") as db:
        callers = {c for (c,) in db.execute("SELECT caller FROM decisions")}
    assert callers == {f"BANK_B/{made['key_id']}"}
    revoked = CliRunner().invoke(cli, ["serve", "keys", "revoke", made["key_id"], "--keys", str(keys)])
    assert revoked.exit_code == 0, revoked.output
    r = client.post("/v1/score", json=body, headers=auth)  # no restart needed
    assert r.status_code == 401 and r.json()["error"]["code"] == "revoked_key"
    assert 'techscore_rejects_total{code="revoked_key"} 1.0' in client.get("/metrics").text


def test_rate_limit_per_key(keyed, frame):
    client, keys = keyed
    slow, fast = _add(keys, "BANK_A", rate=0.01), _add(keys, "BANK_A")
    body = {"records": as_records(frame.head(1))}
    assert client.post("/v1/score", json=body, headers={"X-API-Key": slow["token"]}).status_code == 200
    r = client.post("/v1/score", json=body, headers={"X-API-Key": slow["token"]})
    assert r.status_code == 429 and r.json()["error"]["code"] == "rate_limited"
    assert int(r.headers["retry-after"]) >= 90  # 1 request per 100 s
    assert client.post("/v1/score", json=body, headers={"X-API-Key": fast["token"]}).status_code == 200


def test_token_bucket_refills_at_the_key_rate():
    now = [0.0]
    limiter = RateLimiter(clock=lambda: now[0])
    key = ApiKey("k", "BANK_A", 2.0, "")
    assert [limiter.allow(key) for _ in range(3)] == [0.0, 0.0, 0.5]  # a burst of 2, then wait 0.5 s
    now[0] = 0.5
    assert limiter.allow(key) == 0.0 and limiter.allow(key) > 0
    now[0] = 100.0
    assert [limiter.allow(key) for _ in range(3)][:2] == [0.0, 0.0]  # the bucket never holds more than the burst


def _fixed_clock() -> float:
    return 1_000.0   # no refill: what one process takes, the other cannot


def _take(path: str, key_id: str, tries: int, out) -> None:
    limiter = RateLimiter(clock=_fixed_clock, path=path)
    key = ApiKey(key_id, "BANK_A", 20.0, "")
    out.put(sum(limiter.allow(key) == 0.0 for _ in range(tries)))
    limiter.close()


def test_rate_limit_holds_across_worker_processes(tmp_path):
    """Two processes (as two workers of one service) take from one key's bucket of 20: 20 go ahead in all, not 40;
    another key's bucket is its own."""
    import multiprocessing

    ctx = multiprocessing.get_context("spawn")
    out = ctx.Queue()
    path = str(rate_limit_file(tmp_path / "keys.sqlite"))
    procs = [ctx.Process(target=_take, args=(path, "aaaaaaaaaaaa", 30, out)) for _ in range(2)]
    for p in procs:
        p.start()
    taken = [out.get(timeout=60) for _ in procs]
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    assert sum(taken) == 20 and all(t <= 20 for t in taken)
    _take(path, "bbbbbbbbbbbb", 30, out)
    assert out.get(timeout=10) == 20
    assert (tmp_path / "keys.sqlite.buckets").stat().st_mode & 0o777 == 0o600


def test_shared_buckets_refill_like_the_local_ones(tmp_path):
    now = [0.0]
    key = ApiKey("k", "BANK_A", 2.0, "")
    local = RateLimiter(clock=lambda: now[0])
    first, second = (RateLimiter(clock=lambda: now[0], path=tmp_path / "b") for _ in range(2))
    for t in (0.0, 0.0, 0.0, 0.5, 0.5, 0.7, 100.0, 100.0, 100.0):
        now[0] = t
        assert first.allow(key) == local.allow(key)     # the shared arithmetic is the local one
    now[0] = 100.0
    assert second.allow(key) > 0                        # the other instance sees the bucket emptied
    now[0] = 50.0                                       # the clock went back (a reboot): the bucket starts full
    assert second.allow(key) == 0.0
    first.close()
    second.close()


def test_an_unwritable_bucket_file_is_named_in_the_error(tmp_path):
    from techscore.exceptions import AuthError

    (tmp_path / "target").write_text("")
    (tmp_path / "keys.sqlite.buckets").symlink_to(tmp_path / "target")   # a symlink is never followed
    with pytest.raises(AuthError, match="keys.sqlite.buckets: cannot open the shared rate-limit buckets"):
        RateLimiter(path=rate_limit_file(tmp_path / "keys.sqlite"))
