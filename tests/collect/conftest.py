"""Fixtures for the collection server: one app per test on SQLite *and* PostgreSQL.

``db_url`` is parametrised over both stores (PostgreSQL via the repo-wide
``pg_url`` fixture, skipped with a reason when the server is absent), so every
test that uses ``make_app``/``client`` runs twice.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.collect.collect_helpers import PEER
from wildchat.collect.app import create_app
from wildchat.collect.settings import Settings, load_settings


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'collect.db'}"
    url: str = request.getfixturevalue("pg_url")
    return url


@pytest.fixture
def secret_key() -> str:
    return secrets.token_urlsafe(40)


@pytest.fixture
def ip_key() -> str:
    """The IP pseudonym key: a separate key from the cookie-signing ``secret_key``."""
    return secrets.token_urlsafe(40)


@pytest.fixture
def make_settings(db_url: str, tmp_path: Path, secret_key: str, ip_key: str) -> Callable[..., Settings]:
    """Settings for a test app; keyword arguments override the defaults."""

    def build(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "data_dir": tmp_path / "data",
            "database_url": db_url,
            "secret_key": secret_key,
            "ip_key": ip_key,
            "models": ["echo=replay"],
            "rate_limit_per_minute": 1000,
        }
        values.update(overrides)
        return load_settings(None, **values)

    return build


@pytest.fixture
def make_app(make_settings: Callable[..., Settings]) -> Iterator[Callable[..., TestClient]]:
    """Start apps (lifespan included, so migrations run) as TestClients from ``PEER``."""
    clients: list[TestClient] = []

    def build(**overrides: Any) -> TestClient:
        app = create_app(make_settings(**overrides))
        # https: outside dev mode the consent cookie is Secure, and a client only sends it over TLS
        client = TestClient(app, client=PEER, base_url="https://testserver")
        client.__enter__()
        clients.append(client)
        return client

    yield build
    for c in clients:
        c.__exit__(None, None, None)


@pytest.fixture
def client(make_app: Callable[..., TestClient]) -> TestClient:
    return make_app()


@pytest.fixture
async def async_app(make_settings: Callable[..., Settings]) -> AsyncIterator[Callable[..., Any]]:
    """Async variant: ``await build(**overrides)`` -> (app, httpx.AsyncClient)."""
    stack: list[tuple[FastAPI, Any, httpx.AsyncClient]] = []

    async def build(**overrides: Any) -> tuple[FastAPI, httpx.AsyncClient]:
        app = create_app(make_settings(**overrides))
        lifespan = app.router.lifespan_context(app)
        await lifespan.__aenter__()
        transport = httpx.ASGITransport(app=app, client=PEER)
        ac = httpx.AsyncClient(transport=transport, base_url="https://testserver")
        stack.append((app, lifespan, ac))
        return app, ac

    yield build
    for _app, lifespan, ac in reversed(stack):
        await ac.aclose()
        await lifespan.__aexit__(None, None, None)
