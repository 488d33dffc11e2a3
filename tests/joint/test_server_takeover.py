"""The three takeovers of issue 13, end to end against the shared server: name squatting, platform escalation,
artifact location. Each was possible before techscore's server app; each must now fail at the server, whoever
sends the request and however, and the clients must not be led astray by names."""

from __future__ import annotations

import base64
import http.client
import os
import stat
from urllib.parse import urlsplit

import pytest
import requests

from techscore.exceptions import AuthError, ServerError
from techscore.joint.auth import AuthClient
from techscore.joint.server import provision

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("mlflow_server")]

API = "/api/2.0/mlflow"


def _session(server, user: str) -> requests.Session:
    s = requests.Session()
    s.auth = server["admin"] if user == "admin" else (user, server["creds"][user].password)
    return s


def _bank_a_run(server) -> str:
    a = _session(server, "bank_a")
    resp = a.post(f"{server['url']}{API}/runs/create", json={"experiment_id": server["creds"]["bank_a"].experiment_id},
                  timeout=30)
    assert resp.status_code == 200, resp.text
    return resp.json()["run"]["info"]["run_id"]


# -- 1. name squatting -------------------------------------------------------------------------------------------


def test_a_bank_cannot_take_the_name_of_a_bank_not_yet_provisioned(mlflow_server):
    url, b = mlflow_server["url"], _session(mlflow_server, "bank_b")
    created = b.post(f"{url}{API}/experiments/create", json={"name": "joint/bank_late"}, timeout=30)
    renamed = b.post(f"{url}{API}/experiments/update", timeout=30, json={
        "experiment_id": mlflow_server["creds"]["bank_b"].experiment_id, "new_name": "joint/bank_late"})  # fmt: skip
    assert (created.status_code, renamed.status_code) == (403, 403)
    admin = AuthClient(url, *mlflow_server["admin"])
    assert admin.experiment("joint/bank_late") is None
    assert admin.experiment("joint/bank_b")["experiment_id"] == mlflow_server["creds"]["bank_b"].experiment_id

    creds = provision(url, ["bank_late"], admin_user=mlflow_server["admin"][0], admin_password=mlflow_server["admin"][1],
                      platform_access={}, environ={})  # fmt: skip
    late = creds["bank_late"]
    assert admin.experiment("joint/bank_late")["experiment_id"] == late.experiment_id
    assert admin.permission("bank_b", late.experiment_id) == "NO_PERMISSIONS"
    assert admin.permission("bank_late", late.experiment_id) == "MANAGE"


@pytest.mark.parametrize(
    ("name", "tagged", "grant", "said"),
    [
        ("joint/bank_sq1", False, None, "was not created by provisioning"),
        ("joint/bank_sq2", True, "READ", "user 'bank_b' holds READ on 'joint/bank_sq2'"),
    ],
)
def test_provisioning_never_adopts_an_experiment_it_did_not_make(mlflow_server, name, tagged, grant, said):
    """An experiment squatted before this release (or made by hand) stops provisioning, which changes nothing."""
    url, (admin_user, admin_password) = mlflow_server["url"], mlflow_server["admin"]
    admin = AuthClient(url, admin_user, admin_password)
    exp_id = admin.create_experiment(name, tags={"techscore.provisioned_by": admin_user} if tagged else None)
    if grant:
        admin.grant("bank_b", exp_id, grant)
    bank = name.split("/")[1]
    with pytest.raises(AuthError, match=f"refuses to adopt.*{said}.*Nothing was changed"):
        provision(url, [bank], admin_user=admin_user, admin_password=admin_password, platform_access={}, environ={})
    assert not admin.user_exists(bank)
    assert admin.permission("platform", exp_id) == "NO_PERMISSIONS"


def test_the_client_resolves_by_id_and_refuses_a_swapped_name(mlflow_server, monkeypatch):
    """Credentials name an experiment by id; an id that now names another experiment is refused, not used."""
    from mlflow import MlflowClient

    from techscore.joint.runs import Party, Tracking, experiment_id

    creds = mlflow_server["creds"]
    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", "platform")
    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", creds["platform"].password)
    client = MlflowClient(tracking_uri=mlflow_server["url"])
    good = Party("BANK_A", "bank_a", "joint/bank_a", "x", creds["bank_a"].experiment_id)
    trk = Tracking(mlflow_server["url"], good, {})
    assert experiment_id(client, trk, good) == creds["bank_a"].experiment_id
    swapped = Party("BANK_A", "bank_a", "joint/bank_a", "x", creds["platform"].experiment_id)
    with pytest.raises(ServerError, match="is 'joint/platform'.*not the active 'joint/bank_a'"):
        experiment_id(client, trk, swapped)
    with pytest.raises(Exception, match="no experiment id"):
        experiment_id(client, trk, Party("BANK_A", "bank_a", "joint/bank_a", "x", None))


# -- 2. platform escalation ----------------------------------------------------------------------------------------


def test_the_platform_with_edit_cannot_rename_recreate_regrant_or_delete(mlflow_server):
    url, p = mlflow_server["url"], _session(mlflow_server, "platform")
    exp_a = mlflow_server["creds"]["bank_a"].experiment_id
    run = _bank_a_run(mlflow_server)
    attempts = {
        "rename": p.post(f"{url}{API}/experiments/update", json={"experiment_id": exp_a, "new_name": "joint/old_a"}),
        "recreate": p.post(f"{url}{API}/experiments/create", json={"name": "joint/bank_a2"}),
        "grant": p.post(f"{url}/api/3.0/mlflow/users/permissions/grant", json={
            "username": "platform", "resource_type": "experiment", "resource_id": exp_a, "permission": "MANAGE"}),
        "grant_other": p.post(f"{url}/api/3.0/mlflow/users/permissions/grant", json={
            "username": "bank_b", "resource_type": "experiment", "resource_id": exp_a, "permission": "READ"}),
        "revoke_owner": p.post(f"{url}/api/3.0/mlflow/users/permissions/revoke", json={
            "username": "bank_a", "resource_type": "experiment", "resource_id": exp_a}),
        "delete_run": p.post(f"{url}{API}/runs/delete", json={"run_id": run}),
        "delete_experiment": p.post(f"{url}{API}/experiments/delete", json={"experiment_id": exp_a}),
        "restore_experiment": p.post(f"{url}{API}/experiments/restore", json={"experiment_id": exp_a}),
    }  # fmt: skip
    assert {k: r.status_code for k, r in attempts.items()} == {k: 403 for k in attempts}
    admin = AuthClient(url, *mlflow_server["admin"])
    assert admin.experiment("joint/bank_a")["experiment_id"] == exp_a
    assert admin.permission("platform", exp_a) == "EDIT" and admin.permission("bank_b", exp_a) == "NO_PERMISSIONS"
    assert admin.permission("bank_a", exp_a) == "MANAGE"
    a = _session(mlflow_server, "bank_a")
    assert a.get(f"{url}{API}/runs/get", params={"run_id": run}).json()["run"]["info"]["lifecycle_stage"] == "active"


# -- 3. artifact location ------------------------------------------------------------------------------------------


def _artifacts(server):
    return server["root"] / "state" / "artifacts"


def test_no_one_chooses_where_an_experiment_stores_its_artifacts(mlflow_server):
    url = mlflow_server["url"]
    exp_a = mlflow_server["creds"]["bank_a"].experiment_id
    run = _bank_a_run(mlflow_server)
    target = _artifacts(mlflow_server) / exp_a / run / "artifacts"
    for user, status in (("bank_b", 403), ("platform", 403), ("admin", 400)):
        s = _session(mlflow_server, user)
        for location in (str(target), f"file://{target}", f"mlflow-artifacts:/{exp_a}/{run}/artifacts"):
            resp = s.post(f"{url}{API}/experiments/create", json={"name": f"plant-{user}", "artifact_location": location})
            assert resp.status_code == status, (user, location, resp.text)
    assert AuthClient(url, *mlflow_server["admin"]).experiment("plant-admin") is None


def test_uploads_cannot_climb_into_another_experiments_folder(mlflow_server):
    url = urlsplit(mlflow_server["url"])
    exp_a, exp_b = mlflow_server["creds"]["bank_a"].experiment_id, mlflow_server["creds"]["bank_b"].experiment_id
    run = _bank_a_run(mlflow_server)
    token = base64.b64encode(f"bank_b:{mlflow_server['creds']['bank_b'].password}".encode()).decode()
    for dots in ("..", "%2e%2e", ".%2e"):
        for prefix in ("/api/2.0", "/ajax-api/2.0"):
            conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
            conn.request("PUT", f"{prefix}/mlflow-artifacts/artifacts/{exp_b}/{dots}/{exp_a}/{run}/artifacts/model.pkl",
                         body=b"planted", headers={"Authorization": f"Basic {token}"})
            assert conn.getresponse().status == 403
            conn.close()
    assert not (_artifacts(mlflow_server) / exp_a / run / "artifacts" / "model.pkl").exists()
    assert not list(_artifacts(mlflow_server).rglob("model.pkl"))


def test_the_servers_files_are_its_owners_only(mlflow_server):
    state = mlflow_server["root"] / "state"
    assert stat.S_IMODE(os.stat(state).st_mode) == 0o700
    for name in ("auth.db", "server.log", "mlflow.db", "basic_auth.ini", "server.json"):
        assert stat.S_IMODE(os.stat(state / name).st_mode) == 0o600, name
    exp_a = mlflow_server["creds"]["bank_a"].experiment_id
    run = _bank_a_run(mlflow_server)
    put = _session(mlflow_server, "bank_a").put(
        f"{mlflow_server['url']}/api/2.0/mlflow-artifacts/artifacts/{exp_a}/{run}/artifacts/loans.csv", data=b"x,y\n")
    assert put.status_code == 200
    folder = _artifacts(mlflow_server) / exp_a / run
    assert (folder / "artifacts" / "loans.csv").is_file()
    for path in [folder, *folder.rglob("*")]:
        assert stat.S_IMODE(os.stat(path).st_mode) & 0o077 == 0, path


def test_a_model_version_cannot_point_into_another_banks_run(mlflow_server):
    """bank_b's own registered model with a version whose source is bank_a's run folder would serve bank_a's files
    through ``/model-versions/get-artifact``: every spelling of such a source is refused."""
    url, b = mlflow_server["url"], _session(mlflow_server, "bank_b")
    exp_a, exp_b = mlflow_server["creds"]["bank_a"].experiment_id, mlflow_server["creds"]["bank_b"].experiment_id
    run_a = _bank_a_run(mlflow_server)
    run_b = b.post(f"{url}{API}/runs/create", json={"experiment_id": exp_b}).json()["run"]["info"]["run_id"]
    assert b.post(f"{url}{API}/registered-models/create", json={"name": "bank_b.takeover"}).status_code == 200
    folder = _artifacts(mlflow_server) / exp_a / run_a / "artifacts"
    sources = [f"runs:/{run_a}/model", f"mlflow-artifacts:/{exp_a}/{run_a}/artifacts", str(folder), f"file://{folder}",
               f"mlflow-artifacts:/{exp_b}/../{exp_a}/{run_a}/artifacts"]
    for source in sources:
        for run_id in (None, run_a, run_b):
            body = {"name": "bank_b.takeover", "source": source, **({"run_id": run_id} if run_id else {})}
            resp = b.post(f"{url}{API}/model-versions/create", json=body)
            assert resp.status_code in (400, 403), (source, run_id, resp.text)
