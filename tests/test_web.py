"""The shared web plumbing: one database-URL rule, settings sources, the app factory, SQLite engines."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import ValidationError
from pydantic_settings import SettingsConfigDict
from sqlalchemy import text
from starlette.middleware import Middleware
from starlette.middleware.gzip import GZipMiddleware

from wildchat.collect.settings import load_settings
from wildchat.explore.settings import load_explore_settings
from wildchat.web.app import install_detail_errors, web_app
from wildchat.web.httpsec import CONTENT_SECURITY_POLICY
from wildchat.web.settings import ArgsEnvSettings, database_url, layered_values
from wildchat.web.sqlite import sqlite_engine

KEYS = {"secret_key": "k" * 40, "ip_key": "i" * 40, "models": ["e=replay"]}

ACCEPTED = {
    "sqlite:////srv/wildchat/wildchat.db": "sqlite:////srv/wildchat/wildchat.db",
    "sqlite:///relative.db": "sqlite:///relative.db",
    "postgresql+psycopg://u@db/wildchat": "postgresql+psycopg://u@db/wildchat",
    "postgresql://u@db/wildchat": "postgresql+psycopg://u@db/wildchat",
}
REFUSED = [
    "sqlite://",  # in-memory: each pooled connection would see its own empty database
    "sqlite:///",  # no path
    "sqlite:relative.db",  # not a SQLAlchemy URL
    "postgresql+psycopg2://u@db/wildchat",  # another driver than the one installed
    "postgres://u@db/wildchat",
    "mysql://u@db/wildchat",
]


@pytest.mark.parametrize(("given", "expected"), ACCEPTED.items())
def test_database_url_accepted_the_same_by_both_servers(given: str, expected: str) -> None:
    assert database_url(given) == expected
    assert load_settings(None, database_url=given, **KEYS).database_url == expected
    assert load_explore_settings(database_url=given).database_url == expected


@pytest.mark.parametrize("given", REFUSED)
def test_database_url_refused_the_same_by_both_servers(given: str) -> None:
    with pytest.raises(ValueError, match="sqlite:///PATH or postgresql"):
        database_url(given)
    with pytest.raises(ValidationError, match="database_url"):
        load_settings(None, database_url=given, **KEYS)
    with pytest.raises(ValidationError, match="database_url"):
        load_explore_settings(database_url=given)


class _Demo(ArgsEnvSettings):
    model_config = SettingsConfigDict(env_prefix="WILDCHAT_DEMO_", extra="forbid")

    port: int = 1
    host: str = "a"
    name: str = "n"


def test_sources_overrides_then_environment_then_file(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WILDCHAT_DEMO_PORT", "2")
    monkeypatch.setenv("WILDCHAT_DEMO_HOST", "env")
    values = layered_values(_Demo, {"host": "cli", "name": None}, {"port": 3, "name": "file"})
    assert values == {"host": "cli", "name": "file"}  # the file's port yields to the environment
    demo = _Demo(**values)
    assert (demo.port, demo.host, demo.name) == (2, "cli", "file")


def test_blank_environment_variable_counts_as_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WILDCHAT_DEMO_PORT", "")
    with pytest.raises(ValidationError):
        _Demo(**layered_values(_Demo, {}))  # by default "" is a value, and not an int
    assert _Demo(**layered_values(_Demo, {}, blank_env_is_unset=True)).port == 1
    assert _Demo(**layered_values(_Demo, {}, {"port": 5}, blank_env_is_unset=True)).port == 5


def test_dotenv_file_in_the_working_directory_is_not_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / ".env").write_text("WILDCHAT_DEMO_PORT=9\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("WILDCHAT_DEMO_PORT", raising=False)
    assert _Demo().port == 1


class _Gone(LookupError):
    pass


def _app() -> FastAPI:
    app = web_app("t", middleware=[Middleware(GZipMiddleware, minimum_size=10)])
    install_detail_errors(app, {_Gone: (404, "not found")})

    @app.get("/gone")
    def gone(blank: bool = False) -> None:
        raise _Gone("" if blank else "no such thing")

    @app.get("/big")
    def big() -> dict[str, str]:
        return {"text": "x" * 100}

    return app


def test_app_has_no_docs_pages_and_sends_security_headers_everywhere() -> None:
    client = TestClient(_app())
    for path in ("/docs", "/redoc", "/openapi.json"):
        r = client.get(path)
        assert r.status_code == 404 and r.json() == {"detail": "Not Found"}
        assert r.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    r = client.get("/big", headers={"accept-encoding": "gzip"})
    assert r.headers["content-encoding"] == "gzip"  # the inner middleware ran
    assert r.headers["x-frame-options"] == "DENY"


def test_detail_errors() -> None:
    client = TestClient(_app())
    assert (client.get("/gone").status_code, client.get("/gone").json()) == (404, {"detail": "no such thing"})
    assert client.get("/gone?blank=true").json() == {"detail": "not found"}
    r = client.get("/gone?blank=maybe")
    assert r.status_code == 400 and r.json() == {
        "detail": "blank: Input should be a valid boolean, unable to interpret input"
    }
    r = client.post("/gone")
    assert r.status_code == 405 and r.headers["allow"] == "GET"


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_private_sqlite_file_and_pragmas(tmp_path: Path) -> None:
    path = tmp_path / "new" / "db.sqlite"
    engine = sqlite_engine(
        f"sqlite:///{path}", ["foreign_keys=ON", "busy_timeout=1234"], timeout_s=5, private=True
    )
    assert _mode(path) == 0o600 and _mode(path.parent) == 0o700  # before the first connection
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA foreign_keys")).scalar_one() == 1
        assert conn.execute(text("PRAGMA busy_timeout")).scalar_one() == 1234
    engine.dispose()


def test_plain_sqlite_engine_only_makes_the_folder(tmp_path: Path) -> None:
    path = tmp_path / "index" / "index.db"
    engine = sqlite_engine(f"sqlite:///{path}", ["journal_mode=WAL"], timeout_s=5)
    assert path.parent.is_dir() and not path.exists()
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar_one() == "wal"
    engine.dispose()
