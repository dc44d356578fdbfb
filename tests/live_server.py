"""One way for tests to run a live HTTP server: an ASGI app in a thread, or a real ``wildchat serve``.

Browser tests, CLI tests and the fake OpenAI servers all need a live HTTP
server; this module is the single copy of the start/wait/stop dance, both for
an app served by uvicorn in a daemon thread (:func:`live_server`) and for a
``wildchat serve`` process (:func:`serve_process`).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

__all__ = ["Served", "clean_env", "free_port", "live_server", "serve_process", "wildchat_command"]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextmanager
def live_server(app: Any, timeout: float = 20.0) -> Iterator[str]:
    """Serve ``app`` on a free port until the block ends; yields ``http://127.0.0.1:PORT``.

    Raises ``RuntimeError`` if uvicorn is not accepting within ``timeout`` seconds
    (or its thread died while starting).
    """
    import uvicorn

    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="test-uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def wildchat_command() -> list[str]:
    """The ``wildchat`` command of this interpreter's environment (the console script, else ``python -c``)."""
    exe = Path(sys.executable).parent / "wildchat"
    if exe.exists():
        return [str(exe)]
    return [sys.executable, "-c", "from wildchat.cli.main import main; main()"]


def clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without any ``WILDCHAT_*`` setting, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("WILDCHAT_")}
    env.update(extra)
    return env


@dataclass(frozen=True)
class Served:
    """A running ``wildchat serve``: its base URL, port and process."""

    url: str
    port: int
    proc: subprocess.Popen[bytes]


@contextmanager
def serve_process(
    args: Sequence[str],
    log: Path,
    *,
    port: int | None = None,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float = 30.0,
) -> Iterator[Served]:
    """Run ``wildchat serve --port PORT *args`` (output to ``log``) until the block ends.

    Yields once ``/healthz`` answers 200.  Fails the test, with the end of
    ``log``, if the process exits or is not ready within ``timeout`` seconds.
    The process is terminated afterwards (killed if it has not stopped in 15 s).
    ``env`` defaults to :func:`clean_env`.
    """
    port = free_port() if port is None else port
    cmd = [*wildchat_command(), "serve", "--port", str(port), *args]
    with log.open("wb") as fh:
        proc = subprocess.Popen(cmd, cwd=cwd, env=dict(env) if env is not None else clean_env(), stdout=fh,
                                stderr=subprocess.STDOUT)  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"wildchat serve did not start:\n{log.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(url + "/healthz", timeout=2) as resp:
                    if resp.status == 200:
                        break
            except OSError:
                pass
            time.sleep(0.2)
        yield Served(url, port, proc)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
