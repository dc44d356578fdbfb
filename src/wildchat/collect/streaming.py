"""Streaming one exchange as Server-Sent Events, and never losing it.

Event stream: ``data: {"delta": "..."}`` for each piece of the reply (pieces
arriving within ``stream_flush_ms`` of the last send are merged into one
event, which saves a write per token with fast backends), then
``data: {"conversation_id", "user_turn_id", "assistant_turn_id",
"finish_reason"[, "error"]}``, then ``data: [DONE]``.

The user turn is already stored when streaming starts.  The assistant turn is
stored in a ``finally`` path that is shielded from cancellation, so it is
written whatever happens: a normal end, a backend error (``error``), the
generation deadline (``timeout``), or the client going away
(``client_disconnect``, detected by a task listening for
``http.disconnect`` or by a failing send).  The reply is stored with the
text streamed so far.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from contextlib import aclosing, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from typing import Any

import anyio
import orjson
from starlette.requests import ClientDisconnect
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from wildchat.collect.backends.base import Backend, GenerationParams
from wildchat.collect.store import ExchangeOutcome, PreparedExchange, Transactor, finish_exchange

__all__ = ["Exchange", "ExchangeStream", "sse"]

log = logging.getLogger(__name__)
MAX_ERROR_CHARS = 2000
Emit = Callable[[bytes], Awaitable[None]]


def sse(payload: dict[str, Any] | str) -> bytes:
    """One SSE ``data:`` event (JSON for dicts, verbatim for ``[DONE]``)."""
    body = payload.encode() if isinstance(payload, str) else orjson.dumps(payload)
    return b"data: " + body + b"\n\n"


@dataclass
class _Reply:
    """The reply as it arrives: all text so far, what is not sent yet, and how it ended."""

    parts: list[str] = field(default_factory=list)
    pending: list[str] = field(default_factory=list)  # deltas not yet sent (merged within flush_s)
    finish: str = "stop"
    usage: dict[str, Any] | None = None
    error: str | None = None


@dataclass
class Exchange:
    """Everything needed to generate and store one reply."""

    prepared: PreparedExchange
    backend: Backend
    model_name: str
    params: GenerationParams
    timeout_s: float
    store: Transactor
    flush_s: float = 0.0
    db_limiter: anyio.CapacityLimiter | None = None
    client_gone: bool = False

    async def run(self, emit: Emit) -> None:
        """Stream the reply through ``emit``; store it whatever happens."""
        reply = _Reply()
        cancelled = anyio.get_cancelled_exc_class()
        try:
            await self._generate(reply, emit)
        except TimeoutError:
            reply.finish, reply.error = "timeout", f"no complete reply within {self.timeout_s:g} s"
        except cancelled:
            self.client_gone = True
            raise
        except (OSError, ClientDisconnect):  # a send failed: the client is gone
            self.client_gone = True
        except Exception as exc:
            reply.finish, reply.error = "error", f"{type(exc).__name__}: {exc}"[:MAX_ERROR_CHARS]
        finally:
            if self.client_gone:
                reply.finish = "client_disconnect"
            with anyio.CancelScope(shield=True):
                turn_id = await self._store(self._outcome(reply))
        if self.client_gone:
            return
        if reply.pending:
            await emit(sse({"delta": "".join(reply.pending)}))
        final: dict[str, Any] = {
            "conversation_id": self.prepared.conversation_id,
            "user_turn_id": self.prepared.user_turn_id,
            "assistant_turn_id": turn_id,
            "finish_reason": reply.finish,
        }
        if reply.error is not None:
            final["error"] = "the model failed to answer" if reply.finish == "error" else reply.error
        await emit(sse(final))
        await emit(sse("[DONE]"))

    async def _generate(self, reply: _Reply, emit: Emit) -> None:
        """Read the backend into ``reply`` within the deadline; deltas go out merged per ``flush_s``."""
        last_flush = -1e9
        with anyio.fail_after(self.timeout_s):
            async with aclosing(self.backend.stream(self.prepared.history, self.params)) as chunks:
                async for chunk in chunks:
                    if chunk.delta:
                        reply.parts.append(chunk.delta)
                        reply.pending.append(chunk.delta)
                        now = time.monotonic()
                        if now - last_flush >= self.flush_s:
                            await emit(sse({"delta": "".join(reply.pending)}))
                            reply.pending.clear()
                            last_flush = now
                    if chunk.finish_reason:
                        reply.finish = chunk.finish_reason
                    if chunk.usage is not None:
                        reply.usage = chunk.usage

    def _outcome(self, reply: _Reply) -> ExchangeOutcome:
        return ExchangeOutcome(
            content="".join(reply.parts),
            finish_reason=reply.finish,
            finished_at=datetime.now(UTC),
            model=self.model_name,
            backend_model=self.backend.model_id,
            params=self.params.as_dict(),
            usage=reply.usage,
            error=reply.error,
        )

    async def _store(self, outcome: ExchangeOutcome) -> int | None:
        try:
            return await anyio.to_thread.run_sync(
                partial(finish_exchange, self.store, self.prepared, outcome), limiter=self.db_limiter
            )
        except Exception:
            log.exception("could not store assistant turn of conversation %s", self.prepared.conversation_id)
            return None


class ExchangeStream(Response):
    """An ASGI response that runs an :class:`Exchange` and watches for disconnects."""

    media_type = "text/event-stream"

    def __init__(self, exchange: Exchange) -> None:
        self.exchange = exchange
        self.status_code = 200
        self.background = None
        self.init_headers({"cache-control": "no-cache", "x-accel-buffering": "no"})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})

        async def emit(data: bytes) -> None:
            await send({"type": "http.response.body", "body": data, "more_body": True})

        async with anyio.create_task_group() as tg:

            async def watch() -> None:
                while (await receive())["type"] != "http.disconnect":
                    pass
                self.exchange.client_gone = True
                tg.cancel_scope.cancel()

            tg.start_soon(watch)
            try:
                await self.exchange.run(emit)
            finally:
                tg.cancel_scope.cancel()
        if not self.exchange.client_gone:
            with suppress(OSError, ClientDisconnect):
                await send({"type": "http.response.body", "body": b"", "more_body": False})
