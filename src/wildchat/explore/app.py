"""The explorer app factory: ``create_explore_app(index, settings)`` -> FastAPI.

The app is a thin, read-only layer over an :class:`~wildchat.explore.model.ExploreIndex`
(injected, so tests and the command line hand it a real SQLite or PostgreSQL
index and the routes never know which).  It serves the JSON API
(:mod:`wildchat.explore.routes_api`) and one static page whose script renders
every piece of conversation text with ``textContent`` -- conversations carry
hostile markup.  A strict Content-Security-Policy (no inline script, no
third-party origin) is the second line of defence.

Error contract: :class:`QueryError` and request-validation problems are a
400 ``{"detail": msg}``, :class:`NotFound` a 404; only GET/HEAD exist.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.gzip import GZipMiddleware

from wildchat.explore.model import ExploreIndex, NotFound, QueryError
from wildchat.explore.routes_api import MapCache, router
from wildchat.explore.settings import ExploreSettings
from wildchat.httpsec import CONTENT_SECURITY_POLICY, SecurityHeadersMiddleware

__all__ = ["CONTENT_SECURITY_POLICY", "STATIC_DIR", "create_explore_app"]

STATIC_DIR = Path(__file__).resolve().parent / "static"


def _install_error_handlers(app: FastAPI) -> None:
    async def query_error(_request: Request, exc: Exception) -> Response:
        return JSONResponse({"detail": str(exc) or "bad query"}, status_code=400)

    async def not_found(_request: Request, exc: Exception) -> Response:
        return JSONResponse({"detail": str(exc) or "not found"}, status_code=404)

    async def validation(_request: Request, exc: Exception) -> Response:
        errors = exc.errors() if isinstance(exc, RequestValidationError) else []
        parts = [f"{'.'.join(str(p) for p in e.get('loc', ())[1:])}: {e.get('msg', '')}" for e in errors]
        return JSONResponse({"detail": "; ".join(parts) or "invalid request"}, status_code=400)

    async def http_error(_request: Request, exc: Exception) -> Response:
        status = exc.status_code if isinstance(exc, StarletteHTTPException) else 500
        detail = exc.detail if isinstance(exc, StarletteHTTPException) else "error"
        return JSONResponse({"detail": detail}, status_code=status, headers=getattr(exc, "headers", None))

    app.add_exception_handler(QueryError, query_error)
    app.add_exception_handler(NotFound, not_found)
    app.add_exception_handler(RequestValidationError, validation)
    app.add_exception_handler(StarletteHTTPException, http_error)


def create_explore_app(
    index: ExploreIndex, settings: ExploreSettings, *, close_index: bool = False
) -> FastAPI:
    """A read-only explorer over ``index``.

    The caller owns ``index`` unless ``close_index`` is set, in which case
    the app closes it at shutdown (the command line does this).
    """

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        try:
            yield
        finally:
            if close_index:
                index.close()

    app = FastAPI(
        title="wildchat explore",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        # no telemetry: it would record client addresses
        telemetry={"tracing": False, "metrics": False, "logs": False, "operation_spans": False},
    )
    app.state.explore_index = index
    app.state.explore_settings = settings
    app.state.map_cache = MapCache(settings.map_cache_s)
    _install_error_handlers(app)
    app.add_middleware(GZipMiddleware, minimum_size=2048)
    app.add_middleware(SecurityHeadersMiddleware)
    app.include_router(router)

    @app.get("/", include_in_schema=False)
    def page() -> Response:
        return FileResponse(
            STATIC_DIR / "explore.html", media_type="text/html", headers={"cache-control": "no-cache"}
        )

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, bool]:
        return {"ok": True}

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app
