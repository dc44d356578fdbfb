"""Pure helpers every reader uses to turn source messages into a Conversation.

No I/O here.  Problems are raised as :class:`wildchat.schema.RecordError`
(``reason`` = the skip code), which the reader driver counts.

Role rule (all formats): optionally one or more leading ``system`` messages,
then ``user``, ``assistant``, ``user``, ``assistant`` ... strictly
alternating, ending with ``assistant``.  Anything else -- a conversation that
starts with the assistant, two user messages in a row, a system message in the
middle, a trailing user message nobody answered -- is ``non_alternating_roles``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from wildchat.formats.hashing import conversation_hash, derived_id, turn_identifier
from wildchat.schema import Conversation, RecordError, Turn, parse_timestamp
from wildchat.skips import SkipReport

__all__ = [
    "check_roles",
    "drive",
    "majority_language",
    "make_conversation",
    "opt_bool",
    "opt_str",
    "req_dict",
    "req_str",
    "to_timestamp",
]


def req_str(obj: Mapping[str, Any], key: str, *, allow_empty: bool = True) -> str:
    """A required string field (``missing_field`` / ``bad_type``)."""
    if key not in obj or obj[key] is None:
        raise RecordError("missing_field", f"{key}: required")
    value = obj[key]
    if not isinstance(value, str):
        raise RecordError("bad_type", f"{key}: expected a string")
    if not allow_empty and not value.strip():
        raise RecordError("empty_content", f"{key}: is empty")
    return value


def opt_str(obj: Mapping[str, Any], key: str) -> str | None:
    value = obj.get(key)
    if value is None or isinstance(value, str):
        return value
    raise RecordError("bad_type", f"{key}: expected a string or null")


def opt_bool(obj: Mapping[str, Any], key: str) -> bool | None:
    value = obj.get(key)
    if value is None or isinstance(value, bool):
        return value
    raise RecordError("bad_type", f"{key}: expected a boolean or null")


def req_dict(value: Any, what: str = "record") -> dict[str, Any]:
    if not isinstance(value, dict):
        raise RecordError("bad_type", f"{what}: expected a JSON object")
    return value


def to_timestamp(value: Any, field_name: str = "timestamp") -> datetime | None:
    """Source timestamp -> aware UTC datetime (``None`` stays ``None``).

    Chat-log releases store UTC, often without an offset: a naive datetime or
    an RFC 3339 string without offset is read as UTC here (unlike raw logs,
    where a missing offset is refused).  Numbers are epoch seconds, or epoch
    milliseconds when larger than 10^11 (as pandas/``datasets`` JSON exports write).
    """
    if value is None:
        return None
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    if isinstance(value, int | float) and not isinstance(value, bool) and abs(value) > 1e11:
        value = value / 1000
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError as exc:
            raise RecordError("bad_timestamp", f"{field_name}: not an ISO 8601 timestamp") from exc
        return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    return parse_timestamp(value, field_name)


def check_roles(roles: list[str]) -> None:
    """Raise ``non_alternating_roles`` unless roles follow the module's rule."""
    if not roles:
        raise RecordError("empty_conversation", "conversation: no messages")
    i = 0
    while i < len(roles) and roles[i] == "system":
        i += 1
    if i == len(roles):
        raise RecordError("non_alternating_roles", "conversation: only system messages")
    for k, role in enumerate(roles[i:]):
        expected = "user" if k % 2 == 0 else "assistant"
        if role != expected:
            raise RecordError(
                "non_alternating_roles", f"message {i + k}: expected role {expected}, got {role}"
            )
    if roles[-1] != "assistant":
        raise RecordError("non_alternating_roles", "conversation: ends with an unanswered user message")


def majority_language(labels: Iterable[str | None]) -> str | None:
    """Most frequent non-null label (ties: first seen), as WildChat does per conversation."""
    counts = Counter(x for x in labels if x)
    return counts.most_common(1)[0][0] if counts else None


def make_conversation(
    turns: list[Turn],
    *,
    conversation_id: str,
    model: str | None = None,
    timestamp: datetime | None = None,
    **fields: Any,
) -> Conversation:
    """Validate roles, fill ``turn``, ``conversation_hash`` and missing turn ids.

    ``fields`` are passed to :class:`Conversation` (``language``, ``redacted``,
    ``openai_moderation`` ...).  Turns that already carry a
    ``turn_identifier`` keep it; others get :func:`turn_identifier` of
    ``(conversation_id, exchange index)``; leading system turns share the
    first exchange's identifier.
    """
    check_roles([t.role for t in turns])
    exchange = 0
    first_tid: int | None = None
    for t in turns:
        if t.role == "user" and first_tid is not None:
            exchange += 1
        if t.turn_identifier is None and t.role != "system":
            t.turn_identifier = turn_identifier(conversation_id, exchange)
        if first_tid is None and t.role != "system":
            first_tid = t.turn_identifier
    for t in turns:  # leading system turns belong to the first exchange (as in curated raw logs)
        if t.role != "system":
            break
        if t.turn_identifier is None:
            t.turn_identifier = first_tid
    return Conversation(
        conversation_hash=conversation_hash(turns),
        model=model,
        timestamp=timestamp,
        conversation=turns,
        turn=sum(1 for t in turns if t.role == "user"),
        conversation_id=conversation_id,
        **fields,
    )


Transform = Callable[[Any, str], Conversation]


def drive(
    rows: Iterator[tuple[int, Any]], path: Path, report: SkipReport, transform: Transform
) -> Iterator[Conversation]:
    """Apply ``transform(record, fallback_id)`` to each source record, counting failures.

    ``fallback_id`` is :func:`derived_id` of the file name and record
    position, for sources without their own id.
    """
    source = str(path)
    for pos, obj in rows:
        try:
            yield transform(obj, derived_id(path.name, pos))
        except RecordError as exc:
            report.skip(exc.reason, str(exc), source, pos)
