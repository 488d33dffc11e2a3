"""The shared tracking server of joint modelling: start, stop and provision an MLflow basic-auth server on which
each bank sees its own experiment only.

Isolation model. The server runs MLflow's ``basic-auth`` app with ``default_permission = NO_PERMISSIONS``
(MLflow's shipped default is ``READ``: every user could read every experiment), so a user sees an experiment
only through an explicit grant. `provision` creates one user and one experiment (``joint/<bank>``) per bank and
grants the bank ``MANAGE`` there and nothing elsewhere; the platform user gets its own experiment and the level
each bank grants it on the bank's experiment (``EDIT`` by default: it writes runs, never deletes or re-grants).
Artifacts are served through the server (``--serve-artifacts``), so downloads pass the same permission checks.

The admin password comes from the caller or ``MLFLOW_AUTH_ADMIN_PASSWORD``: there is no default, the
well-known ``password1234`` of older MLflow releases is refused, and it reaches the server through its
environment only (never a file or a command line). Basic auth sends passwords with every request: outside
loopback, put the server behind TLS.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from techscore.exceptions import AuthError, ServerError, SpecError
from techscore.joint._private import write_private
from techscore.joint.auth import EXPERIMENT_PERMISSIONS, AuthClient

__all__ = [
    "ADMIN_PASSWORD_ENV",
    "ADMIN_USER_ENV",
    "Credential",
    "ServerHandle",
    "password_env_var",
    "provision",
    "start_server",
    "stop_server",
]

ADMIN_USER_ENV = "MLFLOW_AUTH_ADMIN_USERNAME"
ADMIN_PASSWORD_ENV = "MLFLOW_AUTH_ADMIN_PASSWORD"
"""MLflow's own variables for the admin account; `start_server` and `provision` read them too."""
DEFAULT_ADMIN_USER = "techscore-admin"
_WELL_KNOWN_PASSWORDS = frozenset({"password1234", "password", "admin", "changeme", "mlflow"})
_MIN_PASSWORD = 12
"""MLflow's own minimum password length."""
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_STATE_FILE = "server.json"


# ---------------------------------------------------------------------------------------------------------------
# start and stop


@dataclass
class ServerHandle:
    """A running tracking server started by `start_server`; `stop()` ends it (also as a context manager)."""

    url: str
    admin_user: str
    pid: int
    state_dir: Path
    log_path: Path
    _process: subprocess.Popen | None = field(default=None, repr=False)

    def stop(self, timeout: float = 20.0) -> None:
        """Stop the server and its workers (SIGTERM to its process group, SIGKILL after `timeout`)."""
        _stop_group(self.pid, timeout, self._process)
        (self.state_dir / _STATE_FILE).unlink(missing_ok=True)

    @property
    def running(self) -> bool:
        if self._process is not None:
            return self._process.poll() is None
        return _alive(self.pid)

    def __enter__(self) -> ServerHandle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _check_admin(admin_user: str | None, admin_password: str | None) -> tuple[str, str]:
    user = admin_user or os.environ.get(ADMIN_USER_ENV) or DEFAULT_ADMIN_USER
    password = admin_password or os.environ.get(ADMIN_PASSWORD_ENV)
    if not password:
        raise AuthError(
            f"no admin password: pass one or set {ADMIN_PASSWORD_ENV}; the tracking server never starts with a "
            "default password."
        )
    if password.lower() in _WELL_KNOWN_PASSWORDS or password == user:
        raise AuthError("the admin password is a well-known default; choose another.")
    if len(password) < _MIN_PASSWORD:
        raise AuthError(f"the admin password must have at least {_MIN_PASSWORD} characters; got {len(password)}.")
    return user, password


def _free_port(host: str) -> int:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def auth_config(auth_db_uri: str, admin_user: str, auth_cache_ttl: int = 60) -> str:
    """The basic-auth INI: no permission by default, no password in the file (it comes from the environment).

    `auth_cache_ttl` caches a verified login for that many seconds in each worker: every request otherwise
    pays a deliberately slow password hash check. A password changed through the API applies at once on the
    worker that changed it and within the TTL on the others; 0 turns the cache off.
    """
    return (
        "[mlflow]\n"
        "default_permission = NO_PERMISSIONS\n"
        f"database_uri = {auth_db_uri}\n"
        f"admin_username = {admin_user}\n"
        "authorization_function = mlflow.server.auth:authenticate_request_basic_auth\n"
        "grant_default_workspace_access = false\n"
        f"auth_cache_ttl_seconds = {int(auth_cache_ttl)}\n"
    )


def start_server(
    backend_uri: str,
    artifacts_dir: str | Path,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    admin_user: str | None = None,
    admin_password: str | None = None,
    state_dir: str | Path | None = None,
    auth_db_uri: str | None = None,
    workers: int = 1,
    auth_cache_ttl: int = 60,
    timeout: float = 180.0,
    extra_args: Sequence[str] = (),
) -> ServerHandle:
    """Start ``mlflow server --app-name basic-auth`` in the background and wait until it answers.

    Parameters
    ----------
    backend_uri : str
        Tracking store: ``sqlite:///path/mlflow.db`` (one machine, tests) or ``postgresql://user@host/db``.
    artifacts_dir : path
        Local folder the server stores artifacts in; clients up- and download through the server.
    host, port : str, int
        Where to listen; port 0 picks a free port. Loopback by default.
    admin_user, admin_password : str, optional
        The admin account; default ``$MLFLOW_AUTH_ADMIN_USERNAME`` (else ``techscore-admin``) and
        ``$MLFLOW_AUTH_ADMIN_PASSWORD``. Without a password the server is not started.
    state_dir : path, optional
        Folder for the auth INI, the log and ``server.json`` (pid, url); default ``<artifacts_dir>/../server``.
    auth_db_uri : str, optional
        The users-and-permissions database; default SQLite in `state_dir` (give a PostgreSQL URI in production).
    workers : int
        Server worker processes.
    auth_cache_ttl : int
        Seconds a verified login is cached per worker (see `auth_config`); 0 checks every request.
    timeout : float
        Seconds to wait for the server to answer (a cold start takes 10-40 s).
    extra_args : sequence of str
        More ``mlflow server`` options, e.g. ``["--allowed-hosts", "mlflow.example.org"]``.

    Returns
    -------
    ServerHandle
        With ``url`` and ``stop()``. The admin login is checked before returning: an existing auth database
        whose admin has another password makes this raise `AuthError` (the password only bootstraps a new one).
    """
    admin_user, admin_password = _check_admin(admin_user, admin_password)
    artifacts_dir = Path(artifacts_dir).resolve()
    artifacts_dir.mkdir(parents=True, exist_ok=True)
    state = Path(state_dir).resolve() if state_dir is not None else artifacts_dir.parent / "server"
    state.mkdir(parents=True, exist_ok=True)
    os.chmod(state, 0o700)
    previous = _recorded(state)
    if previous is not None and _alive(int(previous["pid"])):
        raise ServerError(
            f"a tracking server already runs from {state} (pid {previous['pid']}, {previous['url']}); stop it first."
        )
    port = port or _free_port(host)
    config = state / "basic_auth.ini"
    write_private(config, auth_config(auth_db_uri or f"sqlite:///{state / 'auth.db'}", admin_user, auth_cache_ttl))
    env = dict(os.environ)
    env.update(
        {
            "MLFLOW_AUTH_CONFIG_PATH": str(config),
            ADMIN_USER_ENV: admin_user,
            ADMIN_PASSWORD_ENV: admin_password,
            "MLFLOW_FLASK_SERVER_SECRET_KEY": os.environ.get("MLFLOW_FLASK_SERVER_SECRET_KEY") or secrets.token_hex(32),
        }
    )
    # MLflow's GenAI job runner starts seven worker processes (~2 GB); tracking does not need it.
    env.setdefault("MLFLOW_SERVER_ENABLE_JOB_EXECUTION", "false")
    cmd = [
        sys.executable, "-m", "mlflow", "server",
        "--app-name", "basic-auth",
        "--backend-store-uri", backend_uri,
        "--serve-artifacts",
        "--artifacts-destination", str(artifacts_dir),
        "--host", host,
        "--port", str(port),
        "--workers", str(workers),
        *extra_args,
    ]  # fmt: skip
    log_path = state / "server.log"
    with open(log_path, "ab") as log:
        process = subprocess.Popen(
            cmd, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True
        )
    url = f"http://{'[' + host + ']' if ':' in host else host}:{port}"
    if host in ("0.0.0.0", "::"):
        url = f"http://127.0.0.1:{port}"
    handle = ServerHandle(url, admin_user, process.pid, state, log_path, process)
    try:
        _wait_healthy(process, url, log_path, timeout)
        if not AuthClient(url, admin_user, admin_password).current_user().get("is_admin"):
            raise AuthError(f"user {admin_user!r} is not an admin of this tracking server.")
    except AuthError as exc:
        handle.stop()
        raise AuthError(
            f"the admin login failed ({exc}); an existing auth database keeps the admin password it was created "
            "with, the configured one only bootstraps a new database."
        ) from exc
    except BaseException:
        handle.stop()
        raise
    write_private(state / _STATE_FILE, json.dumps({"pid": process.pid, "url": url, "admin_user": admin_user}))
    return handle


def _wait_healthy(process: subprocess.Popen, url: str, log_path: Path, timeout: float) -> None:
    import requests

    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            raise ServerError(f"mlflow server exited with code {process.returncode}; log {log_path}:\n{_tail(log_path)}")
        try:
            if requests.get(f"{url}/health", timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        if time.monotonic() > deadline:
            raise ServerError(f"mlflow server did not answer within {timeout:.0f} s; log {log_path}:\n{_tail(log_path)}")
        time.sleep(0.5)


def _recorded(state_dir: Path) -> dict | None:
    path = state_dir / _STATE_FILE
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def stop_server(state_dir: str | Path, timeout: float = 20.0) -> bool:
    """Stop the server whose ``server.json`` is in `state_dir` (started by another process); False if none ran."""
    recorded = _recorded(Path(state_dir))
    if recorded is None:
        return False
    pid = int(recorded["pid"])
    running = _alive(pid)
    if running:
        _stop_group(pid, timeout, None)
    (Path(state_dir) / _STATE_FILE).unlink(missing_ok=True)
    return running


def _alive(pid: int) -> bool:
    """Whether process `pid` runs (reaping it first when it is an exited child of this process)."""
    try:
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done == pid:
            return False
    except ChildProcessError:  # not our child: ask the kernel
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _stop_group(pid: int, timeout: float, process: subprocess.Popen | None) -> None:
    """SIGTERM the process group led by `pid` (the server and its workers), SIGKILL what is left after `timeout`."""

    def gone(wait: float) -> bool:
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if (process.poll() is not None) if process is not None else not _alive(pid):
                return True
            time.sleep(0.1)
        return False

    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    graceful = gone(timeout)
    try:  # after a timeout the leader, otherwise workers it left behind
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    if not graceful:
        gone(5.0)


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


# ---------------------------------------------------------------------------------------------------------------
# provision


@dataclass(frozen=True)
class Credential:
    """What one user needs to reach the server: `password` is None for an existing user left unchanged."""

    username: str
    password: str | None = field(repr=False)
    experiment: str
    experiment_id: str
    role: str


def password_env_var(username: str) -> str:
    """The environment variable that sets a user's password at provisioning: ``TECHSCORE_PASSWORD_<NAME>``."""
    return "TECHSCORE_PASSWORD_" + re.sub(r"[^A-Z0-9]", "_", username.upper())


def _check_name(kind: str, name: str) -> str:
    if not _NAME.match(name):
        raise SpecError(
            f"{kind} name must be 1-64 letters, digits, '_', '.' or '-', starting with a letter or digit; got {name!r}."
        )
    return name


def provision(
    server: ServerHandle | str,
    banks: Sequence[str],
    *,
    admin_user: str | None = None,
    admin_password: str | None = None,
    platform_user: str = "platform",
    platform_access: Mapping[str, str] | None = None,
    bank_permission: str = "MANAGE",
    experiment_prefix: str = "joint/",
    credentials_path: str | Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> dict[str, Credential]:
    """Create (or bring up to date) one user and one experiment per bank and the platform user, with grants.

    Parameters
    ----------
    server : ServerHandle or str
        The server, or its URL.
    banks : sequence of str
        Bank ids; each becomes user ``<bank>`` with experiment ``<experiment_prefix><bank>``.
    admin_user, admin_password : str, optional
        Admin credentials; default ``$MLFLOW_AUTH_ADMIN_USERNAME`` / ``$MLFLOW_AUTH_ADMIN_PASSWORD``.
    platform_user : str
        The data platform's user; it gets MANAGE on its own experiment ``<experiment_prefix><platform_user>``.
    platform_access : mapping of bank -> permission, optional
        What each bank grants the platform on the bank's experiment; default ``EDIT`` on every bank. A bank
        left out of a given mapping grants nothing.
    bank_permission : str
        A bank's level on its own experiment: ``MANAGE`` (default) or ``READ``.
    experiment_prefix : str
        Prefix of experiment names.
    credentials_path : path, optional
        Where to write the credentials (JSON, mode 0600); new passwords are only ever shown here.
    environ : mapping, optional
        Where passwords are looked up (``TECHSCORE_PASSWORD_<USER>``, see `password_env_var`); default
        ``os.environ``. A user without one gets a generated password when created, and keeps its password
        when it already exists.

    Returns
    -------
    dict of str -> Credential
        Keyed by user name: every bank and the platform.
    """
    env = os.environ if environ is None else environ
    url = server.url if isinstance(server, ServerHandle) else str(server)
    if admin_user is None and isinstance(server, ServerHandle):
        admin_user = server.admin_user
    admin_user, admin_password = _check_admin(admin_user, admin_password)
    banks = [_check_name("bank", b) for b in banks]
    _check_name("platform user", platform_user)
    if not banks:
        raise SpecError("provision needs at least one bank.")
    if len(set(banks)) != len(banks):
        raise SpecError(f"bank names repeat: {', '.join(banks)}.")
    if platform_user in banks or admin_user in [*banks, platform_user]:
        raise SpecError("the platform user, the admin and every bank need distinct names.")
    if bank_permission not in ("MANAGE", "READ"):
        raise SpecError(f"bank_permission must be MANAGE or READ; got {bank_permission!r}.")
    access = {b: "EDIT" for b in banks} if platform_access is None else dict(platform_access)
    unknown = sorted(set(access) - set(banks))
    if unknown:
        raise SpecError(f"platform_access names banks not being provisioned: {', '.join(unknown)}.")
    for bank, level in access.items():
        if level not in EXPERIMENT_PERMISSIONS:
            raise SpecError(
                f"platform access on {bank} must be one of {', '.join(EXPERIMENT_PERMISSIONS)}; got {level!r}."
            )

    client = AuthClient(url, admin_user, admin_password)
    if not client.current_user().get("is_admin"):
        raise AuthError(f"user {admin_user!r} is not an admin of {url}.")
    out: dict[str, Credential] = {}
    for user, role in [*((b, "bank") for b in banks), (platform_user, "platform")]:
        password = env.get(password_env_var(user))
        if password is not None and len(password) < _MIN_PASSWORD:
            raise AuthError(f"{password_env_var(user)} must hold at least {_MIN_PASSWORD} characters.")
        if not client.user_exists(user):
            password = password or secrets.token_urlsafe(24)
            client.create_user(user, password)
        elif password is not None:
            client.update_password(user, password)
        experiment = f"{experiment_prefix}{user}"
        experiment_id = client.ensure_experiment(experiment)
        client.grant(user, experiment_id, bank_permission if role == "bank" else "MANAGE")
        out[user] = Credential(user, password, experiment, experiment_id, role)
    for bank in banks:
        level = access.get(bank, "NO_PERMISSIONS")
        if level == "NO_PERMISSIONS":  # not a grantable level: no grant is no access
            client.revoke(platform_user, out[bank].experiment_id)
        else:
            client.grant(platform_user, out[bank].experiment_id, level)
    if credentials_path is not None:
        payload = {
            "tracking_uri": url,
            "users": {
                name: {
                    "username": c.username,
                    "password": c.password,
                    "experiment": c.experiment,
                    "experiment_id": c.experiment_id,
                    "role": c.role,
                }
                for name, c in out.items()
            },
            "platform_access": {b: access.get(b, "NO_PERMISSIONS") for b in banks},
        }
        write_private(Path(credentials_path), json.dumps(payload, indent=2) + "\n")
    return out
