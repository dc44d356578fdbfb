"""Small helpers shared by the collection tests (SSE parsing, consent, turns)."""

from __future__ import annotations

import json
from typing import Any

from fastapi import FastAPI
from sqlalchemy import func, select

from wildchat.collect.db.models import ConsentRow, ConversationRow, TurnRow

PEER = ("203.0.113.77", 50123)
AGREE = {"agree": True, "confirm": True, "version": "1"}


def parse_sse(text: str) -> list[Any]:
    """The ``data:`` payloads of an SSE body (JSON decoded, ``[DONE]`` kept as a string)."""
    events: list[Any] = []
    for block in text.split("\n\n"):
        for line in block.splitlines():
            if line.startswith("data: "):
                payload = line[len("data: ") :]
                events.append(payload if payload == "[DONE]" else json.loads(payload))
    return events


def split_events(events: list[Any]) -> tuple[str, dict[str, Any]]:
    """(streamed text, final event); asserts the documented event order."""
    assert events[-1] == "[DONE]"
    final = events[-2]
    deltas = events[:-2]
    assert all(set(e) == {"delta"} for e in deltas)
    assert {"conversation_id", "user_turn_id", "assistant_turn_id", "finish_reason"} <= set(final)
    return "".join(e["delta"] for e in deltas), final


def all_turns(app: FastAPI) -> list[TurnRow]:
    with app.state.services.session_factory() as s:
        return list(s.scalars(select(TurnRow).order_by(TurnRow.id)))


def counts(app: FastAPI) -> dict[str, int]:
    """Row counts of the three tables."""
    sf = app.state.services.session_factory
    with sf() as s:
        return {
            "consents": s.scalar(select(func.count()).select_from(ConsentRow)) or 0,
            "conversations": s.scalar(select(func.count()).select_from(ConversationRow)) or 0,
            "turns": s.scalar(select(func.count()).select_from(TurnRow)) or 0,
        }
