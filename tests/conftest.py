"""Shared fixtures: real services and real data, skipped with a reason when absent.

Under ``WILDCHAT_REQUIRE_SERVICES=1`` (set by ``.ci/run``) a missing service
fails the test instead of skipping it, so CI cannot go green on skipped
PostgreSQL, Redis or Chromium tests.  Under ``WILDCHAT_REQUIRE_SHARED=1`` (set
by ``make eval``) the same holds for ``../shared/data``.
"""

from __future__ import annotations

import os
import shutil
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PG_HOST, PG_PORT = "127.0.0.1", 5432
REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379


def _missing(what: str, env: str = "WILDCHAT_REQUIRE_SERVICES") -> None:
    if os.environ.get(env) == "1":
        pytest.fail(f"{what} is required here ({env}=1) but not available")
    pytest.skip(f"{what} not available")


def _port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture(scope="session")
def pg_admin_url() -> str:
    """URL of the PostgreSQL maintenance database (trust auth)."""
    if not _port_open(PG_HOST, PG_PORT):
        _missing(f"PostgreSQL at {PG_HOST}:{PG_PORT}")
    return f"postgresql+psycopg://postgres@{PG_HOST}:{PG_PORT}/test"


@pytest.fixture
def pg_url(pg_admin_url: str) -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test, dropped afterwards."""
    import psycopg

    name = f"wildchat_t_{uuid.uuid4().hex[:12]}"
    dsn = f"host={PG_HOST} port={PG_PORT} user=postgres dbname=test"
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql+psycopg://postgres@{PG_HOST}:{PG_PORT}/{name}"
    finally:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def redis_url() -> str:
    if not _port_open(REDIS_HOST, REDIS_PORT):
        _missing(f"Redis at {REDIS_HOST}:{REDIS_PORT}")
    return f"redis://{REDIS_HOST}:{REDIS_PORT}/0"


@pytest.fixture(scope="session")
def chromium_path() -> str:
    path = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
    if path is None:
        _missing("Debian chromium (apt-get install chromium chromium-driver)")
    assert path is not None
    return path


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    """Where browser tests keep screenshots (test-artifacts/ at the repo root)."""
    out = ROOT / "test-artifacts"
    out.mkdir(exist_ok=True)
    return out


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real public samples in ../shared/data (never copied into the repo)."""
    path = Path(os.environ.get("WILDCHAT_SHARED_DATA", ROOT.parent / "shared" / "data"))
    if not path.is_dir():
        _missing(f"real data folder {path}", env="WILDCHAT_REQUIRE_SHARED")
    return path

# The end-of-run summary of service-backed skips (a hook: pytest finds it by name here).
from tests.service_skips import pytest_terminal_summary  # noqa: E402,F401
