"""``POST /api/chat``: one exchange, streamed as Server-Sent Events.

Order of checks (each failure is a JSON 4xx and stores nothing): consent
cookie (403), requests per minute (429), body size / UTF-8 / JSON (413/400),
fields (400), model (400), message length (413), moderation (400), turns per
day (429), then conversation, parent and turn limit inside the transaction
that stores the user turn (404/400/429).

Branching: with ``conversation_id`` and no ``parent_id`` the message
continues the conversation's most recent branch (after its latest assistant
turn), as clients of other chat APIs expect; ``parent_id`` = an assistant
turn id branches there explicitly; ``parent_id`` = 0 starts a new branch at
the root (see :mod:`wildchat.collect.store`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import partial
from typing import Any

import anyio
from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr, ValidationError

from wildchat.collect.backends.base import GenerationParams
from wildchat.collect.body import read_json
from wildchat.collect.client import ClientInfo
from wildchat.collect.deps import AppServices, Client, ValidConsent
from wildchat.collect.errors import ApiError, validation_message
from wildchat.collect.services import Services
from wildchat.collect.store import PreparedExchange, start_exchange
from wildchat.collect.streaming import Exchange, ExchangeStream

router = APIRouter(prefix="/api")


class ChatRequest(BaseModel):
    """The chat request body; unknown fields (e.g. a client-sent history) are ignored."""

    model_config = ConfigDict(extra="ignore")

    conversation_id: StrictStr | None = Field(default=None, pattern=r"^[0-9a-f]{32}$")
    message: StrictStr
    model: StrictStr
    #: ``None``: continue the latest branch; ``0``: a new root branch; else the assistant turn to follow.
    parent_id: StrictInt | None = Field(default=None, ge=0, le=2**63 - 1)
    temperature: float | None = Field(default=None, ge=0.0, le=2.0)
    top_p: float | None = Field(default=None, gt=0.0, le=1.0)


def parse_chat_request(body: Any, max_chars: int) -> ChatRequest:
    """Validate a decoded body; :class:`ApiError` with a clear code otherwise."""
    if not isinstance(body, dict):
        raise ApiError(400, "invalid_request", "body must be a JSON object")
    try:
        req = ChatRequest.model_validate(body)
    except ValidationError as exc:
        raise ApiError(400, "invalid_request", validation_message(exc.errors())) from exc
    if not req.message.strip():
        raise ApiError(400, "empty_message", "message is empty")
    if len(req.message) > max_chars:
        raise ApiError(413, "message_too_long", f"message is longer than {max_chars} characters")
    try:
        req.message.encode("utf-8")
    except UnicodeEncodeError as exc:  # lone surrogates from JSON escapes
        raise ApiError(400, "invalid_utf8", "message is not valid Unicode text") from exc
    if "\x00" in req.message:
        raise ApiError(400, "invalid_request", "message contains a NUL character")
    return req


def _prepare(services: Services, req: ChatRequest, consent_id: str, client: ClientInfo) -> PreparedExchange:
    """Thread side of the hot path: daily turn limit, then the user-turn transaction."""
    services.limiter.check_turn(client.rate_key)
    return start_exchange(
        services.engine,
        consent_id=consent_id,
        conversation_id=req.conversation_id,
        parent_id=req.parent_id,
        message=req.message,
        client=client,
        max_turns=services.settings.max_turns_per_conversation,
        now=datetime.now(UTC),
    )


@router.post("/chat", response_model=None)
async def chat(
    request: Request, consent: ValidConsent, services: AppServices, client: Client
) -> ExchangeStream:
    """Store the user turn, stream the reply, store the reply (see module doc)."""
    settings = services.settings
    if services.limiter.remote:
        await anyio.to_thread.run_sync(services.limiter.check_request, client.rate_key)
    else:
        services.limiter.check_request(client.rate_key)
    req = parse_chat_request(await read_json(request, settings.max_body_bytes), settings.max_message_chars)
    entry = services.registry.get(req.model)
    if not services.moderator.allows(req.message):
        raise ApiError(400, "message_refused", "this message is not accepted by the service's content rules")
    prepared = await anyio.to_thread.run_sync(
        partial(_prepare, services, req, consent.consent_id, client), limiter=services.db_limiter
    )
    params = GenerationParams(max_tokens=entry.spec.max_tokens, temperature=req.temperature, top_p=req.top_p)
    return ExchangeStream(
        Exchange(
            prepared=prepared,
            backend=entry.backend,
            model_name=entry.spec.name,
            params=params,
            timeout_s=settings.generation_timeout_s,
            flush_s=settings.stream_flush_ms / 1000.0,
            store=services.engine,
            db_limiter=services.db_limiter,
        )
    )
