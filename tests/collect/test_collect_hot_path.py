"""Hot-path performance contracts: bounded database connections, no delay on the first delta."""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator, Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import anyio
import pytest
from sqlalchemy import event

from tests.collect.collect_helpers import AGREE, all_turns, parse_sse, split_events
from wildchat.collect.backends.base import Chunk, GenerationParams
from wildchat.collect.client import ClientInfo
from wildchat.collect.db.migrate import migrate
from wildchat.collect.db.session import make_engine, make_session_factory
from wildchat.collect.store import record_consent, start_exchange
from wildchat.collect.streaming import Exchange
from wildchat.schema import Message

pytestmark = pytest.mark.anyio

CLIENT = ClientInfo("h" * 64, None, None, None, "UA", "en")


async def test_concurrent_chats_never_check_out_more_than_the_pool(async_app: Callable[..., Any]) -> None:
    """20 overlapping chats with a pool of 2: store calls queue for a pooled connection.

    Without the cap, each of anyio's worker threads checks out its own
    connection and psycopg/SQLite open (and later close) overflow connections.
    """
    app, ac = await async_app(models=["echo=replay:echo?delay_ms=5"], db_pool_size=2, db_max_overflow=20)
    assert (await ac.post("/api/consent", json=AGREE)).status_code == 200
    out = {"now": 0, "max": 0}

    def checkout(*_: Any) -> None:
        out["now"] += 1
        out["max"] = max(out["max"], out["now"])

    def checkin(*_: Any) -> None:
        out["now"] -= 1

    engine = app.state.services.engine
    assert engine.pool.checkedin() == 2  # opened at startup, not by the first requests
    event.listen(engine, "checkout", checkout)
    event.listen(engine, "checkin", checkin)
    finals: list[dict[str, Any]] = []

    async def one(i: int) -> None:
        r = await ac.post("/api/chat", json={"model": "echo", "message": f"m{i}"})
        assert r.status_code == 200, r.text
        text, final = split_events(parse_sse(r.text))
        assert text == f"You said: m{i}"
        finals.append(final)

    async with anyio.create_task_group() as tg:
        for i in range(20):
            tg.start_soon(one, i)
    assert 1 <= out["max"] <= 2
    assert all(f["finish_reason"] == "stop" and f["assistant_turn_id"] for f in finals)
    turns = await anyio.to_thread.run_sync(all_turns, app)
    assert sorted(t.role for t in turns) == ["assistant"] * 20 + ["user"] * 20


class PausingBackend:
    """One token, a long pause, a second token: shows whether the first one is held back."""

    kind = "replay"
    model_id = "pause-1"

    def __init__(self, pause_s: float) -> None:
        self.pause_s = pause_s
        self.second_at: float | None = None

    async def stream(
        self, messages: Sequence[Message], params: GenerationParams
    ) -> AsyncGenerator[Chunk, None]:
        yield Chunk(delta="first")
        await anyio.sleep(self.pause_s)
        self.second_at = time.monotonic()
        yield Chunk(delta=" second")
        yield Chunk(finish_reason="stop")

    async def aclose(self) -> None:
        return None


async def test_first_delta_is_sent_at_once_even_with_the_longest_coalescing_window(db_url: str) -> None:
    engine = make_engine(db_url)
    await anyio.to_thread.run_sync(migrate, engine)
    try:
        now = datetime.now(UTC)
        consent = record_consent(make_session_factory(engine), "1", CLIENT, now)
        prepared = start_exchange(
            engine,
            consent_id=consent.id,
            conversation_id=None,
            parent_id=None,
            message="hi",
            client=CLIENT,
            max_turns=10,
            now=now,
        )
        backend = PausingBackend(pause_s=0.3)
        sent: list[tuple[float, bytes]] = []

        async def emit(data: bytes) -> None:
            sent.append((time.monotonic(), data))

        exchange = Exchange(
            prepared, backend, "pause", GenerationParams(max_tokens=5), 10.0, engine, flush_s=1.0
        )
        await exchange.run(emit)
        assert backend.second_at is not None
        events = parse_sse(b"".join(d for _, d in sent).decode())
        text, final = split_events(events)
        assert text == "first second" and final["finish_reason"] == "stop"
        assert events[0] == {"delta": "first"}
        assert sent[0][0] < backend.second_at - 0.2  # sent before the pause, not with the next token
    finally:
        engine.dispose()
