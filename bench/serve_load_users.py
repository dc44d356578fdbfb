"""Simulated chat users for ``bench/serve_load.py`` (asyncio + httpx, loopback only).

Each user gives consent once (its own cookie jar), then sends chat turns until a
shared, fixed request budget is used up: short conversations of 1-5 turns, each
follow-up continuing from the assistant turn id the server announced.  A chosen
share of requests hang up mid-stream.  Every message carries a unique marker so the
database check can match each request sent to the rows stored.

The stream is read as raw bytes and only the tail is parsed (the final SSE event),
so the load generator spends as little CPU as possible on the 200 deltas.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

FILLER = [
    *("please", "explain", "how", "tides", "work", "and", "why", "there", "are", "two"),
    *("of", "them", "each", "day", "on", "most", "coasts", "and", "lakes"),
]


@dataclass
class Result:
    """One chat request as the client saw it."""

    marker: str
    status: int = 0
    headers_s: float | None = None  # time to response headers
    first_delta_s: float | None = None  # time to the first body byte (first delta)
    total_s: float | None = None
    outcome: str = "transport_error"  # stop | length | error | timeout | disconnect | http_<status> | ...
    detail: str = ""


@dataclass
class Plan:
    """What the users do: a fixed budget of requests and the share that hang up."""

    requests: int
    disconnect_rate: float
    model: str
    tag: str
    seed: int = 1
    hang_up_within_s: float = 0.2  # a hang-up comes this long after the first byte, at most
    issued: int = 0
    results: list[Result] = field(default_factory=list)

    def take(self) -> int | None:
        if self.issued >= self.requests:
            return None
        self.issued += 1
        return self.issued - 1


def _final_event(tail: bytes) -> dict[str, Any] | None:
    """The last JSON ``data:`` event before ``[DONE]`` in the stream's tail."""
    for block in reversed(tail.split(b"\n\n")):
        if block.startswith(b"data: {") and b"assistant_turn_id" in block:
            obj: dict[str, Any] = json.loads(block[6:])
            return obj
    return None


async def consent(client: httpx.AsyncClient) -> None:
    shown = (await client.get("/api/consent")).json()
    resp = await client.post(
        "/api/consent", json={"agree": True, "confirm": True, "version": shown["version"]}
    )
    resp.raise_for_status()


async def one_turn(
    client: httpx.AsyncClient,
    plan: Plan,
    idx: int,
    conv: str | None,
    parent: int | None,
    hang_up_s: float | None,
) -> tuple[Result, dict[str, Any] | None]:
    """Send one chat request; with ``hang_up_s`` the client closes the stream that long after its
    first byte (checked as chunks arrive), like a user closing the tab mid-reply."""
    rng = random.Random(plan.seed * 1_000_003 + idx)
    marker = f"bench-{plan.tag}-{idx:07d}"
    words = [marker, *rng.sample(FILLER, k=rng.randint(5, len(FILLER)))]
    body = {"conversation_id": conv, "message": " ".join(words), "model": plan.model, "parent_id": parent}
    res = Result(marker=marker)
    final = None
    t0 = time.perf_counter()
    try:
        async with client.stream("POST", "/api/chat", json=body) as resp:
            res.status = resp.status_code
            res.headers_s = time.perf_counter() - t0
            if resp.status_code != 200:
                await resp.aread()
                res.outcome, res.detail = f"http_{resp.status_code}", resp.text[:200]
                return res, None
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
                    break  # leaving the block closes the connection mid-stream
            else:
                final = _final_event(tail)
                res.outcome = str(final.get("finish_reason")) if final else "no_final_event"
    except httpx.HTTPError as exc:
        res.detail = type(exc).__name__
    res.total_s = time.perf_counter() - t0
    return res, final


async def user(base_url: str, plan: Plan, user_no: int, ready: asyncio.Event, consented: list[int]) -> None:
    """One simulated user: consent, wait for the start signal, then chat until the budget is spent."""
    rng = random.Random(plan.seed * 7919 + user_no)
    timeout = httpx.Timeout(120.0, connect=30.0)
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    async with httpx.AsyncClient(base_url=base_url, timeout=timeout, limits=limits) as client:
        await consent(client)
        consented.append(user_no)
        await ready.wait()
        conv: str | None = None
        parent: int | None = None
        left = 0
        while (idx := plan.take()) is not None:
            if left <= 0:
                conv, parent, left = None, None, rng.randint(1, 5)
            hang_up = rng.uniform(0.0, plan.hang_up_within_s) if rng.random() < plan.disconnect_rate else None
            res, final = await one_turn(client, plan, idx, conv, parent, hang_up)
            plan.results.append(res)
            left -= 1
            if final and final.get("assistant_turn_id"):
                conv, parent = final["conversation_id"], int(final["assistant_turn_id"])
            else:
                left = 0  # a hang-up or failure ends the conversation


async def run_users(base_url: str, plan: Plan, users: int) -> tuple[float, float]:
    """Run ``users`` users over ``plan``; returns (load-phase wall seconds, client CPU seconds)."""
    ready = asyncio.Event()
    consented: list[int] = []
    tasks = [asyncio.create_task(user(base_url, plan, u, ready, consented)) for u in range(users)]
    while len(consented) < users:
        failed = [t for t in tasks if t.done() and t.exception()]
        if failed:
            raise RuntimeError(f"consent failed: {failed[0].exception()!r}")
        await asyncio.sleep(0.05)
    cpu0, t0 = time.process_time(), time.perf_counter()
    ready.set()
    await asyncio.gather(*tasks)
    return time.perf_counter() - t0, time.process_time() - cpu0
