"""Bad input gets a clear 4xx JSON error and neither stores nor breaks anything."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.collect.collect_helpers import AGREE, all_turns, counts, parse_sse, split_events

JSON = {"content-type": "application/json"}


@pytest.fixture
def consented(make_app: Callable[..., TestClient]) -> tuple[TestClient, dict[str, Any]]:
    client = make_app(max_message_chars=100, max_body_bytes=2048)
    assert client.post("/api/consent", json=AGREE).status_code == 200
    r = client.post("/api/chat", json={"model": "echo", "message": "first"})
    _, final = split_events(parse_sse(r.text))
    return client, final


def _bad_bodies(final: dict[str, Any]) -> list[tuple[bytes, dict[str, str], int, str]]:
    cid, aid, uid = final["conversation_id"], final["assistant_turn_id"], final["user_turn_id"]

    def j(obj: Any) -> bytes:
        import json

        return json.dumps(obj).encode()

    return [
        (b'{"message": "hi", "model": "echo"', JSON, 400, "malformed_json"),
        (b"", JSON, 400, "malformed_json"),
        (b'{"message": "\xff\xfe", "model": "echo"}', JSON, 400, "invalid_utf8"),
        (b'{"message": "\\ud800", "model": "echo"}', JSON, 400, "malformed_json"),  # lone surrogate
        (j([1, 2]), JSON, 400, "invalid_request"),
        (j({"model": "echo"}), JSON, 400, "invalid_request"),
        (j({"message": 5, "model": "echo"}), JSON, 400, "invalid_request"),
        (j({"message": "hi", "model": "nope"}), JSON, 400, "unknown_model"),
        (j({"message": "", "model": "echo"}), JSON, 400, "empty_message"),
        (j({"message": " \n\t ", "model": "echo"}), JSON, 400, "empty_message"),
        (j({"message": "a\u0000b", "model": "echo"}), JSON, 400, "invalid_request"),
        (j({"message": "x" * 101, "model": "echo"}), JSON, 413, "message_too_long"),
        (j({"message": "x" * 3000, "model": "echo"}), JSON, 413, "body_too_large"),
        (j({"message": "hi", "model": "echo", "temperature": 9}), JSON, 400, "invalid_request"),
        (j({"message": "hi", "model": "echo", "top_p": 0}), JSON, 400, "invalid_request"),
        (j({"message": "hi", "model": "echo", "conversation_id": "../../etc"}), JSON, 400, "invalid_request"),
        (
            j({"message": "hi", "model": "echo", "conversation_id": "f" * 32}),
            JSON,
            404,
            "unknown_conversation",
        ),
        (
            j({"message": "hi", "model": "echo", "conversation_id": cid, "parent_id": 10**9}),
            JSON,
            404,
            "unknown_parent",
        ),
        (
            j({"message": "hi", "model": "echo", "conversation_id": cid, "parent_id": uid}),
            JSON,
            400,
            "bad_parent",
        ),
        (
            j({"message": "hi", "model": "echo", "conversation_id": cid, "parent_id": "1"}),
            JSON,
            400,
            "invalid_request",
        ),
        (
            j({"message": "hi", "model": "echo", "conversation_id": cid, "parent_id": -3}),
            JSON,
            400,
            "invalid_request",
        ),
        (j({"message": "hi", "model": "echo", "parent_id": aid}), JSON, 400, "bad_parent"),
        (
            j({"message": "hi", "model": "echo"}),
            {"content-type": "text/plain"},
            415,
            "unsupported_media_type",
        ),
    ]


def test_bad_chat_bodies_get_clear_errors_and_store_nothing(
    consented: tuple[TestClient, dict[str, Any]],
) -> None:
    client, final = consented
    before = counts(client.app)  # type: ignore[arg-type]
    snapshot = [(t.id, t.content, t.parent_id) for t in all_turns(client.app)]  # type: ignore[arg-type]
    for body, headers, status, code in _bad_bodies(final):
        r = client.post("/api/chat", content=body, headers=headers)
        assert r.status_code == status, (body[:60], r.text)
        assert r.headers["content-type"] == "application/json"
        assert r.json()["error"] == code, (body[:60], r.json())
        assert r.json()["message"]
    assert counts(client.app) == before  # type: ignore[arg-type]
    assert [(t.id, t.content, t.parent_id) for t in all_turns(client.app)] == snapshot  # type: ignore[arg-type]
    # the conversation is still usable
    r = client.post(
        "/api/chat",
        json={
            "model": "echo",
            "message": "still here",
            "conversation_id": final["conversation_id"],
            "parent_id": final["assistant_turn_id"],
        },
    )
    assert split_events(parse_sse(r.text))[0] == "You said: still here"


def test_header_flood_is_431_json(consented: tuple[TestClient, dict[str, Any]]) -> None:
    client, _ = consented
    before = counts(client.app)  # type: ignore[arg-type]
    many = {f"x-flood-{i}": "1" for i in range(200)}
    r = client.post("/api/chat", json={"model": "echo", "message": "hi"}, headers=many)
    assert r.status_code == 431 and r.json()["error"] == "headers_too_large"
    r = client.post("/api/chat", json={"model": "echo", "message": "hi"}, headers={"x-big": "a" * 20000})
    assert r.status_code == 431
    assert counts(client.app) == before  # type: ignore[arg-type]


def test_unknown_route_and_method_are_json(client: TestClient) -> None:
    r = client.get("/api/nothing")
    assert r.status_code == 404 and r.json()["error"] == "not_found"
    r = client.get("/api/chat")
    assert r.status_code == 405 and r.json()["error"] == "method_not_allowed"


def test_database_outage_is_a_json_500(make_settings: Callable[..., Any], tmp_path: Any) -> None:
    from wildchat.collect.app import create_app

    settings = make_settings(database_url=f"sqlite:///{tmp_path}/missing/dir/../x.db")
    app = create_app(settings, run_migrations=False)  # no tables: every insert fails
    with TestClient(app, raise_server_exceptions=False, client=("203.0.113.9", 1)) as client:
        r = client.post("/api/consent", json=AGREE, headers={"user-agent": "SECRET-UA"})
    assert r.status_code == 500
    assert r.json() == {"error": "internal_error", "message": "the server failed to handle this request"}
