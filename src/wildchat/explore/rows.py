"""Conversation -> index row, and the stored record codec.

The record is the release-schema row (:func:`wildchat.formats.arrow.conversation_row`,
the fast equivalent of ``schema.to_row``, or the row as read from a release
Parquet file -- the same dict) as JSON, zstd-compressed: a WildChat-style
record with per-turn moderation scores is ~15 KB of JSON and compresses ~3x;
zstd level 1 costs a third of zlib's time on the build's critical path.

Filter columns are conversation-level; where a source leaves a conversation
field empty the first user turn's value is used (``country``, ``state``,
``hashed_ip``, ``language``), and ``toxic``/``redacted`` fall back to "any
turn".  ``jailbreak`` is true when any user turn has ``jailbreak`` or a
``jailbreak_match``, ``None`` when no turn says anything either way.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pyarrow as pa

from wildchat.explore.tables import NO_TS
from wildchat.formats.arrow import conversation_row
from wildchat.schema import Conversation

__all__ = [
    "PROMPT_CHARS",
    "conversation_fields",
    "decode_record",
    "encode_record",
    "record_text",
    "row_fields",
    "to_micros",
]

#: First user prompt kept uncompressed for snippets of browse results and map hovers.
PROMPT_CHARS = 1000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def to_micros(ts: datetime | None) -> int:
    """Aware datetime -> epoch microseconds; ``None`` -> :data:`NO_TS`."""
    if ts is None:
        return NO_TS
    if ts.tzinfo is None:  # readers give aware UTC; a naive value is read as UTC
        ts = ts.replace(tzinfo=UTC)
    return (ts - _EPOCH) // timedelta(microseconds=1)


def encode_record(row: dict[str, Any]) -> bytes:
    """Release-schema row -> 4-byte length + zstd(JSON)."""
    raw = orjson.dumps(row)
    packed: bytes = pa.compress(raw, codec="zstd", asbytes=True)
    return len(raw).to_bytes(4, "little") + packed


def decode_record(blob: bytes) -> dict[str, Any]:
    size = int.from_bytes(blob[:4], "little")
    value: dict[str, Any] = orjson.loads(
        pa.decompress(blob[4:], decompressed_size=size, codec="zstd", asbytes=True)
    )
    return value


def record_text(row: dict[str, Any]) -> str:
    """Every turn's text, joined by newlines: what the full-text index is fed."""
    return "\n".join(str(t.get("content") or "") for t in row.get("conversation") or [])


def _any(values: list[bool | None]) -> bool | None:
    seen = [v for v in values if v is not None]
    return any(seen) if seen else None


def row_fields(row: dict[str, Any]) -> dict[str, Any]:
    """Filter columns of one release-schema row (everything but ids, record and text)."""
    turns = row.get("conversation") or []
    users = [t for t in turns if t.get("role") == "user"]
    first = users[0] if users else {}
    jb: list[bool | None] = [
        True if (t.get("jailbreak") or t.get("jailbreak_match")) else t.get("jailbreak") for t in users
    ]
    ts = row.get("timestamp")
    if ts is None:
        stamps = [t["timestamp"] for t in turns if t.get("timestamp") is not None]
        ts = min(stamps) if stamps else None
    return {
        "model": row.get("model"),
        "language": row.get("language") or first.get("language"),
        "country": row.get("country") or first.get("country"),
        "state": row.get("state") or first.get("state"),
        "hashed_ip": row.get("hashed_ip") or first.get("hashed_ip"),
        "ts": to_micros(ts),
        "turn": int(row.get("turn") or 0),
        "toxic": row["toxic"] if row.get("toxic") is not None else _any([t.get("toxic") for t in turns]),
        "redacted": row["redacted"]
        if row.get("redacted") is not None
        else _any([t.get("redacted") for t in turns]),
        "jailbreak": _any(jb),
        "prompt": str(first.get("content") or "")[:PROMPT_CHARS],
    }


def conversation_fields(conv: Conversation) -> dict[str, Any]:
    """:func:`row_fields` of a :class:`Conversation`."""
    return row_fields(conversation_row(conv))
