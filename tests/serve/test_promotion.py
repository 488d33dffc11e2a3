"""Promotion without downtime: the alias moves under load and the service follows it without a failed request.

A real uvicorn service on loopback follows `models:/serve_promo_pd@champion` in a real MLflow store (SQLite under
tmp_path); clients send requests continuously while `techscore promote` (another process) moves the alias.
Every request succeeds, each client sees the old version then the new one (never back), and every answer carries
the numbers of the batch scorer for the version it names.
"""

from __future__ import annotations

import signal
import subprocess
import time

import httpx
import pytest
from fastapi.testclient import TestClient

from techscore.explain.reasons import fit_references
from techscore.model.registry import client, promote, register
from techscore.serve import ServiceConfig, create_app
from techscore.serve.background import running_service
from techscore.serve.reload import hash_admin_token
from tests.scoring._world import FEATURES, feature_table, train_model
from tests.serve._live import CLI, Load, cli_env, free_port, start_service, stop
from tests.serve.conftest import as_records
from tests.serve.test_parity import _assert_same, _batch

NAME = "serve_promo_pd"
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("serve_promotion")]


@pytest.fixture(scope="module")
def registry(model_dir, tmp_path_factory) -> tuple[str, dict[str, object]]:
    """(tracking URI, {version: model folder}): the session's model as version 1, another model as version 2."""
    root = tmp_path_factory.mktemp("promotion")
    other = train_model(n=4000, seed=11, rounds=60).save(root / "other" / "pd_model")
    fit_references(feature_table(4000, seed=11)[0], FEATURES, by="profile_industry_section").save(other)
    uri = f"sqlite:///{root / 'mlflow.db'}"
    c = client(uri)
    experiment = c.create_experiment("promotion", artifact_location=str(root / "artifacts"))
    folders = {}
    for folder in (model_dir, other):
        run = c.create_run(experiment)
        c.log_artifacts(run.info.run_id, str(folder), "model")
        c.set_terminated(run.info.run_id)
        mv = register(f"runs:/{run.info.run_id}/model", NAME, alias="champion", run_id=run.info.run_id,
                      tracking_uri=uri)
        folders[str(mv.version)] = folder
    return uri, folders


def _versions_seen(outcomes) -> list[list[str]]:
    return [[body["model"]["version"] for _, status, body in client if status == 200] for client in outcomes]


def test_alias_moves_under_load_without_a_failed_request(registry, frame, tmp_path):
    uri, folders = registry
    old, new = sorted(folders, key=int)
    promote(NAME, old, tracking_uri=uri)
    rows = frame.sample(40, random_state=8).reset_index(drop=True)
    for v in folders:
        (tmp_path / f"batch-{v}").mkdir()
    batch = {v: _batch(rows, folder, tmp_path / f"batch-{v}") for v, folder in folders.items()}
    records = as_records(rows)
    config = ServiceConfig(model=f"models:/{NAME}@champion", audit=tmp_path / "audit.sqlite", tracking_uri=uri,
                           poll_seconds=0.2)
    with running_service(create_app(config)) as base, Load(base, records, clients=4) as load:
        load.wait_until(lambda out: all(len(c) >= 10 for c in out))
        moved = subprocess.run([*CLI, "promote", NAME, new, "--tracking-uri", uri], env=cli_env(),
                               capture_output=True, text=True, timeout=120)
        assert moved.returncode == 0, moved.stdout + moved.stderr
        load.wait_until(lambda out: all(v[-10:] == [new] * 10 for v in _versions_seen(out)))
        load.stop()
        metrics = httpx.get(f"{base}/metrics", timeout=5).text
    failed = [(i, status) for c in load.outcomes for i, status, _ in c if status != 200]
    assert failed == []
    for versions in _versions_seen(load.outcomes):
        switch = versions.index(new)
        assert switch > 0 and versions == [old] * switch + [new] * (len(versions) - switch)  # no flapping
    for version in (old, new):  # each answer has the numbers of the version it names
        answers = [(i, body["results"][0]) for c in load.outcomes for i, _, body in c
                   if body["model"]["version"] == version]
        _assert_same([a for _, a in answers], batch[version].iloc[[i for i, _ in answers]])
    assert f'techscore_model_info{{catalogue_version="test-catalogue-v1",name="{NAME}",version="{new}"}} 1.0' \
        in metrics and f'version="{old}"' not in metrics
    assert 'techscore_model_reloads_total{outcome="switched"} 1.0' in metrics


def test_reload_endpoint_needs_the_admin_token(registry, frame, tmp_path):
    uri, folders = registry
    old, new = sorted(folders, key=int)
    promote(NAME, old, tracking_uri=uri)
    config = ServiceConfig(model=f"models:/{NAME}@champion", audit=tmp_path / "audit.sqlite", tracking_uri=uri,
                           admin_token_sha256=hash_admin_token("s3cret-admin"))
    record = as_records(frame.head(1))
    with TestClient(create_app(config)) as service:
        assert service.post("/v1/score", json={"records": record}).json()["model"]["version"] == old
        promote(NAME, new, tracking_uri=uri)  # no polling: the service keeps the old version until told
        assert service.post("/v1/score", json={"records": record}).json()["model"]["version"] == old
        for headers in ({}, {"Authorization": "Bearer wrong"}):
            refused = service.post("/v1/admin/reload", headers=headers)
            assert refused.status_code == 401 and refused.json()["error"]["code"] == "invalid_admin_token"
        done = service.post("/v1/admin/reload", headers={"Authorization": "Bearer s3cret-admin"})
        assert done.status_code == 200
        assert done.json() == {"previous": old, "version": new, "switched": True, "follows": f"{NAME}@champion"}
        assert service.post("/v1/score", json={"records": record}).json()["model"]["version"] == new
        assert service.get("/v1/model").json()["version"] == new
        again = service.post("/v1/admin/reload", headers={"Authorization": "Bearer s3cret-admin"}).json()
        assert again["switched"] is False and again["version"] == new


def test_reload_is_off_without_an_admin_token(client):
    refused = client.post("/v1/admin/reload", headers={"Authorization": "Bearer anything"})
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "reload_disabled"


def test_sighup_makes_the_service_look_now(registry, frame, tmp_path):
    """`techscore serve` with polling off follows a promotion when sent SIGHUP (the operator's reload)."""
    uri, folders = registry
    old, new = sorted(folders, key=int)
    promote(NAME, old, tracking_uri=uri)
    port = free_port()
    service = start_service(["--model", f"models:/{NAME}@champion", "--tracking-uri", uri, "--poll-seconds", "0",
                             "--audit", str(tmp_path / "audit.sqlite")], port)
    base = f"http://127.0.0.1:{port}"
    try:
        assert httpx.get(f"{base}/v1/model", timeout=10).json()["version"] == old
        promote(NAME, new, tracking_uri=uri)
        assert httpx.get(f"{base}/v1/model", timeout=10).json()["version"] == old  # not polling
        service.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 60
        while httpx.get(f"{base}/v1/model", timeout=10).json()["version"] != new:
            assert service.poll() is None and time.monotonic() < deadline, "SIGHUP did not switch the version"
            time.sleep(0.2)
        answer = httpx.post(f"{base}/v1/score", json={"records": as_records(frame.head(1))}, timeout=10)
        assert answer.json()["model"]["version"] == new
    finally:
        assert stop(service) in (0, -signal.SIGTERM)
