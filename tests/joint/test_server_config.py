"""Server configuration that needs no running server: passwords, the auth INI, names, the pid file."""

from __future__ import annotations

import json
import os

import pytest

from techscore.exceptions import AuthError, ServerError, SpecError
from techscore.joint.server import _check_admin, auth_config, provision, start_server, stop_server


def test_no_default_or_weak_admin_password(monkeypatch):
    monkeypatch.delenv("MLFLOW_AUTH_ADMIN_PASSWORD", raising=False)
    with pytest.raises(AuthError, match="no admin password"):
        _check_admin("ts-admin", None)
    with pytest.raises(AuthError, match="well-known default"):
        _check_admin("admin", "password1234")
    with pytest.raises(AuthError, match="at least 12 characters"):
        _check_admin("ts-admin", "short-pw")
    monkeypatch.setenv("MLFLOW_AUTH_ADMIN_PASSWORD", "from-the-environment")
    assert _check_admin("ts-admin", None) == ("ts-admin", "from-the-environment")


def test_auth_config_denies_by_default_and_holds_no_password():
    text = auth_config("sqlite:////x/auth.db", "ts-admin")
    assert "default_permission = NO_PERMISSIONS" in text and "admin_password" not in text


def test_provision_refuses_bad_names_before_calling_any_server():
    with pytest.raises(SpecError, match="bank name must be"):
        provision("http://127.0.0.1:9", ["bank a"], admin_password="x" * 16)
    with pytest.raises(SpecError, match="platform_access names banks not being provisioned: bank_z"):
        provision("http://127.0.0.1:9", ["bank_a"], admin_password="x" * 16, platform_access={"bank_z": "EDIT"})


def test_stop_server_without_a_server(tmp_path):
    assert stop_server(tmp_path) is False


def test_start_refuses_without_a_password_before_spawning_anything(tmp_path, monkeypatch):
    monkeypatch.delenv("MLFLOW_AUTH_ADMIN_PASSWORD", raising=False)
    with pytest.raises(AuthError, match="never starts with a default password"):
        start_server(f"sqlite:///{tmp_path / 'm.db'}", tmp_path / "art", state_dir=tmp_path / "state")
    assert not (tmp_path / "state").exists()


def test_start_refuses_a_second_server_on_the_same_state_dir(tmp_path):
    (tmp_path / "server.json").write_text(json.dumps({"pid": os.getpid(), "url": "http://127.0.0.1:1"}))
    with pytest.raises(ServerError, match="already runs from .* stop it first"):
        start_server(f"sqlite:///{tmp_path / 'm.db'}", tmp_path / "art", state_dir=tmp_path, admin_password="x" * 16)
