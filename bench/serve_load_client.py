"""What the page users and the API apps of ``bench/serve_load.py`` share (asyncio + httpx, loopback only).

The request budget (:class:`Plan`), the per-request record (:class:`Result`),
the message text (a unique marker, so the database check can match each
request sent to the rows stored), consent, one streamed request with an
optional mid-stream hang-up, and the start-together driver.  The stream is
read as raw bytes and only its tail is kept, so the load generator spends as
little CPU as possible on the 200 deltas; the caller parses the tail.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable, Coroutine
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

    def message(self, idx: int) -> tuple[str, str]:
        """``(marker, text)`` of request ``idx``: the same text for the same seed."""
        rng = random.Random(self.seed * 1_000_003 + idx)
        marker = f"bench-{self.tag}-{idx:07d}"
        return marker, " ".join([marker, *rng.sample(FILLER, k=rng.randint(5, len(FILLER)))])

    def hang_up(self, rng: random.Random) -> float | None:
        """Seconds after the first byte at which this request hangs up, or ``None`` (it reads to the end)."""
        return rng.uniform(0.0, self.hang_up_within_s) if rng.random() < self.disconnect_rate else None


def new_client(base_url: str) -> httpx.AsyncClient:
    """One user's client: a single keep-alive connection, generous timeouts."""
    timeout = httpx.Timeout(120.0, connect=30.0)
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    return httpx.AsyncClient(base_url=base_url, timeout=timeout, limits=limits)


async def consent(client: httpx.AsyncClient) -> None:
    shown = (await client.get("/api/consent")).json()
    resp = await client.post(
        "/api/consent", json={"agree": True, "confirm": True, "version": shown["version"]}
    )
    resp.raise_for_status()


async def stream_tail(
    client: httpx.AsyncClient, path: str, body: dict[str, Any], res: Result, hang_up_s: float | None
) -> bytes | None:
    """POST ``body`` to ``path`` and read the stream, timing into ``res``; the last 4 KiB, or ``None``.

    ``None`` when there is nothing to parse: a non-200 (``http_<status>``), a
    hang-up (``disconnect``: the client closes the stream ``hang_up_s`` after
    its first byte, checked as chunks arrive, like a user closing the tab
    mid-reply) or a transport error.  ``res.total_s`` is set unless the status was not 200.
    """
    t0 = time.perf_counter()
    tail: bytes | None = None
    try:
        async with client.stream("POST", path, json=body) as resp:
            res.status = resp.status_code
            res.headers_s = time.perf_counter() - t0
            if resp.status_code != 200:
                await resp.aread()
                res.outcome, res.detail = f"http_{resp.status_code}", resp.text[:200]
                return None  # no total_s: a refusal is not a timed exchange
            got = b""
            async for chunk in resp.aiter_raw():
                if not chunk:
                    continue
                elapsed = time.perf_counter() - t0
                if res.first_delta_s is None:
                    res.first_delta_s = elapsed
                got = (got + chunk)[-4096:]
                if hang_up_s is not None and elapsed - res.first_delta_s >= hang_up_s:
                    res.outcome = "disconnect"
                    break  # leaving the block closes the connection mid-stream
            else:
                tail = got
    except httpx.HTTPError as exc:
        res.detail = type(exc).__name__
    res.total_s = time.perf_counter() - t0
    return tail


async def run_together(
    users: int, one_user: Callable[[int, asyncio.Event, list[int]], Coroutine[Any, Any, None]], what: str
) -> tuple[float, float]:
    """Start ``users`` coroutines, wait until each did its setup, then release them all at once.

    ``one_user(user_no, ready, set_up)`` appends ``user_no`` to ``set_up``
    when its setup is done and waits for ``ready``.  Returns (load-phase wall
    seconds, client CPU seconds); a failed setup raises naming ``what``.
    """
    ready = asyncio.Event()
    set_up: list[int] = []
    tasks = [asyncio.create_task(one_user(u, ready, set_up)) for u in range(users)]
    while len(set_up) < users:
        failed = [t for t in tasks if t.done() and t.exception()]
        if failed:
            raise RuntimeError(f"{what} failed: {failed[0].exception()!r}")
        await asyncio.sleep(0.05)
    cpu0, t0 = time.process_time(), time.perf_counter()
    ready.set()
    await asyncio.gather(*tasks)
    return time.perf_counter() - t0, time.process_time() - cpu0
