"""A participant's own data, scoped to the consent cookie: list, read, delete, withdraw.

* ``GET /api/me/conversations?limit=20&offset=0`` -- newest activity first;
  ``limit`` 1..100 (default 20), ``offset`` >= 0; the body also carries
  ``total`` and ``next_offset`` (``null`` on the last page).
* ``GET /api/me/conversations/{id}`` -- every message and the branches.
* ``DELETE /api/me/conversations/{id}`` -- 204; hard delete plus a tombstone
  in the takedown ledger; 404 for another consent's (or an already deleted)
  conversation; 409 while a reply to it is still streaming.
* ``POST /api/me/withdraw`` with ``{"confirm": true}`` -- deletes every
  conversation of this consent, marks the consent withdrawn and clears the
  cookie; the old cookie then gets 403 on every consent-gated endpoint.

Every endpoint needs a valid, current, not withdrawn consent cookie (else
403).  Ids that are not 32 hex characters are 404, never echoed.
"""

from __future__ import annotations

import re
from functools import partial
from typing import Any

import anyio
from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse

from wildchat.collect.body import read_json
from wildchat.collect.deps import AppServices, Client, ValidConsent
from wildchat.collect.errors import ApiError
from wildchat.collect.mydata import get_conversation, list_conversations
from wildchat.collect.refusals import ConsentGone, UnknownConversation
from wildchat.collect.routes.consent import is_withdrawn
from wildchat.collect.services import Services
from wildchat.collect.takedown import delete_conversation, withdraw_consent
from wildchat.ledger import LedgerKey

router = APIRouter(prefix="/api/me")

_ID = re.compile(r"^[0-9a-f]{32}$")
_MAX_BODY = 1024
#: A user turn younger than this with no reply yet counts as "reply still streaming" (plus the timeout).
_STREAM_MARGIN_S = 30.0


def ledger_key(services: Services) -> LedgerKey:
    """The deployment's ledger key (derived from the secret key; see :mod:`wildchat.ledger`)."""
    return LedgerKey.from_secret(services.settings.key_bytes)


async def _live(services: Services, consent_id: str) -> None:
    if await anyio.to_thread.run_sync(is_withdrawn, services, consent_id, limiter=services.db_limiter):
        raise ConsentGone("consent withdrawn or not found; agree to the terms again")


def _conversation_id(value: str) -> str:
    if not _ID.match(value):
        raise UnknownConversation("no such conversation for this consent")
    return value


@router.get("/conversations")
async def my_conversations(
    consent: ValidConsent,
    services: AppServices,
    limit: int = Query(20, ge=1, le=100),
    offset: int = Query(0, ge=0, le=10_000_000),
) -> dict[str, Any]:
    """This consent's conversations, newest first, one page."""
    await _live(services, consent.consent_id)
    run = partial(list_conversations, services.engine, consent.consent_id, limit=limit, offset=offset)
    return await anyio.to_thread.run_sync(run, limiter=services.db_limiter)


@router.get("/conversations/{conversation_id}")
async def my_conversation(
    conversation_id: str, consent: ValidConsent, services: AppServices
) -> dict[str, Any]:
    """One of this consent's conversations with all its branches (else 404)."""
    cid = _conversation_id(conversation_id)
    await _live(services, consent.consent_id)
    run = partial(get_conversation, services.engine, consent.consent_id, cid)
    return await anyio.to_thread.run_sync(run, limiter=services.db_limiter)


@router.delete("/conversations/{conversation_id}", status_code=204)
async def delete_my_conversation(
    conversation_id: str, consent: ValidConsent, services: AppServices, client: Client
) -> Response:
    """Hard-delete one conversation (one transaction, tombstoned); 204."""
    cid = _conversation_id(conversation_id)
    await anyio.to_thread.run_sync(services.limiter.check_request, client.rate_key)
    run = partial(
        delete_conversation,
        services.engine,
        ledger_key(services),
        consent.consent_id,
        cid,
        stream_window_s=services.settings.generation_timeout_s + _STREAM_MARGIN_S,
    )
    await anyio.to_thread.run_sync(run, limiter=services.db_limiter)
    return Response(status_code=204)


@router.post("/withdraw")
async def withdraw(
    request: Request, consent: ValidConsent, services: AppServices, client: Client
) -> JSONResponse:
    """Delete everything of this consent, mark it withdrawn, clear the cookie."""
    await anyio.to_thread.run_sync(services.limiter.check_request, client.rate_key)
    body = await read_json(request, _MAX_BODY, media_error_status=400)
    if not isinstance(body, dict) or body.get("confirm") is not True:
        raise ApiError(
            400, "confirm_required", 'withdrawal deletes all your conversations: send {"confirm": true}'
        )
    run = partial(withdraw_consent, services.engine, ledger_key(services), consent.consent_id)
    deleted = await anyio.to_thread.run_sync(run, limiter=services.db_limiter)
    response = JSONResponse({"withdrawn": True, "conversations_deleted": deleted})
    settings = services.settings
    response.delete_cookie(
        settings.cookie_name, path="/", secure=settings.cookie_secure, httponly=True, samesite="lax"
    )
    return response
