"""The scoring service's HTTP API (FastAPI): versioned routes over one model loaded at start-up.

`POST /v1/score` checks and scores feature records (all or nothing), records every decision in the audit trail
before answering, and answers 4xx with field-level errors for input it cannot score, never 5xx for bad input.
`GET /v1/model`, `/healthz`, `/readyz` and `/metrics` (Prometheus) serve operators.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from techscore.serve.audit import AuditError, AuditLog, AuditRecord, features_hash
from techscore.serve.engine import OnlineScorer
from techscore.serve.metrics import CONTENT_TYPE, ServiceMetrics
from techscore.serve.model import ServedModel, load_served_model
from techscore.serve.records import FieldError
from techscore.serve.schemas import ErrorBody, ModelInfo, ScoreRequest, ScoreResponse

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
    """

    model: str
    audit: Path
    tracking_uri: str | None = None
    reasons: int = 5
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    max_records: int = DEFAULT_MAX_RECORDS


class RequestProblem(Exception):
    """A request the service refuses: HTTP `status`, a `code`, a message and field errors."""

    def __init__(self, status: int, code: str, message: str, errors: list[FieldError] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.errors = status, code, message, errors or []


def _error(request_id: str, status: int, code: str, message: str, errors: list[FieldError] | None = None):
    body = {"request_id": request_id,
            "error": {"code": code, "message": message, "errors": [e.as_dict() for e in errors or []]}}
    return JSONResponse(body, status_code=status, headers={"X-Request-Id": request_id})


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


def _parse_request(raw: bytes, config: ServiceConfig) -> tuple[list[dict], int | None]:
    """The records and the reasons asked for, or a `RequestProblem` naming what is wrong."""
    try:
        doc = json.loads(raw, parse_constant=_parse_constant)
    except (ValueError, RecursionError) as exc:
        raise RequestProblem(400, "malformed_json", f"the body is not JSON: {exc}.") from exc
    if not isinstance(doc, dict):
        raise RequestProblem(422, "wrong_type", f"the body must be an object with 'records'; got {type(doc).__name__}.")
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
    reasons = doc.get("reasons")
    if reasons is not None and (isinstance(reasons, bool) or not isinstance(reasons, int) or reasons < 0):
        raise RequestProblem(422, "wrong_type", f"reasons: expected a non-negative integer; got {reasons!r}.",
                             [FieldError(-1, "reasons", "wrong_type", "expected a non-negative integer")])
    return records, reasons


def create_app(config: ServiceConfig, *, served: ServedModel | None = None) -> FastAPI:
    """The service's app. The model is loaded at start-up (or `served`, already loaded); the audit trail opened."""
    metrics = ServiceMetrics()
    state: dict = {}

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        model = served or load_served_model(config.model, tracking_uri=config.tracking_uri)
        state["scorer"] = OnlineScorer(model, config.reasons)
        state["audit"] = AuditLog(config.audit)
        metrics.model.labels(model.name, model.version, model.catalogue_version or "").set(1)
        try:
            yield
        finally:
            state.pop("audit").close()
            state.clear()

    app = FastAPI(title="techscore scoring service", version=API_VERSION, lifespan=lifespan,
                  description="PD, score, grade and reason codes (中文 and English) for technology SMEs; every "
                              "decision is recorded in the audit trail before the answer leaves.")
    app.state.metrics = metrics
    app.state.service = state

    @app.middleware("http")
    async def measure(request: Request, call_next):
        start = time.perf_counter()
        try:
            response = await call_next(request)
        except Exception:  # never expected: answered as a JSON 500, still counted
            response = _error(str(uuid.uuid4()), 500, "internal_error", "the service failed; the request was not "
                                                                          "scored.")
        route = request.scope.get("route")
        path = getattr(route, "path", "unmatched")
        metrics.requests.labels(path, request.method, str(response.status_code)).inc()
        metrics.latency.labels(path).observe(time.perf_counter() - start)
        return response

    @app.post(f"/{API_VERSION}/score", response_model=ScoreResponse,
              responses={400: {"model": ErrorBody}, 413: {"model": ErrorBody}, 422: {"model": ErrorBody},
                         503: {"model": ErrorBody}},
              openapi_extra={"requestBody": {"required": True, "content": {
                  "application/json": {"schema": ScoreRequest.model_json_schema()}}}})
    async def score(request: Request) -> Response:
        """Score one or many firms: pd, score, grade and the reasons that raise the risk most."""
        request_id = str(uuid.uuid4())
        scorer: OnlineScorer | None = state.get("scorer")
        if scorer is None:
            return _error(request_id, 503, "not_ready", "the model is not loaded yet.")
        try:
            records, reasons = _parse_request(await _read_body(request, config.max_body_bytes), config)
        except RequestProblem as p:
            metrics.rejects.labels(p.code).inc()
            return _error(request_id, p.status, p.code, p.message, p.errors)
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
        caller = request.headers.get("x-caller", "anonymous")[:200]
        features = list(model.model.feature_ids)
        rows = [AuditRecord(request_id, i, now, caller, model.name, model.version, model.catalogue_version,
                            d.uscc, features_hash(r, features), d.pd, d.score, d.grade,
                            tuple(x["code"] for x in d.reasons))
                for i, (d, r) in enumerate(zip(outcome.decisions, records, strict=True))]
        try:
            state["audit"].append(rows)
        except AuditError as exc:
            return _error(request_id, 503, "audit_unavailable",
                          f"the decision could not be recorded, so it is not given: {exc}")
        metrics.decisions.inc(len(rows))
        body = {"request_id": request_id, "model": {"name": model.name, "version": model.version},
                "catalogue_version": model.catalogue_version, "results": [d.as_dict() for d in outcome.decisions]}
        return JSONResponse(body, headers={"X-Request-Id": request_id})

    @app.get(f"/{API_VERSION}/model", response_model=ModelInfo)
    async def model_info() -> dict:
        """The model served: name, version, catalogue version, grades and the features a record carries."""
        scorer: OnlineScorer | None = state.get("scorer")
        if scorer is None:
            return _error(str(uuid.uuid4()), 503, "not_ready", "the model is not loaded yet.")
        m = scorer.served
        return {"name": m.name, "version": m.version, "source": m.source, "catalogue_version": m.catalogue_version,
                "grades": list(m.model.master_scale.grades), "max_reasons": scorer.max_reasons,
                "features": [{"id": f.id, "kind": f.kind, "name_zh": f.name_zh, "name_en": f.name_en,
                              "unit": f.unit, "categories": list(scorer.chunk.schema.categorical.get(f.id, ()))}
                             for f in m.model.features]}

    @app.get("/healthz")
    async def healthz() -> dict:
        """The process answers."""
        return {"status": "ok"}

    @app.get("/readyz")
    async def readyz() -> Response:
        """The model is loaded and the audit trail open: the service can take decisions."""
        if "scorer" not in state or "audit" not in state:
            return JSONResponse({"status": "starting"}, status_code=503)
        return JSONResponse({"status": "ready", "model_version": state["scorer"].served.version})

    @app.get("/metrics")
    async def metrics_text() -> Response:
        """Prometheus text format: requests, latency, decisions, rejects by code, the model served."""
        return Response(metrics.render(), media_type=CONTENT_TYPE)

    return app
