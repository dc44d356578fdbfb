"""Backends: local SmolLM2 (real model), OpenAI-compatible (real SDK over a scripted HTTP server), replay."""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from tests.collect.collect_helpers import AGREE, all_turns, parse_sse, split_events
from wildchat.collect.backends.base import BackendError, Chunk, GenerationParams
from wildchat.collect.backends.local import fit_history
from wildchat.collect.backends.openai_compat import OpenAIBackend
from wildchat.collect.backends.replay import ReplayBackend, echo_words
from wildchat.schema import Message

pytestmark = pytest.mark.anyio

HAS_LLAMA = importlib.util.find_spec("llama_cpp") is not None


async def collect(backend: object, messages: list[Message], params: GenerationParams) -> list[Chunk]:
    return [c async for c in backend.stream(messages, params)]  # type: ignore[attr-defined]


@pytest.mark.slow
@pytest.mark.skipif(not HAS_LLAMA, reason="llama_cpp (llama-cpp-python, the `local` extra) is not importable")
async def test_local_smollm2_generates_tokens() -> None:
    from wildchat.collect.backends.local import LocalBackend, find_smollm2_gguf

    path = find_smollm2_gguf()
    assert path.suffix == ".gguf" and "SmolLM2" in path.name
    backend = LocalBackend(None, {"n_ctx": "512"})
    chunks = await collect(
        backend, [Message("user", "Say hello.")], GenerationParams(max_tokens=8, temperature=0.0)
    )
    text = "".join(c.delta for c in chunks)
    assert text.strip()
    assert chunks[-1].finish_reason in {"stop", "length"}
    assert chunks[-1].usage is not None and 1 <= chunks[-1].usage["completion_tokens"] <= 8
    await backend.aclose()


@pytest.mark.slow
@pytest.mark.skipif(not HAS_LLAMA, reason="llama_cpp (llama-cpp-python, the `local` extra) is not importable")
def test_local_backend_through_the_app(make_app: Callable[..., TestClient]) -> None:
    client = make_app(models=["smol=local?n_ctx=512&max_tokens=6"])
    client.post("/api/consent", json=AGREE)
    r = client.post("/api/chat", json={"model": "smol", "message": "Hi!", "temperature": 0})
    text, final = split_events(parse_sse(r.text))
    assert final["finish_reason"] in {"stop", "length"} and text
    assistant = all_turns(client.app)[-1]  # type: ignore[arg-type]
    assert assistant.content == text and assistant.backend_model.startswith("SmolLM2")


def test_fit_history_drops_oldest_but_keeps_system_and_last() -> None:
    msgs = [Message("system", "s"), *(Message(r, "word " * 10) for r in ["user", "assistant"] * 3)]
    msgs.append(Message("user", "last"))
    fitted = fit_history(msgs, lambda t: len(t.split()), budget=40)
    assert fitted[0].role == "system" and fitted[-1] == Message("user", "last")
    assert sum(len(m.content.split()) + 8 for m in fitted) <= 40 and len(fitted) < len(msgs)
    assert fit_history([Message("user", "x " * 500)], lambda t: len(t.split()), 10) == [
        Message("user", "x " * 500)
    ]


def _sse_body(events: list[dict[str, object]]) -> bytes:
    return b"".join(b"data: " + json.dumps(e).encode() + b"\n\n" for e in events) + b"data: [DONE]\n\n"


async def test_openai_backend_streams_through_the_sdk() -> None:
    seen: list[dict[str, object]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(json.loads(request.content))
        assert request.url.path == "/v1/chat/completions"
        base = {"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "m"}
        events = [
            {**base, "choices": [{"index": 0, "delta": {"role": "assistant", "content": "Hel"}}]},
            {**base, "choices": [{"index": 0, "delta": {"content": "lo"}, "finish_reason": "stop"}]},
            {**base, "choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5}},
        ]
        return httpx.Response(200, content=_sse_body(events), headers={"content-type": "text/event-stream"})

    http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    backend = OpenAIBackend("my-model", {"base_url": "http://llm.local/v1"}, http_client=http)
    history = [Message("user", "a"), Message("assistant", "b"), Message("user", "c")]
    chunks = await collect(backend, history, GenerationParams(max_tokens=7, temperature=0.3))
    assert "".join(c.delta for c in chunks) == "Hello"
    assert chunks[-1].finish_reason == "stop" and chunks[-1].usage == {
        "prompt_tokens": 3,
        "completion_tokens": 2,
        "total_tokens": 5,
    }
    assert seen[0]["model"] == "my-model" and seen[0]["max_tokens"] == 7 and seen[0]["temperature"] == 0.3
    assert seen[0]["messages"] == [{"role": m.role, "content": m.content} for m in history]
    await backend.aclose()


async def test_openai_backend_errors_become_backend_errors() -> None:
    http = httpx.AsyncClient(
        transport=httpx.MockTransport(lambda r: httpx.Response(500, json={"error": "boom"}))
    )
    backend = OpenAIBackend("m", {"base_url": "http://llm.local/v1"}, http_client=http)
    with pytest.raises(BackendError):
        await collect(backend, [Message("user", "x")], GenerationParams(max_tokens=5))


async def test_replay_file_mode(tmp_path: Path) -> None:
    rec = tmp_path / "rec.jsonl"
    rec.write_text(
        json.dumps({"messages": [{"role": "user", "content": "ping"}], "response": "pong pong"})
        + "\n"
        + json.dumps({"messages": [{"role": "user", "content": "x"}], "response": "other"})
        + "\n"
    )
    backend = ReplayBackend(str(rec), {})
    chunks = await collect(backend, [Message("user", "ping")], GenerationParams(max_tokens=50))
    assert "".join(c.delta for c in chunks) == "pong pong"
    unknown = await collect(backend, [Message("user", "zzz")], GenerationParams(max_tokens=50))
    assert "".join(c.delta for c in unknown) in {"pong pong", "other"}
    short = await collect(backend, [Message("user", "ping")], GenerationParams(max_tokens=1))
    assert short[-1].finish_reason == "length"
    assert echo_words("a b", 5) == ["You", "said:", "a", "b", "You"]
    with pytest.raises(ValueError):
        ReplayBackend(str(rec), {"failure_rate": "2"})
