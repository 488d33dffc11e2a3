"""Running the service on uvicorn: one process, or several workers behind one port.

With `workers > 1` uvicorn's supervisor starts that many processes on the same socket; each builds the app from
the configuration this module passes through the environment (`app_from_environment`), loads the model, opens
the audit trail (SQLite in WAL mode takes several writers: each commit waits its turn, up to the busy timeout)
and maps the key store's shared rate-limit buckets (`<keys>.buckets`), so a key's rate holds across workers. SIGTERM stops
taking connections, lets in-flight requests finish (up to `graceful_timeout` seconds) and closes the audit trail;
every answered decision was committed before it was answered.
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

from fastapi import FastAPI

from techscore.serve.app import ServiceConfig, create_app
from techscore.serve.model import ServedModel
from techscore.serve.reload import hash_admin_token
from techscore.serve.settings import ServeSettings

__all__ = ["RUNTIME_ENV", "app_from_environment", "run_service", "service_config"]

RUNTIME_ENV = "TECHSCORE_SERVE_RUNTIME"
"""The variable that hands the service configuration (JSON) to worker processes."""


def service_config(settings: ServeSettings) -> ServiceConfig:
    """The app's configuration from the settings (the admin token reduced to its hash)."""
    return ServiceConfig(model=str(settings.model), audit=settings.audit, tracking_uri=settings.tracking_uri,
                         reasons=settings.reasons, max_body_bytes=settings.max_body_bytes,
                         max_records=settings.max_records, keys=settings.keys, snapshots=settings.snapshots,
                         poll_seconds=settings.poll_seconds or None,
                         admin_token_sha256=hash_admin_token(settings.admin_token) if settings.admin_token else None)


def _dump(config: ServiceConfig) -> str:
    values = {f.name: getattr(config, f.name) for f in dataclasses.fields(config)}
    paths = sorted(k for k, v in values.items() if isinstance(v, Path))
    return json.dumps({"config": {k: str(v) if k in paths else v for k, v in values.items()}, "paths": paths})


def _load(text: str) -> ServiceConfig:
    doc = json.loads(text)
    return ServiceConfig(**{k: Path(v) if k in doc["paths"] else v for k, v in doc["config"].items()})


def app_from_environment() -> FastAPI:
    """The app of one worker process, from the configuration `run_service` left in the environment."""
    return create_app(_load(os.environ[RUNTIME_ENV]))


def run_service(settings: ServeSettings, *, served: ServedModel | None = None) -> None:
    """Serve until SIGTERM or SIGINT (blocks). `served`: the model already loaded (used with one worker)."""
    import uvicorn

    config = service_config(settings)
    common = {"host": settings.host, "port": settings.port, "log_level": "warning", "access_log": False,
              "timeout_graceful_shutdown": settings.graceful_timeout}
    if settings.workers == 1:
        uvicorn.run(create_app(config, served=served), **common)
        return
    os.environ[RUNTIME_ENV] = _dump(config)
    uvicorn.run("techscore.serve.runner:app_from_environment", factory=True, workers=settings.workers, **common)
