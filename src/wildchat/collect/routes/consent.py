"""``GET /api/consent`` (the document) and ``POST /api/consent`` (agree + confirm).

The document is picked per request by ``Accept-Language`` among the
configured languages (``consent_file`` table), falling back to the default;
the response names its ``language`` and the page sends it back with the
agreement, so the consent row points at exactly the text that was shown.
A cookie whose consent was withdrawn counts as no consent.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import partial
from typing import Any

import anyio
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import select

from wildchat.collect.body import read_json
from wildchat.collect.consent import InvalidConsent, consent_documents, pick_document
from wildchat.collect.db.models import ConsentRow
from wildchat.collect.deps import AppServices, Client
from wildchat.collect.errors import ApiError
from wildchat.collect.services import Services
from wildchat.collect.store import record_consent

router = APIRouter(prefix="/api")

_MAX_CONSENT_BODY = 4096


def documents(request: Request, services: Services) -> dict[str, str]:
    """Language tag -> consent text, read once per app (files are read at the first request)."""
    docs: dict[str, str] | None = getattr(request.app.state, "consent_documents", None)
    if docs is None:
        docs = consent_documents(services.settings)
        docs["default"] = services.consent_text  # what the plain fallback page shows too
        request.app.state.consent_documents = docs
    return docs


def is_withdrawn(services: Services, consent_id: str) -> bool:
    """True if the consent row is gone or marked withdrawn (one primary-key read)."""
    with services.engine.connect() as conn:
        row = conn.execute(select(ConsentRow.withdrawn_at).where(ConsentRow.id == consent_id)).first()
    return row is None or row.withdrawn_at is not None


@router.get("/consent")
def get_consent(request: Request, services: AppServices) -> dict[str, Any]:
    """The consent document for this browser's language and whether it already agreed to it."""
    settings = services.settings
    try:
        token = services.signer.verify(request.cookies.get(settings.cookie_name), settings.consent_version)
        consented = not is_withdrawn(services, token.consent_id)
    except InvalidConsent:
        consented = False
    language, text = pick_document(documents(request, services), request.headers.get("accept-language"))
    return {"version": settings.consent_version, "language": language, "text": text, "consented": consented}


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
    docs = documents(request, services)
    shown = body.get("language")
    if isinstance(shown, str) and shown in docs:
        document = (shown, docs[shown])
    else:
        document = pick_document(docs, request.headers.get("accept-language"))
    # Each consent inserts a row: capped per client per hour (429 consent_limit), counted only when valid.
    await anyio.to_thread.run_sync(services.limiter.check_consent, client.rate_key)
    now = datetime.now(UTC)
    store = partial(record_consent, services.session_factory, settings.consent_version, client, now, document)
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
