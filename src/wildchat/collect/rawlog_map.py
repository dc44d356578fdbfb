"""Stored turns -> raw log v1 records (pure: no database access here).

One record per exchange: the assistant turn's reply, with the full history
from the conversation root down to its user turn along parent links, the
client facts of that user turn and the conversation's consent.  A user turn
that never got an assistant turn (the server stopped mid-exchange) is still
exported -- nothing collected is lost -- with an empty response and
``finish_reason = "incomplete"``, once it is older than ``grace`` (so a reply
still streaming is not exported twice).

Gateway exchanges (``/v1``, see :mod:`wildchat.collect.gateway.logging`)
carry ``extra.source = "gateway"`` and, when the client sent tool messages
or non-text parts, ``extra.unsupported_content`` (how many markers).  Their
history is the client's, as sent: turns with ``source = "client"`` are
history only -- a client-sent assistant message is not a reply of this
server, and a client-sent user message that was never answered here is not
an incomplete exchange.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from wildchat.schema import Consent, Message, RawLog

__all__ = ["INCOMPLETE", "StoredConsent", "StoredTurn", "conversation_records"]

INCOMPLETE = "incomplete"
#: turn sources written by the gateway (page turns have none)
_GATEWAY_SOURCES = ("gateway", "client")
_CLIENT = "client"


class StoredTurn(Protocol):
    """The turn columns the mapping reads (a ``TurnRow`` fits)."""

    id: int
    parent_id: int | None
    role: str
    content: str
    created_at: datetime
    user_agent: str | None
    accept_language: str | None
    hashed_ip: str | None
    ip: str | None
    country: str | None
    state: str | None
    request_id: str | None
    model: str | None
    backend_model: str | None
    requested_at: datetime | None
    finished_at: datetime | None
    finish_reason: str | None
    params: dict[str, Any] | None
    usage: dict[str, Any] | None
    error: str | None


class StoredConsent(Protocol):
    """The consent columns the mapping reads (a ``ConsentRow`` fits)."""

    id: str
    version: str
    created_at: datetime


def _utc(ts: datetime) -> datetime:
    """SQLite returns naive datetimes; everything is stored in UTC."""
    return ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)


def _history(by_id: dict[int, StoredTurn], leaf: StoredTurn) -> list[Message]:
    path: list[Message] = []
    seen: set[int] = set()
    node: StoredTurn | None = leaf
    while node is not None and node.id not in seen:
        seen.add(node.id)
        path.append(Message(role=node.role, content=node.content))
        node = by_id.get(node.parent_id) if node.parent_id is not None else None
    path.reverse()
    return path


def _headers(user: StoredTurn) -> dict[str, str] | None:
    headers = {"user-agent": user.user_agent, "accept-language": user.accept_language}
    kept = {k: v for k, v in headers.items() if v is not None}
    return kept or None


def _record(
    conversation_id: str,
    consent: Consent | None,
    user: StoredTurn,
    history: list[Message],
    reply: StoredTurn | None,
) -> RawLog:
    extra: dict[str, str] = {"user_turn_id": json.dumps(user.id)}
    if getattr(user, "source", None) in _GATEWAY_SOURCES:
        extra["source"] = json.dumps("gateway")
        unsupported = getattr(user, "unsupported", None)
        if unsupported:
            extra["unsupported_content"] = json.dumps(unsupported)
    # What the user turn knows: the same for a reply and for a missing one.
    common: dict[str, Any] = {
        "messages": history,
        "conversation_id": conversation_id,
        "ip": user.ip,
        "hashed_ip": user.hashed_ip,
        "country": user.country,
        "state": user.state,
        "headers": _headers(user),
        "consent": consent,
        "extra": extra,
    }
    if reply is None:
        return RawLog(
            request_id=f"{conversation_id}-u{user.id}",
            timestamp=_utc(user.created_at),
            model="unknown",
            finish_reason=INCOMPLETE,
            error="no reply was recorded for this message",
            **common,
        )
    extra["assistant_turn_id"] = json.dumps(reply.id)
    if reply.model is not None:
        extra["model_name"] = json.dumps(reply.model)
    if reply.requested_at is not None:
        extra["requested_at"] = json.dumps(_utc(reply.requested_at).isoformat())
    finished = reply.finished_at or reply.created_at
    return RawLog(
        request_id=reply.request_id or f"{conversation_id}-a{reply.id}",
        timestamp=_utc(finished),
        model=reply.backend_model or reply.model or "unknown",
        response=reply.content,
        finish_reason=reply.finish_reason,
        params=reply.params,
        usage=reply.usage,
        error=reply.error,
        **common,
    )


def conversation_records(
    conversation_id: str,
    consent: StoredConsent | None,
    turns: Iterable[StoredTurn],
    *,
    since: datetime | None = None,
    now: datetime | None = None,
    grace: timedelta = timedelta(minutes=15),
) -> list[RawLog]:
    """Raw logs of one conversation's exchanges, in turn order.

    ``turns`` must be all turns of the conversation (histories need them);
    only exchanges whose timestamp is at or after ``since`` are returned.
    """
    all_turns: Sequence[StoredTurn] = sorted(turns, key=lambda t: t.id)
    by_id = {t.id: t for t in all_turns}
    replies: dict[int, list[StoredTurn]] = {}
    for t in all_turns:
        if t.role == "assistant" and t.parent_id is not None and getattr(t, "source", None) != _CLIENT:
            replies.setdefault(t.parent_id, []).append(t)
    c = (
        Consent(id=consent.id, version=consent.version, timestamp=_utc(consent.created_at))
        if consent
        else None
    )
    cutoff = (now or datetime.now(UTC)) - grace
    since_utc = _utc(since) if since is not None else None
    out: list[RawLog] = []
    for user in all_turns:
        if user.role != "user":
            continue
        history = _history(by_id, user)
        answers = replies.get(user.id)
        if not answers:
            if getattr(user, "source", None) == _CLIENT or _utc(user.created_at) > cutoff:
                continue  # probably still streaming
            records = [_record(conversation_id, c, user, history, None)]
        else:
            records = [_record(conversation_id, c, user, history, a) for a in answers]
        out.extend(r for r in records if since_utc is None or r.timestamp >= since_utc)
    return out
