"""The store's transactions directly: retries never duplicate a turn."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from wildchat.collect.client import ClientInfo
from wildchat.collect.db.migrate import migrate
from wildchat.collect.db.session import make_engine, make_session_factory
from wildchat.collect.store import ExchangeOutcome, finish_exchange, record_consent, start_exchange

CLIENT = ClientInfo("h" * 64, None, "France", None, "UA", "fr")


class LostAck:
    """A session factory whose first transaction commits, then reports a dropped connection."""

    def __init__(self, sf: Any) -> None:
        self.sf = sf
        self.failures = 0

    def __call__(self) -> Session:
        return self.sf()  # type: ignore[no-any-return]

    @contextmanager
    def begin(self) -> Iterator[Session]:
        with self.sf.begin() as s:
            yield s
        if self.failures == 0:
            self.failures += 1
            raise OperationalError("COMMIT", {}, Exception("server closed the connection"))


@pytest.mark.parametrize("via", ["engine", "sessionmaker"])
def test_finish_retry_after_lost_commit_ack_stores_one_turn(db_url: str, via: str) -> None:
    """The server passes its Engine (Core connections); a sessionmaker works the same."""
    engine = make_engine(db_url)
    migrate(engine)
    sf = make_session_factory(engine)
    try:
        now = datetime.now(UTC)
        consent = record_consent(sf, "1", CLIENT, now)
        store = engine if via == "engine" else sf
        prepared = start_exchange(
            store,
            consent_id=consent.id,
            conversation_id=None,
            parent_id=None,
            message="hi",
            client=CLIENT,
            max_turns=10,
            now=now,
        )
        outcome = ExchangeOutcome("hello", "stop", now, "m", "bm", {"max_tokens": 5})
        flaky = LostAck(store)
        turn_id = finish_exchange(flaky, prepared, outcome)  # type: ignore[arg-type]
        assert flaky.failures == 1
        with sf() as s:
            from wildchat.collect.db.models import TurnRow

            rows = s.query(TurnRow).filter(TurnRow.role == "assistant").all()
        assert [r.id for r in rows] == [turn_id]
        assert rows[0].content == "hello" and rows[0].parent_id == prepared.user_turn_id
    finally:
        engine.dispose()


def test_migrations_match_the_models_and_run_concurrently(db_url: str) -> None:
    import threading

    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlalchemy import inspect

    from wildchat.collect.db.models import Base

    engines = [make_engine(db_url) for _ in range(3)]
    errors: list[BaseException] = []

    def run(e: Any) -> None:
        try:
            migrate(e)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(e,)) for e in engines]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    try:
        assert not errors
        migrate(engines[0])  # idempotent
        assert {"consents", "conversations", "turns", "alembic_version"} <= set(
            inspect(engines[0]).get_table_names()
        )
        with engines[0].connect() as conn:
            assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []
    finally:
        for e in engines:
            e.dispose()
