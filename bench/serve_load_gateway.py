"""Simulated OpenAI-API apps for ``bench/serve_load.py --mode gateway`` (asyncio + httpx).

Each simulated app consents once on the page, creates an API key (``POST
/api/keys``), then sends ``POST /v1/chat/completions`` with ``stream: true``
until the shared request budget is spent: conversations of 1-5 turns, each
request carrying the whole history so far (as chat apps do), the previous
reply included -- the replay backend's echo reply is computed locally, so the
load generator never parses the 200 chunks.  The same share of hang-ups as
the page mode; the outcome is the final chunk's ``finish_reason``, or
``error`` for an ``error`` event.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from typing import Any

import httpx
from serve_load_users import FILLER, Plan, Result, consent

from wildchat.collect.backends.replay import echo_words


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
    rng = random.Random(plan.seed * 1_000_003 + idx)
    marker = f"bench-{plan.tag}-{idx:07d}"
    message = " ".join([marker, *rng.sample(FILLER, k=rng.randint(5, len(FILLER)))])
    body = {"model": plan.model, "stream": True, "messages": [*history, {"role": "user", "content": message}]}
    res = Result(marker=marker)
    t0 = time.perf_counter()
    try:
        async with client.stream("POST", "/v1/chat/completions", json=body) as resp:
            res.status = resp.status_code
            res.headers_s = time.perf_counter() - t0
            if resp.status_code != 200:
                await resp.aread()
                res.outcome, res.detail = f"http_{resp.status_code}", resp.text[:200]
                return res, message
            tail = b""
            async for chunk in resp.aiter_raw():
                if not chunk:
                    continue
                elapsed = time.perf_counter() - t0
                if res.first_delta_s is None:
                    res.first_delta_s = elapsed
                tail = (tail + chunk)[-4096:]
                if hang_up_s is not None and elapsed - res.first_delta_s >= hang_up_s:
                    res.outcome = "disconnect"
                    break
            else:
                res.outcome = _outcome(tail)
    except httpx.HTTPError as exc:
        res.detail = type(exc).__name__
    res.total_s = time.perf_counter() - t0
    return res, message


async def app_user(
    base_url: str, plan: Plan, user_no: int, ready: asyncio.Event, keyed: list[int], tokens: int
) -> None:
    rng = random.Random(plan.seed * 7919 + user_no)
    timeout = httpx.Timeout(120.0, connect=30.0)
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    async with httpx.AsyncClient(base_url=base_url, timeout=timeout, limits=limits) as client:
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
            hang_up = rng.uniform(0.0, plan.hang_up_within_s) if rng.random() < plan.disconnect_rate else None
            res, message = await one_request(client, plan, idx, history, hang_up)
            plan.results.append(res)
            left -= 1
            if res.outcome == "stop":
                reply = " ".join(echo_words(message, tokens))
                history += [{"role": "user", "content": message}, {"role": "assistant", "content": reply}]
            else:
                left = 0


async def run_apps(base_url: str, plan: Plan, users: int, tokens: int) -> tuple[float, float]:
    """Run ``users`` apps over ``plan``; returns (load-phase wall seconds, client CPU seconds)."""
    ready = asyncio.Event()
    keyed: list[int] = []
    tasks = [asyncio.create_task(app_user(base_url, plan, u, ready, keyed, tokens)) for u in range(users)]
    while len(keyed) < users:
        failed = [t for t in tasks if t.done() and t.exception()]
        if failed:
            raise RuntimeError(f"key setup failed: {failed[0].exception()!r}")
        await asyncio.sleep(0.05)
    cpu0, t0 = time.process_time(), time.perf_counter()
    ready.set()
    await asyncio.gather(*tasks)
    return time.perf_counter() - t0, time.process_time() - cpu0
