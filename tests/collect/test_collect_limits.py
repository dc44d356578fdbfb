"""Rate limits (memory and Redis), max turns per conversation: clear 429 JSON, nothing stored."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from tests.collect.collect_helpers import AGREE, counts, parse_sse, split_events

MSG = {"model": "echo", "message": "hi"}


def test_requests_per_minute(make_app: Callable[..., TestClient]) -> None:
    client = make_app(rate_limit_per_minute=3)
    client.post("/api/consent", json=AGREE)  # counts as one request
    assert client.post("/api/chat", json=MSG).status_code == 200
    assert client.post("/api/chat", json=MSG).status_code == 200
    before = counts(client.app)  # type: ignore[arg-type]
    r = client.post("/api/chat", json=MSG)
    assert r.status_code == 429
    body = r.json()
    assert body["error"] == "rate_limited" and 0 < body["retry_after"] <= 60
    assert r.headers["retry-after"] == str(body["retry_after"])
    assert counts(client.app) == before  # type: ignore[arg-type]


def test_turns_per_day(make_app: Callable[..., TestClient]) -> None:
    client = make_app(turns_per_day=2)
    client.post("/api/consent", json=AGREE)
    assert client.post("/api/chat", json=MSG).status_code == 200
    assert client.post("/api/chat", json=MSG).status_code == 200
    r = client.post("/api/chat", json=MSG)
    assert r.status_code == 429 and r.json()["error"] == "daily_turn_limit"
    assert counts(client.app)["turns"] == 4  # type: ignore[arg-type]


def test_max_turns_per_conversation(make_app: Callable[..., TestClient]) -> None:
    client = make_app(max_turns_per_conversation=2)
    client.post("/api/consent", json=AGREE)
    _, a = split_events(parse_sse(client.post("/api/chat", json=MSG).text))
    follow = {**MSG, "conversation_id": a["conversation_id"], "parent_id": a["assistant_turn_id"]}
    assert client.post("/api/chat", json=follow).status_code == 200
    r = client.post("/api/chat", json=follow)
    assert r.status_code == 429 and r.json()["error"] == "max_turns"
    assert counts(client.app)["turns"] == 4  # type: ignore[arg-type]
    assert client.post("/api/chat", json=MSG).status_code == 200  # a new conversation is fine


@pytest.mark.redis
def test_redis_limits_are_shared_between_instances(
    make_app: Callable[..., TestClient], redis_url: str
) -> None:
    one = make_app(rate_limit_per_minute=4, redis_url=redis_url)
    two = make_app(rate_limit_per_minute=4, redis_url=redis_url)  # same key: same pseudonym for the peer
    assert one.post("/api/consent", json=AGREE).status_code == 200
    two.cookies.set("wildchat_consent", one.cookies["wildchat_consent"])
    assert one.post("/api/chat", json=MSG).status_code == 200
    assert two.post("/api/chat", json=MSG).status_code == 200
    assert one.post("/api/chat", json=MSG).status_code == 200
    r = two.post("/api/chat", json=MSG)
    assert r.status_code == 429 and r.json()["error"] == "rate_limited"
    assert counts(one.app)["turns"] == 6  # type: ignore[arg-type]


def test_unreachable_redis_never_fails_open(make_app: Callable[..., TestClient]) -> None:
    """Redis down: collection goes on, and the in-process limiter still enforces the limit."""
    client = make_app(rate_limit_per_minute=2, redis_url="redis://127.0.0.1:1/0")  # nothing listens there
    assert client.post("/api/consent", json=AGREE).status_code == 200
    r = client.post("/api/chat", json=MSG)
    assert r.status_code == 200 and r.text.endswith("data: [DONE]\n\n")
    before = counts(client.app)  # type: ignore[arg-type]
    r = client.post("/api/chat", json=MSG)
    assert r.status_code == 429 and r.json()["error"] == "rate_limited"
    assert counts(client.app) == before  # type: ignore[arg-type]
