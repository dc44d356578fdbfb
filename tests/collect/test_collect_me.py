"""A participant's own data: list, read, delete, withdraw -- on SQLite and PostgreSQL.

Every deletion is checked in the database itself (the text is gone, a
tombstone without text is in the ledger) and in ``export-logs``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from sqlalchemy import select

from tests.collect.collect_helpers import AGREE, parse_sse, split_events
from wildchat.collect.db.models import ConsentRow, ConversationRow, LedgerRow, TurnRow
from wildchat.collect.export import export_logs


def peer(app: Any, addr: tuple[str, int], cookies: dict[str, str] | None = None) -> TestClient:
    """Another browser on the same app (https: the consent cookie is Secure outside dev mode)."""
    return TestClient(app, client=addr, base_url="https://testserver", cookies=cookies)


def consent(client: TestClient) -> str:
    r = client.post("/api/consent", json=AGREE)
    assert r.status_code == 200
    return str(r.json()["consent_id"])


def chat(client: TestClient, message: str, **body: Any) -> dict[str, Any]:
    r = client.post("/api/chat", json={"model": "echo", "message": message, **body})
    assert r.status_code == 200, r.text
    return split_events(parse_sse(r.text))[1]


def db_texts(client: TestClient) -> list[str]:
    with client.app.state.services.session_factory() as s:  # type: ignore[attr-defined]
        return list(s.scalars(select(TurnRow.content)))


def ledger_rows(client: TestClient) -> list[LedgerRow]:
    with client.app.state.services.session_factory() as s:  # type: ignore[attr-defined]
        return list(s.scalars(select(LedgerRow).order_by(LedgerRow.id)))


def test_list_get_and_page_newest_first(client: TestClient) -> None:
    consent(client)
    a = chat(client, "alpha question about rivers")
    chat(client, "alpha follow-up", conversation_id=a["conversation_id"], parent_id=a["assistant_turn_id"])
    b = chat(client, "beta " + "long " * 40)
    r = client.get("/api/me/conversations")
    assert r.status_code == 200
    body = r.json()
    convs = body["conversations"]
    assert [c["conversation_id"] for c in convs] == [b["conversation_id"], a["conversation_id"]]
    assert set(convs[0]) >= {"conversation_id", "created_at", "updated_at", "title", "turns"}
    assert convs[1]["title"] == "alpha question about rivers"
    assert convs[1]["turns"] == 2 and convs[0]["turns"] == 1
    assert convs[0]["title"].startswith("beta long") and len(convs[0]["title"]) <= 80
    assert body["total"] == 2 and body["next_offset"] is None
    page1 = client.get("/api/me/conversations?limit=1").json()
    page2 = client.get("/api/me/conversations?limit=1&offset=1").json()
    assert page1["next_offset"] == 1 and page2["next_offset"] is None
    assert [c["conversation_id"] for c in page1["conversations"] + page2["conversations"]] == [
        b["conversation_id"],
        a["conversation_id"],
    ]
    assert client.get("/api/me/conversations?limit=0").status_code == 422
    assert client.get("/api/me/conversations?offset=-1").status_code == 422

    # a regenerated follow-up is a second branch
    chat(client, "alpha regenerated", conversation_id=a["conversation_id"], parent_id=a["assistant_turn_id"])
    conv = client.get(f"/api/me/conversations/{a['conversation_id']}").json()
    assert conv["conversation_id"] == a["conversation_id"]
    assert len(conv["messages"]) == 6
    assert len(conv["branches"]) == 2
    by_id = {m["id"]: m for m in conv["messages"]}
    assert [by_id[i]["content"] for i in conv["branches"][-1]][:3] == [
        "alpha question about rivers",
        by_id[a["assistant_turn_id"]]["content"],
        "alpha regenerated",
    ]
    assert all(conv["branches"][0][:2] == br[:2] for br in conv["branches"])


def test_other_participants_conversation_is_404(make_app: Callable[..., TestClient]) -> None:
    alice = make_app()
    consent(alice)
    a = chat(alice, "alice private text")
    bob = peer(alice.app, ("198.51.100.9", 4000))
    consent(bob)
    cid = a["conversation_id"]
    assert bob.get(f"/api/me/conversations/{cid}").status_code == 404
    assert bob.delete(f"/api/me/conversations/{cid}").status_code == 404
    assert bob.get("/api/me/conversations").json()["conversations"] == []
    assert bob.get("/api/me/conversations/not-an-id").status_code == 404
    assert "alice private text" in db_texts(alice)


def test_delete_is_hard_and_tombstoned(client: TestClient, db_url: str, tmp_path: Path) -> None:
    consent(client)
    gone = chat(client, "please forget my phone 555-0199")
    gone2 = chat(
        client, "second message", conversation_id=gone["conversation_id"], parent_id=gone["assistant_turn_id"]
    )
    kept = chat(client, "keep this one")
    cid = gone["conversation_id"]
    r = client.delete(f"/api/me/conversations/{cid}")
    assert r.status_code == 204 and r.content == b""
    texts = db_texts(client)
    assert not any("555-0199" in t or "second message" in t for t in texts)
    assert "keep this one" in texts
    with client.app.state.services.session_factory() as s:  # type: ignore[attr-defined]
        assert s.get(ConversationRow, cid) is None
        assert s.get(ConversationRow, kept["conversation_id"]) is not None
    rows = ledger_rows(client)
    assert len(rows) == 1
    row = rows[0]
    assert row.kind == "conversation" and row.cause == "participant"
    assert len(row.exchange_hashes or []) == 2 and row.conversation_hash and len(row.conversation_hash) == 64
    dumped = json.dumps([row.conversation_hash, row.exchange_hashes, row.reason])
    assert cid not in dumped and "phone" not in dumped and "forget" not in dumped
    # deleting twice, or reading it, is 404
    assert client.delete(f"/api/me/conversations/{cid}").status_code == 404
    assert client.get(f"/api/me/conversations/{cid}").status_code == 404
    assert [c["conversation_id"] for c in client.get("/api/me/conversations").json()["conversations"]] == [
        kept["conversation_id"]
    ]
    # continuing the deleted conversation is refused too
    r = client.post(
        "/api/chat",
        json={
            "model": "echo",
            "message": "x",
            "conversation_id": cid,
            "parent_id": gone2["assistant_turn_id"],
        },
    )
    assert r.status_code == 404
    out = tmp_path / "after.jsonl"
    export_logs(db_url, out)
    exported = out.read_text()
    assert "555-0199" not in exported and "second message" not in exported and cid not in exported
    assert "keep this one" in exported


def test_withdraw_deletes_everything_and_blocks_the_cookie(
    make_app: Callable[..., TestClient], db_url: str, tmp_path: Path
) -> None:
    client = make_app()
    first = consent(client)
    a = chat(client, "withdrawn text one")
    chat(client, "withdrawn text two")
    other = peer(client.app, ("198.51.100.10", 4001))
    consent(other)
    chat(other, "someone else stays")
    old_cookie = client.cookies.get("wildchat_consent")
    assert client.post("/api/me/withdraw", json={}).status_code == 400
    assert client.post("/api/me/withdraw", json={"confirm": "yes"}).status_code == 400
    assert len(client.get("/api/me/conversations").json()["conversations"]) == 2  # nothing deleted yet
    r = client.post("/api/me/withdraw", json={"confirm": True})
    assert r.status_code == 200
    assert r.json() == {"withdrawn": True, "conversations_deleted": 2}
    set_cookie = r.headers["set-cookie"]
    assert "wildchat_consent=" in set_cookie and (
        "Max-Age=0" in set_cookie or "expires=" in set_cookie.lower()
    )
    texts = db_texts(client)
    assert not any(t.startswith("withdrawn text") for t in texts) and "someone else stays" in texts
    with client.app.state.services.session_factory() as s:  # type: ignore[attr-defined]
        row = s.get(ConsentRow, first)
        assert row is not None and row.withdrawn_at is not None
        assert row.hashed_ip is None and row.user_agent is None
    assert {r.cause for r in ledger_rows(client)} == {"withdrawal"}
    # the old cookie (replayed) is 403 everywhere
    replay = peer(client.app, ("203.0.113.77", 50123), {"wildchat_consent": str(old_cookie)})
    cid = a["conversation_id"]
    assert replay.post("/api/chat", json={"model": "echo", "message": "again"}).status_code == 403
    assert (
        replay.post(
            "/api/chat", json={"model": "echo", "message": "again", "conversation_id": cid}
        ).status_code
        == 403
    )
    assert replay.get("/api/me/conversations").status_code == 403
    assert replay.get(f"/api/me/conversations/{cid}").status_code == 403
    assert replay.delete(f"/api/me/conversations/{cid}").status_code == 403
    assert replay.post("/api/me/withdraw", json={"confirm": True}).status_code == 403
    assert replay.get("/api/consent").json()["consented"] is False
    # a fresh consent is a new participant with none of the old data
    second = consent(replay)
    assert second != first
    assert replay.get("/api/me/conversations").json()["conversations"] == []
    chat(replay, "a new start")
    assert len(replay.get("/api/me/conversations").json()["conversations"]) == 1
    out = tmp_path / "after.jsonl"
    export_logs(db_url, out)
    assert "withdrawn text" not in out.read_text() and "someone else stays" in out.read_text()


def test_withdraw_with_bad_or_expired_cookie_is_403(client: TestClient, secret_key: str) -> None:
    cid = consent(client)
    chat(client, "still here")

    class Old(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(time.time()) - 400 * 86400

    expired = URLSafeTimedSerializer(secret_key, salt="wildchat-consent-v1", signer=Old).dumps(
        {"id": cid, "v": "1"}
    )
    for cookie in (expired, "forged.value.here", ""):
        c = peer(client.app, ("203.0.113.77", 50123), {"wildchat_consent": cookie})
        r = c.post("/api/me/withdraw", json={"confirm": True})
        assert r.status_code == 403, cookie
    assert "still here" in db_texts(client)
    assert ledger_rows(client) == []


def test_deleted_text_is_gone_from_the_sqlite_files(client: TestClient, db_url: str) -> None:
    """Hard delete on disk, not only in queries: secure_delete zeroes pages, the WAL is checkpointed."""
    if not db_url.startswith("sqlite"):
        pytest.skip("file-level check of the SQLite store")
    path = Path(db_url.removeprefix("sqlite:///"))
    marker = "zebra-quokka-9931"

    def on_disk() -> bool:
        files = [path, path.with_name(path.name + "-wal")]
        return any(marker.encode() in f.read_bytes() for f in files if f.exists())

    consent(client)
    gone = chat(client, f"{marker} " + "padding " * 200)
    chat(client, "unrelated and kept")
    assert on_disk()
    assert client.delete(f"/api/me/conversations/{gone['conversation_id']}").status_code == 204
    assert not on_disk()
