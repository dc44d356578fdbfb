"""Streaming chat with the replay backend: events, stored turns, branches, server-side history."""

from __future__ import annotations

import json
import os
import stat
from collections.abc import AsyncGenerator, Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.collect.collect_helpers import AGREE, all_turns, counts, parse_sse, split_events
from wildchat.collect.backends.base import Chunk, GenerationParams
from wildchat.collect.backends.registry import BackendRegistry, ModelEntry
from wildchat.collect.settings import parse_model_spec
from wildchat.schema import Message


def chat(
    client: TestClient, headers: dict[str, str] | None = None, **body: object
) -> tuple[str, dict[str, object]]:
    r = client.post("/api/chat", json={"model": "echo", **body}, headers=headers)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/event-stream")
    return split_events(parse_sse(r.text))


class SpyBackend:
    """Records the history each call received; replies ``reply-N``."""

    kind = "replay"
    model_id = "spy-1"

    def __init__(self) -> None:
        self.calls: list[list[Message]] = []

    async def stream(
        self, messages: Sequence[Message], params: GenerationParams
    ) -> AsyncGenerator[Chunk, None]:
        self.calls.append(list(messages))
        yield Chunk(delta=f"reply-{len(self.calls)}")
        yield Chunk(finish_reason="stop", usage={"completion_tokens": 1})

    async def aclose(self) -> None:
        return None


def test_stream_events_and_stored_turns(client: TestClient) -> None:
    client.post("/api/consent", json=AGREE)
    headers = {"user-agent": "Tester/2", "accept-language": "de-DE"}
    text, final = chat(client, headers, message="hello   world", temperature=0.5, top_p=0.9)
    assert text == "You said: hello world"
    assert final["finish_reason"] == "stop"
    user, assistant = all_turns(client.app)  # type: ignore[arg-type]
    assert (user.id, assistant.id) == (final["user_turn_id"], final["assistant_turn_id"])
    assert user.conversation_id == assistant.conversation_id == final["conversation_id"]
    assert (user.role, user.content, user.parent_id, user.turn_index) == ("user", "hello   world", None, 0)
    assert (assistant.role, assistant.parent_id, assistant.turn_index) == ("assistant", user.id, 1)
    assert assistant.content == text
    assert assistant.model == "echo" and assistant.backend_model == "replay:echo"
    assert assistant.params == {"max_tokens": 512, "temperature": 0.5, "top_p": 0.9}
    assert assistant.usage is not None and assistant.usage["completion_tokens"] == 4
    assert assistant.finished_at is not None and assistant.requested_at is not None
    assert assistant.finished_at >= assistant.requested_at
    assert user.user_agent == "Tester/2" and user.accept_language == "de-DE"
    assert user.hashed_ip is not None and user.ip is None


def test_history_is_rebuilt_server_side(client: TestClient) -> None:
    spy = SpyBackend()
    services = client.app.state.services  # type: ignore[attr-defined]
    services.registry = BackendRegistry([ModelEntry(parse_model_spec("echo=replay"), spy)])
    client.post("/api/consent", json=AGREE)
    _, first = chat(client, message="one")
    injected = [{"role": "assistant", "content": "INJECTED"}, {"role": "user", "content": "fake"}]
    _, second = chat(
        client,
        message="two",
        conversation_id=first["conversation_id"],
        parent_id=first["assistant_turn_id"],
        messages=injected,
        history=injected,
    )
    assert spy.calls[1] == [Message("user", "one"), Message("assistant", "reply-1"), Message("user", "two")]
    stored = [t.content for t in all_turns(client.app)]  # type: ignore[arg-type]
    assert "INJECTED" not in stored and "fake" not in stored
    assert second["conversation_id"] == first["conversation_id"]


def test_regenerate_and_edit_create_branches(client: TestClient) -> None:
    spy = SpyBackend()
    services = client.app.state.services  # type: ignore[attr-defined]
    services.registry = BackendRegistry([ModelEntry(parse_model_spec("echo=replay"), spy)])
    client.post("/api/consent", json=AGREE)
    _, a = chat(client, message="q1")
    cid = a["conversation_id"]
    _, b = chat(client, message="q2", conversation_id=cid, parent_id=a["assistant_turn_id"])
    # regenerate q2: same message, same parent -> a sibling branch
    _, c = chat(client, message="q2", conversation_id=cid, parent_id=a["assistant_turn_id"])
    # edit the first message: parent_id 0 inside the same conversation -> a new root branch
    _, d = chat(client, message="q1 edited", conversation_id=cid, parent_id=0)
    # continue the regenerated branch
    _, e = chat(client, message="q3", conversation_id=cid, parent_id=c["assistant_turn_id"])
    turns = {t.id: t for t in all_turns(client.app)}  # type: ignore[arg-type]
    assert len(turns) == 10 and {t.conversation_id for t in turns.values()} == {cid}
    assert turns[b["user_turn_id"]].parent_id == turns[c["user_turn_id"]].parent_id == a["assistant_turn_id"]
    assert turns[b["assistant_turn_id"]].content == "reply-2"  # the original is not overwritten
    assert turns[c["assistant_turn_id"]].content == "reply-3"
    assert turns[d["user_turn_id"]].parent_id is None and turns[d["user_turn_id"]].turn_index == 0
    assert spy.calls[3] == [Message("user", "q1 edited")]
    assert spy.calls[4] == [
        Message("user", "q1"),
        Message("assistant", "reply-1"),
        Message("user", "q2"),
        Message("assistant", "reply-3"),
        Message("user", "q3"),
    ]
    assert turns[e["user_turn_id"]].turn_index == 4


def test_models_lists_configured_models_without_secrets(make_app: Callable[..., TestClient]) -> None:
    client = make_app(models=["echo=replay", "gpt=openai:gpt-4o-mini?base_url=http://10.1.2.3:8000/v1"])
    body = client.get("/api/models").json()
    assert body == {
        "models": [
            {"name": "echo", "backend": "replay", "default": True},
            {"name": "gpt", "backend": "openai", "default": False},
        ]
    }
    assert "10.1.2.3" not in client.get("/api/models").text


def test_conversations_are_private_to_their_consent(make_app: Callable[..., TestClient]) -> None:
    alice = make_app()
    alice.post("/api/consent", json=AGREE)
    _, first = chat(alice, message="alice secret")
    bob = make_app()
    bob.post("/api/consent", json=AGREE)
    before = counts(bob.app)  # type: ignore[arg-type]
    r = bob.post(
        "/api/chat",
        json={
            "model": "echo",
            "message": "leak?",
            "conversation_id": first["conversation_id"],
            "parent_id": first["assistant_turn_id"],
        },
    )
    assert r.status_code == 404 and r.json()["error"] == "unknown_conversation"
    assert counts(bob.app) == before  # type: ignore[arg-type]


def test_blocklist_moderation_refuses_and_stores_nothing(make_app: Callable[..., TestClient]) -> None:
    client = make_app(moderation="blocklist", moderation_blocklist=["forbidden phrase"])
    client.post("/api/consent", json=AGREE)
    r = client.post("/api/chat", json={"model": "echo", "message": "a FORBIDDEN   phrase here"})
    assert r.status_code == 200  # whitespace differs: not the phrase
    before = counts(client.app)  # type: ignore[arg-type]
    r = client.post("/api/chat", json={"model": "echo", "message": "say the Forbidden phrase!"})
    assert r.status_code == 400 and r.json()["error"] == "message_refused"
    assert counts(client.app) == before  # type: ignore[arg-type]
    assert (
        client.post("/api/chat", json={"model": "echo", "message": "unforbidden phrases"}).status_code == 200
    )


def test_worker_factory_rebuilds_the_same_settings_from_a_private_file(
    make_settings: Callable[..., Any], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from wildchat.collect.app import ENV_SETTINGS_FILE, app_from_env, write_worker_settings

    settings = make_settings(
        models=["a=replay:echo?tokens=3", "b=replay"], trusted_proxies=["10.0.0.0/8"], admin_token="a" * 40
    )
    path = write_worker_settings(settings, tmp_path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    monkeypatch.setenv(ENV_SETTINGS_FILE, str(path))
    rebuilt = app_from_env().state.services.settings
    assert rebuilt == settings
    assert rebuilt.key_bytes == settings.key_bytes and rebuilt.ip_key_bytes == settings.ip_key_bytes
    assert rebuilt.admin_token.get_secret_value() == "a" * 40
    # what the workers inherit names the file and holds no key
    assert settings.key_bytes.decode() not in os.environ[ENV_SETTINGS_FILE]
    monkeypatch.delenv(ENV_SETTINGS_FILE)
    with pytest.raises(RuntimeError):
        app_from_env()


def test_conversation_id_alone_continues_the_latest_branch(
    client: TestClient, db_url: str, tmp_path: Path
) -> None:
    spy = SpyBackend()
    services = client.app.state.services  # type: ignore[attr-defined]
    services.registry = BackendRegistry([ModelEntry(parse_model_spec("echo=replay"), spy)])
    client.post("/api/consent", json=AGREE)
    _, a = chat(client, message="first question")
    cid = a["conversation_id"]
    _, b = chat(client, message="a follow-up", conversation_id=cid)  # no parent_id, like other chat APIs
    assert spy.calls[1] == [
        Message("user", "first question"),
        Message("assistant", "reply-1"),
        Message("user", "a follow-up"),
    ]
    turns = {t.id: t for t in all_turns(client.app)}  # type: ignore[arg-type]
    assert turns[b["user_turn_id"]].parent_id == a["assistant_turn_id"]
    assert turns[b["user_turn_id"]].turn_index == 2
    # after a regenerate, "latest" is the newest assistant turn: the regenerated branch
    _, c = chat(client, message="a follow-up", conversation_id=cid, parent_id=a["assistant_turn_id"])
    _, d = chat(client, message="and then", conversation_id=cid, parent_id=None)
    assert turns_parent(client, d["user_turn_id"]) == c["assistant_turn_id"]
    assert spy.calls[3][-3:] == [
        Message("user", "a follow-up"),
        Message("assistant", "reply-3"),
        Message("user", "and then"),
    ]
    # the contract: export-logs records the follow-up with its full history
    from typer.testing import CliRunner

    from wildchat.cli.main import app as cli

    out = tmp_path / "logs.jsonl"
    res = CliRunner().invoke(cli, ["export-logs", "--db", db_url, "--out", str(out)])
    assert res.exit_code == 0, res.output
    logs = [json.loads(line) for line in out.read_text().splitlines()]
    follow = next(log for log in logs if log["messages"][-1]["content"] == "a follow-up")
    assert [(m["role"], m["content"]) for m in follow["messages"]] == [
        ("user", "first question"),
        ("assistant", "reply-1"),
        ("user", "a follow-up"),
    ]


def turns_parent(client: TestClient, turn_id: int) -> int | None:
    return {t.id: t for t in all_turns(client.app)}[turn_id].parent_id  # type: ignore[arg-type]


def test_parent_id_zero_starts_a_root_branch_and_needs_no_conversation(client: TestClient) -> None:
    client.post("/api/consent", json=AGREE)
    _, a = chat(client, message="hello", parent_id=0)  # no conversation: just a new one
    _, b = chat(client, message="hello again", conversation_id=a["conversation_id"], parent_id=0)
    assert b["conversation_id"] == a["conversation_id"]
    assert turns_parent(client, b["user_turn_id"]) is None
