"""LMSYS-Chat-1M: ``{conversation_id, model, turn, language, conversation[{role, content}],
openai_moderation, redacted}`` as JSONL, JSON array or Parquet.

Mapping: ``conversation_id``, ``model``, ``language`` (conversation level) and
``redacted`` are kept; ``openai_moderation`` (one ``{categories,
category_scores, flagged}`` per message) becomes :class:`Moderation` keyed by
the WildChat category names (categories LMSYS lacks stay null; unknown ones
are dropped).  ``turn`` and ``conversation_hash`` are recomputed.  No timestamp.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from wildchat.formats._build import drive, make_conversation, opt_bool, opt_str, req_dict
from wildchat.formats._io import iter_records
from wildchat.formats._messages import turns_from_messages
from wildchat.formats._moderation import parse_moderation
from wildchat.schema import Conversation, RecordError
from wildchat.skips import SkipReport

__all__ = ["read", "to_conversation"]


def to_conversation(obj: Any, fallback_id: str) -> Conversation:
    """One LMSYS record -> Conversation (raises ``RecordError``)."""
    obj = req_dict(obj)
    turns = turns_from_messages(obj.get("conversation"), list_key="conversation")
    cid = obj.get("conversation_id")
    if cid is not None and not isinstance(cid, str | int):
        raise RecordError("bad_type", "conversation_id: expected a string")
    return make_conversation(
        turns,
        conversation_id=str(cid) if cid is not None else fallback_id,
        model=opt_str(obj, "model"),
        language=opt_str(obj, "language"),
        redacted=opt_bool(obj, "redacted"),
        openai_moderation=parse_moderation(obj.get("openai_moderation"), len(turns)),
    )


def read(path: Path, report: SkipReport) -> Iterator[Conversation]:
    """Stream the conversations of one LMSYS file."""
    return drive(iter_records(path, report), path, report, to_conversation)
