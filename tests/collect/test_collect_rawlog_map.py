"""The pure turns -> raw log mapping, on hand-made rows (no database)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from wildchat.collect.rawlog_map import INCOMPLETE, conversation_records
from wildchat.schema import Message

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


@dataclass
class Row:
    id: int
    parent_id: int | None
    role: str
    content: str
    created_at: datetime
    user_agent: str | None = None
    accept_language: str | None = None
    hashed_ip: str | None = None
    ip: str | None = None
    country: str | None = None
    state: str | None = None
    request_id: str | None = None
    model: str | None = None
    backend_model: str | None = None
    requested_at: datetime | None = None
    finished_at: datetime | None = None
    finish_reason: str | None = None
    params: dict[str, Any] | None = None
    usage: dict[str, Any] | None = None
    error: str | None = None


@dataclass
class ConsentStub:
    id: str
    version: str
    created_at: datetime


def reply(id: int, parent: int, text: str, minutes: int, **kw: Any) -> Row:
    at = T0 + timedelta(minutes=minutes)
    return Row(
        id,
        parent,
        "assistant",
        text,
        at,
        request_id=f"r{id}",
        model="m",
        backend_model="bm",
        finished_at=at,
        **{"finish_reason": "stop", **kw},
    )


def test_branches_histories_and_orphans() -> None:
    turns = [
        Row(1, None, "user", "u1", T0, user_agent="UA", hashed_ip="h1", country="France"),
        reply(2, 1, "a1", 1),
        Row(3, 2, "user", "u2", T0 + timedelta(minutes=2), accept_language="fr"),
        reply(4, 3, "a2", 3),
        Row(5, 2, "user", "u2 edited", T0 + timedelta(minutes=4)),
        reply(6, 5, "a2b", 5, finish_reason="client_disconnect"),
        Row(7, 6, "user", "never answered", T0 + timedelta(minutes=6)),
    ]
    consent = ConsentStub("c" * 32, "v3", T0 - timedelta(days=1))
    logs = conversation_records("conv", consent, reversed(turns), now=T0 + timedelta(hours=2))
    assert [log.request_id for log in logs] == ["r2", "r4", "r6", "conv-u7"]
    assert logs[1].messages == [Message("user", "u1"), Message("assistant", "a1"), Message("user", "u2")]
    assert logs[2].messages[-1] == Message("user", "u2 edited") and logs[2].response == "a2b"
    assert logs[2].finish_reason == "client_disconnect"
    assert [m.content for m in logs[3].messages] == ["u1", "a1", "u2 edited", "a2b", "never answered"]
    assert logs[3].finish_reason == INCOMPLETE and logs[3].response == "" and logs[3].error
    assert logs[0].headers == {"user-agent": "UA"} and logs[1].headers == {"accept-language": "fr"}
    assert logs[0].country == "France" and logs[0].hashed_ip == "h1"
    assert all(log.consent is not None and log.consent.version == "v3" for log in logs)
    assert logs[1].timestamp == T0 + timedelta(minutes=3)
    # an unanswered message younger than the grace period may still be streaming: not exported yet
    recent = conversation_records("conv", consent, turns, now=T0 + timedelta(minutes=7))
    assert [log.request_id for log in recent] == ["r2", "r4", "r6"]
    since = conversation_records(
        "conv", consent, turns, since=T0 + timedelta(minutes=3), now=T0 + timedelta(days=1)
    )
    assert [log.request_id for log in since] == ["r4", "r6", "conv-u7"]


def test_naive_timestamps_are_utc() -> None:
    naive = T0.replace(tzinfo=None)
    turns = [Row(1, None, "user", "q", naive), reply(2, 1, "a", 0)]
    turns[1].finished_at = naive
    (log,) = conversation_records("c", None, turns)
    assert log.timestamp == T0 and log.consent is None
