"""Nothing is lost: backend errors, timeouts and client disconnects store the partial reply."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import anyio
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.collect.collect_helpers import AGREE, PEER, all_turns, parse_sse, split_events

pytestmark = pytest.mark.anyio


def test_backend_error_is_stored_and_conversation_stays_usable(make_app: Callable[..., TestClient]) -> None:
    client = make_app(models=["bad=replay:echo?tokens=10&failure_rate=1", "echo=replay"])
    client.post("/api/consent", json=AGREE)
    r = client.post("/api/chat", json={"model": "bad", "message": "hi"})
    assert r.status_code == 200
    text, final = split_events(parse_sse(r.text))
    assert final["finish_reason"] == "error" and final["error"]
    assert text.split() == ["You", "said:", "hi", "You", "said:"]  # failed half-way through 10 tokens
    _user, assistant = all_turns(client.app)  # type: ignore[arg-type]
    assert assistant.finish_reason == "error"
    assert assistant.content == text
    assert assistant.error is not None and "injected failure" in assistant.error
    r = client.post(
        "/api/chat",
        json={
            "model": "echo",
            "message": "again",
            "conversation_id": final["conversation_id"],
            "parent_id": final["assistant_turn_id"],
        },
    )
    assert split_events(parse_sse(r.text))[1]["finish_reason"] == "stop"


def test_timeout_stores_partial_reply(make_app: Callable[..., TestClient]) -> None:
    client = make_app(models=["slow=replay:echo?tokens=50&delay_ms=40"], generation_timeout_s=0.3)
    client.post("/api/consent", json=AGREE)
    text, final = split_events(
        parse_sse(client.post("/api/chat", json={"model": "slow", "message": "x"}).text)
    )
    assert final["finish_reason"] == "timeout"
    assistant = all_turns(client.app)[-1]  # type: ignore[arg-type]
    assert assistant.finish_reason == "timeout" and assistant.error is not None
    assert assistant.content == text and 0 < len(text.split()) < 50


async def _chat_then_disconnect(app: FastAPI, cookie: str, body: dict[str, Any], after: int) -> list[str]:
    """Drive the ASGI app directly; the client vanishes after ``after`` body chunks."""
    deltas: list[str] = []
    gone = anyio.Event()
    sent_body = False

    async def receive() -> dict[str, Any]:
        nonlocal sent_body
        if not sent_body:
            sent_body = True
            return {"type": "http.request", "body": json.dumps(body).encode(), "more_body": False}
        await gone.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            assert message["status"] == 200
        elif message.get("body"):
            deltas.extend(e["delta"] for e in parse_sse(message["body"].decode()) if isinstance(e, dict))
            if len(deltas) >= after:
                gone.set()

    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/api/chat",
        "raw_path": b"/api/chat",
        "query_string": b"",
        "root_path": "",
        "client": PEER,
        "server": ("testserver", 80),
        "headers": [
            (b"host", b"testserver"),
            (b"content-type", b"application/json"),
            (b"cookie", f"wildchat_consent={cookie}".encode()),
        ],
    }
    with anyio.fail_after(10):
        await app(scope, receive, send)
    return deltas


async def test_client_disconnect_mid_stream_stores_partial(async_app: Callable[..., Any]) -> None:
    app, ac = await async_app(models=["slow=replay:echo?tokens=40&delay_ms=15"])
    r = await ac.post("/api/consent", json=AGREE)
    cookie = r.cookies["wildchat_consent"]
    deltas = await _chat_then_disconnect(app, cookie, {"model": "slow", "message": "tell me"}, after=3)
    turns = await anyio.to_thread.run_sync(all_turns, app)
    assert [t.role for t in turns] == ["user", "assistant"]
    assistant = turns[1]
    assert assistant.finish_reason == "client_disconnect"
    # stored: everything the model produced before the hang-up (a superset of what was sent)
    assert assistant.content.startswith("".join(deltas))
    assert 3 <= len(assistant.content.split()) < 40
    # the conversation goes on from the partial reply
    r = await ac.post(
        "/api/chat",
        json={
            "model": "slow",
            "message": "go on",
            "conversation_id": turns[0].conversation_id,
            "parent_id": assistant.id,
        },
    )
    assert split_events(parse_sse(r.text))[1]["finish_reason"] == "stop"
