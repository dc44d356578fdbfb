"""Synthetic releases and index fixtures for the explorer index tests (SQLite and PostgreSQL).

The corpus is written in the tests (never copied from ../shared/data): a few
conversations per feature -- filters, Chinese and Japanese text, phrases,
hostile markup -- plus filler so paging has several pages.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from wildchat.formats._build import make_conversation
from wildchat.schema import Conversation, Turn

T0 = datetime(2024, 1, 1, tzinfo=UTC)


def conv(
    cid: str | None,
    exchanges: list[tuple[str, str]],
    *,
    model: str | None = "gpt-4",
    language: str | None = "English",
    country: str | None = None,
    state: str | None = None,
    hashed_ip: str | None = None,
    ts: datetime | None = T0,
    toxic: bool | None = None,
    redacted: bool | None = None,
    jailbreak: bool | None = None,
    jailbreak_match: str | None = None,
) -> Conversation:
    """A valid release conversation of ``(user, assistant)`` exchanges."""
    turns: list[Turn] = []
    for user, bot in exchanges:
        turns.append(
            Turn(
                content=user,
                role="user",
                language=language,
                country=country,
                state=state,
                hashed_ip=hashed_ip,
                toxic=toxic,
                jailbreak=jailbreak,
                jailbreak_match=jailbreak_match,
            )
        )
        turns.append(Turn(content=bot, role="assistant", language=language, timestamp=ts, toxic=toxic))
    return make_conversation(
        turns,
        conversation_id=cid or "unused",
        model=model,
        timestamp=ts,
        language=language,
        country=country,
        state=state,
        hashed_ip=hashed_ip,
        toxic=toxic,
        redacted=redacted,
    )


def corpus() -> list[Conversation]:
    """The standard test corpus: 8 feature conversations and 40 filler ones (48 in all)."""
    out = [
        conv(
            "zh1",
            [("你好世界，今天天气很好", "你好！是的。")],
            language="Chinese",
            country="China",
            hashed_ip="ipA",
            ts=T0 + timedelta(days=1),
        ),
        conv(
            "ja1",
            [("ありがとうございます", "どういたしまして")],
            language="Japanese",
            country="Japan",
            hashed_ip="ipA",
            ts=T0 + timedelta(days=2),
        ),
        conv(
            "en1",
            [("the quick brown fox jumps", "over the lazy dog")],
            country="United States",
            state="Texas",
            hashed_ip="ipB",
            ts=T0 + timedelta(days=3),
            model="gpt-3.5-turbo",
        ),
        conv(
            "en2",
            [("brown quick fox", "a fox that is quick and brown")],
            country="United States",
            state="Ohio",
            hashed_ip="ipB",
            ts=T0 + timedelta(days=4),
            toxic=True,
        ),
        conv(
            "en3",
            [("hello", "hi"), ("tell me about the quick fox", "it jumps")],
            hashed_ip="ipC",
            ts=T0 + timedelta(days=5),
            redacted=True,
            jailbreak_match="DAN",
        ),
        conv(
            "xss",
            [("<script>alert(1)</script> markup", "<b>bold</b>")],
            hashed_ip="ipC",
            ts=T0 + timedelta(days=6),
        ),
        conv(
            "cafe",
            [("un café crème", "très bien")],
            language="French",
            country="France",
            ts=T0 + timedelta(days=7),
            toxic=False,
        ),
        conv("nots", [("timeless question", "timeless answer")], ts=None, model=None, language=None),
    ]
    for i in range(40):
        out.append(
            conv(
                f"f{i:02d}",
                [(f"filler prompt number {i} about apples", "filler answer about apples")] * (1 + i % 3),
                ts=T0 + timedelta(days=10 + i // 2),
                hashed_ip="ipF",
                country="Germany",
                jailbreak=False,
            )
        )
    return out


def _pg_database(admin_url: str) -> tuple[str, str]:
    """Create a fresh database; returns ``(sqlalchemy url, name)``."""
    import psycopg

    name = f"wildchat_e_{uuid.uuid4().hex[:12]}"
    dsn = admin_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return admin_url.rsplit("/", 1)[0] + f"/{name}", name


def _pg_drop(admin_url: str, name: str) -> None:
    import psycopg

    dsn = admin_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


def backend_url(request: Any, tmp_dir: Path) -> Iterator[str]:
    """Yield an empty index URL for ``request.param`` (``sqlite`` / ``postgres``)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_dir / 'index.db'}"
        return
    admin = request.getfixturevalue("pg_admin_url")
    url, name = _pg_database(admin)
    try:
        yield url
    finally:
        _pg_drop(admin, name)
