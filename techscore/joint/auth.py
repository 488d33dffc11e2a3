"""A small REST client for the users, experiments and permissions of an MLflow basic-auth tracking server.

MLflow's own ``AuthServiceClient`` reads its credentials from process-wide environment variables; provisioning
acts as the admin while the same process may act as a bank, so this client carries its credentials itself.

>>> client = AuthClient("http://127.0.0.1:5000", "ts-admin", os.environ["MLFLOW_AUTH_ADMIN_PASSWORD"])  # doctest: +SKIP
>>> client.grant("bank_a", client.create_experiment("joint/bank_a"), "MANAGE")  # doctest: +SKIP

`check_password` is the one password policy: the client checks with it before sending a password, the server
(`techscore.joint.server_app`) again before storing one.
"""

from __future__ import annotations

import warnings
from typing import Any

from techscore.exceptions import AuthError, ServerError, SpecError

__all__ = ["EXPERIMENT_PERMISSIONS", "MIN_PASSWORD", "REFUSED_PASSWORDS", "AuthClient", "check_password"]

EXPERIMENT_PERMISSIONS: tuple[str, ...] = ("NO_PERMISSIONS", "READ", "USE", "EDIT", "MANAGE")
"""Permission levels on an experiment, weakest first. ``NO_PERMISSIONS`` is had by holding no grant (`revoke`);
``DENY`` is left out on purpose."""

MIN_PASSWORD = 12
"""MLflow's own minimum password length."""
REFUSED_PASSWORDS = frozenset(
    {"password1234", "password", "admin", "changeme", "mlflow", "a-long-secret", "a-long-admin-password"}
)
"""Well-known defaults and the examples of this project's own documentation, refused whatever their score."""
_MIN_SCORE = 3
"""zxcvbn's score (0-4) a password needs: 3 is "safely unguessable" against an offline attack on a slow hash."""

_USERS = "/api/2.0/mlflow/users"
_PERMISSIONS = "/api/3.0/mlflow/users/permissions"
_EXPERIMENTS = "/api/2.0/mlflow/experiments"


def check_password(password: str, *, username: str = "", what: str = "the password") -> str:
    """`password` if strong enough, else `AuthError` saying why: at least `MIN_PASSWORD` characters, not one of
    `REFUSED_PASSWORDS` nor the user name, and a zxcvbn strength score of at least 3."""
    from zxcvbn import zxcvbn

    if not isinstance(password, str) or len(password) < MIN_PASSWORD:
        got = len(password) if isinstance(password, str) else 0
        raise AuthError(f"{what} must have at least {MIN_PASSWORD} characters; got {got}.")
    if password.lower() in REFUSED_PASSWORDS or (username and password.lower() == username.lower()):
        raise AuthError(f"{what} is a well-known default, a documentation example or the user name; choose another.")
    estimate = zxcvbn(password[:128], user_inputs=[u for u in (username, "techscore", "mlflow") if u])
    if estimate["score"] < _MIN_SCORE:
        hint = " ".join(filter(None, [estimate["feedback"].get("warning"), *estimate["feedback"].get("suggestions", [])]))
        raise AuthError(f"{what} is too easy to guess (strength {estimate['score']}/4, needs {_MIN_SCORE}). {hint}".strip())
    return password


class AuthClient:
    """Calls one tracking server as one user (HTTP basic auth); raises `AuthError` on 401 and 403.

    Parameters
    ----------
    url : str
        The server's base URL, e.g. ``http://127.0.0.1:5000``.
    username, password : str
        The credentials every request carries.
    timeout : float
        Seconds to wait for each response.
    verify : bool or str
        TLS certificate check for an ``https://`` server, as ``requests`` takes it (True: the system's and
        ``$REQUESTS_CA_BUNDLE``'s authorities; a path: that CA bundle).
    """

    def __init__(self, url: str, username: str, password: str, *, timeout: float = 30.0,
                 verify: bool | str = True) -> None:
        import requests

        self.url = url.rstrip("/")
        self.username = username
        self.timeout = timeout
        self._session = requests.Session()
        self._session.auth = (username, password)
        self.verify = verify  # passed with each request: a session's own is overridden by $REQUESTS_CA_BUNDLE

    def __repr__(self) -> str:
        return f"AuthClient(url={self.url!r}, username={self.username!r})"

    def call(
        self, method: str, path: str, *, missing_ok: bool = False, exists_ok: bool = False, **kwargs: Any
    ) -> dict | None:
        """One request; the JSON body, or None when the server answers "does not exist" and `missing_ok`, or
        "already exists" and `exists_ok`."""
        import requests

        try:
            with warnings.catch_warnings():  # verify=False is only ever used on the server's own child
                warnings.simplefilter("ignore")
                resp = self._session.request(method, self.url + path, timeout=self.timeout, verify=self.verify,
                                             **kwargs)
        except requests.RequestException as exc:
            raise ServerError(f"tracking server {self.url} cannot be reached: {exc}.") from exc
        if resp.status_code in (401, 403):
            what = "not authenticated" if resp.status_code == 401 else "permission denied"
            raise AuthError(f"{method} {path} as {self.username!r}: {what} ({resp.status_code}).")
        if resp.status_code >= 400:
            try:
                code = resp.json().get("error_code")
            except ValueError:
                code = None
            if (missing_ok and (resp.status_code == 404 or code == "RESOURCE_DOES_NOT_EXIST")) or (
                exists_ok and code == "RESOURCE_ALREADY_EXISTS"
            ):
                return None
            raise ServerError(f"{method} {path} failed with {resp.status_code}: {resp.text[:300]}")
        return resp.json() if resp.content else {}

    # users -------------------------------------------------------------------------------------------------
    def current_user(self) -> dict:
        """The calling user (``username``, ``is_admin``, ``id``)."""
        return self.call("GET", f"{_USERS}/current")["user"]

    def user_exists(self, username: str) -> bool:
        return self.call("GET", f"{_USERS}/get", params={"username": username}, missing_ok=True) is not None

    def create_user(self, username: str, password: str) -> None:
        self.call("POST", f"{_USERS}/create", json={"username": username, "password": password})

    def update_password(self, username: str, password: str) -> None:
        self.call("PATCH", f"{_USERS}/update-password", json={"username": username, "password": password})

    def list_users(self) -> list[str]:
        """Every user name (the admin only)."""
        return sorted(str(u["username"]) for u in self.call("GET", f"{_USERS}/list").get("users", []))

    def user_permissions(self, username: str) -> list[dict]:
        """Every permission `username` holds, through any role (rows with ``resource_type``, ``resource_id``,
        ``permission``)."""
        return list(self.call("GET", f"{_PERMISSIONS}/list", params={"username": username}).get("permissions", []))

    # experiments -------------------------------------------------------------------------------------------
    def experiment(self, name: str) -> dict | None:
        """The experiment named `name` (``experiment_id``, ``name``, ``lifecycle_stage``, ``tags``), or None."""
        body = self.call("GET", f"{_EXPERIMENTS}/get-by-name", params={"experiment_name": name}, missing_ok=True)
        return None if body is None else body["experiment"]

    def experiment_id(self, name: str) -> str | None:
        """The id of the experiment named `name`, or None when there is none."""
        found = self.experiment(name)
        return None if found is None else str(found["experiment_id"])

    def create_experiment(self, name: str, tags: dict[str, str] | None = None) -> str:
        """Create the experiment `name` (the server picks its artifact location); its id. Never adopts one:
        an experiment of that name already there is a `ServerError`."""
        body = {"name": name, "tags": [{"key": k, "value": v} for k, v in (tags or {}).items()]}
        created = self.call("POST", f"{_EXPERIMENTS}/create", json=body, exists_ok=True)
        if created is None:
            raise ServerError(f"experiment {name!r} already exists on {self.url}; it was not created now.")
        return str(created["experiment_id"])

    # permissions -------------------------------------------------------------------------------------------
    def grant(self, username: str, experiment_id: str, permission: str) -> None:
        """Set `username`'s permission on one experiment (replaces an earlier grant)."""
        if permission not in EXPERIMENT_PERMISSIONS[1:]:
            raise SpecError(
                f"permission must be one of {', '.join(EXPERIMENT_PERMISSIONS[1:])}; got {permission!r} "
                "(revoke a grant to leave no permission)."
            )
        body = {"username": username, "resource_type": "experiment", "resource_id": str(experiment_id)}
        if self.call("POST", f"{_PERMISSIONS}/grant", json={**body, "permission": permission}, exists_ok=True) is None:
            # the REST grant does not replace an existing grant: revoke it, then grant again
            self.revoke(username, experiment_id)
            self.call("POST", f"{_PERMISSIONS}/grant", json={**body, "permission": permission})

    def revoke(self, username: str, experiment_id: str) -> bool:
        """Remove `username`'s grant on one experiment; False when there was none."""
        body = self.call(
            "POST",
            f"{_PERMISSIONS}/revoke",
            json={"username": username, "resource_type": "experiment", "resource_id": str(experiment_id)},
            missing_ok=True,
        )
        return body is not None

    def permission(self, username: str, experiment_id: str) -> str:
        """The permission `username` effectively holds on one experiment, as the server resolves it."""
        body = self.call(
            "GET",
            f"{_PERMISSIONS}/get",
            params={"username": username, "resource_type": "experiment", "resource_id": str(experiment_id)},
        )
        return str(body["permission"])
