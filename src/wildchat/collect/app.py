"""The app factory: ``create_app(settings)`` -> FastAPI.

Everything stateful (engine, backends, limiter, signer, geolocator) is built
here from the settings and stored on ``app.state.services``; the lifespan
brings the database to the current migration before the first request (a
no-op check when ``wildchat serve`` or an earlier app already did) and closes
backends and the engine at shutdown.  ``app_from_env`` is the factory uvicorn workers call
(``--workers N``): it rebuilds the same settings from a 0600 file the parent
process wrote (:func:`write_worker_settings`); the environment only carries
that file's path, never a key.  Every response carries the project's
security headers; the app itself comes from :func:`wildchat.web.app.web_app`
(no docs pages, no telemetry), shared with the explorer.
"""

from __future__ import annotations

import gc
import json
import os
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import anyio
from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.middleware import Middleware

from wildchat.collect.db.migrate import ensure_migrated
from wildchat.collect.db.session import warm_pool
from wildchat.collect.errors import install_error_handlers
from wildchat.collect.gateway import install_gateway
from wildchat.collect.middleware import HeaderLimitMiddleware
from wildchat.collect.routes import admin, chat, consent, models, pages, render
from wildchat.collect.routes import me as me_routes
from wildchat.collect.services import build_services
from wildchat.collect.settings import Settings
from wildchat.web.app import web_app

__all__ = ["ENV_SETTINGS_FILE", "app_from_env", "create_app", "write_worker_settings"]

#: Environment variable naming the 0600 file that holds the parent's settings for worker processes.
ENV_SETTINGS_FILE = "WILDCHAT_SERVE_SETTINGS_FILE"


def create_app(settings: Settings, *, run_migrations: bool = True, freeze_gc: bool = False) -> FastAPI:
    """A ready-to-serve app for ``settings`` (the database is migrated at startup unless told not to).

    ``freeze_gc`` (server processes, not tests): once started, the objects
    built so far (app, engine, models, imports) move to the collector's
    permanent generation, so full collections during serving don't walk them
    -- fewer long pauses in the latency tail.
    """
    services = build_services(settings)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        services.db_limiter = anyio.CapacityLimiter(settings.db_pool_size)
        if run_migrations:
            await anyio.to_thread.run_sync(ensure_migrated, services.engine)
        await anyio.to_thread.run_sync(warm_pool, services.engine, settings.db_pool_size)
        if freeze_gc:
            gc.collect()
            gc.freeze()
        try:
            yield
        finally:
            await services.registry.aclose()
            services.engine.dispose()

    limits = Middleware(
        HeaderLimitMiddleware, max_headers=settings.max_headers, max_bytes=settings.max_header_bytes
    )
    app = web_app("wildchat", lifespan=lifespan, middleware=[limits])
    app.state.services = services
    install_error_handlers(app)
    app.include_router(pages.router)
    app.include_router(consent.router)
    app.include_router(models.router)
    app.include_router(chat.router)
    app.include_router(render.router)
    app.include_router(admin.router)
    app.include_router(me_routes.router)
    install_gateway(app)
    app.mount("/static", StaticFiles(directory=pages.STATIC_DIR, check_dir=False), name="static")
    return app


def write_worker_settings(settings: Settings, folder: Path | None = None) -> Path:
    """Write ``settings`` (keys included) to a new 0600 file in a new 0700 folder; returns its path.

    The caller removes the folder when the workers are done.  The file is
    opened with ``O_EXCL`` and mode 0600 from the start, so no other user can
    read it at any moment.
    """
    private = Path(tempfile.mkdtemp(prefix="wildchat-serve-", dir=folder))  # mode 0700
    path = private / "settings.json"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(settings.to_worker_json())
    return path


def app_from_env() -> FastAPI:
    """Factory for uvicorn workers: settings from the file named by :data:`ENV_SETTINGS_FILE`."""
    name = os.environ.get(ENV_SETTINGS_FILE)
    if not name:
        raise RuntimeError(f"{ENV_SETTINGS_FILE} is not set; start the server with `wildchat serve`")
    raw = Path(name).read_text(encoding="utf-8")
    return create_app(Settings(**json.loads(raw)), freeze_gc=True)
