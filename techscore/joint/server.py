"""The shared tracking server of joint modelling: start, stop and provision an MLflow server on which each bank
reaches its own experiment only, whatever it sends.

Isolation model. The server runs techscore's app (`techscore.joint.server_app`, ``mlflow server --app-name
techscore``): MLflow's basic-auth app with ``default_permission = NO_PERMISSIONS`` (MLflow's shipped default is
``READ``), behind rules that run before every request. Only the admin creates, renames, deletes or restores
experiments, manages users and grants; nobody chooses an artifact location; a user's registered models are named
``<user>.<name>``; a non-admin gets one answer for "missing" and "not yours", and no error carries SQL. Logins
are checked against the users table on every request, so a changed password or a removed user stops working on
every worker at once.

`provision` creates one user and one experiment (``joint/<bank>``) per bank itself and grants the bank
``MANAGE`` there and nothing elsewhere; the platform user gets its own experiment and the level each bank grants
it on the bank's experiment (``EDIT`` by default: it writes runs, never deletes or re-grants). It never adopts
an experiment it did not create or one holding grants it did not make. The credentials file records each
experiment's id; clients resolve experiments by that id and check the name.

The admin password comes from the caller or ``MLFLOW_AUTH_ADMIN_PASSWORD``: there is no default, weak ones
(`techscore.joint.auth.check_password`) are refused, and it reaches the server through its environment only.
Basic auth sends passwords with every request: `start_server` serves TLS with a certificate and key, and refuses
a non-loopback address without them unless told ``insecure``. Everything the server writes (auth database, log,
tracking store, artifacts) is created readable by its owner only.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import secrets
import shlex
import signal
import socket
import stat
import subprocess
import sys
import time
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from techscore.exceptions import AuthError, ServerError, SpecError
from techscore.joint._private import open_private_log, write_private
from techscore.joint.auth import EXPERIMENT_PERMISSIONS, AuthClient, check_password
from techscore.joint.names import check_name

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
APP_NAME = "techscore"
"""The ``mlflow.app`` entry point of `techscore.joint.server_app`."""
PROVISIONED_TAG = "techscore.provisioned_by"
"""Experiment tag `provision` sets on the experiments it creates (only the admin may set ``techscore.*`` tags)."""
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
        if self._process is not None:  # our own child: its pid cannot have been reused while unreaped
            _stop_group(self.pid, timeout, self._process)
        else:
            stop_server(self.state_dir, timeout)
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
    check_password(password, username=user, what="the admin password")
    return user, password


def _free_port(host: str) -> int:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def is_loopback(host: str) -> bool:
    """Whether `host` (an address or ``localhost``) only listens on this machine."""
    if host.strip("[]").lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def auth_config(auth_db_uri: str, admin_user: str) -> str:
    """The basic-auth INI: no permission by default, no password in the file (it comes from the environment),
    logins checked by techscore's function on every request (MLflow's per-worker login cache, which kept a changed
    password working for up to a minute on the other workers, is off)."""
    from techscore.joint.server_app import AUTHORIZATION_FUNCTION

    return (
        "[mlflow]\n"
        "default_permission = NO_PERMISSIONS\n"
        f"database_uri = {auth_db_uri}\n"
        f"admin_username = {admin_user}\n"
        f"authorization_function = {AUTHORIZATION_FUNCTION}\n"
        "grant_default_workspace_access = false\n"
        "auth_cache_ttl_seconds = 0\n"
    )


def _check_tls(tls_cert: str | Path | None, tls_key: str | Path | None) -> tuple[Path, Path] | None:
    if tls_cert is None and tls_key is None:
        return None
    if tls_cert is None or tls_key is None:
        raise SpecError("TLS needs both a certificate (--tls-cert) and its private key (--tls-key).")
    cert, key = Path(tls_cert).resolve(), Path(tls_key).resolve()
    for what, path in (("certificate", cert), ("private key", key)):
        if not path.is_file():
            raise SpecError(f"TLS {what} {path} is not a file.")
    if stat.S_IMODE(os.stat(key).st_mode) & 0o077:
        raise SpecError(f"TLS private key {key} is readable by other users; chmod 600 it first.")
    return cert, key


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
    tls_cert: str | Path | None = None,
    tls_key: str | Path | None = None,
    insecure: bool = False,
    timeout: float = 180.0,
    extra_args: Sequence[str] = (),
) -> ServerHandle:
    """Start ``mlflow server --app-name techscore`` in the background and wait until it answers.

    Parameters
    ----------
    backend_uri : str
        Tracking store: ``sqlite:///path/mlflow.db`` (one machine, tests) or ``postgresql://user@host/db``.
    artifacts_dir : path
        Local folder the server stores artifacts in; clients up- and download through the server.
    host, port : str, int
        Where to listen; port 0 picks a free port. Loopback by default; any other address needs TLS or
        `insecure`.
    admin_user, admin_password : str, optional
        The admin account; default ``$MLFLOW_AUTH_ADMIN_USERNAME`` (else ``techscore-admin``) and
        ``$MLFLOW_AUTH_ADMIN_PASSWORD``. Without a strong password the server is not started.
    state_dir : path, optional
        Folder for the auth INI, the log and ``server.json`` (pid, url); default ``<artifacts_dir>/../server``.
    auth_db_uri : str, optional
        The users-and-permissions database; default SQLite in `state_dir` (give a PostgreSQL URI in production).
    workers : int
        Server worker processes.
    tls_cert, tls_key : path, optional
        PEM certificate (chain) and private key (mode 0600): the server then speaks HTTPS only.
    insecure : bool
        Allow a non-loopback `host` without TLS (passwords then cross the network in clear text).
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
    tls = _check_tls(tls_cert, tls_key)
    if tls is None and not insecure and not is_loopback(host):
        raise SpecError(
            f"refusing to serve {host} without TLS: basic auth would send every password in clear text. Give "
            "--tls-cert and --tls-key, or --insecure when a TLS proxy on this machine fronts the server."
        )
    admin_user, admin_password = _check_admin(admin_user, admin_password)
    artifacts_dir = Path(artifacts_dir).resolve()
    artifacts_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    state = Path(state_dir).resolve() if state_dir is not None else artifacts_dir.parent / "server"
    state.mkdir(parents=True, exist_ok=True)
    os.chmod(state, 0o700)
    previous = _recorded(state)
    if previous is not None and _is_server(previous):
        raise ServerError(
            f"a tracking server already runs from {state} (pid {previous['pid']}, {previous['url']}); stop it first."
        )
    port = port or _free_port(host)
    config = state / "basic_auth.ini"
    auth_db = state / "auth.db"
    write_private(config, auth_config(auth_db_uri or f"sqlite:///{auth_db}", admin_user))
    for existing in (auth_db, artifacts_dir.parent / "mlflow.db"):  # made by an older release: owner-only now
        if existing.is_file() and not existing.is_symlink():
            os.chmod(existing, 0o600)
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
    uvicorn_opts = []
    if tls is not None:
        uvicorn_opts = ["--ssl-certfile", str(tls[0]), "--ssl-keyfile", str(tls[1])]
    cmd = [
        sys.executable, "-m", "mlflow", "server",
        "--app-name", APP_NAME,
        "--backend-store-uri", backend_uri,
        "--serve-artifacts",
        "--artifacts-destination", str(artifacts_dir),
        "--host", host,
        "--port", str(port),
        "--workers", str(workers),
        *(["--uvicorn-opts", shlex.join(uvicorn_opts)] if uvicorn_opts else []),
        *extra_args,
    ]  # fmt: skip
    log_path = state / "server.log"
    log = open_private_log(log_path)
    try:
        # umask 077: the auth and tracking databases, artifacts and anything else the server writes are owner-only
        process = subprocess.Popen(
            cmd, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
            umask=0o077,
        )
    finally:
        os.close(log)
    scheme = "https" if tls is not None else "http"
    local = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    url = f"{scheme}://{'[' + local + ']' if ':' in local else local}:{port}"
    handle = ServerHandle(url, admin_user, process.pid, state, log_path, process)
    try:
        _wait_healthy(process, url, log_path, timeout)
        # the server checked is our own child on this machine: its certificate may name a public host
        own = AuthClient(url, admin_user, admin_password, verify=tls is None)
        if not own.current_user().get("is_admin"):
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
    if auth_db.is_file():
        os.chmod(auth_db, 0o600)
    write_private(state / _STATE_FILE, json.dumps({"pid": process.pid, "url": url, "admin_user": admin_user,
                                                  **_identity(process.pid)}))
    return handle


def _wait_healthy(process: subprocess.Popen, url: str, log_path: Path, timeout: float) -> None:
    import requests
    import urllib3

    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            raise ServerError(f"mlflow server exited with code {process.returncode}; log {log_path}:\\n{_tail(log_path)}")
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", urllib3.exceptions.InsecureRequestWarning)
                if requests.get(f"{url}/health", timeout=2, verify=False).status_code == 200:  # our own child
                    return
        except requests.RequestException:
            pass
        if time.monotonic() > deadline:
            raise ServerError(f"mlflow server did not answer within {timeout:.0f} s; log {log_path}:\\n{_tail(log_path)}")
        time.sleep(0.5)


def _recorded(state_dir: Path) -> dict | None:
    path = state_dir / _STATE_FILE
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def _identity(pid: int) -> dict:
    """What tells process `pid` apart from a later process that reuses its number: start time and command line."""
    import psutil

    proc = psutil.Process(pid)
    return {"create_time": proc.create_time(), "cmdline": proc.cmdline()}


def _is_server(recorded: Mapping) -> bool:
    """Whether the process `recorded` in ``server.json`` still runs and is that tracking server (same start time
    and command line), not another process that got its pid since."""
    import psutil

    try:
        proc = psutil.Process(int(recorded["pid"]))
        now = {"create_time": proc.create_time(), "cmdline": proc.cmdline()}
    except (psutil.NoSuchProcess, psutil.ZombieProcess, ValueError, KeyError, TypeError):
        return False
    except psutil.AccessDenied:
        return False
    if "create_time" not in recorded or "cmdline" not in recorded:
        return False  # a record without identity (older release) cannot be verified: never signal it
    return abs(float(recorded["create_time"]) - now["create_time"]) < 0.01 and list(recorded["cmdline"]) == now["cmdline"]


def stop_server(state_dir: str | Path, timeout: float = 20.0) -> bool:
    """Stop the server whose ``server.json`` is in `state_dir` (started by another process); False if none ran.

    The recorded pid is signalled only while it is still the recorded server (same start time and command
    line): a process that has since taken over the number is left alone and the stale record removed.
    """
    recorded = _recorded(Path(state_dir))
    if recorded is None:
        return False
    running = _is_server(recorded)
    if running:
        _stop_group(int(recorded["pid"]), timeout, None)
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
        Where to write the credentials (JSON, mode 0600, with each experiment's id); new passwords are only ever
        shown here.
    environ : mapping, optional
        Where passwords are looked up (``TECHSCORE_PASSWORD_<USER>``, see `password_env_var`); default
        ``os.environ``. A user without one gets a generated password when created, and keeps its password
        when it already exists.

    Returns
    -------
    dict of str -> Credential
        Keyed by user name: every bank and the platform.

    Raises
    ------
    AuthError
        Before changing anything, when an experiment of one of these names exists that provisioning did not
        create (no ``techscore.provisioned_by`` tag, which only the admin can set), is deleted, or carries a
        grant of a user other than the admin, its owner and (on a bank's) the platform: provisioning never adopts
        such an experiment. Also when a password from the environment is weak (`check_password`).
    """
    env = os.environ if environ is None else environ
    url = server.url if isinstance(server, ServerHandle) else str(server)
    if admin_user is None and isinstance(server, ServerHandle):
        admin_user = server.admin_user
    admin_user, admin_password = _check_admin(admin_user, admin_password)
    banks = [check_name("bank", b) for b in banks]
    check_name("platform user", platform_user)
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
    parties = [*((b, "bank") for b in banks), (platform_user, "platform")]
    passwords = {user: env.get(password_env_var(user)) for user, _ in parties}
    for user, password in passwords.items():
        if password is not None:
            check_password(password, username=user, what=password_env_var(user))

    client = AuthClient(url, admin_user, admin_password)
    if not client.current_user().get("is_admin"):
        raise AuthError(f"user {admin_user!r} is not an admin of {url}.")
    # who may hold a grant on each experiment: the admin (MLflow grants the creator MANAGE), the owner, and the
    # platform on the banks' experiments; anyone else means the experiment is not provisioning's to adopt
    expected = {f"{experiment_prefix}{user}": {admin_user, user} for user, _ in parties}
    for bank in banks:
        expected[f"{experiment_prefix}{bank}"].add(platform_user)
    experiments = {name: client.experiment(name) for name in expected}
    _refuse_foreign(client, experiments, expected, admin_user)

    out: dict[str, Credential] = {}
    for user, role in parties:
        password = passwords[user]
        if not client.user_exists(user):
            password = password or secrets.token_urlsafe(24)
            client.create_user(user, password)
        elif password is not None:
            client.update_password(user, password)
        experiment = f"{experiment_prefix}{user}"
        found = experiments[experiment]
        if found is None:
            experiment_id = client.create_experiment(experiment, tags={PROVISIONED_TAG: admin_user})
        else:
            experiment_id = str(found["experiment_id"])
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


def _refuse_foreign(
    client: AuthClient, experiments: Mapping[str, dict | None], expected: Mapping[str, set[str]], admin_user: str
) -> None:
    """Raise `AuthError` before changing anything when an experiment provisioning would use was not made by it, or
    when anyone beyond the expected users holds a grant on it (or on every experiment)."""
    problems = []
    ids = {}
    for name, found in experiments.items():
        if found is None:
            continue
        tags = {t["key"]: t["value"] for t in found.get("tags", [])}
        ids[str(found["experiment_id"])] = name
        if PROVISIONED_TAG not in tags:
            problems.append(f"{name!r} (id {found['experiment_id']}) exists but was not created by provisioning")
        elif found.get("lifecycle_stage", "active") != "active":
            problems.append(f"{name!r} (id {found['experiment_id']}) is deleted")
    for user in client.list_users():
        if user == admin_user:
            continue
        for row in client.user_permissions(user):
            if row.get("resource_type") != "experiment" or row.get("permission") == "NO_PERMISSIONS":
                continue
            rid = str(row.get("resource_pattern", row.get("resource_id")))
            if rid == "*":
                problems.append(f"user {user!r} holds {row.get('permission')} on every experiment")
            elif rid in ids and user not in expected[ids[rid]]:
                problems.append(f"user {user!r} holds {row.get('permission')} on {ids[rid]!r} (id {rid})")
    if problems:
        raise AuthError(
            "provisioning refuses to adopt experiments it did not create or that carry grants it did not make: "
            + "; ".join(sorted(set(problems)))
            + ". Nothing was changed. Inspect them as the admin (who made them, who reads them), then delete them "
            "for good (`mlflow gc`) or provision with another --prefix."
        )
