"""Benchmark: a participant deletes a 100-turn conversation; a participant with 1,000 turns withdraws.

Goal (issue: participants in control): each < 1 s on PostgreSQL.  Builds a
*fresh* database (PostgreSQL by default: ``--db postgres`` creates and drops
a scratch database on 127.0.0.1:5432; ``--db sqlite`` uses a temp file),
fills it through the server's own store functions (consents, conversations,
user/assistant turns with realistic text sizes), plus ``--others`` other
participants' conversations so indexes matter, then times
:func:`wildchat.collect.takedown.delete_conversation` and
:func:`~wildchat.collect.takedown.withdraw_consent` -- the exact calls behind
``DELETE /api/me/conversations/{id}`` and ``POST /api/me/withdraw``, each one
transaction that computes the tombstone, writes the ledger and hard-deletes.

    .venv/bin/python bench/collect_delete.py --db postgres --repeat 3
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine, func, insert, select

from wildchat.collect.db.migrate import migrate
from wildchat.collect.db.models import ConsentRow, ConversationRow, LedgerRow, TurnRow
from wildchat.collect.db.session import make_engine
from wildchat.collect.takedown import delete_conversation, withdraw_consent
from wildchat.ledger import LedgerKey

WORDS = [
    "the",
    "a",
    "model",
    "data",
    "user",
    "reply",
    "question",
    "answer",
    "river",
    "mountain",
    "code",
    "python",
    "list",
    "sort",
]


@contextmanager
def database(kind: str) -> Iterator[str]:
    if kind == "sqlite":
        with tempfile.TemporaryDirectory() as tmp:
            yield f"sqlite:///{Path(tmp) / 'bench.db'}"
        return
    import psycopg

    name = f"wildchat_bench_{uuid.uuid4().hex[:10]}"
    dsn = "host=127.0.0.1 port=5432 user=postgres dbname=test"
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    finally:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def text(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n))


def add_participant(
    engine: Engine, rng: random.Random, conversations: int, exchanges: int
) -> tuple[str, list[str]]:
    """A consent with ``conversations`` x ``exchanges`` (user + assistant) turns, built in bulk."""
    now = datetime.now(UTC)
    consent = uuid.uuid4().hex
    hashed_ip = uuid.uuid4().hex * 2
    cids = [uuid.uuid4().hex for _ in range(conversations)]
    with engine.begin() as conn:
        conn.execute(
            insert(ConsentRow), [{"id": consent, "version": "1", "created_at": now, "hashed_ip": hashed_ip}]
        )
        conn.execute(
            insert(ConversationRow), [{"id": c, "consent_id": consent, "created_at": now} for c in cids]
        )
        for cid in cids:
            parent = None
            for i in range(exchanges):
                user = conn.execute(
                    insert(TurnRow).returning(TurnRow.id),
                    {
                        "conversation_id": cid,
                        "parent_id": parent,
                        "turn_index": 2 * i,
                        "role": "user",
                        "content": text(rng, 40),
                        "created_at": now,
                        "hashed_ip": hashed_ip,
                    },
                ).scalar_one()
                parent = conn.execute(
                    insert(TurnRow).returning(TurnRow.id),
                    {
                        "conversation_id": cid,
                        "parent_id": user,
                        "turn_index": 2 * i + 1,
                        "role": "assistant",
                        "content": text(rng, 200),
                        "created_at": now,
                        "request_id": uuid.uuid4().hex,
                        "model": "echo",
                        "finish_reason": "stop",
                    },
                ).scalar_one()
    return consent, cids


def run(kind: str, repeat: int, others: int) -> dict[str, object]:
    rng = random.Random(7)
    key = LedgerKey.from_secret(b"bench-secret-key-of-at-least-32-characters")
    delete_s: list[float] = []
    withdraw_s: list[float] = []
    with database(kind) as url:
        engine = make_engine(url, pool_size=2, max_overflow=0)
        migrate(engine)
        for _ in range(others):  # other participants: 20 conversations x 10 exchanges each
            add_participant(engine, rng, 20, 10)
        for _ in range(repeat):
            consent, (cid,) = add_participant(engine, rng, 1, 50)  # 100 turns
            t0 = time.perf_counter()
            delete_conversation(engine, key, consent, cid, stream_window_s=150)
            delete_s.append(time.perf_counter() - t0)
            consent, _ = add_participant(engine, rng, 20, 25)  # 20 x 50 = 1,000 turns
            t0 = time.perf_counter()
            withdraw_consent(engine, key, consent)
            withdraw_s.append(time.perf_counter() - t0)
        with engine.connect() as conn:
            turns = conn.execute(select(func.count()).select_from(TurnRow)).scalar_one()
            ledger = conn.execute(select(func.count()).select_from(LedgerRow)).scalar_one()
        engine.dispose()
    return {
        "db": kind,
        "repeat": repeat,
        "other_turns": others * 400,
        "turns_left": turns,
        "ledger_rows": ledger,
        "delete_100_turns_s": {
            "median": round(statistics.median(delete_s), 4),
            "max": round(max(delete_s), 4),
        },
        "withdraw_1000_turns_s": {
            "median": round(statistics.median(withdraw_s), 4),
            "max": round(max(withdraw_s), 4),
        },
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", choices=["postgres", "sqlite"], default="postgres")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--others", type=int, default=25, help="other participants (400 turns each)")
    args = ap.parse_args()
    result = run(args.db, args.repeat, args.others)
    json.dump(result, sys.stdout, indent=2)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
