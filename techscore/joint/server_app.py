"""techscore's tracking-server app: MLflow's basic-auth app with techscore's rules in front of every request.

``mlflow server --app-name techscore`` loads `create_app` through the ``mlflow.app`` entry point (under uvicorn,
MLflow's default). It builds MLflow's basic-auth app (per-resource grants, ``default_permission =
NO_PERMISSIONS``) and wraps it in `Guard`, an ASGI layer that sees every request first, whether MLflow serves it
from FastAPI or from Flask, and every error response last. A hand-written request gets the same answer as the
CLI; nothing here trusts the client.

Rules, in order:

1. The route is looked up in `techscore.joint.server_routes.ROUTES` the way MLflow dispatches it (FastAPI's
   native routes first, then Flask's URL map). ``PUBLIC`` routes (health, static files, server-info) pass.
2. Every other request needs a valid login (HTTP basic auth), checked here against the users table on every
   request: a password changed or a user deleted stops working on every worker at once. A verified (or a
   refused) password is remembered per worker only together with the stored hash it was checked against, so a
   changed hash is a miss; an unknown user costs the same hash check as a wrong password.
3. Non-admins reach ``USER`` and ``OWN_NAME`` routes only (MLflow's grants then decide); anything else, a route
   not in the table included, is denied. Only the admin creates, renames, deletes or restores experiments,
   manages users, grants, roles, workspaces, webhooks, gateway and GenAI resources.
4. Bodies of the few requests that name things are checked before MLflow sees them: no caller chooses an
   experiment's ``artifact_location``; a non-admin's registered model (or prompt) is named ``<user>.<name>``;
   a non-admin sets no ``techscore.*`` experiment tag (provisioning's mark); a new password passes
   `techscore.joint.auth.check_password`. Artifact paths of non-admins start with an experiment id and hold no
   ``.`` or ``..`` segment.
5. Answers to non-admins: "does not exist" and "not yours" (MLflow's 404 and 403) become one and the same 403;
   server errors become a generic 500; and no error body, the admin's included, carries SQL.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import os
import re
import secrets
import threading
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from techscore.joint.server_routes import ROUTES

__all__ = [
    "AUTHORIZATION_FUNCTION",
    "DENIED",
    "Guard",
    "authenticate_request",
    "canonical_route",
    "create_app",
    "route_report",
    "scrub_sql",
    "verify_login",
]

AUTHORIZATION_FUNCTION = "techscore.joint.server_app:authenticate_request"
"""What the server's auth INI names as ``authorization_function``; `create_app` refuses any other."""
DENIED = {"error_code": "PERMISSION_DENIED", "message": "Permission denied, or no such resource."}
"""The one answer (status 403) to a non-admin for anything missing, foreign or closed."""
_UNAUTHENTICATED = {"error_code": "UNAUTHENTICATED", "message": "Log in with HTTP basic auth."}
_SERVER_ERROR = {"error_code": "INTERNAL_ERROR", "message": "The server failed; its log has the details."}
_MAX_CHECKED_BODY = 1 << 20
"""Largest body of a request whose fields are checked here (JSON API calls are far smaller)."""
_MAX_ERROR_BODY = 1 << 20
_SQL_MARKERS = re.compile(
    r"\[SQL:|\(sqlite3\.|\(psycopg2?\.|\(pymysql\.|\(MySQLdb\.|sqlalchemy|\(Background on this error|"
    r"\(raised as a result of|\bINSERT INTO\b|\bSELECT\b.+\bFROM\b|\bUPDATE\b.+\bSET\b|\bDELETE FROM\b|"
    r"UNIQUE constraint|IntegrityError|OperationalError|ProgrammingError",
    re.IGNORECASE | re.DOTALL,
)
_ARTIFACT_ROUTES = {
    ("GET", "/api/2.0/mlflow-artifacts/artifacts"),
    ("GET", "/api/2.0/mlflow-artifacts/artifacts/*"),
    ("PUT", "/api/2.0/mlflow-artifacts/artifacts/*"),
    ("DELETE", "/api/2.0/mlflow-artifacts/artifacts/*"),
}
_ARTIFACT_PATH = re.compile(r"\d+(/[^/\\\x00]+)*")
_NAMED = {
    ("POST", "/api/2.0/mlflow/registered-models/create"): "name",
    ("POST", "/api/2.0/mlflow/registered-models/rename"): "new_name",
}
_PASSWORDS = {
    ("POST", "/api/2.0/mlflow/users/create"),
    ("PATCH", "/api/2.0/mlflow/users/update-password"),
}
_EXPERIMENT_CREATE = ("POST", "/api/2.0/mlflow/experiments/create")
_EXPERIMENT_TAGS = {
    ("POST", "/api/2.0/mlflow/experiments/set-experiment-tag"),
    ("POST", "/api/2.0/mlflow/experiments/delete-experiment-tag"),
}
_RESERVED_TAG = "techscore."
"""Experiment tags only the admin sets (provisioning marks the experiments it created with one)."""


# ---------------------------------------------------------------------------------------------------------------
# routes


def canonical_route(method: str, template: str) -> tuple[str, str]:
    """``(METHOD, path)`` as `ROUTES` spells it: path parameters as ``*``, ``/ajax-api/`` folded into ``/api/``."""
    path = re.sub(r"<[^>]*>|\{[^}]*\}", "*", template)
    return ("GET" if method == "HEAD" else method), re.sub(r"^/ajax-api/", "/api/", path)


def _native_templates(routes: Iterable[Any], prefix: str = "") -> Iterable[tuple[str, str]]:
    """(method, path template) of FastAPI's own routes (the mounted Flask app left out), through included routers."""
    from starlette.routing import Mount

    for route in routes:
        if isinstance(route, Mount):
            continue
        inner = getattr(route, "original_router", None)
        if inner is not None:  # FastAPI >= 0.120 keeps included routers as objects
            ctx = getattr(route, "include_context", None)
            yield from _native_templates(inner.routes, prefix + (getattr(ctx, "prefix", "") or ""))
            continue
        path = getattr(route, "path", None)
        if path is None:
            raise RuntimeError(f"cannot read the path of FastAPI route {route!r}")
        methods = getattr(route, "methods", None)
        for method in sorted(methods) if methods else ["WEBSOCKET"]:
            if method not in ("HEAD", "OPTIONS"):
                yield method, prefix + path


def _flask_templates(flask_app: Any) -> Iterable[tuple[str, str]]:
    for rule in flask_app.url_map.iter_rules():
        for method in sorted(rule.methods or ()):
            if method not in ("HEAD", "OPTIONS"):
                yield method, rule.rule


def _werkzeug_template(template: str) -> str:
    return re.sub(r"\{(\w+):path\}", r"<path:\1>", re.sub(r"\{(\w+)\}", r"<\1>", template))


def route_report(fastapi_app: Any, flask_app: Any) -> dict[str, list[tuple[str, str]]]:
    """The app's routes (canonical) that `ROUTES` does not classify, and the table's entries the app lacks."""
    routes = {canonical_route(m, t) for m, t in [*_native_templates(fastapi_app.routes), *_flask_templates(flask_app)]}
    return {
        "unclassified": sorted(routes - set(ROUTES)),
        "stale": sorted(set(ROUTES) - routes),
        "routes": sorted(routes),
    }


# ---------------------------------------------------------------------------------------------------------------
# logins


@dataclass(frozen=True)
class _Login:
    username: str
    is_admin: bool


_VERIFIED_LOCK = threading.Lock()
_VERIFIED: dict[tuple[str, bytes], str] = {}
"""(user, HMAC of the password) -> the stored hash it was verified against; bounded, per worker."""
_REJECTED: dict[tuple[str, bytes], str] = {}
"""(user, HMAC of a wrong password) -> the stored hash it failed against ("" for no such user): a repeated wrong
password costs a lookup, not another hash; a changed hash or a new user is a miss."""
_VERIFIED_MAX = 4096
_HMAC_KEY = secrets.token_bytes(32)
_DUMMY_HASH: list[str] = []


def _dummy_hash() -> str:
    from werkzeug.security import generate_password_hash

    if not _DUMMY_HASH:
        _DUMMY_HASH.append(generate_password_hash(secrets.token_urlsafe(24)))
    return _DUMMY_HASH[0]


def verify_login(username: str, password: str) -> _Login | None:
    """The user if `password` is theirs now (read from the users table on every call), else None."""
    from mlflow.server.auth import _is_disabled_legacy_admin_login, store
    from mlflow.server.auth.db.models import SqlUser
    from werkzeug.security import check_password_hash

    if not username or password is None:
        return None
    with store.ManagedSessionMaker() as session:
        row = session.query(SqlUser.password_hash, SqlUser.is_admin).filter(SqlUser.username == username).first()
    stored, is_admin = ("", False) if row is None else (row[0], bool(row[1]))
    key = (username, hmac.new(_HMAC_KEY, password.encode("utf-8"), "sha256").digest())
    with _VERIFIED_LOCK:
        known, rejected = _VERIFIED.get(key), _REJECTED.get(key)
    if rejected is not None and hmac.compare_digest(rejected, stored):
        return None
    if row is None or known is None or not hmac.compare_digest(known, stored):
        # an unknown user costs the same hash check as a wrong password: no user enumeration by timing
        ok = check_password_hash(stored or _dummy_hash(), password) and row is not None
        with _VERIFIED_LOCK:
            for cache in (_VERIFIED, _REJECTED):
                if len(cache) >= _VERIFIED_MAX:
                    cache.clear()
            (_VERIFIED if ok else _REJECTED)[key] = stored
        if not ok:
            return None
    if is_admin and _is_disabled_legacy_admin_login(username, password):
        return None
    return _Login(username, is_admin)


def authenticate_request():
    """MLflow's ``authorization_function`` hook (Flask side): the request's basic-auth credentials checked with
    `verify_login` on every call, never MLflow's time-limited login cache."""
    from flask import request
    from mlflow.server.auth import make_basic_auth_response

    auth = request.authorization
    if auth is None or auth.type != "basic" or verify_login(auth.username or "", auth.password or "") is None:
        return make_basic_auth_response()
    return auth


def _basic_credentials(headers: list[tuple[bytes, bytes]]) -> tuple[str, str] | None:
    for name, value in headers:
        if name.lower() == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            if scheme.lower() != "basic":
                return None
            try:
                user, sep, password = base64.b64decode(token.strip(), validate=True).decode("utf-8").partition(":")
            except (binascii.Error, UnicodeDecodeError, ValueError):
                return None
            return (user, password) if sep else None
    return None


# ---------------------------------------------------------------------------------------------------------------
# bodies and answers


def scrub_sql(message: str) -> str:
    """`message` cut before the first trace of SQL or of the database driver (a generic text when nothing is left)."""
    found = _SQL_MARKERS.search(message)
    if found is None:
        return message
    head = message[: found.start()]
    head = re.sub(r"[\s.:;,(\[-]*(Error|Caused by|Details?)?[\s:]*$", "", head, flags=re.IGNORECASE).strip()
    return (head + ".") if head else "The request conflicts with the server's data."


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict:
    keys = [k for k, _ in pairs]
    if len(keys) != len(set(keys)):
        raise ValueError("a key repeats")
    return dict(pairs)


def _json_response(status: int, body: dict, headers: Iterable[tuple[bytes, bytes]] = ()) -> tuple[int, list, bytes]:
    data = json.dumps(body).encode()
    return (
        status,
        [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode()), *headers],
        data,
    )


async def _send(send: Callable[[dict], Awaitable[None]], response: tuple[int, list, bytes]) -> None:
    status, headers, body = response
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _bad_request(message: str) -> tuple[int, list, bytes]:
    return _json_response(400, {"error_code": "INVALID_PARAMETER_VALUE", "message": message})


def _check_fields(key: tuple[str, str], login: _Login, fields: dict[str, Any]) -> tuple[int, list, bytes] | None:
    """The refusal of a request whose fields break a rule, or None."""
    from techscore.exceptions import AuthError
    from techscore.joint.auth import check_password

    if key == _EXPERIMENT_CREATE and fields.get("artifact_location") not in (None, ""):
        return _bad_request("artifact_location is chosen by the server; create the experiment without it.")
    if key in _EXPERIMENT_TAGS and not login.is_admin and str(fields.get("key", "")).startswith(_RESERVED_TAG):
        return _json_response(403, DENIED)
    if key in _NAMED and not login.is_admin:
        name = fields.get(_NAMED[key])
        prefix = f"{login.username}."
        if not isinstance(name, str) or not name.startswith(prefix) or len(name) == len(prefix):
            return _json_response(403, {**DENIED, "message": f"Registered models of {login.username!r} are named "
                                                              f"'{prefix}<name>'."})
    if key in _PASSWORDS:
        password, user = fields.get("password"), fields.get("username")
        try:
            check_password(password if isinstance(password, str) else "", username=str(user or ""))
        except AuthError as exc:
            return _bad_request(str(exc))
    return None


def _artifact_path_ok(key: tuple[str, str], scope: dict, query: dict[str, list[str]]) -> bool:
    if key == ("GET", "/api/2.0/mlflow-artifacts/artifacts"):
        paths = query.get("path", [])
        if len(paths) != 1:
            return False
        path = paths[0]
    else:
        marker = "/mlflow-artifacts/artifacts/"
        path = scope["path"].split(marker, 1)[1] if marker in scope["path"] else ""
    segments = path.split("/")
    return bool(_ARTIFACT_PATH.fullmatch(path)) and not {".", ".."} & set(segments)


class _Answer:
    """Wraps ``send``: error answers are read whole and rewritten (one 403, no SQL, generic 5xx for non-admins)."""

    def __init__(self, send: Callable[[dict], Awaitable[None]], admin: bool) -> None:
        self.send = send
        self.admin = admin
        self.start: dict | None = None
        self.passthrough = False
        self.body = bytearray()

    async def __call__(self, message: dict) -> None:
        kind = message["type"]
        if kind == "http.response.start":
            if message["status"] < 400:
                self.passthrough = True
                await self.send(message)
            else:
                self.start = message
            return
        if kind != "http.response.body" or self.passthrough or self.start is None:
            await self.send(message)
            return
        if len(self.body) < _MAX_ERROR_BODY:
            self.body += message.get("body", b"")
        if message.get("more_body"):
            return
        await _send(self.send, self._rewrite(self.start["status"], bytes(self.body)))

    def _rewrite(self, status: int, body: bytes) -> tuple[int, list, bytes]:
        if not self.admin and status in (403, 404):
            return _json_response(403, DENIED)
        if not self.admin and status >= 500:
            return _json_response(500, _SERVER_ERROR)
        keep = [(k, v) for k, v in self.start["headers"] if k.lower() not in (b"content-length", b"content-type")]
        try:
            doc = json.loads(body)
        except ValueError:
            doc = None
        if isinstance(doc, dict) and isinstance(doc.get("message"), str):
            doc["message"] = scrub_sql(doc["message"])
            return _json_response(status, doc, keep)
        text = body.decode("utf-8", errors="replace")
        if _SQL_MARKERS.search(text):
            return _json_response(status, {"error_code": "BAD_REQUEST", "message": scrub_sql(text)}, keep)
        ctype = next((v for k, v in self.start["headers"] if k.lower() == b"content-type"), b"text/plain")
        return status, [(b"content-type", ctype), (b"content-length", str(len(body)).encode()), *keep], body


# ---------------------------------------------------------------------------------------------------------------
# the app


class Guard:
    """ASGI app: techscore's rules in front of MLflow's basic-auth app (`fastapi_app`, wrapping `flask_app`)."""

    def __init__(self, fastapi_app: Any, flask_app: Any) -> None:
        from werkzeug.routing import Map, Rule

        report = route_report(fastapi_app, flask_app)
        if report["unclassified"]:
            listed = "; ".join(f"{m} {p}" for m, p in report["unclassified"])
            raise RuntimeError(
                f"the tracking server refuses to start: {len(report['unclassified'])} route(s) of this MLflow "
                f"release are not classified in techscore.joint.server_routes: {listed}"
            )
        self.app = fastapi_app
        self.flask_urls = flask_app.url_map
        self.native = [r for r in fastapi_app.routes if type(r).__name__ != "Mount"]
        native = sorted(set(_native_templates(fastapi_app.routes)))
        if not native:
            raise RuntimeError("the tracking server refuses to start: no native FastAPI route was found.")
        self.native_urls = Map(
            [Rule(_werkzeug_template(t), methods=[m], endpoint=canonical_route(m, t)) for m, t in native],
            strict_slashes=False,
            merge_slashes=False,
        )

    def classify(self, scope: dict) -> tuple[tuple[str, str] | None, str]:
        """(canonical route, class) of a request as MLflow would dispatch it; (None, "ADMIN") when unknown."""
        from starlette.routing import Match
        from werkzeug.exceptions import HTTPException
        from werkzeug.routing import RequestRedirect

        method, path = scope["method"], scope["path"]
        native = any(route.matches(scope)[0] == Match.FULL for route in self.native)
        try:
            if native:
                endpoint, _ = self.native_urls.bind("localhost").match(path, method)
                key = endpoint
            else:
                rule, _ = self.flask_urls.bind("localhost").match(path, method, return_rule=True)
                key = canonical_route(method, rule.rule)
        except (HTTPException, RequestRedirect):
            return None, "ADMIN"
        return key, ROUTES.get(key, "ADMIN")

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] == "lifespan":
            await self.app(scope, receive, send)
            return
        if scope["type"] != "http":  # no route of the server speaks websocket
            await send({"type": "websocket.close", "code": 1008})
            return
        from starlette.concurrency import run_in_threadpool

        key, cls = self.classify(scope)
        if cls == "PUBLIC":
            await self.app(scope, receive, send)
            return
        creds = _basic_credentials(scope.get("headers", []))
        login = None if creds is None else await run_in_threadpool(verify_login, *creds)
        if login is None:
            await _send(send, _json_response(401, _UNAUTHENTICATED, [(b"www-authenticate", b'Basic realm="mlflow"')]))
            return
        if not login.is_admin:
            if cls not in ("USER", "OWN_NAME"):
                await _send(send, _json_response(403, DENIED))
                return
            query = parse_qs(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
            if key in _ARTIFACT_ROUTES and not _artifact_path_ok(key, scope, query):
                await _send(send, _json_response(403, DENIED))
                return
        if key in _NAMED or key in _PASSWORDS or key in _EXPERIMENT_TAGS or key == _EXPERIMENT_CREATE:
            body, more = await _read_body(receive)
            if more:
                await _send(send, _json_response(413, {"error_code": "BAD_REQUEST", "message": "Body too large."}))
                return
            query = parse_qs(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
            try:
                fields = json.loads(body, object_pairs_hook=_no_duplicates) if body.strip() else {}
            except ValueError:
                await _send(send, _bad_request("The body must be one JSON object without repeated keys."))
                return
            if not isinstance(fields, dict) or set(fields) & set(query):
                await _send(send, _bad_request("Give each field once, in the JSON body."))
                return
            refusal = _check_fields(key, login, {**{k: v[-1] for k, v in query.items()}, **fields})
            if refusal is not None:
                await _send(send, refusal)
                return
            receive = _replay(body)
        await self.app(scope, receive, _Answer(send, login.is_admin))


async def _read_body(receive: Callable) -> tuple[bytes, bool]:
    """The request body (at most `_MAX_CHECKED_BODY` bytes) and whether more was left unread."""
    body = bytearray()
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return bytes(body), False
        body += message.get("body", b"")
        if len(body) > _MAX_CHECKED_BODY:
            return b"", True
        if not message.get("more_body"):
            return bytes(body), False


def _replay(body: bytes) -> Callable[[], Awaitable[dict]]:
    sent = False

    async def receive() -> dict:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return {"type": "http.disconnect"}

    return receive


def create_app() -> Guard:
    """The ``mlflow.app`` factory ``techscore``: MLflow's basic-auth app behind `Guard` (uvicorn only)."""
    if os.environ.get("_MLFLOW_SGI_NAME", "uvicorn") != "uvicorn":
        raise RuntimeError("the techscore server app runs under uvicorn only (no --gunicorn-opts / --waitress-opts).")
    from mlflow.server import app as flask_app
    from mlflow.server.auth import auth_config
    from mlflow.server.auth import create_app as basic_auth_app

    if auth_config.authorization_function != AUTHORIZATION_FUNCTION:
        raise RuntimeError(f"the auth config must name authorization_function = {AUTHORIZATION_FUNCTION}.")
    if auth_config.auth_cache_ttl_seconds != 0:
        raise RuntimeError("the auth config must set auth_cache_ttl_seconds = 0 (logins are checked every request).")
    if str(auth_config.default_permission).upper() != "NO_PERMISSIONS":
        raise RuntimeError("the auth config must set default_permission = NO_PERMISSIONS.")
    return Guard(basic_auth_app(flask_app), flask_app)
