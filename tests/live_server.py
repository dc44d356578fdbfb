"""One way for tests to run an ASGI app on a real port: uvicorn in a daemon thread.

Browser tests, CLI tests and the fake OpenAI servers all need a live HTTP
server; this module is the single copy of the start/wait/stop dance.
(Import it as ``tests.live_server``: ``tests/`` is a package.)
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["free_port", "live_server"]


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
