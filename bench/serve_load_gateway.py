"""Simulated OpenAI-API apps for ``bench/serve_load.py --mode gateway`` (asyncio + httpx).

Each simulated app consents once on the page, creates an API key (``POST
/api/keys``), then sends ``POST /v1/chat/completions`` with ``stream: true``
until the shared request budget is spent: conversations of 1-5 turns, each
request carrying the whole history so far (as chat apps do), the previous
reply included -- the replay backend's echo reply is computed locally, so the
load generator never parses the 200 chunks.  The same share of hang-ups as
the page mode; the outcome is the final chunk's ``finish_reason``, or
``error`` for an ``error`` event.  What this shares with the page users lives
in ``serve_load_client.py``.
"""

from __future__ import annotations

import asyncio
import json
import random
from typing import Any

import httpx
from serve_load_client import Plan, Result, consent, new_client, run_together, stream_tail

from wildchat.collect.backends.replay import echo_words

__all__ = ["app_user", "one_request", "run_apps"]


def _outcome(tail: bytes) -> str:
    for block in reversed(tail.split(b"\n\n")):
        if block.startswith(b'data: {"error"'):
            return "error"
        if block.startswith(b"data: {") and b'"finish_reason":"' in block:
            obj: dict[str, Any] = json.loads(block[6:])
            return str(obj["choices"][0]["finish_reason"])
    return "no_final_event"


async def one_request(
    client: httpx.AsyncClient, plan: Plan, idx: int, history: list[dict[str, str]], hang_up_s: float | None
) -> tuple[Result, str]:
    """One streamed completion; returns the result and the new user message."""
    marker, message = plan.message(idx)
    body = {"model": plan.model, "stream": True, "messages": [*history, {"role": "user", "content": message}]}
    res = Result(marker=marker)
    tail = await stream_tail(client, "/v1/chat/completions", body, res, hang_up_s)
    if tail is not None:
        res.outcome = _outcome(tail)
    return res, message


async def app_user(
    base_url: str, plan: Plan, user_no: int, ready: asyncio.Event, keyed: list[int], tokens: int
) -> None:
    rng = random.Random(plan.seed * 7919 + user_no)
    async with new_client(base_url) as client:
        await consent(client)
        key = (await client.post("/api/keys")).json()["key"]
        client.cookies.clear()  # from here on only the key: an app has no cookie
        client.headers["Authorization"] = f"Bearer {key}"
        keyed.append(user_no)
        await ready.wait()
        history: list[dict[str, str]] = []
        left = 0
        while (idx := plan.take()) is not None:
            if left <= 0:
                history, left = [], rng.randint(1, 5)
            res, message = await one_request(client, plan, idx, history, plan.hang_up(rng))
            plan.results.append(res)
            left -= 1
            if res.outcome == "stop":
                reply = " ".join(echo_words(message, tokens))
                history += [{"role": "user", "content": message}, {"role": "assistant", "content": reply}]
            else:
                left = 0


async def run_apps(base_url: str, plan: Plan, users: int, tokens: int) -> tuple[float, float]:
    """Run ``users`` apps over ``plan``; returns (load-phase wall seconds, client CPU seconds)."""

    async def one(user_no: int, ready: asyncio.Event, keyed: list[int]) -> None:
        await app_user(base_url, plan, user_no, ready, keyed, tokens)

    return await run_together(users, one, "key setup")
