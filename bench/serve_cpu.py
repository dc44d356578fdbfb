"""CPU cost per exchange of the collection app, in-process (no sockets, no uvicorn).

Builds the app with ``create_app`` on a fresh PostgreSQL database, sends
``--rounds`` x ``--concurrency`` chats through ``httpx.ASGITransport`` and
prints process CPU milliseconds per exchange (client included).  ``--profile``
prints the top functions by own time.

    .venv/bin/python bench/serve_cpu.py --tokens 200 --delay-ms 2
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import pstats
import tempfile
import time
import uuid

import httpx
import psycopg

from wildchat.collect.app import create_app
from wildchat.collect.settings import load_settings

ADMIN = "host=127.0.0.1 port=5432 user=postgres dbname=test"


async def run(args: argparse.Namespace, url: str, data_dir: str) -> None:
    model = f"load=replay:echo?tokens={args.tokens}&max_tokens={args.tokens}&delay_ms={args.delay_ms}"
    settings = load_settings(
        None,
        dev=True,
        data_dir=data_dir,
        database_url=url,
        models=[model + f"&tick_ms={args.tick_ms}"],
        rate_limit_per_minute=10**8,
        turns_per_day=10**8,
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=("198.51.100.1", 1))
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as ac:
            await ac.post("/api/consent", json={"agree": True, "confirm": True, "version": "1"})

            async def one(i: int) -> None:
                r = await ac.post("/api/chat", json={"model": "load", "message": f"hello {i}"})
                assert r.status_code == 200 and r.text.endswith("data: [DONE]\n\n")

            for i in range(20):  # warm-up
                await one(i)
            prof = cProfile.Profile() if args.profile else None
            cpu, wall = time.process_time(), time.perf_counter()
            if prof:
                prof.enable()
            for _ in range(args.rounds):
                await asyncio.gather(*(one(i) for i in range(args.concurrency)))
            if prof:
                prof.disable()
            n = args.rounds * args.concurrency
            cpu_ms = (time.process_time() - cpu) / n * 1000
            print(f"{n} exchanges: {cpu_ms:.2f} ms CPU each, {n / (time.perf_counter() - wall):.0f}/s wall")
            if prof:
                pstats.Stats(prof).sort_stats("tottime").print_stats(25)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--tokens", type=int, default=200)
    p.add_argument("--delay-ms", type=float, default=0.0)
    p.add_argument("--tick-ms", type=float, default=10.0)
    p.add_argument("--rounds", type=int, default=10)
    p.add_argument("--concurrency", type=int, default=30)
    p.add_argument("--profile", action="store_true")
    args = p.parse_args()
    name = f"wildchat_cpu_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        with tempfile.TemporaryDirectory() as tmp:
            asyncio.run(run(args, f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}", tmp))
    finally:
        with psycopg.connect(ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
