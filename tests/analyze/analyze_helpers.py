"""Helpers for the analysis tests: hand-made release batches, a word counter."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa

from wildchat.schema import Conversation, Turn, release_schema, to_row


class WordCounter:
    """Token counter for hand-computable tests: a token = a whitespace word."""

    name = "words"

    def count(self, texts: Sequence[str]) -> list[int]:
        return [len(t.split()) for t in texts]


def conv(turns: Sequence[tuple[str, str] | Turn], **kw: Any) -> Conversation:
    """A conversation from ``(role, content)`` pairs or Turns; ``kw`` sets fields."""
    ts = [t if isinstance(t, Turn) else Turn(content=t[1], role=t[0]) for t in turns]
    kw.setdefault("model", None)
    kw.setdefault("timestamp", None)
    return Conversation(
        conversation_hash="0" * 32, conversation=ts, turn=sum(t.role == "user" for t in ts), **kw
    )


def batch(convs: Sequence[Conversation]) -> pa.RecordBatch:
    return pa.RecordBatch.from_pylist([to_row(c) for c in convs], schema=release_schema())


def month(y: int, m: int) -> datetime:
    return datetime(y, m, 15, 12, tzinfo=UTC)
