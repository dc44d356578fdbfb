"""``/v1``: the OpenAI-compatible endpoints, authenticated by participant API keys.

* ``GET /v1/models`` -> ``{"object": "list", "data": [{"id", "object": "model", "created", "owned_by"}]}``.
* ``POST /v1/chat/completions`` -> a ``chat.completion`` or, with
  ``stream: true``, ``chat.completion.chunk`` SSE events ending in
  ``data: [DONE]`` (a usage chunk first with ``stream_options.include_usage``).

Order of checks (every refusal is OpenAI's error JSON and stores nothing):
the key's header and shape (``Authorization: Bearer``, 401; a key in any
other header or in the URL is refused, 401 ``wrong_header``), requests per
minute per client IP and per key (429), body size / JSON (413/400), fields
(400), model (404), moderation (400), concurrent requests per key (429),
then in one worker-thread hop the key itself (401 unknown, revoked or its
consent withdrawn), turns per day (429) and the history is stored (:mod:`.logging`) and the reply generated
(:mod:`.stream`).  A backend failure is stored with the partial reply and
answered 502 (``stream: false``) or with an ``error`` event.
"""

from __future__ import annotations

import threading
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import anyio
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import Connection
from starlette.responses import Response

from wildchat.collect.backends.base import GenerationParams
from wildchat.collect.body import read_json
from wildchat.collect.deps import AppServices, Client
from wildchat.collect.errors import ApiError, api_error
from wildchat.collect.gateway.keys import KeyOwner, KeyRefused, authenticate, key_prefix
from wildchat.collect.gateway.logging import address_key, start_gateway_exchange
from wildchat.collect.gateway.shape import (
    ChatCompletionRequest,
    ParseLimits,
    completion,
    new_completion_id,
    openai_error,
    parse_request,
)
from wildchat.collect.gateway.stream import GatewayExchange, GatewayStream
from wildchat.collect.refusals import Refusal
from wildchat.collect.services import Services

__all__ = ["StreamSlots", "router"]

router = APIRouter(prefix="/v1")

#: Headers and query parameters other clients put keys in: refused, so a key never travels there unnoticed.
_WRONG_HEADERS = ("api-key", "x-api-key", "openai-api-key", "x-goog-api-key")
_WRONG_QUERY = ("api_key", "key", "api-key")


class StreamSlots:
    """Concurrent requests per key in this process (a per-process cap, like the in-process limiter)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._open: dict[str, int] = {}
        self._lock = threading.Lock()

    def acquire(self, prefix: str) -> Callable[[], None]:
        """A release function, or :class:`ApiError` 429 when the key already has ``limit`` open."""
        with self._lock:
            n = self._open.get(prefix, 0)
            if n >= self.limit:
                raise ApiError(
                    429, "too_many_concurrent_requests", f"at most {self.limit} concurrent requests per key"
                )
            self._open[prefix] = n + 1
        released = False

        def release() -> None:
            nonlocal released
            with self._lock:
                if released:
                    return
                released = True
                left = self._open.get(prefix, 1) - 1
                if left > 0:
                    self._open[prefix] = left
                else:
                    self._open.pop(prefix, None)

        return release

    def open(self, prefix: str) -> int:
        return self._open.get(prefix, 0)


def _slots(request: Request, services: Services) -> StreamSlots:
    slots: StreamSlots | None = getattr(request.app.state, "gateway_slots", None)
    if slots is None:
        slots = StreamSlots(services.settings.gateway_concurrent_per_key)
        request.app.state.gateway_slots = slots
    return slots


def _bearer(request: Request) -> str:
    """The key from ``Authorization: Bearer``; 401 (never echoing it) otherwise."""
    header = request.headers.get("authorization")
    if header is None:
        if any(h in request.headers for h in _WRONG_HEADERS) or any(
            q in request.query_params for q in _WRONG_QUERY
        ):
            raise ApiError(401, "wrong_header", "send the API key as 'Authorization: Bearer KEY' only")
        raise ApiError(401, "missing_api_key", "send the API key as 'Authorization: Bearer KEY'")
    scheme, _, key = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        raise ApiError(401, "wrong_header", "send the API key as 'Authorization: Bearer KEY' only")
    if any(q in request.query_params for q in _WRONG_QUERY):
        raise ApiError(401, "wrong_header", "never put an API key in the URL")
    return key.strip()


def _authenticate(services: Services, key: str, conn: Connection | None = None) -> KeyOwner:
    """Blocking key check (a worker thread; on ``conn`` when given); 401 ``invalid_api_key`` if refused."""
    settings = services.settings
    try:
        return authenticate(
            services.engine if conn is None else conn,
            key,
            version=settings.consent_version,
            max_age=timedelta(days=settings.consent_max_age_days),
            now=datetime.now(UTC),
        )
    except KeyRefused as exc:
        raise ApiError(401, "invalid_api_key", exc.reason) from exc


async def _owner(request: Request, services: Services) -> KeyOwner:
    run = partial(_authenticate, services, _bearer(request))
    return await anyio.to_thread.run_sync(run, limiter=services.db_limiter)


async def _guard(handler: Awaitable[Response]) -> Response:
    """Run a handler; every :class:`ApiError` or refusal becomes OpenAI's error shape.

    A refusal's status comes from the same table as on the page
    (:func:`wildchat.collect.errors.api_error`); only the body's shape differs.
    """
    try:
        return await handler
    except (ApiError, Refusal) as exc:
        err = api_error(exc)
        return openai_error(err.status, err.code, err.message, err.retry_after)


@router.get("/models", response_model=None)
async def list_models(request: Request, services: AppServices) -> Response:
    """The configured models, in OpenAI's list shape."""

    async def handle() -> Response:
        await _owner(request, services)
        created = 0
        data = [
            {"id": e.spec.name, "object": "model", "created": created, "owned_by": "wildchat"}
            for e in services.registry.entries()
        ]
        return JSONResponse({"object": "list", "data": data})

    return await _guard(handle())


def _limit_requests(services: Services, prefix: str, rate_key: str) -> None:
    services.limiter.check_request(rate_key)
    services.limiter.check_request(f"key:{prefix}")


@router.post("/chat/completions", response_model=None)
async def chat_completions(request: Request, services: AppServices, client: Client) -> Response:
    """One exchange, logged (see module doc)."""
    return await _guard(_complete(request, services, client))


async def _complete(request: Request, services: Services, client: Any) -> Response:
    settings = services.settings
    key = _bearer(request)
    prefix = key_prefix(key)
    if prefix is None:
        raise ApiError(401, "invalid_api_key", "invalid API key")
    if services.limiter.remote:
        await anyio.to_thread.run_sync(_limit_requests, services, prefix, client.rate_key)
    else:
        _limit_requests(services, prefix, client.rate_key)
    body = await read_json(request, settings.gateway_max_body_bytes, media_error_status=400)
    limits = ParseLimits(
        settings.gateway_max_messages, settings.max_message_chars, settings.max_turns_per_conversation
    )
    req = parse_request(body, limits)
    entry = next((e for e in services.registry.entries() if e.spec.name == req.model), None)
    if entry is None:
        raise ApiError(404, "model_not_found", "unknown model; GET /v1/models lists the available ones")
    if not services.moderator.allows(req.messages[-1].content):
        raise ApiError(400, "content_filter", "this message is not accepted by the service's content rules")
    release = _slots(request, services).acquire(prefix)
    try:
        exchange = await _prepare(services, req, key, client, entry)
    except BaseException:
        release()
        raise
    exchange.on_done = release
    cid, created = new_completion_id()
    if req.stream:
        return GatewayStream(exchange, cid, created, req.include_usage, settings.stream_flush_ms / 1000.0)
    await exchange.generate(_ignore)
    if exchange.finish in ("error", "timeout"):
        code = "backend_" + exchange.finish
        return openai_error(502 if exchange.finish == "error" else 504, code, "the model failed to answer")
    return JSONResponse(
        completion(cid, created, entry.spec.name, exchange.text, exchange.finish, exchange.usage)
    )


async def _prepare(
    services: Services, req: ChatCompletionRequest, api_key: str, client: Any, entry: Any
) -> GatewayExchange:
    key = address_key(services.settings.key_bytes)

    def run() -> Any:  # one worker-thread hop: the key, the daily turn limit, the history transaction
        services.limiter.check_turn(client.rate_key)
        return start_gateway_exchange(
            services.engine,
            key,
            owner=lambda conn: _authenticate(services, api_key, conn).consent_id,
            messages=req.messages,
            unsupported=req.unsupported,
            client=client,
            now=datetime.now(UTC),
        )

    prepared = await anyio.to_thread.run_sync(run, limiter=services.db_limiter)
    max_tokens = min(req.max_tokens or entry.spec.max_tokens, entry.spec.max_tokens)
    return GatewayExchange(
        prepared=prepared,
        backend=entry.backend,
        model_name=entry.spec.name,
        params=GenerationParams(max_tokens=max_tokens, temperature=req.temperature, top_p=req.top_p),
        stop=req.stop,
        timeout_s=services.settings.generation_timeout_s,
        engine=services.engine,
        address_key=key,
        db_limiter=services.db_limiter,
    )


async def _ignore(_text: str) -> None:
    return None
