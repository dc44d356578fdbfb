"""The FastAPI factory every app uses, and the ``{"detail": msg}`` error handlers.

Choices made once for all apps:

* no ``/docs``, ``/redoc`` or ``/openapi.json``: the apps are not public APIs
  to browse, and a schema page is a map of the attack surface;
* FastAPI's built-in OpenTelemetry off: it would record client addresses
  (a deployer who wants tracing wires it deliberately);
* the security headers (:mod:`wildchat.web.httpsec`) are the outermost
  middleware, so every response carries them -- errors from the inner
  middleware, error handlers and streams included.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.telemetry import TelemetryConfig
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware import Middleware

from wildchat.web.httpsec import SECURITY_HEADERS, SecurityHeadersMiddleware

__all__ = ["NO_TELEMETRY", "install_detail_errors", "web_app"]

#: FastAPI's telemetry switches, all off.
NO_TELEMETRY: TelemetryConfig = {"tracing": False, "metrics": False, "logs": False, "operation_spans": False}

Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[Any]]


def web_app(
    title: str,
    *,
    lifespan: Lifespan | None = None,
    headers: Mapping[str, str] = SECURITY_HEADERS,
    middleware: Sequence[Middleware] = (),
) -> FastAPI:
    """A FastAPI app with the project's choices (see the module doc).

    ``middleware`` runs inside the security-headers middleware, first item
    outermost; ``headers`` replaces the default header set (the labelling page
    sends a stricter one).
    """
    return FastAPI(
        title=title,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        telemetry=NO_TELEMETRY,
        middleware=[Middleware(SecurityHeadersMiddleware, headers=headers), *middleware],
    )


def _validation_detail(exc: Exception) -> str:
    """``field: problem; ...`` (the request-body or query location without its first part), no values."""
    errors = exc.errors() if isinstance(exc, RequestValidationError) else []
    parts = [f"{'.'.join(str(p) for p in e.get('loc', ())[1:])}: {e.get('msg', '')}" for e in errors]
    return "; ".join(parts) or "invalid request"


def install_detail_errors(app: FastAPI, statuses: Mapping[type[Exception], tuple[int, str]]) -> None:
    """Error responses as ``{"detail": msg}`` for the read-mostly apps (explorer, review page).

    ``statuses`` maps an exception class to ``(status, message when the
    exception has none)``; the message is otherwise ``str(exc)``.  Request
    validation problems are a 400 naming the fields (never their values);
    Starlette's own HTTP errors (404 route, 405 method) keep their status,
    detail and headers.
    """

    def handler(status: int, fallback: str) -> Callable[[Request, Exception], Any]:
        async def handle(_request: Request, exc: Exception) -> Response:
            return JSONResponse({"detail": str(exc) or fallback}, status_code=status)

        return handle

    async def validation(_request: Request, exc: Exception) -> Response:
        return JSONResponse({"detail": _validation_detail(exc)}, status_code=400)

    async def http_error(_request: Request, exc: Exception) -> Response:
        status = exc.status_code if isinstance(exc, StarletteHTTPException) else 500
        detail = exc.detail if isinstance(exc, StarletteHTTPException) else "error"
        return JSONResponse({"detail": detail}, status_code=status, headers=getattr(exc, "headers", None))

    for kind, (status, fallback) in statuses.items():
        app.add_exception_handler(kind, handler(status, fallback))
    app.add_exception_handler(RequestValidationError, validation)
    app.add_exception_handler(StarletteHTTPException, http_error)
