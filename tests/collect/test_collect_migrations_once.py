"""Migrations run once per database: not again for each app build, worker process or restart.

Every call of Alembic's ``upgrade`` is counted through the real migration code
on a real SQLite file and a real PostgreSQL database (``db_url`` runs each test
on both).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from wildchat.collect.app import ENV_SETTINGS_FILE, app_from_env, create_app, write_worker_settings
from wildchat.collect.db import migrate as migrate_module
from wildchat.collect.db.migrate import ensure_migrated, head_revision, migrate
from wildchat.collect.db.session import make_engine
from wildchat.collect.settings import Settings

AGREE = {"agree": True, "confirm": True, "version": "1"}
PEER = ("203.0.113.78", 50124)


@pytest.fixture
def upgrades(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The revision of every Alembic ``upgrade`` run from now on (the real upgrade still runs)."""
    calls: list[str] = []
    real = migrate_module.command.upgrade

    def counting(config: Any, revision: str, **kwargs: Any) -> None:
        calls.append(revision)
        real(config, revision, **kwargs)

    monkeypatch.setattr(migrate_module.command, "upgrade", counting)
    return calls


@pytest.fixture
def started() -> Iterator[Callable[[Any], TestClient]]:
    """Enter apps' lifespans (where the migration check runs); all are closed at the end."""
    clients: list[TestClient] = []

    def start(app: Any) -> TestClient:
        client = TestClient(app, client=PEER, base_url="https://testserver")
        client.__enter__()
        clients.append(client)
        return client

    yield start
    for client in clients:
        client.__exit__(None, None, None)


def _consents(settings: Settings) -> int:
    engine = make_engine(settings.resolved_database_url, pool_size=1, max_overflow=0)
    try:
        with engine.connect() as conn:
            return int(conn.execute(text("SELECT count(*) FROM consents")).scalar_one())
    finally:
        engine.dispose()


def test_serve_start_apps_and_workers_upgrade_once(
    make_settings: Callable[..., Settings],
    upgrades: list[str],
    started: Callable[[Any], TestClient],
    tmp_path: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = make_settings()
    # what `wildchat serve` does before listening
    engine = make_engine(settings.resolved_database_url, pool_size=1, max_overflow=0)
    assert ensure_migrated(engine) is True
    engine.dispose()
    assert upgrades == ["head"]
    # the app the parent serves, a second app on the same database, and a worker process's app
    first = started(create_app(settings))
    started(create_app(settings))
    monkeypatch.setenv(ENV_SETTINGS_FILE, str(write_worker_settings(settings, tmp_path)))
    worker = started(app_from_env())
    assert upgrades == ["head"]
    # the database is really at head: both apps store a consent
    assert first.post("/api/consent", json=AGREE).status_code == 200
    assert worker.post("/api/consent", json=AGREE).status_code == 200
    assert _consents(settings) == 2


def test_first_app_on_a_fresh_database_upgrades_it_once(
    make_settings: Callable[..., Settings], upgrades: list[str], started: Callable[[Any], TestClient]
) -> None:
    settings = make_settings()
    started(create_app(settings))
    started(create_app(settings))
    assert upgrades == ["head"]
    assert _consents(settings) == 0  # the tables exist


def test_a_database_behind_head_is_upgraded(
    make_settings: Callable[..., Settings], upgrades: list[str], started: Callable[[Any], TestClient]
) -> None:
    """The check compares revisions; it does not skip a database an older release left behind."""
    settings = make_settings()
    engine = make_engine(settings.resolved_database_url, pool_size=1, max_overflow=0)
    migrate(engine, "0001")
    engine.dispose()
    client = started(create_app(settings))
    assert upgrades == ["0001", "head"]
    assert head_revision() != "0001"
    assert client.post("/api/consent", json=AGREE).status_code == 200
