"""The real `wildchat serve` process over HTTP, then `wildchat export-logs` on what it stored."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text

from tests.collect.collect_helpers import AGREE, parse_sse, split_events
from tests.live_server import clean_env, free_port, serve_process, wildchat_command
from wildchat.schema import parse_raw_log

pytestmark = pytest.mark.slow


@pytest.fixture
def server(db_url: str, tmp_path: Path) -> Iterator[str]:
    args = ["--dev", "--data-dir", str(tmp_path / "data"), "--database-url", db_url,
            "--model", "echo=replay", "--model", "slow=replay:echo?tokens=60&delay_ms=25"]  # fmt: skip
    with serve_process(args, tmp_path / "serve.log", env=clean_env()) as served:
        url = served.url
        yield url
    served_log = (tmp_path / "serve.log").read_text()
    assert "203.0.113" not in served_log and "127.0.0.1:" not in served_log.replace(url, "")


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


def test_serve_chat_disconnect_and_export(server: str, db_url: str, tmp_path: Path) -> None:
    with httpx.Client(base_url=server, timeout=10) as http:
        assert "consent" in http.get("/").text.lower()
        doc = http.get("/api/consent").json()
        assert http.post("/api/chat", json={"model": "echo", "message": "hi"}).status_code == 403
        assert http.post("/api/consent", json={**AGREE, "version": doc["version"]}).status_code == 200
        r = http.post("/api/chat", json={"model": "echo", "message": "over the wire"})
        text_, final = split_events(parse_sse(r.text))
        assert text_ == "You said: over the wire"
        follow = {
            "model": "echo",
            "message": "and again",
            "conversation_id": final["conversation_id"],
            "parent_id": final["assistant_turn_id"],
        }
        assert http.post("/api/chat", json=follow).status_code == 200
        # a real socket closed mid-stream
        got = []
        with http.stream("POST", "/api/chat", json={"model": "slow", "message": "long one"}) as resp:
            for line in resp.iter_lines():
                if line.startswith("data: "):
                    got.append(json.loads(line[6:])["delta"])
                if len(got) >= 3:
                    break
    deadline = time.monotonic() + 10
    while len(rows := _assistant_rows(db_url)) < 3 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert len(rows) == 3
    partial, reason = rows[-1]
    assert reason == "client_disconnect"
    assert partial.startswith("".join(got)) and len(partial.split()) < 60

    out = tmp_path / "logs.jsonl"
    done = subprocess.run(
        [*wildchat_command(), "export-logs", "--db", db_url, "--out", str(out)],
        capture_output=True,
        text=True,
        env=clean_env(),
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    logs = [parse_raw_log(json.loads(line)) for line in out.read_text().splitlines()]
    assert [log.finish_reason for log in logs] == ["stop", "stop", "client_disconnect"]
    assert logs[1].messages[0].content == "over the wire" and logs[1].response == "You said: and again"
    assert all(log.ip is None and log.hashed_ip and log.consent for log in logs)


def test_serve_refuses_to_start_without_a_key(tmp_path: Path) -> None:
    env = clean_env()
    done = subprocess.run(
        [
            *wildchat_command(),
            "serve",
            "--data-dir",
            str(tmp_path),
            "--model",
            "echo=replay",
            "--port",
            str(free_port()),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert done.returncode == 2
    assert "secret_key is required" in done.stderr
    env["WILDCHAT_SECRET_KEY"] = "too-short-but-secret-value"
    done = subprocess.run(
        [
            *wildchat_command(),
            "serve",
            "--data-dir",
            str(tmp_path),
            "--model",
            "echo=replay",
            "--port",
            str(free_port()),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert done.returncode == 2 and "at least 32" in done.stderr
    assert "too-short-but-secret-value" not in done.stderr + done.stdout


def test_serve_reports_a_missing_model_file_before_listening(tmp_path: Path) -> None:
    missing = tmp_path / "nope.gguf"
    done = subprocess.run(
        [
            *wildchat_command(),
            "serve",
            "--dev",
            "--data-dir",
            str(tmp_path),
            "--model",
            f"m=local:{missing}",
            "--port",
            str(free_port()),
        ],
        capture_output=True,
        text=True,
        env=clean_env(),
        timeout=60,
    )
    assert done.returncode == 2
    assert "not found" in done.stderr or "llama-cpp-python" in done.stderr
    assert "Traceback" not in done.stderr


def _process_tree(root: int) -> list[int]:
    """``root`` and all its descendants (from /proc)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry.name))
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(children.get(pid, []))
    return out


@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="needs /proc")
def test_workers_get_keys_from_a_private_file_not_the_environment(tmp_path: Path) -> None:
    secret, ip_key = "S" * 20 + "ecret-key-for-workers-0123", "I" * 20 + "p-key-for-workers-0123456"
    cfg = tmp_path / "wildchat.toml"
    cfg.write_text(f'secret_key = "{secret}"\nip_key = "{ip_key}"\ncookie_secure = false\n')
    cfg.chmod(0o600)
    port = free_port()
    cmd = [*wildchat_command(), "serve", "--config", str(cfg), "--workers", "2", "--port", str(port),
           "--database-url", f"sqlite:///{tmp_path / 'w.db'}", "--model", "echo=replay"]  # fmt: skip
    log = (tmp_path / "serve.log").open("wb")
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=clean_env())
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                up = httpx.get(url + "/healthz", timeout=1).status_code == 200
                if up and len(_process_tree(proc.pid)) >= 3:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"server did not start: {(tmp_path / 'serve.log').read_text()[-2000:]}")
            time.sleep(0.3)
        settings_files = set()
        for pid in _process_tree(proc.pid):
            try:
                environ = Path(f"/proc/{pid}/environ").read_bytes()
            except OSError:
                continue
            assert secret.encode() not in environ and ip_key.encode() not in environ
            for item in environ.split(b"\0"):
                if item.startswith(b"WILDCHAT_SERVE_SETTINGS_FILE="):
                    settings_files.add(Path(item.split(b"=", 1)[1].decode()))
        assert len(settings_files) == 1
        (settings_file,) = settings_files
        assert settings_file.stat().st_mode & 0o777 == 0o600
        assert settings_file.parent.stat().st_mode & 0o777 == 0o700
        with httpx.Client(base_url=url, timeout=10) as http:
            assert http.post("/api/consent", json=AGREE).status_code == 200
            r = http.post("/api/chat", json={"model": "echo", "message": "from a worker"})
            assert split_events(parse_sse(r.text))[0] == "You said: from a worker"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
    assert not settings_file.parent.exists()  # removed when the server stops
