"""The service's refusals: a `RequestProblem` (status, code, message, field errors) and its JSON error body.

Every route answers a request it cannot serve with the same body (`schemas.ErrorBody`), so a caller reads one
shape for a missing key, a bad firm code or an unknown firm.
"""

from __future__ import annotations

import math

from fastapi.responses import JSONResponse

from techscore.serve.records import FieldError

__all__ = ["RequestProblem", "error_response"]


class RequestProblem(Exception):
    """A request the service refuses: HTTP `status`, a `code`, a message and field errors."""

    def __init__(self, status: int, code: str, message: str, errors: list[FieldError] | None = None, *,
                 retry_after: float | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.errors = status, code, message, errors or []
        self.retry_after = retry_after

    def response(self, request_id: str) -> JSONResponse:
        headers = {}
        if self.status == 401:
            headers["WWW-Authenticate"] = "Bearer"
        if self.retry_after is not None:
            headers["Retry-After"] = str(max(1, math.ceil(self.retry_after)))
        return error_response(request_id, self.status, self.code, self.message, self.errors, headers)


def error_response(request_id: str, status: int, code: str, message: str, errors: list[FieldError] | None = None,
                   headers: dict[str, str] | None = None) -> JSONResponse:
    """The error body every route answers with: request id, code, message and field errors."""
    body = {"request_id": request_id,
            "error": {"code": code, "message": message, "errors": [e.as_dict() for e in errors or []]}}
    return JSONResponse(body, status_code=status, headers={"X-Request-Id": request_id, **(headers or {})})
