"""``GET /api/consent`` (the document) and ``POST /api/consent`` (agree + confirm)."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import partial
from typing import Any

import anyio
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from wildchat.collect.body import read_json
from wildchat.collect.consent import InvalidConsent
from wildchat.collect.deps import AppServices, Client
from wildchat.collect.errors import ApiError
from wildchat.collect.store import record_consent

router = APIRouter(prefix="/api")

_MAX_CONSENT_BODY = 4096


@router.get("/consent")
def get_consent(request: Request, services: AppServices) -> dict[str, Any]:
    """The current consent document and whether this browser already agreed to it."""
    settings = services.settings
    try:
        services.signer.verify(request.cookies.get(settings.cookie_name), settings.consent_version)
        consented = True
    except InvalidConsent:
        consented = False
    return {"version": settings.consent_version, "text": services.consent_text, "consented": consented}


@router.post("/consent")
async def post_consent(request: Request, services: AppServices, client: Client) -> JSONResponse:
    """Record consent; needs ``agree`` and ``confirm`` both ``true`` and the current version (else 400)."""
    settings = services.settings
    await anyio.to_thread.run_sync(services.limiter.check_request, client.rate_key)
    try:
        body = await read_json(request, _MAX_CONSENT_BODY, media_error_status=400)
    except ApiError as exc:
        if exc.status == 413:
            raise
        raise ApiError(400, "consent_invalid", "send {agree: true, confirm: true, version}") from exc
    if not isinstance(body, dict) or body.get("agree") is not True or body.get("confirm") is not True:
        raise ApiError(400, "consent_invalid", "consent needs both agree: true and confirm: true")
    if body.get("version") != settings.consent_version:
        raise ApiError(400, "consent_version", "this is not the current consent version; reload the terms")
    now = datetime.now(UTC)
    store = partial(record_consent, services.session_factory, settings.consent_version, client, now)
    row = await anyio.to_thread.run_sync(store, limiter=services.db_limiter)
    response = JSONResponse(
        {"consent_id": row.id, "version": row.version, "timestamp": row.created_at.isoformat()}
    )
    response.set_cookie(
        settings.cookie_name,
        services.signer.sign(row.id, row.version),
        max_age=settings.consent_max_age_days * 86400,
        httponly=True,
        secure=settings.cookie_secure,
        samesite="lax",
        path="/",
    )
    return response
