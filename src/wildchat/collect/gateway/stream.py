"""Running one gateway exchange: generate, honour ``stop``, store the reply whatever happens.

The reply is stored in a ``finally`` path shielded from cancellation, as on
the page (:mod:`wildchat.collect.streaming`): complete, or partial with the
reason -- ``client_disconnect`` (the app went away mid-stream), ``error``
(the backend failed), ``timeout``.  The streamed form is OpenAI's
``chat.completion.chunk`` events ending in ``data: [DONE]``; a failure after
the stream started is sent as ``data: {"error": {...}}`` (what OpenAI's
SDKs raise on) before ``[DONE]``.
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
from sqlalchemy import Engine
from starlette.requests import ClientDisconnect
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from wildchat.collect.backends.base import Backend, GenerationParams
from wildchat.collect.gateway.logging import GatewayPrepared, finish_gateway_exchange
from wildchat.collect.gateway.shape import chunk
from wildchat.collect.store import ExchangeOutcome

__all__ = ["GatewayExchange", "GatewayStream", "StopFilter"]

log = logging.getLogger(__name__)
MAX_ERROR_CHARS = 2000
OnText = Callable[[str], Awaitable[None]]


class StopFilter:
    """Cuts a streamed text at the first stop sequence, holding back what could start one."""

    def __init__(self, stops: list[str]) -> None:
        self.stops = stops
        self.hold = max((len(s) for s in stops), default=1) - 1
        self.pending = ""

    def feed(self, text: str) -> tuple[str, bool]:
        """``(text safe to emit, stopped)``."""
        if not self.stops:
            return text, False
        buf = self.pending + text
        cut = min((i for i in (buf.find(s) for s in self.stops) if i >= 0), default=-1)
        if cut >= 0:
            self.pending = ""
            return buf[:cut], True
        keep = len(buf) - self.hold if self.hold else len(buf)
        self.pending = buf[max(keep, 0) :]
        return buf[: max(keep, 0)], False

    def flush(self) -> str:
        out, self.pending = self.pending, ""
        return out


def _usage(raw: dict[str, Any] | None, prompt: list[str], reply: str) -> dict[str, int]:
    """The backend's token counts, or whitespace word counts when it reports none."""
    prompt_n = sum(len(t.split()) for t in prompt)
    out = {"prompt_tokens": prompt_n, "completion_tokens": len(reply.split())}
    for name in ("prompt_tokens", "completion_tokens"):
        if raw and isinstance(raw.get(name), int):
            out[name] = raw[name]
    out["total_tokens"] = out["prompt_tokens"] + out["completion_tokens"]
    return out


@dataclass
class GatewayExchange:
    """Everything needed to generate, send and store one gateway reply."""

    prepared: GatewayPrepared
    backend: Backend
    model_name: str
    params: GenerationParams
    stop: list[str]
    timeout_s: float
    engine: Engine
    address_key: bytes
    db_limiter: anyio.CapacityLimiter | None = None
    on_done: Callable[[], None] | None = None
    client_gone: bool = False
    text: str = ""
    finish: str = "stop"
    error: str | None = None
    usage: dict[str, int] = field(default_factory=dict)

    async def generate(self, on_text: OnText) -> None:
        """Run the backend, pass each piece of text to ``on_text``, store the reply at the end."""
        parts: list[str] = []
        stopper = StopFilter(self.stop)
        raw_usage: dict[str, Any] | None = None
        cancelled = anyio.get_cancelled_exc_class()
        try:
            with anyio.fail_after(self.timeout_s):
                async with aclosing(self.backend.stream(self.prepared.history, self.params)) as chunks:
                    async for piece in chunks:
                        if piece.delta:
                            text, stopped = stopper.feed(piece.delta)
                            if text:
                                parts.append(text)
                                await on_text(text)
                            if stopped:
                                self.finish = "stop"
                                break
                        if piece.finish_reason:
                            self.finish = piece.finish_reason
                        if piece.usage is not None:
                            raw_usage = piece.usage
                    else:
                        tail = stopper.flush()
                        if tail:
                            parts.append(tail)
                            await on_text(tail)
        except TimeoutError:
            self.finish, self.error = "timeout", f"no complete reply within {self.timeout_s:g} s"
        except cancelled:
            self.client_gone = True
            raise
        except (OSError, ClientDisconnect):
            self.client_gone = True
        except Exception as exc:
            self.finish, self.error = "error", f"{type(exc).__name__}: {exc}"[:MAX_ERROR_CHARS]
        finally:
            if self.client_gone:
                self.finish = "client_disconnect"
            parts.append(stopper.flush())  # generated but held back: stored, never lost
            self.text = "".join(parts)
            self.usage = _usage(raw_usage, [m.content for m in self.prepared.history], self.text)
            with anyio.CancelScope(shield=True):
                await self._store()

    def _outcome(self) -> ExchangeOutcome:
        params = self.params.as_dict()
        if self.stop:
            params["stop"] = list(self.stop)
        return ExchangeOutcome(
            content=self.text,
            finish_reason=self.finish,
            finished_at=datetime.now(UTC),
            model=self.model_name,
            backend_model=self.backend.model_id,
            params=params,
            usage=dict(self.usage),
            error=self.error,
        )

    async def _store(self) -> None:
        try:
            run = partial(
                finish_gateway_exchange, self.engine, self.address_key, self.prepared, self._outcome()
            )
            await anyio.to_thread.run_sync(run, limiter=self.db_limiter)
        except Exception:
            log.exception("could not store the reply of conversation %s", self.prepared.conversation_id)
        finally:
            if self.on_done is not None:
                self.on_done()
                self.on_done = None


def error_event(message: str, code: str) -> bytes:
    """An SSE ``error`` event in OpenAI's shape."""
    body = {"error": {"message": message, "type": "api_error", "param": None, "code": code}}
    return b"data: " + orjson.dumps(body) + b"\n\n"


class GatewayStream(Response):
    """An ASGI response streaming one :class:`GatewayExchange` as OpenAI chunks, watching disconnects."""

    media_type = "text/event-stream"

    def __init__(
        self, exchange: GatewayExchange, cid: str, created: int, include_usage: bool, flush_s: float
    ) -> None:
        self.exchange = exchange
        self.meta = (cid, created, exchange.model_name)
        self.include_usage = include_usage
        self.flush_s = flush_s
        self.status_code = 200
        self.background = None
        self.init_headers({"cache-control": "no-cache", "x-accel-buffering": "no"})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        ex = self.exchange
        cid, created, model = self.meta
        wu = self.include_usage
        pending: list[str] = []
        last = [-1e9]

        async def emit(data: bytes) -> None:
            await send({"type": "http.response.body", "body": data, "more_body": True})

        async def on_text(text: str) -> None:
            pending.append(text)
            now = time.monotonic()
            if now - last[0] >= self.flush_s:
                await emit(chunk(cid, created, model, {"content": "".join(pending)}, with_usage=wu))
                pending.clear()
                last[0] = now

        try:
            await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})
            await emit(chunk(cid, created, model, {"role": "assistant", "content": ""}, with_usage=wu))
        except (OSError, ClientDisconnect):
            ex.client_gone = True
        async with anyio.create_task_group() as tg:

            async def watch() -> None:
                while (await receive())["type"] != "http.disconnect":
                    pass
                ex.client_gone = True
                tg.cancel_scope.cancel()

            tg.start_soon(watch)
            try:
                if ex.client_gone:  # gone before the first byte: store an empty reply, nothing to send
                    await ex.generate(_nothing)
                else:
                    await ex.generate(on_text)
            finally:
                tg.cancel_scope.cancel()
        if ex.client_gone:
            return
        with suppress(OSError, ClientDisconnect):
            if pending:
                await emit(chunk(cid, created, model, {"content": "".join(pending)}, with_usage=wu))
            if ex.finish in ("error", "timeout"):
                await emit(error_event("the model failed to answer", "backend_" + ex.finish))
            else:
                await emit(chunk(cid, created, model, {}, ex.finish, with_usage=wu))
                if wu:
                    await emit(chunk(cid, created, model, None, usage=ex.usage, with_usage=True))
            await emit(b"data: [DONE]\n\n")
            await send({"type": "http.response.body", "body": b"", "more_body": False})


async def _nothing(_text: str) -> None:
    raise ClientDisconnect()
