"""Fixtures of the joint-modelling tests: valid firm codes made from integers, and one shared tracking server."""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Iterable

import pytest

from techscore.sources.uscc import ALPHABET, complete

BANKS = ("bank_a", "bank_b")
PLATFORM = "platform"


def code_of(i: int) -> str:
    """A distinct valid unified social credit code for every integer 0 <= i < 31**15."""
    digits = []
    for _ in range(15):
        i, r = divmod(i, 31)
        digits.append(ALPHABET[r])
    return str(complete(["91" + "".join(reversed(digits))])[0])


@pytest.fixture(scope="session")
def make_codes() -> Callable[[Iterable[int]], list[str]]:
    """Integers -> valid codes (session scope so hypothesis tests may use it)."""
    return lambda ints: [code_of(i) for i in ints]


@pytest.fixture(scope="session")
def mlflow_server(tmp_path_factory: pytest.TempPathFactory):
    """One basic-auth MLflow server on a free loopback port for the whole session, started and stopped through
    `techscore server start|stop` (SQLite backend, artifacts served by the server) and provisioned with two banks
    and a platform that bank_a grants EDIT and bank_b grants nothing.

    Yields a dict: url, admin (user, password), creds (user -> Credential), root, pid.
    """
    from typer.testing import CliRunner

    from techscore.cli import app
    from techscore.joint.server import _alive, provision

    root = tmp_path_factory.mktemp("joint-server")
    admin = ("ts-admin", "adm-" + secrets.token_urlsafe(18))
    state = root / "state"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MLFLOW_AUTH_ADMIN_USERNAME", admin[0])
        mp.setenv("MLFLOW_AUTH_ADMIN_PASSWORD", admin[1])
        started = CliRunner().invoke(
            app, ["server", "start", "--state-dir", str(state), "--port", "0", "--workers", "1", "--json"]
        )
    assert started.exit_code == 0, started.output
    info = json.loads(started.stdout)
    try:
        creds = provision(
            info["url"],
            list(BANKS),
            admin_user=admin[0],
            admin_password=admin[1],
            platform_user=PLATFORM,
            platform_access={"bank_a": "EDIT"},
            credentials_path=root / "credentials.json",
            environ={},
        )
        yield {"url": info["url"], "admin": admin, "creds": creds, "root": root, "pid": info["pid"]}
    finally:
        stopped = CliRunner().invoke(app, ["server", "stop", "--state-dir", str(state)])
        assert stopped.exit_code == 0 and "stopped" in stopped.output, stopped.output
        assert not _alive(info["pid"])
