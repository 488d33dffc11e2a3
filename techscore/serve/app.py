"""The scoring service's HTTP API (FastAPI): versioned routes over one model loaded at start-up.

`POST /v1/score` checks and scores feature records (all or nothing), records every decision in the audit trail
before answering, and answers 4xx with field-level errors for input it cannot score, never 5xx for bad input.
`POST /v1/firms/score` does the same for firms by code, their features read from the feature snapshot (each
answer and audit row names the snapshot); `GET /v1/firms/{uscc}/report` renders the firm report page for the
reviewer. `GET /v1/model`, `/healthz`, `/readyz` and `/metrics` (Prometheus) serve operators.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response

from techscore.serve.audit import AuditError, AuditLog, AuditRecord, features_hash
from techscore.serve.engine import OnlineScorer
from techscore.serve.firms import FirmsQuery, check_as_of, check_codes, firm_records, firms_query
from techscore.serve.keys import ApiKey, KeyStore, RateLimiter, rate_limit_file
from techscore.serve.metrics import CONTENT_TYPE, ServiceMetrics
from techscore.serve.model import ServedModel, load_served_model
from techscore.serve.problems import RequestProblem
from techscore.serve.problems import error_response as _error
from techscore.serve.records import FieldError
from techscore.serve.reload_routes import add_reload_route, follow_alias
from techscore.serve.report import firm_report_page
from techscore.serve.schemas import (
    ErrorBody,
    FirmScoreRequest,
    FirmScoreResponse,
    ModelInfo,
    ScoreRequest,
    ScoreResponse,
)
from techscore.serve.snapshot_store import FeatureSnapshot, SnapshotError, SnapshotHolder

__all__ = ["API_VERSION", "ServiceConfig", "create_app"]

API_VERSION = "v1"
DEFAULT_MAX_BODY_BYTES = 1 << 20
DEFAULT_MAX_RECORDS = 1000


@dataclass(frozen=True)
class ServiceConfig:
    """What a service serves and where it records.

    model : a model folder or `models:/name@alias` (loaded once at start-up).
    audit : the audit trail's SQLite file.
    reasons : reason codes per firm unless a request asks for fewer.
    max_body_bytes, max_records : larger requests are refused (413) before any work.
    keys : the API key store (`techscore serve keys add`); None: no keys asked for, the caller is the `X-Caller`
        header (a service on loopback or behind a gateway that authenticates).
    poll_seconds : how often to ask the registry whether the alias moved (None: only on SIGHUP or reload).
    admin_token_sha256 : the SHA-256 of the token `POST /v1/admin/reload` asks for (None: the route refuses).
    """

    model: str
    audit: Path
    tracking_uri: str | None = None
    reasons: int = 5
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    max_records: int = DEFAULT_MAX_RECORDS
    keys: Path | None = None
    snapshots: Path | None = None
    """The feature snapshot store (`techscore serve snapshot`) firms are scored from by code; None: no
    `/v1/firms` routes can answer (503)."""
    poll_seconds: float | None = None
    admin_token_sha256: str | None = None


def _parse_constant(name: str) -> float:
    return float(name)  # NaN, Infinity, -Infinity: accepted so the row checks can name the field


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise RequestProblem(413, "body_too_large", f"the body has {int(declared)} bytes; at most {limit} accepted.")
    body = bytearray()
    async for part in request.stream():
        body += part
        if len(body) > limit:
            raise RequestProblem(413, "body_too_large", f"the body exceeds {limit} bytes.")
    return bytes(body)


_KEY_PROBLEMS = {
    "malformed": ("invalid_key", "the API key is not of the form ts_<key id>_<secret>."),
    "unknown": ("invalid_key", "the API key is not known to this service."),
    "revoked": ("revoked_key", "the API key was revoked; ask for a new one."),
}


def _token(request: Request) -> str | None:
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip()
    return request.headers.get("x-api-key")


def _authorise(request: Request, state: dict) -> tuple[str, ApiKey | None]:
    """(the caller, its key) or a `RequestProblem`: 401 without a valid key, 429 over the key's rate."""
    store: KeyStore | None = state.get("keys")
    if store is None:
        return request.headers.get("x-caller", "anonymous")[:200], None
    token = _token(request)
    if not token:
        raise RequestProblem(401, "missing_key", "an API key is required: 'Authorization: Bearer <key>' or "
                                                 "'X-API-Key: <key>'.")
    key, why = store.authenticate(token)
    if key is None:
        raise RequestProblem(401, *_KEY_PROBLEMS[why])
    wait = state["limiter"].allow(key)
    if wait > 0:
        raise RequestProblem(429, "rate_limited", f"key {key.key_id} may send {key.rate:g} requests per second; "
                                                  f"retry in {wait:.2f} s.", retry_after=wait)
    return f"{key.bank}/{key.key_id}", key


def _json_object(raw: bytes, wanted: str) -> dict:
    """The body as a JSON object (with the field `wanted`), or a `RequestProblem`."""
    try:
        doc = json.loads(raw, parse_constant=_parse_constant)
    except (ValueError, RecursionError) as exc:
        raise RequestProblem(400, "malformed_json", f"the body is not JSON: {exc}.") from exc
    if not isinstance(doc, dict):
        raise RequestProblem(422, "wrong_type", f"the body must be an object with '{wanted}'; got {type(doc).__name__}.")
    return doc


def _parse_request(raw: bytes, config: ServiceConfig) -> tuple[list[dict], int | None, str | None]:
    """The records, the reasons asked for and the bank named, or a `RequestProblem` naming what is wrong."""
    doc = _json_object(raw, "records")
    records = doc.get("records")
    if not isinstance(records, list) or not records:
        got = "nothing" if records is None else (type(records).__name__ if not isinstance(records, list) else "[]")
        raise RequestProblem(422, "missing_field", f"records: expected a non-empty list of records; got {got}.",
                             [FieldError(-1, "records", "missing_field", "expected a non-empty list")])
    if len(records) > config.max_records:
        raise RequestProblem(413, "too_many_records",
                             f"records: at most {config.max_records} per request; got {len(records)}.")
    bad = [FieldError(i, "", "wrong_type", f"record {i}: expected an object; got {type(r).__name__}.")
           for i, r in enumerate(records) if not isinstance(r, dict)]
    if bad:
        raise RequestProblem(422, "wrong_type", "every record must be an object.", bad)
    return (records, *_options(doc))


def _options(doc: dict) -> tuple[int | None, str | None]:
    """The reasons asked for and the bank named in a request body, or a `RequestProblem`."""
    reasons = doc.get("reasons")
    if reasons is not None and (isinstance(reasons, bool) or not isinstance(reasons, int) or reasons < 0):
        raise RequestProblem(422, "wrong_type", f"reasons: expected a non-negative integer; got {reasons!r}.",
                             [FieldError(-1, "reasons", "wrong_type", "expected a non-negative integer")])
    bank = doc.get("bank")
    if bank is not None and not isinstance(bank, str):
        raise RequestProblem(422, "wrong_type", f"bank: expected text; got {type(bank).__name__}.",
                             [FieldError(-1, "bank", "wrong_type", "expected text")])
    return reasons, bank


def _check_bank(key: ApiKey | None, bank: str | None) -> None:
    if key is not None and bank is not None and bank != key.bank:
        raise RequestProblem(403, "wrong_bank", f"key {key.key_id} is scoped to bank {key.bank}; the request names "
                                                f"bank {bank}.")


class _Measure:
    """Counts every HTTP request by route, method and status and times it (plain ASGI: Starlette's
    `BaseHTTPMiddleware` costs a task group and a stream per request). An exception no route caught (never
    expected) is answered as a JSON 500 when no answer had started, and counted."""

    def __init__(self, app, metrics: ServiceMetrics) -> None:
        self.app, self.metrics = app, metrics

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 0

        async def sending(message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        except Exception:
            if status:
                raise
            await _error(str(uuid.uuid4()), 500, "internal_error", "the service failed; the request was not "
                                                                    "scored.")(scope, receive, sending)
        path = getattr(scope.get("route"), "path", "unmatched")
        self.metrics.requests.labels(path, scope["method"], str(status)).inc()
        self.metrics.latency.labels(path).observe(time.perf_counter() - start)


def create_app(config: ServiceConfig, *, served: ServedModel | None = None) -> FastAPI:
    """The service's app. The model is loaded at start-up (or `served`, already loaded); the audit trail opened."""
    metrics = ServiceMetrics()
    state: dict = {}

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        model = served or load_served_model(config.model, tracking_uri=config.tracking_uri)
        state["scorer"] = OnlineScorer(model, config.reasons)
        state["audit"] = AuditLog(config.audit)
        if config.keys is not None:
            state["keys"] = KeyStore(config.keys)
            state["limiter"] = RateLimiter(path=rate_limit_file(config.keys))
        if config.snapshots is not None:
            state["snapshots"] = SnapshotHolder(config.snapshots)
        metrics.serving(model.name, model.version, model.catalogue_version)
        watcher = follow_alias(state, metrics, config)
        try:
            yield
        finally:
            watcher.stop()
            state.pop("audit").close()
            if "keys" in state:
                state.pop("keys").close()
                state.pop("limiter").close()
            if "snapshots" in state:
                state.pop("snapshots").close()
            state.clear()

    app = FastAPI(title="techscore scoring service", version=API_VERSION, lifespan=lifespan,
                  description="PD, score, grade and reason codes (中文 and English) for technology SMEs; every "
                              "decision is recorded in the audit trail before the answer leaves.")
    app.state.metrics = metrics

    @app.exception_handler(RequestValidationError)
    async def invalid_parameters(request: Request, exc: RequestValidationError) -> Response:
        """Query and path parameters FastAPI checks answer with the service's own error body."""
        errors = [FieldError(-1, str(e.get("loc", ("",))[-1]), "wrong_type", str(e.get("msg", "")))
                  for e in exc.errors()]
        metrics.rejects.labels("wrong_type").inc()
        return _error(str(uuid.uuid4()), 422, "wrong_type", "; ".join(f"{e.field}: {e.message}" for e in errors),
                      errors)
    app.state.service = state

    app.add_middleware(_Measure, metrics=metrics)

    async def _decide(request_id: str, scorer: OnlineScorer, caller: str, records: list[dict], reasons: int | None,
                      *, snapshot_id: str | None = None, dates: list[str] | None = None) -> Response:
        """Score `records` (all or nothing), record every decision, then answer; 422 or 503 otherwise.

        The audit rows go to the trail's writer thread; the event loop serves other requests while their commit
        (grouped with theirs) runs, and this answer leaves only once the commit that holds its rows returned."""
        # Scored inline: a single record is a few milliseconds of GIL-bound work; a threadpool measured no
        # clear p99 gain on 2 cores and would launch numba's parallel SHAP kernels from several threads at once.
        outcome = scorer.score(records, reasons)
        if outcome.errors:
            for e in outcome.errors:
                metrics.rejects.labels(e.code).inc()
            bad = sorted({e.record for e in outcome.errors})
            return _error(request_id, 422, "invalid_records",
                          f"{len(bad)} of {len(records)} records cannot be scored; nothing was scored.",
                          outcome.errors)
        model = scorer.served
        now = datetime.now(UTC).isoformat(timespec="microseconds")
        features = list(model.model.feature_ids)
        rows = [AuditRecord(request_id, i, now, caller, model.name, model.version, model.catalogue_version,
                            d.uscc, features_hash(r, features), d.pd, d.score, d.grade,
                            tuple(x["code"] for x in d.reasons), snapshot_id)
                for i, (d, r) in enumerate(zip(outcome.decisions, records, strict=True))]
        try:
            await asyncio.wrap_future(state["audit"].submit(rows))
        except AuditError as exc:
            return _error(request_id, 503, "audit_unavailable",
                          f"the decision could not be recorded, so it is not given: {exc}")
        metrics.decisions.inc(len(rows))
        results = [d.as_dict() for d in outcome.decisions]
        body = {"request_id": request_id, "model": {"name": model.name, "version": model.version},
                "catalogue_version": model.catalogue_version}
        if snapshot_id is not None:
            body["snapshot_id"] = snapshot_id
            results = [{**r, "as_of": when} for r, when in zip(results, dates or [], strict=True)]
        body["results"] = results
        return JSONResponse(body, headers={"X-Request-Id": request_id})

    def _ready_scorer() -> OnlineScorer:
        scorer: OnlineScorer | None = state.get("scorer")
        if scorer is None:
            raise RequestProblem(503, "not_ready", "the model is not loaded yet.")
        return scorer

    def _snapshot() -> FeatureSnapshot:
        holder: SnapshotHolder | None = state.get("snapshots")
        if holder is None:
            raise RequestProblem(503, "no_snapshot", "this service has no feature snapshot store (techscore serve "
                                                     "--snapshots DIR); firms cannot be looked up by code.")
        try:
            return holder.current()
        except SnapshotError as exc:
            raise RequestProblem(503, "no_snapshot", str(exc)) from exc

    @app.post(f"/{API_VERSION}/score", response_model=ScoreResponse,
              responses={code: {"model": ErrorBody} for code in (400, 401, 403, 413, 422, 429, 503)},
              openapi_extra={"requestBody": {"required": True, "content": {
                  "application/json": {"schema": ScoreRequest.model_json_schema()}}}})
    async def score(request: Request) -> Response:
        """Score one or many firms: pd, score, grade and the reasons that raise the risk most."""
        request_id = str(uuid.uuid4())
        try:
            scorer = _ready_scorer()
            caller, key = _authorise(request, state)
            records, reasons, bank = _parse_request(await _read_body(request, config.max_body_bytes), config)
            _check_bank(key, bank)
        except RequestProblem as p:
            metrics.rejects.labels(p.code).inc()
            return p.response(request_id)
        return await _decide(request_id, scorer, caller, records, reasons)

    @app.post(f"/{API_VERSION}/firms/score", response_model=FirmScoreResponse,
              responses={code: {"model": ErrorBody} for code in (400, 401, 403, 404, 409, 413, 422, 429, 503)},
              openapi_extra={"requestBody": {"required": True, "content": {
                  "application/json": {"schema": FirmScoreRequest.model_json_schema()}}}})
    async def score_firms(request: Request) -> Response:
        """Score firms by code, their features read from the feature snapshot: the same answer as /v1/score, with
        the snapshot id and each firm's as-of date."""
        request_id = str(uuid.uuid4())
        try:
            scorer = _ready_scorer()
            caller, key = _authorise(request, state)
            doc = _json_object(await _read_body(request, config.max_body_bytes), "firms")
            query = firms_query(doc, config.max_records)
            reasons, bank = _options(doc)
            _check_bank(key, bank)
            snapshot = _snapshot()
            records, dates = firm_records(query, snapshot)
        except RequestProblem as p:
            metrics.rejects.labels(p.code).inc()
            return p.response(request_id)
        return await _decide(request_id, scorer, caller, records, reasons, snapshot_id=snapshot.snapshot_id, dates=dates)

    @app.get(f"/{API_VERSION}/firms/{{uscc}}/report", response_class=HTMLResponse,
             responses={code: {"description": "Refused (error body)", "content": {"application/json": {"schema": {
                 "$ref": "#/components/schemas/ErrorBody"}}}} for code in (401, 404, 409, 422, 429, 503)})
    async def firm_report(request: Request, uscc: str, lang: Literal["zh", "en"] = "zh",
                          as_of: str | None = None) -> Response:
        """The firm report page (HTML, 中文 and English, `lang` shown first) of a firm in the feature snapshot:
        pd, score, grade, SHAP waterfall and reasons, rendered on demand for the reviewer."""
        request_id = str(uuid.uuid4())
        try:
            scorer = _ready_scorer()
            _authorise(request, state)
            check_codes([uscc])
            snapshot = _snapshot()
            records, dates = firm_records(FirmsQuery([uscc], check_as_of(as_of)), snapshot)
            outcome = scorer.score(records, 0)
            if outcome.errors:
                raise RequestProblem(422, "invalid_records", f"the features of {uscc} in snapshot "
                                                             f"{snapshot.snapshot_id} cannot be scored.", outcome.errors)
        except RequestProblem as p:
            metrics.rejects.labels(p.code).inc()
            return p.response(request_id)
        page = await run_in_threadpool(firm_report_page, scorer.served, scorer.chunk.schema, records[0], dates[0],
                                       lang)
        return HTMLResponse(page, headers={"X-Request-Id": request_id, "X-Snapshot-Id": snapshot.snapshot_id})

    @app.get(f"/{API_VERSION}/model", response_model=ModelInfo)
    async def model_info(request: Request) -> dict:
        """The model served: name, version, catalogue version, grades and the features a record carries."""
        scorer: OnlineScorer | None = state.get("scorer")
        if scorer is None:
            return _error(str(uuid.uuid4()), 503, "not_ready", "the model is not loaded yet.")
        try:
            _authorise(request, state)
        except RequestProblem as p:
            metrics.rejects.labels(p.code).inc()
            return p.response(str(uuid.uuid4()))
        m = scorer.served
        return {"name": m.name, "version": m.version, "source": m.source, "catalogue_version": m.catalogue_version,
                "grades": list(m.model.master_scale.grades), "max_reasons": scorer.max_reasons,
                "features": [{"id": f.id, "kind": f.kind, "name_zh": f.name_zh, "name_en": f.name_en,
                              "unit": f.unit, "categories": list(scorer.chunk.schema.categorical.get(f.id, ()))}
                             for f in m.model.features]}

    add_reload_route(app, state, config, metrics)

    @app.get("/healthz")
    async def healthz() -> dict:
        """The process answers."""
        return {"status": "ok"}

    @app.get("/readyz", responses={503: {"description": "Starting: the model or the audit trail is not ready yet."}})
    async def readyz() -> Response:
        """The model is loaded and the audit trail open: the service can take decisions."""
        if "scorer" not in state or "audit" not in state:
            return JSONResponse({"status": "starting"}, status_code=503)
        return JSONResponse({"status": "ready", "model_version": state["scorer"].served.version})

    @app.get("/metrics", response_class=PlainTextResponse)
    async def metrics_text() -> Response:
        """Prometheus text format: requests, latency, decisions, rejects by code, the model served."""
        return Response(metrics.render(), media_type=CONTENT_TYPE)

    return app
