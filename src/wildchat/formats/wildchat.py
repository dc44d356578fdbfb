"""WildChat / WildChat-1M as released, our own curated releases, and the first-turn variant.

Release rows (Parquet, JSONL or JSON array; field names as in
:class:`wildchat.schema.Conversation`, ``header`` keys ``accept-language`` /
``user-agent``) are validated and kept field for field: turn-level fields,
``turn_identifier``, moderation lists, geography, ``hashed_ip``, ``header``,
``toxic``/``redacted`` and the extensions.  ``turn`` is recomputed from the
roles; the source ``conversation_hash`` is kept when it is 32 hex characters
(WildChat's hash of the released text), otherwise computed.  Rows without a
``conversation_id`` (WildChat-1M has none) get one derived from the file name
and row number.  Naive timestamps are read as UTC (WildChat stores UTC).

First-turn variant (columns ``prompt``, ``response``, ``model``,
``timestamp``, ``language``): one single-exchange conversation per row; the
language label goes on the conversation and on both turns, the timestamp on
the conversation and the assistant turn.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from wildchat.formats._build import (
    drive,
    make_conversation,
    opt_bool,
    opt_str,
    req_dict,
    req_str,
    to_timestamp,
)
from wildchat.formats._io import iter_records
from wildchat.formats._moderation import parse_detoxify, parse_moderation
from wildchat.schema import ROLE_ALIASES, Conversation, Header, RecordError, Turn
from wildchat.skips import SkipReport

__all__ = ["read", "to_conversation"]

_HEX32 = re.compile(r"^[0-9a-f]{32}$")


def _header(value: Any, where: str) -> Header | None:
    if value is None:
        return None
    value = req_dict(value, where)
    return Header(accept_language=opt_str(value, "accept-language"), user_agent=opt_str(value, "user-agent"))


def _int(obj: dict[str, Any], key: str) -> int | None:
    value = obj.get(key)
    if value is None or (isinstance(value, int) and not isinstance(value, bool)):
        return value
    raise RecordError("bad_type", f"{key}: expected an integer")


def _turn(obj: Any, i: int) -> Turn:
    t = req_dict(obj, f"conversation[{i}]")
    role = ROLE_ALIASES.get(str(req_str(t, "role")).lower())
    if role is None:
        raise RecordError("bad_role", f"conversation[{i}].role: unsupported role")
    return Turn(
        content=req_str(t, "content"),
        role=role,
        language=opt_str(t, "language"),
        toxic=opt_bool(t, "toxic"),
        redacted=opt_bool(t, "redacted"),
        turn_identifier=_int(t, "turn_identifier"),
        timestamp=to_timestamp(t.get("timestamp"), f"conversation[{i}].timestamp"),
        country=opt_str(t, "country"),
        state=opt_str(t, "state"),
        hashed_ip=opt_str(t, "hashed_ip"),
        header=_header(t.get("header"), f"conversation[{i}].header"),
        jailbreak=opt_bool(t, "jailbreak"),
        jailbreak_match=opt_str(t, "jailbreak_match"),
    )


def _release(obj: dict[str, Any], fallback_id: str) -> Conversation:
    raw_turns = obj.get("conversation")
    if raw_turns is None:
        raise RecordError("missing_field", "conversation: required")
    if not isinstance(raw_turns, list):
        raise RecordError("bad_type", "conversation: expected a list")
    turns = [_turn(t, i) for i, t in enumerate(raw_turns)]
    conv = make_conversation(
        turns,
        conversation_id=opt_str(obj, "conversation_id") or fallback_id,
        model=opt_str(obj, "model"),
        timestamp=to_timestamp(obj.get("timestamp")),
        language=opt_str(obj, "language"),
        openai_moderation=parse_moderation(obj.get("openai_moderation"), len(turns)),
        detoxify_moderation=parse_detoxify(obj.get("detoxify_moderation"), len(turns)),
        toxic=opt_bool(obj, "toxic"),
        redacted=opt_bool(obj, "redacted"),
        state=opt_str(obj, "state"),
        country=opt_str(obj, "country"),
        hashed_ip=opt_str(obj, "hashed_ip"),
        header=_header(obj.get("header"), "header"),
    )
    source_hash = obj.get("conversation_hash")
    if isinstance(source_hash, str) and _HEX32.match(source_hash):
        conv.conversation_hash = source_hash
    return conv


def _first_turn(obj: dict[str, Any], fallback_id: str) -> Conversation:
    language = opt_str(obj, "language")
    ts = to_timestamp(obj.get("timestamp"))
    turns = [
        Turn(content=req_str(obj, "prompt"), role="user", language=language),
        Turn(content=req_str(obj, "response"), role="assistant", language=language, timestamp=ts),
    ]
    return make_conversation(
        turns,
        conversation_id=opt_str(obj, "conversation_id") or fallback_id,
        model=opt_str(obj, "model"),
        timestamp=ts,
        language=language,
    )


def to_conversation(obj: Any, fallback_id: str) -> Conversation:
    """One release row or first-turn row -> Conversation (raises ``RecordError``)."""
    obj = req_dict(obj)
    if "conversation" not in obj and "prompt" in obj:
        return _first_turn(obj, fallback_id)
    return _release(obj, fallback_id)


def read(path: Path, report: SkipReport) -> Iterator[Conversation]:
    """Stream the conversations of one WildChat-format file."""
    return drive(iter_records(path, report), path, report, to_conversation)
