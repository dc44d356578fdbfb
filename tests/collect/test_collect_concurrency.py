"""Many parallel chats from two app instances on one PostgreSQL database: no turn lost or duplicated."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

import anyio
import httpx
import pytest

from tests.collect.collect_helpers import AGREE, all_turns, parse_sse, split_events

pytestmark = [pytest.mark.anyio, pytest.mark.postgres, pytest.mark.slow]

N = 24  # conversations per instance


@pytest.fixture
def db_url(pg_url: str) -> str:
    """PostgreSQL only: this is the multi-writer production store."""
    return pg_url


async def _chat(ac: httpx.AsyncClient, body: dict[str, Any]) -> dict[str, Any]:
    r = await ac.post("/api/chat", json={"model": "echo", **body})
    assert r.status_code == 200, r.text
    return split_events(parse_sse(r.text))[1]


async def test_parallel_chats_on_two_instances(async_app: Callable[..., Any], db_url: str) -> None:
    assert db_url.startswith("postgresql")
    apps = [await async_app(models=["echo=replay:echo?delay_ms=2"]) for _ in range(2)]
    for _, ac in apps:
        assert (await ac.post("/api/consent", json=AGREE)).status_code == 200
    firsts: list[tuple[httpx.AsyncClient, str, dict[str, Any]]] = []

    async def start(ac: httpx.AsyncClient, i: int, tag: str) -> None:
        msg = f"{tag}-{i}"
        firsts.append((ac, msg, await _chat(ac, {"message": msg})))

    async with anyio.create_task_group() as tg:
        for k, (_, ac) in enumerate(apps):
            for i in range(N):
                tg.start_soon(start, ac, i, f"app{k}")
    # two racing follow-ups on every conversation, from the same parent
    async with anyio.create_task_group() as tg:
        for ac, msg, final in firsts:
            for j in range(2):
                body = {
                    "message": f"{msg}/{j}",
                    "conversation_id": final["conversation_id"],
                    "parent_id": final["assistant_turn_id"],
                }
                tg.start_soon(_chat, ac, body)

    turns = await anyio.to_thread.run_sync(all_turns, apps[0][0])
    users = [t for t in turns if t.role == "user"]
    assistants = [t for t in turns if t.role == "assistant"]
    assert len(users) == len(assistants) == 2 * N * 3
    assert len({t.id for t in turns}) == len(turns)
    assert len({t.request_id for t in assistants}) == len(assistants)
    replies = Counter(t.parent_id for t in assistants)
    assert all(replies[u.id] == 1 for u in users)
    by_id = {t.id: t for t in turns}
    for a in assistants:
        assert a.content == f"You said: {by_id[a.parent_id].content}"  # type: ignore[index]
        assert a.finish_reason == "stop"
    assert sorted(Counter(u.content for u in users).values()) == [1] * len(users)
    assert len({u.conversation_id for u in users}) == 2 * N
