"""The OpenAI-compatible gateway through the app: keys, /v1 shapes, logging into conversation trees.

Runs on SQLite and PostgreSQL (the ``db_url`` fixture).  Every refusal is
checked for OpenAI's error shape *and* for storing nothing.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.collect.collect_helpers import AGREE, all_turns, counts
from wildchat.collect.db.models import ApiKeyRow
from wildchat.collect.export import iter_records


def _consent_key(client: TestClient) -> str:
    assert client.post("/api/consent", json=AGREE).status_code == 200
    r = client.post("/api/keys")
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) >= {"key", "created_at", "prefix"}
    return str(body["key"])


def _auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def _chat(client: TestClient, key: str, messages: list[dict[str, Any]], **extra: Any) -> Any:
    return client.post(
        "/v1/chat/completions", headers=_auth(key), json={"model": "echo", "messages": messages, **extra}
    )


def _records(client: TestClient) -> list[Any]:
    with client.app.state.services.session_factory() as s:  # type: ignore[attr-defined]
        return list(iter_records(s))


def _assert_openai_error(r: Any, status: int, code: str | None = None) -> None:
    assert r.status_code == status, r.text
    err = r.json()["error"]
    assert set(err) >= {"message", "type", "code"}
    if code is not None:
        assert err["code"] == code


def test_key_is_shown_once_stored_as_hash_listed_and_revocable(client: TestClient) -> None:
    key = _consent_key(client)
    prefix = key[: len("wc-") + 12]
    listed = client.get("/api/keys").json()["keys"]
    assert [k["prefix"] for k in listed] == [prefix] and listed[0]["revoked_at"] is None
    assert key not in json.dumps(listed)
    with client.app.state.services.session_factory() as s:  # type: ignore[attr-defined]
        rows = list(s.scalars(select(ApiKeyRow)))
    assert len(rows) == 1 and key not in (rows[0].digest, rows[0].prefix) and len(rows[0].digest) == 64
    assert client.get("/v1/models", headers=_auth(key)).status_code == 200
    assert client.delete(f"/api/keys/{prefix}").status_code == 204
    _assert_openai_error(client.get("/v1/models", headers=_auth(key)), 401, "invalid_api_key")
    assert client.delete(f"/api/keys/{prefix}").status_code == 404
    client.cookies.clear()
    assert client.post("/api/keys").status_code == 403  # no consent cookie, no key


def test_models_and_completion_shapes(client: TestClient) -> None:
    key = _consent_key(client)
    models = client.get("/v1/models", headers=_auth(key)).json()
    assert models["object"] == "list" and [m["id"] for m in models["data"]] == ["echo"]
    r = _chat(
        client, key, [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hello there"}]
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["object"] == "chat.completion" and body["model"] == "echo"
    choice = body["choices"][0]
    assert choice["message"] == {"role": "assistant", "content": "You said: hello there", "refusal": None}
    assert choice["finish_reason"] == "stop"
    usage = body["usage"]
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"] > 0


def test_stream_chunks_usage_and_done(client: TestClient) -> None:
    key = _consent_key(client)
    messages = [{"role": "user", "content": [{"type": "text", "text": "stream me"}]}]
    r = _chat(client, key, messages, stream=True, stream_options={"include_usage": True})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
    lines = [ln[len("data: ") :] for ln in r.text.split("\n\n") if ln.startswith("data: ")]
    assert lines[-1] == "[DONE]"
    chunks = [json.loads(x) for x in lines[:-1]]
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks if c["choices"])
    assert text == "You said: stream me"
    assert chunks[-2]["choices"][0]["finish_reason"] == "stop"
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["completion_tokens"] == 4


def test_multi_turn_chat_is_one_conversation_with_branches(client: TestClient) -> None:
    key = _consent_key(client)
    first = _chat(client, key, [{"role": "user", "content": "one"}]).json()["choices"][0]["message"][
        "content"
    ]
    second = [
        {"role": "user", "content": "one"},
        {"role": "assistant", "content": first},
        {"role": "user", "content": "two"},
    ]
    assert _chat(client, key, second).status_code == 200
    n_after_two = counts(client.app)["turns"]  # type: ignore[arg-type]
    assert n_after_two == 4  # one, reply, two, reply: the echoed reply matched the stored one
    rewritten = [
        {"role": "user", "content": "one"},
        {"role": "assistant", "content": "an edited reply"},
        {"role": "user", "content": "three"},
    ]
    assert _chat(client, key, rewritten).status_code == 200
    turns = all_turns(client.app)  # type: ignore[arg-type]
    assert len({t.conversation_id for t in turns}) == 1
    assert counts(client.app)["conversations"] == 1  # type: ignore[arg-type]
    edited = next(t for t in turns if t.content == "an edited reply")
    assert edited.source == "client" and edited.parent_id == turns[0].id  # a branch below "one"
    records = _records(client)
    assert len(records) == 3  # three exchanges; the client-sent assistant message is not one
    assert {r.conversation_id for r in records} == {turns[0].conversation_id}
    by_last = {r.messages[-1].content: r for r in records}
    assert [(m.role, m.content) for m in by_last["three"].messages] == [
        (m["role"], m["content"]) for m in rewritten
    ]
    assert [(m.role, m.content) for m in by_last["two"].messages] == [
        (m["role"], m["content"]) for m in second
    ]
    assert all(json.loads(r.extra["source"]) == "gateway" for r in records if r.extra)


def test_unsupported_content_is_marked_and_counted(client: TestClient) -> None:
    key = _consent_key(client)
    messages = [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "look"},
                {"type": "image_url", "image_url": {"url": "data:x"}},
            ],
        },
        {"role": "assistant", "content": None, "tool_calls": [{"id": "c1", "type": "function"}]},
        {"role": "tool", "tool_call_id": "c1", "content": "42"},
    ]
    assert _chat(client, key, messages).status_code == 200
    (record,) = _records(client)
    assert [m.role for m in record.messages] == ["user", "assistant", "user"]
    assert "[unsupported content: image_url]" in record.messages[0].content
    assert record.messages[1].content == "[unsupported content: tool_calls]"
    assert record.messages[2].content == "[unsupported content: tool message]"
    assert record.extra is not None and json.loads(record.extra["unsupported_content"]) == 3


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"model": "echo"}, 400, None),
        ({"model": "echo", "messages": [{"role": "wizard", "content": "x"}]}, 400, "invalid_role"),
        (
            {"model": "echo", "messages": [{"role": "user", "content": [{"type": "hologram"}]}]},
            400,
            "invalid_content_part",
        ),
        (
            {"model": "echo", "messages": [{"role": "user", "content": "x"}], "n": 2},
            400,
            "unsupported_parameter",
        ),
        ({"model": "nope", "messages": [{"role": "user", "content": "x"}]}, 404, "model_not_found"),
        ({"model": "echo", "messages": [{"role": "user", "content": "x"}], "temperature": 9}, 400, None),
        (
            {
                "model": "echo",
                "messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "y"}],
            },
            400,
            None,
        ),
        (
            {"model": "echo", "messages": [{"role": "user", "content": "hi"}] * 10_000},
            400,
            "too_many_messages",
        ),
    ],
)
def test_bad_bodies_are_refused_and_store_nothing(
    client: TestClient, body: Any, status: int, code: str | None
) -> None:
    key = _consent_key(client)
    before = counts(client.app)  # type: ignore[arg-type]
    _assert_openai_error(client.post("/v1/chat/completions", headers=_auth(key), json=body), status, code)
    assert counts(client.app) == before  # type: ignore[arg-type]


def test_malformed_json_and_bad_keys(client: TestClient) -> None:
    key = _consent_key(client)
    before = counts(client.app)  # type: ignore[arg-type]
    r = client.post(
        "/v1/chat/completions", headers={**_auth(key), "content-type": "application/json"}, content=b"{nope"
    )
    _assert_openai_error(r, 400, "malformed_json")
    ok = {"model": "echo", "messages": [{"role": "user", "content": "x"}]}
    _assert_openai_error(client.post("/v1/chat/completions", json=ok), 401, "missing_api_key")
    _assert_openai_error(
        client.post("/v1/chat/completions", headers={"api-key": key}, json=ok), 401, "wrong_header"
    )
    _assert_openai_error(
        client.post("/v1/chat/completions", headers={"x-api-key": key}, json=ok), 401, "wrong_header"
    )
    _assert_openai_error(client.post(f"/v1/chat/completions?api_key={key}", json=ok), 401, "wrong_header")
    _assert_openai_error(
        client.post("/v1/chat/completions", headers={"Authorization": key}, json=ok), 401, "wrong_header"
    )
    forged = key[:-6] + "AAAAAA"
    r = client.post("/v1/chat/completions", headers=_auth(forged), json=ok)
    _assert_openai_error(r, 401, "invalid_api_key")
    assert key not in r.text and forged not in r.text
    assert counts(client.app) == before  # type: ignore[arg-type]


def test_withdrawal_revokes_every_key_and_render(client: TestClient) -> None:
    key = _consent_key(client)
    second = client.post("/api/keys").json()["key"]
    assert _chat(client, key, [{"role": "user", "content": "keep me?"}]).status_code == 200
    assert client.post("/api/render", json={"text": "*hi*"}).status_code == 200
    cookie = client.cookies.get("wildchat_consent")
    assert client.post("/api/me/withdraw", json={"confirm": True}).status_code == 200
    for k in (key, second):
        _assert_openai_error(_chat(client, k, [{"role": "user", "content": "again"}]), 401, "invalid_api_key")
    with client.app.state.services.session_factory() as s:  # type: ignore[attr-defined]
        assert all(row.revoked_at is not None for row in s.scalars(select(ApiKeyRow)))
    assert counts(client.app)["turns"] == 0  # type: ignore[arg-type]
    client.cookies.set("wildchat_consent", cookie or "")
    assert client.post("/api/render", json={"text": "*hi*"}).status_code == 403


def test_backend_failure_stores_the_partial_reply(make_app: Any) -> None:
    client = make_app(models=["echo=replay", "bad=replay:echo?tokens=10&failure_rate=1"])
    key = _consent_key(client)
    r = client.post(
        "/v1/chat/completions",
        headers=_auth(key),
        json={"model": "bad", "messages": [{"role": "user", "content": "x"}]},
    )
    _assert_openai_error(r, 502, "backend_error")
    r = client.post(
        "/v1/chat/completions",
        headers=_auth(key),
        json={"model": "bad", "stream": True, "messages": [{"role": "user", "content": "y"}]},
    )
    assert r.status_code == 200 and '"error"' in r.text and r.text.endswith("data: [DONE]\n\n")
    replies = [t for t in all_turns(client.app) if t.role == "assistant"]  # type: ignore[arg-type]
    assert len(replies) == 2 and all(t.finish_reason == "error" and t.error for t in replies)
    assert all(
        t.content.split() == ["You", "said:", "x" if i == 0 else "y", "You", "said:"]
        for i, t in enumerate(replies)
    )


def test_stop_sequences_and_max_tokens(client: TestClient) -> None:
    key = _consent_key(client)
    r = _chat(client, key, [{"role": "user", "content": "alpha beta gamma"}], stop=["beta"])
    assert r.json()["choices"][0]["message"]["content"] == "You said: alpha "
    r = _chat(client, key, [{"role": "user", "content": "alpha beta gamma"}], max_tokens=2)
    body = r.json()["choices"][0]
    assert body["message"]["content"] == "You said:" and body["finish_reason"] == "length"


def test_deleted_conversation_stays_deleted_when_the_app_resends_it(client: TestClient) -> None:
    key = _consent_key(client)
    first = [{"role": "user", "content": "secret plan"}]
    first.append(
        {"role": "assistant", "content": _chat(client, key, first).json()["choices"][0]["message"]["content"]}
    )
    (conv,) = client.get("/api/me/conversations").json()["conversations"]
    assert client.delete(f"/api/me/conversations/{conv['conversation_id']}").status_code == 204
    before = counts(client.app)  # type: ignore[arg-type]
    again = [*first, {"role": "user", "content": "and more"}]
    _assert_openai_error(_chat(client, key, again), 409, "conversation_deleted")
    _assert_openai_error(_chat(client, key, first[:1]), 409, "conversation_deleted")
    assert counts(client.app) == before  # type: ignore[arg-type]
    assert "secret plan" not in json.dumps([t.content for t in all_turns(client.app)])  # type: ignore[arg-type]
    assert _chat(client, key, [{"role": "user", "content": "a new chat"}]).status_code == 200


def test_rate_limit_is_openai_shaped_and_stores_nothing(make_app: Any) -> None:
    client = make_app(rate_limit_per_minute=3)
    key = _consent_key(client)  # consent and key creation count as 2 requests of this client
    assert _chat(client, key, [{"role": "user", "content": "one"}]).status_code == 200
    before = counts(client.app)  # type: ignore[arg-type]
    r = _chat(client, key, [{"role": "user", "content": "two"}])
    _assert_openai_error(r, 429, "rate_limited")
    assert r.json()["error"]["type"] == "rate_limit_error" and int(r.headers["retry-after"]) >= 1
    assert counts(client.app) == before  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "pieces", [["You said: al", "pha be", "ta gamma"], ["alpha b", "e", "t", "a"], ["alphabeta"]]
)
def test_stop_filter_cuts_across_chunk_boundaries(pieces: list[str]) -> None:
    from wildchat.collect.gateway.stream import StopFilter

    stopper = StopFilter(["beta", "zzz"])
    out, stopped = [], False
    for piece in pieces:
        text, stopped = stopper.feed(piece)
        out.append(text)
        if stopped:
            break
    assert stopped
    whole = "".join(pieces)
    assert "".join(out) == whole[: whole.index("beta")]


def test_concurrent_slots_per_key() -> None:
    from wildchat.collect.errors import ApiError
    from wildchat.collect.gateway.routes_v1 import StreamSlots

    slots = StreamSlots(2)
    a, b = slots.acquire("k1"), slots.acquire("k1")
    other = slots.acquire("k2")  # another key has its own budget
    with pytest.raises(ApiError) as exc:
        slots.acquire("k1")
    assert exc.value.status == 429
    a()
    a()  # releasing twice frees one slot only
    c = slots.acquire("k1")
    with pytest.raises(ApiError):
        slots.acquire("k1")
    for release in (b, c, other):
        release()
    assert slots.open("k1") == slots.open("k2") == 0
