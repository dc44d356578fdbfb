"""Turning a source's list of ``{role, content}``-like messages into Turns.

Each format names its role and text keys differently and spells roles its own
way; this module maps them to ``system``/``user``/``assistant`` with the schema's
:data:`~wildchat.schema.ROLE_ALIASES`.
"""

from __future__ import annotations

from typing import Any

from wildchat.schema import ROLE_ALIASES, RecordError, Turn

__all__ = ["message_text", "turns_from_messages"]



def message_text(value: Any, where: str) -> str:
    """Message content: a string, or OpenAI-style ``[{type: text, text}]`` parts joined by newlines."""
    if isinstance(value, str):
        return value
    if (
        isinstance(value, list)
        and value
        and all(
            isinstance(p, dict) and p.get("type") == "text" and isinstance(p.get("text"), str) for p in value
        )
    ):
        return "\n".join(p["text"] for p in value)
    if value is None:
        raise RecordError("missing_field", f"{where}: content required")
    raise RecordError("bad_type", f"{where}: content must be a string (or text parts)")


def turns_from_messages(
    messages: Any, *, list_key: str, role_key: str = "role", text_key: str = "content"
) -> list[Turn]:
    """Validate a message list and map roles; content and role only, no other fields."""
    if messages is None:
        raise RecordError("missing_field", f"{list_key}: required")
    if not isinstance(messages, list):
        raise RecordError("bad_type", f"{list_key}: expected a list")
    turns = []
    for i, m in enumerate(messages):
        where = f"{list_key}[{i}]"
        if not isinstance(m, dict):
            raise RecordError("bad_type", f"{where}: expected an object")
        role = m.get(role_key)
        if not isinstance(role, str):
            raise RecordError(
                "missing_field" if role is None else "bad_type", f"{where}.{role_key}: required string"
            )
        mapped = ROLE_ALIASES.get(role.strip().lower())
        if mapped is None:
            raise RecordError("bad_role", f"{where}.{role_key}: unsupported role")
        turns.append(Turn(content=message_text(m.get(text_key), where), role=mapped))
    return turns
