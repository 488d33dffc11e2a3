"""The shared tracking server isolates banks: each reads and writes its own experiment only."""

from __future__ import annotations

import json
import os

import pytest
import requests

from techscore.exceptions import AuthError
from techscore.joint.auth import AuthClient
from techscore.joint.server import password_env_var

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("mlflow_server")]

API = "/api/2.0/mlflow"


def _login(server, user: str) -> tuple[str, str]:
    return (user, server["creds"][user].password)


def _as(monkeypatch, server, user: str):
    """An MlflowClient of the server acting as `user` (credentials through MLflow's environment variables)."""
    from mlflow import MlflowClient

    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", user)
    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", server["creds"][user].password)
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    return MlflowClient(tracking_uri=server["url"])


@pytest.fixture(scope="module")
def bank_a_run(mlflow_server, tmp_path_factory):
    """A run of bank_a in its own experiment, with a metric and an artifact, made through the MLflow client."""
    from mlflow import MlflowClient

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MLFLOW_TRACKING_USERNAME", "bank_a")
        mp.setenv("MLFLOW_TRACKING_PASSWORD", mlflow_server["creds"]["bank_a"].password)
        client = MlflowClient(tracking_uri=mlflow_server["url"])
        run = client.create_run(mlflow_server["creds"]["bank_a"].experiment_id)
        client.log_metric(run.info.run_id, "auc", 0.81)
        src = tmp_path_factory.mktemp("art") / "loans_of_bank_a.csv"
        src.write_text("uscc,default\n914403001922038216,1\n", encoding="utf-8")
        client.log_artifact(run.info.run_id, str(src))
        client.set_terminated(run.info.run_id)
    return run


# -- authentication ----------------------------------------------------------------------------------------------


def test_anonymous_and_default_admin_logins_are_refused(mlflow_server):
    url = mlflow_server["url"]
    assert requests.get(f"{url}{API}/experiments/search", params={"max_results": 10}, timeout=30).status_code == 401
    for login in [("admin", "password1234"), (mlflow_server["admin"][0], "password1234")]:
        resp = requests.get(f"{url}{API}/experiments/search", params={"max_results": 10}, auth=login, timeout=30)
        assert resp.status_code == 401
    assert AuthClient(url, *mlflow_server["admin"]).current_user()["is_admin"] is True


def test_credentials_file_is_private_and_complete(mlflow_server):
    path = mlflow_server["root"] / "credentials.json"
    assert os.stat(path).st_mode & 0o777 == 0o600
    saved = json.loads(path.read_text())
    assert saved["tracking_uri"] == mlflow_server["url"]
    assert set(saved["users"]) == {"bank_a", "bank_b", "platform"}
    assert all(len(u["password"]) >= 24 for u in saved["users"].values())
    assert saved["platform_access"] == {"bank_a": "EDIT", "bank_b": "NO_PERMISSIONS"}


# -- isolation ---------------------------------------------------------------------------------------------------


def test_bank_reads_its_own_runs_and_artifacts(mlflow_server, bank_a_run, monkeypatch, tmp_path):
    client = _as(monkeypatch, mlflow_server, "bank_a")
    run = client.get_run(bank_a_run.info.run_id)
    assert run.data.metrics == {"auc": 0.81}
    assert [f.path for f in client.list_artifacts(run.info.run_id)] == ["loans_of_bank_a.csv"]
    local = client.download_artifacts(run.info.run_id, "loans_of_bank_a.csv", str(tmp_path))
    assert "914403001922038216" in open(local, encoding="utf-8").read()
    found = client.search_runs([mlflow_server["creds"]["bank_a"].experiment_id])
    assert bank_a_run.info.run_id in [r.info.run_id for r in found]


def test_other_bank_cannot_reach_the_experiment_runs_or_artifacts(mlflow_server, bank_a_run, monkeypatch, tmp_path):
    from mlflow.exceptions import MlflowException

    url, b = mlflow_server["url"], _login(mlflow_server, "bank_b")
    exp_a = mlflow_server["creds"]["bank_a"].experiment_id
    run_id = bank_a_run.info.run_id
    artifact = f"{exp_a}/{run_id}/artifacts/loans_of_bank_a.csv"
    denied = [
        requests.get(f"{url}{API}/experiments/get", params={"experiment_id": exp_a}, auth=b, timeout=30),
        requests.get(f"{url}{API}/experiments/get-by-name", params={"experiment_name": "joint/bank_a"}, auth=b, timeout=30),
        requests.get(f"{url}{API}/runs/get", params={"run_id": run_id}, auth=b, timeout=30),
        requests.get(f"{url}{API}/metrics/get-history", params={"run_id": run_id, "metric_key": "auc"}, auth=b, timeout=30),
        requests.get(f"{url}{API}/artifacts/list", params={"run_id": run_id}, auth=b, timeout=30),
        requests.get(f"{url}/api/2.0/mlflow-artifacts/artifacts/{artifact}", auth=b, timeout=30),
        requests.get(f"{url}/api/2.0/mlflow-artifacts/artifacts", params={"path": f"{exp_a}/{run_id}/artifacts"}, auth=b, timeout=30),
        requests.get(f"{url}/get-artifact", params={"path": "loans_of_bank_a.csv", "run_uuid": run_id}, auth=b, timeout=30),
        requests.post(f"{url}{API}/runs/create", json={"experiment_id": exp_a}, auth=b, timeout=30),
    ]  # fmt: skip
    assert [r.status_code for r in denied] == [403] * len(denied)
    assert "914403001922038216" not in "".join(r.text for r in denied)

    searched = requests.post(f"{url}{API}/runs/search", json={"experiment_ids": [exp_a]}, auth=b, timeout=30)
    assert searched.status_code in (200, 403) and run_id not in searched.text

    client = _as(monkeypatch, mlflow_server, "bank_b")
    with pytest.raises(MlflowException):
        client.get_run(run_id)
    with pytest.raises(MlflowException):
        client.download_artifacts(run_id, "loans_of_bank_a.csv", str(tmp_path))
    assert run_id not in [r.info.run_id for r in client.search_runs([exp_a])]


def test_listing_experiments_shows_only_the_banks_own(mlflow_server, monkeypatch):
    creds = mlflow_server["creds"]
    for bank, other in [("bank_a", "bank_b"), ("bank_b", "bank_a")]:
        names = {e.name for e in _as(monkeypatch, mlflow_server, bank).search_experiments()}
        assert creds[bank].experiment in names
        assert creds[other].experiment not in names and "joint/platform" not in names and "Default" not in names


def test_platform_writes_where_granted_and_nowhere_else(mlflow_server, bank_a_run, monkeypatch):
    from mlflow.exceptions import MlflowException

    creds = mlflow_server["creds"]
    client = _as(monkeypatch, mlflow_server, "platform")
    run = client.create_run(creds["bank_a"].experiment_id)  # bank_a granted EDIT
    client.log_metric(run.info.run_id, "auc_pooled", 0.84)
    assert client.get_run(bank_a_run.info.run_id).info.run_id == bank_a_run.info.run_id
    client.create_run(creds["platform"].experiment_id)  # its own experiment
    with pytest.raises(MlflowException, match="403|PERMISSION_DENIED|Permission denied"):
        client.create_run(creds["bank_b"].experiment_id)  # bank_b granted nothing
    with pytest.raises(MlflowException, match="403|PERMISSION_DENIED|Permission denied"):
        client.delete_experiment(creds["bank_a"].experiment_id)  # EDIT is not MANAGE
    bank_a = _as(monkeypatch, mlflow_server, "bank_a")
    assert bank_a.get_run(run.info.run_id).data.metrics == {"auc_pooled": 0.84}  # the bank sees runs made for it
    with pytest.raises(MlflowException):
        bank_a.get_experiment(creds["platform"].experiment_id)


def test_effective_permissions_as_the_server_resolves_them(mlflow_server):
    admin = AuthClient(mlflow_server["url"], *mlflow_server["admin"])
    creds = mlflow_server["creds"]
    table = {u: [admin.permission(u, creds[e].experiment_id) for e in ("bank_a", "bank_b", "platform")] for u in creds}
    assert table == {
        "bank_a": ["MANAGE", "NO_PERMISSIONS", "NO_PERMISSIONS"],
        "bank_b": ["NO_PERMISSIONS", "MANAGE", "NO_PERMISSIONS"],
        "platform": ["EDIT", "NO_PERMISSIONS", "MANAGE"],
    }


def test_cli_provision_is_idempotent_and_takes_passwords_from_the_environment(mlflow_server, monkeypatch, tmp_path):
    from typer.testing import CliRunner

    from techscore.cli import app

    monkeypatch.setenv("MLFLOW_AUTH_ADMIN_USERNAME", mlflow_server["admin"][0])
    monkeypatch.setenv("MLFLOW_AUTH_ADMIN_PASSWORD", mlflow_server["admin"][1])
    monkeypatch.setenv(password_env_var("bank_c"), "bank-c-chosen-password")
    args = ["server", "provision", "--url", mlflow_server["url"], "--bank", "bank_c", "--platform", "platform",
            "--platform-access", "bank_c=READ", "--credentials", str(tmp_path / "c.json"), "--json"]  # fmt: skip
    for _ in range(2):
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 0, result.output
    users = json.loads(result.stdout)["users"]
    assert users["bank_c"]["password"] == "set" and users["platform"]["password"] == "unchanged"
    c = AuthClient(mlflow_server["url"], "bank_c", "bank-c-chosen-password")
    assert c.experiment_id("joint/bank_c") == users["bank_c"]["experiment_id"]
    with pytest.raises(AuthError, match="permission denied"):
        c.experiment_id("joint/bank_a")
