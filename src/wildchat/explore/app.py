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

from fastapi import FastAPI
from fastapi.responses import FileResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.middleware import Middleware
from starlette.middleware.gzip import GZipMiddleware

from wildchat.explore.model import ExploreIndex, NotFound, QueryError
from wildchat.explore.routes_api import MapCache, router
from wildchat.explore.settings import ExploreSettings
from wildchat.web.app import install_detail_errors, web_app
from wildchat.web.httpsec import CONTENT_SECURITY_POLICY

__all__ = ["CONTENT_SECURITY_POLICY", "STATIC_DIR", "create_explore_app"]

STATIC_DIR = Path(__file__).resolve().parent / "static"
#: Error contract: exception -> (status, message when it carries none).
ERROR_STATUSES: dict[type[Exception], tuple[int, str]] = {
    QueryError: (400, "bad query"),
    NotFound: (404, "not found"),
}


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

    app = web_app(
        "wildchat explore", lifespan=lifespan, middleware=[Middleware(GZipMiddleware, minimum_size=2048)]
    )
    app.state.explore_index = index
    app.state.explore_settings = settings
    app.state.map_cache = MapCache(settings.map_cache_s)
    install_detail_errors(app, ERROR_STATUSES)
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
