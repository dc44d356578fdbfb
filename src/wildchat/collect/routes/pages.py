"""``GET /`` (the chat page, which shows the consent document first) and ``GET /healthz``."""

from __future__ import annotations

import html
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse, HTMLResponse, Response

from wildchat.collect.deps import AppServices

router = APIRouter()

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"


@router.get("/", include_in_schema=False)
def index(services: AppServices) -> Response:
    """The front end; a plain consent page when the front end is not installed."""
    page = STATIC_DIR / "index.html"
    if page.exists():
        return FileResponse(page, media_type="text/html", headers={"cache-control": "no-cache"})
    settings = services.settings
    body = (
        "<!doctype html><meta charset=utf-8><title>wildchat</title>"
        f"<h1>Before you chat</h1><pre>{html.escape(services.consent_text)}</pre>"
        f"<p>Consent version {html.escape(settings.consent_version)}. "
        "Agree with <code>POST /api/consent</code>.</p>"
    )
    return HTMLResponse(body)


@router.get("/healthz", include_in_schema=False)
def healthz() -> dict[str, bool]:
    return {"ok": True}
