"""One JSON error shape for every 4xx/5xx the server sends.

``{"error": "<stable code>", "message": "<human sentence>"}`` (plus
``retry_after`` seconds on 429).  Messages never echo request content or the
client IP.  Validation errors name the field, not its value.

Domain refusals (:mod:`wildchat.collect.refusals`, raised by the store, the
rate limiter and the takedown code) get their HTTP status here, from
:data:`REFUSAL_STATUS`, and nowhere else: :func:`api_error` is the one
translation, used by the app's handler and by the gateway's OpenAI-shaped one.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from wildchat.collect.refusals import (
    BadParent,
    ConsentGone,
    RateLimited,
    Refusal,
    ReplyInProgress,
    TurnLimit,
    UnknownConversation,
    UnknownParent,
)

__all__ = [
    "REFUSAL_STATUS",
    "ApiError",
    "api_error",
    "error_response",
    "install_error_handlers",
    "validation_message",
]

log = logging.getLogger(__name__)


class ApiError(Exception):
    """Raised anywhere in request handling; turned into a JSON error response."""

    def __init__(self, status: int, code: str, message: str, *, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.retry_after = retry_after


#: The HTTP status of each domain refusal (a subclass not listed takes its nearest listed base's).
REFUSAL_STATUS: dict[type[Refusal], int] = {
    Refusal: 400,
    BadParent: 400,
    ConsentGone: 403,
    UnknownConversation: 404,
    UnknownParent: 404,
    ReplyInProgress: 409,
    TurnLimit: 429,
    RateLimited: 429,
}


def api_error(exc: ApiError | Refusal) -> ApiError:
    """``exc`` as an :class:`ApiError` (a refusal gets its status from :data:`REFUSAL_STATUS`)."""
    if isinstance(exc, ApiError):
        return exc
    status = next(REFUSAL_STATUS[k] for k in type(exc).__mro__ if k in REFUSAL_STATUS)
    retry_after = exc.retry_after if isinstance(exc, RateLimited) else None
    return ApiError(status, exc.code, exc.message, retry_after=retry_after)


def error_response(status: int, code: str, message: str, retry_after: int | None = None) -> JSONResponse:
    body: dict[str, Any] = {"error": code, "message": message}
    headers = {}
    if retry_after is not None:
        body["retry_after"] = retry_after
        headers["Retry-After"] = str(retry_after)
    return JSONResponse(body, status_code=status, headers=headers)


def validation_message(errors: Any) -> str:
    """``field: problem; ...`` from pydantic errors, without input values."""
    parts = []
    for err in list(errors)[:5]:
        loc = ".".join(str(p) for p in err.get("loc", ()) if p != "body") or "body"
        parts.append(f"{loc}: {err.get('msg', 'invalid')}")
    return "; ".join(parts) or "invalid request"


_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
}


async def _api_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError | Refusal)
    err = api_error(exc)
    return error_response(err.status, err.code, err.message, err.retry_after)


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return error_response(422, "invalid_request", validation_message(exc.errors()))


async def _http_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = _HTTP_CODES.get(exc.status_code, "error")
    message = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
    return error_response(exc.status_code, code, message)


async def _internal_error(_request: Request, exc: Exception) -> JSONResponse:
    log.error("unhandled %s", type(exc).__name__, exc_info=exc)
    return error_response(500, "internal_error", "the server failed to handle this request")


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(Exception, _internal_error)
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(Refusal, _api_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
