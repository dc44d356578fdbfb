"""Simulated chat users for ``bench/serve_load.py`` (asyncio + httpx, loopback only).

Each user gives consent once (its own cookie jar), then sends chat turns until a
shared, fixed request budget is used up: short conversations of 1-5 turns, each
follow-up continuing from the assistant turn id the server announced.  A chosen
share of requests hang up mid-stream.  Every message carries a unique marker so the
database check can match each request sent to the rows stored.  What this shares
with the API apps (``serve_load_gateway.py``) lives in ``serve_load_client.py``.
"""

from __future__ import annotations

import asyncio
import json
import random
from typing import Any

import httpx
from serve_load_client import Plan, Result, consent, new_client, run_together, stream_tail

__all__ = ["Plan", "Result", "one_turn", "run_users", "user"]


def _final_event(tail: bytes) -> dict[str, Any] | None:
    """The last JSON ``data:`` event before ``[DONE]`` in the stream's tail."""
    for block in reversed(tail.split(b"\n\n")):
        if block.startswith(b"data: {") and b"assistant_turn_id" in block:
            obj: dict[str, Any] = json.loads(block[6:])
            return obj
    return None


async def one_turn(
    client: httpx.AsyncClient,
    plan: Plan,
    idx: int,
    conv: str | None,
    parent: int | None,
    hang_up_s: float | None,
) -> tuple[Result, dict[str, Any] | None]:
    """Send one chat request (hanging up ``hang_up_s`` after its first byte when given)."""
    marker, message = plan.message(idx)
    body = {"conversation_id": conv, "message": message, "model": plan.model, "parent_id": parent}
    res = Result(marker=marker)
    tail = await stream_tail(client, "/api/chat", body, res, hang_up_s)
    final = None
    if tail is not None:
        final = _final_event(tail)
        res.outcome = str(final.get("finish_reason")) if final else "no_final_event"
    return res, final


async def user(base_url: str, plan: Plan, user_no: int, ready: asyncio.Event, consented: list[int]) -> None:
    """One simulated user: consent, wait for the start signal, then chat until the budget is spent."""
    rng = random.Random(plan.seed * 7919 + user_no)
    async with new_client(base_url) as client:
        await consent(client)
        consented.append(user_no)
        await ready.wait()
        conv: str | None = None
        parent: int | None = None
        left = 0
        while (idx := plan.take()) is not None:
            if left <= 0:
                conv, parent, left = None, None, rng.randint(1, 5)
            res, final = await one_turn(client, plan, idx, conv, parent, plan.hang_up(rng))
            plan.results.append(res)
            left -= 1
            if final and final.get("assistant_turn_id"):
                conv, parent = final["conversation_id"], int(final["assistant_turn_id"])
            else:
                left = 0  # a hang-up or failure ends the conversation


async def run_users(base_url: str, plan: Plan, users: int) -> tuple[float, float]:
    """Run ``users`` users over ``plan``; returns (load-phase wall seconds, client CPU seconds)."""

    async def one(user_no: int, ready: asyncio.Event, consented: list[int]) -> None:
        await user(base_url, plan, user_no, ready, consented)

    return await run_together(users, one, "consent")
