"""The gateway contract with the real ``openai`` SDK against a real ``wildchat serve`` process.

Also over the real socket: a disconnect mid-stream stores the partial reply,
and concurrent requests per key beyond the limit get 429.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest
from sqlalchemy import create_engine, text

from tests.collect.collect_helpers import AGREE
from tests.live_server import clean_env, serve_process, wildchat_command
from wildchat.schema import parse_raw_log

pytestmark = pytest.mark.slow


def _env() -> dict[str, str]:
    return clean_env(WILDCHAT_GATEWAY_CONCURRENT_PER_KEY="2")


@pytest.fixture
def server(db_url: str, tmp_path: Path) -> Iterator[int]:
    args = ["--dev", "--data-dir", str(tmp_path / "data"), "--database-url", db_url,
            "--model", "echo=replay", "--model", "slow=replay:echo?tokens=60&delay_ms=40"]  # fmt: skip
    with serve_process(args, tmp_path / "serve.log", env=_env()) as served:
        yield served.port


def _consent_and_key(http: httpx.Client) -> str:
    doc = http.get("/api/consent").json()
    assert http.post("/api/consent", json={**AGREE, "version": doc["version"]}).status_code == 200
    r = http.post("/api/keys")
    assert r.status_code == 200, r.text
    return str(r.json()["key"])


def _export(db_url: str, out: Path) -> list[object]:
    done = subprocess.run(
        [*wildchat_command(), "export-logs", "--db", db_url, "--out", str(out)],
        capture_output=True,
        text=True,
        env=_env(),
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return [parse_raw_log(json.loads(line)) for line in out.read_text().splitlines()]


def test_openai_sdk_contract(server: int, db_url: str, tmp_path: Path) -> None:
    base = f"http://127.0.0.1:{server}"
    with httpx.Client(base_url=base, timeout=10) as http:
        key = _consent_and_key(http)
        sdk = openai.OpenAI(base_url=f"{base}/v1", api_key=key, max_retries=0)
        assert "echo" in [m.id for m in sdk.models.list()]
        first = sdk.chat.completions.create(model="echo", messages=[{"role": "user", "content": "hello sdk"}])
        reply = first.choices[0].message.content
        assert reply == "You said: hello sdk" and first.usage is not None and first.usage.total_tokens > 0
        history = [
            {"role": "user", "content": "hello sdk"},
            {"role": "assistant", "content": reply},
            {"role": "user", "content": "and streamed"},
        ]
        stream = sdk.chat.completions.create(
            model="echo",
            messages=history,
            stream=True,
            stream_options={"include_usage": True},  # type: ignore[arg-type]
        )
        parts = [c.choices[0].delta.content or "" for c in stream if c.choices]
        assert "".join(parts) == "You said: and streamed"
        forged = openai.OpenAI(base_url=f"{base}/v1", api_key=key[:-4] + "AAAA", max_retries=0)
        with pytest.raises(openai.AuthenticationError):
            forged.models.list()
        with pytest.raises(openai.NotFoundError):
            sdk.chat.completions.create(model="gpt-17", messages=[{"role": "user", "content": "x"}])
        logs = _export(db_url, tmp_path / "before.jsonl")
        assert http.post("/api/me/withdraw", json={"confirm": True}).status_code == 200
        with pytest.raises(openai.AuthenticationError):
            sdk.chat.completions.create(model="echo", messages=[{"role": "user", "content": "after"}])
    assert len(logs) == 2
    assert all(
        log.consent is not None and log.extra and json.loads(log.extra["source"]) == "gateway" for log in logs
    )  # type: ignore[attr-defined]
    second = next(log for log in logs if log.messages[-1].content == "and streamed")  # type: ignore[attr-defined]
    assert [(m.role, m.content) for m in second.messages] == [(m["role"], m["content"]) for m in history]  # type: ignore[attr-defined]
    assert len({log.conversation_id for log in logs}) == 1  # type: ignore[attr-defined]
    assert all(log.ip is None and log.hashed_ip for log in logs)  # type: ignore[attr-defined]
    assert _export(db_url, tmp_path / "after.jsonl") == []


def _assistant_rows(db_url: str) -> list[tuple[str, str]]:
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                text("SELECT content, finish_reason FROM turns WHERE role = 'assistant' ORDER BY id")
            )
            return [(r[0], r[1]) for r in rows]
    finally:
        engine.dispose()


def test_disconnect_mid_stream_and_concurrency_limit(server: int, db_url: str) -> None:
    base = f"http://127.0.0.1:{server}"
    body = {"model": "slow", "stream": True, "messages": [{"role": "user", "content": "long one"}]}
    with httpx.Client(base_url=base, timeout=10) as http, httpx.Client(base_url=base, timeout=10) as other:
        key = _consent_and_key(http)
        auth = {"Authorization": f"Bearer {key}"}
        with (
            other.stream("POST", "/v1/chat/completions", json=body, headers=auth) as a,
            other.stream("POST", "/v1/chat/completions", json=body, headers=auth) as b,
        ):
            assert a.status_code == b.status_code == 200
            third = httpx.post(f"{base}/v1/chat/completions", json=body, headers=auth, timeout=10)
            assert (
                third.status_code == 429 and third.json()["error"]["code"] == "too_many_concurrent_requests"
            )
            got = 0
            for line in a.iter_lines():
                got += line.startswith("data: ")
                if got >= 4:
                    break
    deadline = time.monotonic() + 15
    while len(rows := _assistant_rows(db_url)) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert len(rows) == 2
    assert {reason for _, reason in rows} == {"client_disconnect"}
    assert all(len(content.split()) < 60 for content, _ in rows) and max(len(c.split()) for c, _ in rows) > 0
