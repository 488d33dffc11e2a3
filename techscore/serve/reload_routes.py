"""The service's side of promotion: the watcher started with the app, SIGHUP, and `POST /v1/admin/reload`."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import uuid

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from techscore.serve.engine import OnlineScorer
from techscore.serve.metrics import ServiceMetrics
from techscore.serve.reload import ModelWatcher, admin_token_matches
from techscore.serve.schemas import ErrorBody

__all__ = ["add_reload_route", "follow_alias"]


class ReloadAnswer(BaseModel):
    """What a reload found: the version before and after, whether it switched, the alias followed."""

    previous: str
    version: str
    switched: bool
    follows: str | None


def follow_alias(state: dict, metrics: ServiceMetrics, config) -> ModelWatcher:
    """Start following the alias of the model in `state["scorer"]` (polling every `config.poll_seconds`, and on
    SIGHUP where the app runs in the main thread); the returned watcher's `stop()` ends it."""

    def install(scorer: OnlineScorer) -> None:
        state["scorer"] = scorer  # one assignment: a request reads the scorer once and is answered by it
        m = scorer.served
        metrics.serving(m.name, m.version, m.catalogue_version)
        metrics.reloads.labels("switched").inc()

    watcher = ModelWatcher(state["scorer"], install, tracking_uri=config.tracking_uri,
                           poll_seconds=config.poll_seconds,
                           on_failure=lambda exc: metrics.reloads.labels("failed").inc())
    state["watcher"] = watcher
    watcher.start()
    if watcher.follows is not None:
        loop = asyncio.get_running_loop()
        with contextlib.suppress(ValueError, RuntimeError, NotImplementedError):  # not the main thread (tests)
            loop.add_signal_handler(signal.SIGHUP, watcher.trigger)
    return watcher


def _refuse(status: int, code: str, message: str) -> JSONResponse:
    request_id = str(uuid.uuid4())
    return JSONResponse({"request_id": request_id, "error": {"code": code, "message": message, "errors": []}},
                        status_code=status, headers={"X-Request-Id": request_id})


def add_reload_route(app: FastAPI, state: dict, config, metrics: ServiceMetrics) -> None:
    """`POST /v1/admin/reload`: check the alias now and switch if it moved (admin token required)."""

    @app.post("/v1/admin/reload", response_model=ReloadAnswer,
              responses={code: {"model": ErrorBody} for code in (401, 403, 503)})
    async def reload_model(request: Request) -> JSONResponse:
        """Ask the registry whether the alias moved and, if so, load the new version and switch to it (the old
        one answers meanwhile). Needs the admin token: 'Authorization: Bearer <token>'. With several workers it
        reaches one of them; the others follow at their next poll."""
        if config.admin_token_sha256 is None:
            return _refuse(403, "reload_disabled", "no admin token is configured (admin_token), so reloading over "
                                                   "HTTP is off; send SIGHUP or wait for the next poll.")
        auth = request.headers.get("authorization", "")
        token = auth[7:].strip() if auth.lower().startswith("bearer ") else None
        if not admin_token_matches(token, config.admin_token_sha256):
            return _refuse(401, "invalid_admin_token", "the admin token is missing or wrong.")
        watcher: ModelWatcher | None = state.get("watcher")
        if watcher is None:
            return _refuse(503, "not_ready", "the model is not loaded yet.")
        try:
            result = await asyncio.to_thread(watcher.check)
        except Exception as exc:  # the old version keeps serving; the operator learns why
            metrics.reloads.labels("failed").inc()
            return _refuse(503, "reload_failed", f"could not load the new version of {watcher.follows}; the old "
                                                 f"one keeps serving: {exc}")
        return JSONResponse(result.as_dict())
