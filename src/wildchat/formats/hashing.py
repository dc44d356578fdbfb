"""Content hashes and derived identifiers, defined once.

``conversation_hash`` -- the WildChat-1M definition, made exact:

    sha256(json.dumps([{"content": c, "role": r}, ...]).encode("utf-8")).hexdigest()[:32]

with Python's ``json.dumps`` defaults (``ensure_ascii=True``, separators
``", "`` and ``": "``), keys in the order ``content``, ``role`` (which is also
sorted order), one object per turn in conversation order, system turns
included.  It is computed on the text as released (after redaction), so two
conversations with the same text share a hash: it is *not* an id.

``turn_identifier`` -- for sources without one, a stable non-negative int64 per
exchange: the first 8 bytes of ``sha256(f"{conversation_id}:{exchange_index}")``
read big-endian, top bit cleared.  Both turns of an exchange share it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from typing import Protocol

__all__ = ["canonical_turns_json", "conversation_hash", "derived_id", "turn_identifier"]


class _HasContentRole(Protocol):
    content: str
    role: str


def canonical_turns_json(turns: Iterable[_HasContentRole | Mapping[str, str]]) -> str:
    """The exact text hashed by :func:`conversation_hash`."""
    items = []
    for t in turns:
        if isinstance(t, Mapping):
            items.append({"content": t["content"], "role": t["role"]})
        else:
            items.append({"content": t.content, "role": t.role})
    return json.dumps(items)


def conversation_hash(turns: Iterable[_HasContentRole | Mapping[str, str]]) -> str:
    """First 32 hex chars of SHA-256 over :func:`canonical_turns_json` (Turns or dicts)."""
    text = canonical_turns_json(turns)
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def turn_identifier(conversation_id: str, exchange_index: int) -> int:
    """Stable int64 (>= 0) for exchange ``exchange_index`` (0-based) of a conversation."""
    digest = hashlib.sha256(f"{conversation_id}:{exchange_index}".encode("utf-8", "surrogatepass")).digest()
    return int.from_bytes(digest[:8], "big") & 0x7FFF_FFFF_FFFF_FFFF


def derived_id(file_name: str, index: int) -> str:
    """Id for a record from a source without ids: ``<file name>-<1-based index>``."""
    return f"{file_name}-{index}"
