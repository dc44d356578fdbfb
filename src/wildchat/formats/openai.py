"""OpenAI chat fine-tuning JSONL: ``{"messages": [{role, content}, ...]}`` per line.

Content may be a string or a list of ``{"type": "text", "text"}`` parts
(joined with newlines); tool/function messages are ``bad_role`` skips.  The
optional ``weight`` key and others are ignored.  Ids are derived from the file
name and line number.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from wildchat.formats._build import drive, make_conversation, req_dict
from wildchat.formats._io import iter_records
from wildchat.formats._messages import turns_from_messages
from wildchat.schema import Conversation
from wildchat.skips import SkipReport

__all__ = ["read", "to_conversation"]


def to_conversation(obj: Any, fallback_id: str) -> Conversation:
    obj = req_dict(obj)
    turns = turns_from_messages(obj.get("messages"), list_key="messages")
    return make_conversation(turns, conversation_id=fallback_id)


def read(path: Path, report: SkipReport) -> Iterator[Conversation]:
    """Stream the conversations of one fine-tuning file."""
    return drive(iter_records(path, report), path, report, to_conversation)
