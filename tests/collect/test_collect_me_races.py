"""Deletion racing chats: a streaming reply (409 / safe withdrawal) and concurrent chats (PG row locks).

Run on SQLite and PostgreSQL through a real uvicorn server (the reply must
really be streaming while the delete arrives) and through the store functions
from many threads at once.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from tests.collect.collect_helpers import AGREE, parse_sse, split_events
from tests.live_server import live_server
from wildchat.collect.app import create_app
from wildchat.collect.client import ClientInfo
from wildchat.collect.db.models import ConsentRow, ConversationRow, TurnRow
from wildchat.collect.errors import api_error
from wildchat.collect.refusals import Refusal
from wildchat.collect.settings import Settings
from wildchat.collect.store import ExchangeOutcome, finish_exchange, record_consent, start_exchange
from wildchat.collect.takedown import withdraw_consent
from wildchat.ledger import LedgerKey

pytestmark = pytest.mark.slow
SLOW = "slow=replay:echo?tokens=80&delay_ms=25"


@pytest.fixture
def server(make_settings: Callable[..., Settings]) -> Iterator[tuple[str, Any]]:
    app = create_app(make_settings(models=[SLOW], cookie_secure=False))
    with live_server(app) as url:
        yield url, app


def _complete(c: httpx.Client, message: str, **body: Any) -> dict[str, Any]:
    r = c.post("/api/chat", json={"model": "slow", "message": message, **body}, timeout=30)
    assert r.status_code == 200, r.text
    return split_events(parse_sse(r.text))[1]


def _contents(app: Any) -> list[str]:
    with app.state.services.session_factory() as s:
        return list(s.scalars(select(TurnRow.content)))


def test_delete_while_reply_streams_is_409_then_204(server: tuple[str, Any]) -> None:
    url, app = server
    with httpx.Client(base_url=url, timeout=30) as c:
        assert c.post("/api/consent", json=AGREE).status_code == 200
        first = _complete(c, "first words")
        cid = first["conversation_id"]
        body = {
            "model": "slow",
            "message": "second words",
            "conversation_id": cid,
            "parent_id": first["assistant_turn_id"],
        }
        with c.stream("POST", "/api/chat", json=body) as resp:
            lines = resp.iter_lines()
            assert next(line for line in lines if line.startswith('data: {"delta"'))
            r = c.delete(f"/api/me/conversations/{cid}")
            assert r.status_code == 409 and r.json()["error"] == "reply_in_progress"
            rest = "\n".join(lines)
        assert "[DONE]" in rest
        assert "second words" in _contents(app)  # nothing was deleted by the refused request
        assert c.delete(f"/api/me/conversations/{cid}").status_code == 204
        assert _contents(app) == []


def test_withdraw_while_reply_streams_leaves_nothing(server: tuple[str, Any]) -> None:
    url, app = server
    with httpx.Client(base_url=url, timeout=30) as c, httpx.Client(base_url=url, timeout=30) as other:
        assert c.post("/api/consent", json=AGREE).status_code == 200
        assert other.post("/api/consent", json=AGREE).status_code == 200
        _complete(other, "bystander text")
        with c.stream("POST", "/api/chat", json={"model": "slow", "message": "streaming away"}) as resp:
            lines = resp.iter_lines()
            assert next(line for line in lines if line.startswith('data: {"delta"'))
            r = c.post("/api/me/withdraw", json={"confirm": True})
            assert r.status_code == 200 and r.json()["conversations_deleted"] == 1
            list(lines)  # the stream ends; its reply cannot be stored any more
        left = _contents(app)
        assert len(left) == 2 and left[0] == "bystander text"  # the bystander's exchange, nothing else
        assert not any("streaming" in t for t in left)
        with app.state.services.session_factory() as s:
            assert s.scalar(select(func.count()).select_from(ConversationRow)) == 1


def test_withdraw_racing_many_chats_deletes_everything_of_that_consent(
    make_settings: Callable[..., Settings],
) -> None:
    """Chats of one consent in 8 threads while it withdraws: afterwards none of its rows remain."""
    settings = make_settings()
    app = create_app(settings)
    from fastapi.testclient import TestClient

    with TestClient(app, base_url="https://testserver"):
        engine = app.state.services.engine
        sf = app.state.services.session_factory
        now = datetime.now(UTC)
        client = ClientInfo(
            hashed_ip="ab" * 32, ip=None, country=None, state=None, user_agent="t", accept_language=None
        )
        victim = record_consent(sf, "1", client, now).id
        bystander = record_consent(sf, "1", client, now).id
        key = LedgerKey.from_secret(settings.key_bytes)
        outcomes: list[str] = []
        lock = threading.Lock()

        def chatter(consent_id: str, n: int) -> None:
            for i in range(n):
                try:
                    prepared = start_exchange(
                        engine,
                        consent_id=consent_id,
                        conversation_id=None,
                        parent_id=None,
                        message=f"{consent_id[:6]} message {i}",
                        client=client,
                        max_turns=100,
                        now=now,
                    )
                    finish_exchange(
                        engine,
                        prepared,
                        ExchangeOutcome(
                            content="reply",
                            finish_reason="stop",
                            finished_at=datetime.now(UTC),
                            model="echo",
                            backend_model="echo",
                            params={},
                            usage=None,
                            error=None,
                        ),
                    )
                    result = "stored"
                except Refusal as exc:
                    result = f"api{api_error(exc).status}"
                except IntegrityError:
                    result = "reply_dropped"
                with lock:
                    outcomes.append(result)

        threads = [threading.Thread(target=chatter, args=(victim, 15)) for _ in range(6)]
        threads += [threading.Thread(target=chatter, args=(bystander, 10)) for _ in range(2)]
        for t in threads:
            t.start()
        deleted = withdraw_consent(engine, key, victim)
        for t in threads:
            t.join()
        with sf() as s:
            victim_convs = s.scalar(
                select(func.count()).select_from(ConversationRow).where(ConversationRow.consent_id == victim)
            )
            orphan = s.scalar(
                select(func.count())
                .select_from(TurnRow)
                .where(TurnRow.conversation_id.not_in(select(ConversationRow.id)))
            )
            bystander_convs = s.scalar(
                select(func.count())
                .select_from(ConversationRow)
                .where(ConversationRow.consent_id == bystander)
            )
            row = s.get(ConsentRow, victim)
        assert victim_convs == 0 and orphan == 0
        assert bystander_convs == 20
        assert row is not None and row.withdrawn_at is not None
        assert deleted >= 0 and set(outcomes) <= {"stored", "api403", "api404", "reply_dropped"}
        # every chat that started after the withdrawal was refused, none left a trace
        assert outcomes.count("stored") + outcomes.count("api403") + outcomes.count("reply_dropped") == 110
