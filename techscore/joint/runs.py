"""Who logs where: the tracking parties of a joint experiment and thin MLflow helpers that act as one of them.

Parties. The platform (user ``platform`` by default) owns the parent run in its experiment ``joint/platform``;
each bank owns its child runs in its experiment ``joint/<bank user>``. Against a tracking server (``http(s)://``)
every party logs with its own login, so the server's per-bank permissions hold: a bank's runs are written with
the bank's credentials and only the bank (and whoever it granted) can read them. Passwords come from the
credentials file `techscore server provision` writes, else from ``TECHSCORE_PASSWORD_<USER>``
(`techscore.joint.server.password_env_var`). Against a local store (SQLite or a folder) there are no logins and
every experiment lives in that one store, so the runner works offline.

Acting as a party sets MLflow's ``MLFLOW_TRACKING_USERNAME`` / ``MLFLOW_TRACKING_PASSWORD`` for the duration of
a ``with`` block (MLflow reads them on every request, including artifact uploads) and restores them after: the
runner logs one party at a time and is not meant to share its process with other MLflow threads. The block also
sets ``MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT`` (MLflow prints run links when a run on a server ends; the library
never prints, the CLI shows the links).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from techscore.exceptions import AuthError, ServerError, SpecError
from techscore.joint.server import password_env_var
from techscore.joint.spec import JointSpec

__all__ = ["Party", "Tracking", "acting_as", "experiment_id", "is_remote", "log_folder", "log_metrics", "open_run",
           "resolve_tracking", "run_url"]

_USER_ENV = "MLFLOW_TRACKING_USERNAME"
_PASSWORD_ENV = "MLFLOW_TRACKING_PASSWORD"
_QUIET_ENV = "MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT"
_BATCH = 900


@dataclass(frozen=True)
class Party:
    """One tracking identity: its user, the experiment it logs to (name, and on a server the id provisioning
    recorded), and its password (None on a local store)."""

    name: str
    user: str
    experiment: str
    password: str | None = field(default=None, repr=False)
    experiment_id: str | None = None


@dataclass(frozen=True)
class Tracking:
    """Where a joint experiment logs: the URI, the platform and each bank (by bank id)."""

    uri: str
    platform: Party
    banks: dict[str, Party]

    @property
    def remote(self) -> bool:
        return is_remote(self.uri)


def is_remote(uri: str) -> bool:
    """True for a tracking server (``http://`` or ``https://``), False for a local store."""
    return uri.split("://", 1)[0].lower() in ("http", "https")


def _read_credentials(credentials: str | Path | Mapping | None) -> dict:
    if credentials is None:
        return {}
    if isinstance(credentials, Mapping):
        return dict(credentials)
    path = Path(credentials)
    if not path.is_file():
        raise SpecError(f"credentials file {path} not found (`techscore server provision --credentials` writes it).")
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise SpecError(f"credentials file {path} is not valid JSON ({exc}).") from exc
    if not isinstance(doc, dict) or not isinstance(doc.get("users", {}), dict):
        raise SpecError(f"credentials file {path}: expected an object with 'tracking_uri' and 'users'.")
    return doc


def resolve_tracking(
    spec: JointSpec,
    *,
    tracking_uri: str | None = None,
    credentials: str | Path | Mapping | None = None,
    environ: Mapping[str, str] | None = None,
) -> Tracking:
    """The URI and parties of `spec`'s runs.

    The URI is `tracking_uri`, else the credentials file's ``tracking_uri``, else ``$MLFLOW_TRACKING_URI``, else the
    workspace's local store. On a server each party needs a password (credentials file, else
    ``TECHSCORE_PASSWORD_<USER>``); a missing one is an `AuthError` naming the user.
    """
    from techscore.model.tracking import tracking_uri_for

    env = os.environ if environ is None else environ
    creds = _read_credentials(credentials)
    uri = tracking_uri or creds.get("tracking_uri") or env.get("MLFLOW_TRACKING_URI") or None
    uri = tracking_uri_for(uri, spec.workspace)
    users = creds.get("users", {})
    remote = is_remote(uri)

    missing: list[str] = []

    def party(name: str, user: str) -> Party:
        entry = users.get(user) or {}
        experiment = entry.get("experiment") or spec.experiment_of(user)
        if not remote:
            return Party(name, user, experiment)
        password = entry.get("password") or env.get(password_env_var(user))
        if not password:
            missing.append(user)
        found_id = entry.get("experiment_id")
        return Party(name, user, experiment, password, None if found_id in (None, "") else str(found_id))

    banks = {b: party(b, spec.bank_user(b)) for b in spec.banks}
    platform = party("platform", spec.tracking.platform_user)
    if missing:
        raise AuthError(
            f"no password for tracking user{'s' if len(missing) > 1 else ''} {', '.join(map(repr, missing))} on "
            f"{uri}: pass the credentials file `techscore server provision` wrote (--credentials) or set "
            f"{', '.join(password_env_var(u) for u in missing)}."
        )
    return Tracking(uri, platform, banks)


@contextmanager
def acting_as(tracking: Tracking, party: Party) -> Iterator[object]:
    """An `MlflowClient` of `tracking.uri` whose requests carry `party`'s login (none on a local store)."""
    from mlflow import MlflowClient

    saved = {k: os.environ.get(k) for k in (_USER_ENV, _PASSWORD_ENV, _QUIET_ENV)}
    try:
        os.environ[_QUIET_ENV] = "true"  # MLflow writes run links to stdout when a REST run ends; the library never prints
        if party.password is not None:
            os.environ[_USER_ENV] = party.user
            os.environ[_PASSWORD_ENV] = party.password
        yield MlflowClient(tracking_uri=tracking.uri)
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def experiment_id(client, tracking: Tracking, party: Party) -> str:
    """The id of `party`'s experiment: created on a local store when missing; on a server the id provisioning
    recorded in the credentials file, checked to still name `party.experiment` (never looked up by name, which
    whoever named an experiment first would decide)."""
    from mlflow.exceptions import MlflowException

    from techscore.model.tracking import ensure_experiment

    if not tracking.remote:
        return ensure_experiment(client, party.experiment)
    if party.experiment_id is None:
        raise SpecError(
            f"no experiment id for tracking user {party.user!r} on {tracking.uri}: pass the credentials file "
            "`techscore server provision` wrote (--credentials); experiments on a server are found by id, not name."
        )
    try:
        found = client.get_experiment(party.experiment_id)
    except MlflowException as exc:
        if "403" in str(exc) or "PERMISSION_DENIED" in str(exc) or "401" in str(exc):
            raise AuthError(f"user {party.user!r} may not read experiment id {party.experiment_id} "
                            f"({party.experiment!r}) on {tracking.uri}: {exc}") from exc
        raise ServerError(f"tracking server {tracking.uri}: {exc}") from exc
    if found.name != party.experiment or found.lifecycle_stage != "active":
        raise ServerError(
            f"experiment id {party.experiment_id} on {tracking.uri} is {found.name!r} ({found.lifecycle_stage}), "
            f"not the active {party.experiment!r} the credentials name; nothing was logged. Ask the server's "
            "operator: experiments are not renamed once provisioned."
        )
    return str(found.experiment_id)


def open_run(client, experiment: str, *, run_name: str, tags: Mapping[str, str],
             params: Mapping[str, object] | None = None) -> str:
    """Create a run in experiment id `experiment` with tags and params; returns its run id."""
    from mlflow.entities import Param
    from mlflow.utils.mlflow_tags import MLFLOW_RUN_NAME

    run = client.create_run(experiment, tags={**tags, MLFLOW_RUN_NAME: run_name}, run_name=run_name)
    items = [Param(k, str(v)[:6000]) for k, v in sorted((params or {}).items())]
    for i in range(0, len(items), 100):
        client.log_batch(run.info.run_id, params=items[i:i + 100])
    return run.info.run_id


def log_metrics(client, run_id: str, metrics: Mapping[str, float]) -> None:
    """Log the finite metrics in batches (names made safe for MLflow)."""
    from mlflow.entities import Metric

    from techscore.model.tracking import metric_name

    now = int(time.time() * 1000)
    items = [Metric(metric_name(k), float(v), now, 0) for k, v in metrics.items()
             if v is not None and np.isfinite(v)]
    for i in range(0, len(items), _BATCH):
        client.log_batch(run_id, metrics=items[i:i + _BATCH])


def log_folder(client, run_id: str, folder: str | Path) -> None:
    """Log every file and sub-folder of `folder` at the run's artifact root."""
    for item in sorted(Path(folder).iterdir()):
        if item.is_dir():
            client.log_artifacts(run_id, str(item), artifact_path=item.name)
        else:
            client.log_artifact(run_id, str(item))


def run_url(tracking: Tracking, experiment_id: str, run_id: str) -> str:
    """Where a person opens the run: the server's UI page, or a ``runs:/`` URI on a local store."""
    if tracking.remote:
        return f"{tracking.uri.rstrip('/')}/#/experiments/{experiment_id}/runs/{run_id}"
    return f"runs:/{run_id}"
