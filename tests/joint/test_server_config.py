"""Server configuration that needs no running server: passwords, the auth INI, names, TLS, the pid file, private
files, and the server app's answers."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time

import pytest

from techscore.exceptions import AuthError, ServerError, SpecError
from techscore.joint._private import open_private_log, write_private
from techscore.joint.auth import check_password
from techscore.joint.server import (
    _check_admin,
    _identity,
    auth_config,
    is_loopback,
    provision,
    start_server,
    stop_server,
)

STRONG = "Tq8-vesper-Lantern-41"


def test_no_default_or_weak_admin_password(monkeypatch):
    monkeypatch.delenv("MLFLOW_AUTH_ADMIN_PASSWORD", raising=False)
    with pytest.raises(AuthError, match="no admin password"):
        _check_admin("ts-admin", None)
    with pytest.raises(AuthError, match="well-known default"):
        _check_admin("admin", "password1234")
    with pytest.raises(AuthError, match="at least 12 characters"):
        _check_admin("ts-admin", "short-pw")
    with pytest.raises(AuthError, match="too easy to guess"):
        _check_admin("ts-admin", "aaaaaaaaaaaaaaaa")
    monkeypatch.setenv("MLFLOW_AUTH_ADMIN_PASSWORD", STRONG)
    assert _check_admin("ts-admin", None) == ("ts-admin", STRONG)


def test_the_documentations_example_passwords_are_refused():
    from pathlib import Path

    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    for example in ("a-long-secret", "a-long-admin-password", "password1234"):
        with pytest.raises(AuthError, match="well-known default, a documentation example"):
            check_password(example)
    assert "MLFLOW_AUTH_ADMIN_PASSWORD='" not in readme  # the README sets no literal password to copy
    with pytest.raises(AuthError, match="user name"):
        check_password("bank_a_long_name", username="bank_a_long_name")


def test_auth_config_denies_by_default_holds_no_password_and_no_login_cache():
    text = auth_config("sqlite:////x/auth.db", "ts-admin")
    assert "default_permission = NO_PERMISSIONS" in text and "admin_password" not in text
    assert "auth_cache_ttl_seconds = 0" in text
    assert "authorization_function = techscore.joint.server_app:authenticate_request" in text


def test_provision_refuses_bad_names_and_weak_passwords_before_calling_any_server():
    with pytest.raises(SpecError, match="bank name must be"):
        provision("http://127.0.0.1:9", ["bank a"], admin_password=STRONG)
    with pytest.raises(SpecError, match="platform_access names banks not being provisioned: bank_z"):
        provision("http://127.0.0.1:9", ["bank_a"], admin_password=STRONG, platform_access={"bank_z": "EDIT"})
    with pytest.raises(AuthError, match="TECHSCORE_PASSWORD_BANK_A is too easy"):
        provision("http://127.0.0.1:9", ["bank_a"], admin_password=STRONG,
                  environ={"TECHSCORE_PASSWORD_BANK_A": "bank_a123456789"})


def test_stop_server_without_a_server(tmp_path):
    assert stop_server(tmp_path) is False


def test_start_refuses_without_a_password_before_spawning_anything(tmp_path, monkeypatch):
    monkeypatch.delenv("MLFLOW_AUTH_ADMIN_PASSWORD", raising=False)
    with pytest.raises(AuthError, match="never starts with a default password"):
        start_server(f"sqlite:///{tmp_path / 'm.db'}", tmp_path / "art", state_dir=tmp_path / "state")
    assert not (tmp_path / "state").exists()


def test_non_loopback_needs_tls_or_insecure(tmp_path):
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.0.2.10") and not is_loopback("mlflow.example.org")
    with pytest.raises(SpecError, match="refusing to serve 0.0.0.0 without TLS"):
        start_server(f"sqlite:///{tmp_path / 'm.db'}", tmp_path / "art", host="0.0.0.0", admin_password=STRONG,
                     state_dir=tmp_path / "state")
    with pytest.raises(SpecError, match="needs both a certificate"):
        start_server(f"sqlite:///{tmp_path / 'm.db'}", tmp_path / "art", tls_cert=tmp_path / "c.pem",
                     admin_password=STRONG, state_dir=tmp_path / "state")
    (tmp_path / "c.pem").write_text("cert")
    (tmp_path / "k.pem").write_text("key")
    os.chmod(tmp_path / "k.pem", 0o644)
    with pytest.raises(SpecError, match="readable by other users"):
        start_server(f"sqlite:///{tmp_path / 'm.db'}", tmp_path / "art", tls_cert=tmp_path / "c.pem",
                     tls_key=tmp_path / "k.pem", admin_password=STRONG, state_dir=tmp_path / "state")
    assert not (tmp_path / "state").exists()


@pytest.fixture
def decoy():
    """A process that is not a tracking server (what a recycled pid would point at)."""
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"], start_new_session=True)
    time.sleep(0.2)
    yield proc
    proc.kill()
    proc.wait()


def test_stop_signals_only_the_recorded_server_process(tmp_path, decoy):
    identity = _identity(decoy.pid)
    forged = {"pid": decoy.pid, "url": "http://127.0.0.1:1", "create_time": identity["create_time"] - 100,
              "cmdline": [sys.executable, "-m", "mlflow", "server"]}
    for record in (forged, {"pid": decoy.pid, "url": "http://127.0.0.1:1"}):  # another start time; no identity
        (tmp_path / "server.json").write_text(json.dumps(record))
        assert stop_server(tmp_path) is False
        assert decoy.poll() is None  # not signalled
        assert not (tmp_path / "server.json").exists()  # the stale record is gone
    (tmp_path / "server.json").write_text(json.dumps({"pid": decoy.pid, "url": "http://127.0.0.1:1", **identity}))
    assert stop_server(tmp_path, timeout=5) is True
    assert decoy.wait(timeout=10) is not None


def test_start_refuses_a_second_server_on_the_same_state_dir(tmp_path, decoy):
    (tmp_path / "server.json").write_text(json.dumps({"pid": decoy.pid, "url": "http://127.0.0.1:1",
                                                      **_identity(decoy.pid)}))
    with pytest.raises(ServerError, match="already runs from .* stop it first"):
        start_server(f"sqlite:///{tmp_path / 'm.db'}", tmp_path / "art", state_dir=tmp_path, admin_password=STRONG)


# -- private files -------------------------------------------------------------------------------------------------


def test_private_files_are_0600_and_never_written_through_a_link(tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    link = tmp_path / "creds.json"
    link.symlink_to(victim)
    write_private(link, "secret")
    assert victim.read_text() == "keep me"  # the planted link was replaced, not followed
    assert not link.is_symlink() and link.read_text() == "secret"
    assert stat.S_IMODE(os.stat(link).st_mode) == 0o600
    wide = tmp_path / "wide.json"
    wide.write_text("old")
    os.chmod(wide, 0o644)
    write_private(wide, b"new")
    assert stat.S_IMODE(os.stat(wide).st_mode) == 0o600 and wide.read_bytes() == b"new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["creds.json", "victim.txt", "wide.json"]  # no temp left
    log = tmp_path / "server.log"
    log.symlink_to(victim)
    with pytest.raises(OSError):
        open_private_log(log)
    os.close(open_private_log(tmp_path / "real.log"))
    assert stat.S_IMODE(os.stat(tmp_path / "real.log").st_mode) == 0o600


# -- the server app's pieces -----------------------------------------------------------------------------------------


def test_error_messages_lose_their_sql():
    from techscore.joint.server_app import scrub_sql

    raw = ("User (username=bank_a) already exists. Error: (sqlite3.IntegrityError) UNIQUE constraint failed: "
           "users.username\n[SQL: INSERT INTO users (username, password_hash, is_admin) VALUES (?, ?, ?)]\n"
           "[parameters: ('bank_a', 'scrypt:32768:8:1$abc', 0)]")
    assert scrub_sql(raw) == "User (username=bank_a) already exists."
    assert scrub_sql("(psycopg2.errors.UniqueViolation) duplicate key") == "The request conflicts with the server's data."
    assert scrub_sql("Run 'abc' not found") == "Run 'abc' not found"


def test_route_table_spellings():
    from techscore.joint.server_app import canonical_route
    from techscore.joint.server_routes import ROUTES

    assert canonical_route("HEAD", "/ajax-api/2.0/mlflow/runs/get") == ("GET", "/api/2.0/mlflow/runs/get")
    assert canonical_route("PUT", "/api/2.0/mlflow-artifacts/artifacts/{artifact_path:path}") == (
        "PUT", "/api/2.0/mlflow-artifacts/artifacts/*")
    assert ROUTES[("POST", "/api/2.0/mlflow/experiments/create")] == "ADMIN"
    assert ROUTES[("GET", "/api/2.0/mlflow/users/list")] == "ADMIN"
    assert ROUTES[("POST", "/api/2.0/mlflow/registered-models/create")] == "OWN_NAME"
    assert {c for c in ROUTES.values()} == {"PUBLIC", "USER", "OWN_NAME", "ADMIN"}
