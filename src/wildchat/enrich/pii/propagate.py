"""Within a conversation, a value redacted once is redacted everywhere.

The cue rules find a name where the user introduces themself ("my name is
Ada Lovelace"), but the assistant's reply ("Sure, Ada Lovelace, ...") has
no cue and would leak it back.  So every exact occurrence of a redacted
value elsewhere in the same group (conversation) is redacted too, with the
same entity type.  Costs one substring search per value per turn (at most
``MAX_VALUES`` values per conversation).  WildChat
did not do this; it is on by default (``PiiConfig.propagate``).
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence

from wildchat.enrich.pii.spans import Span, resolve_overlaps

__all__ = ["propagate"]

MIN_CHARS = 4  # shorter values ("Al", "12") would match inside ordinary words
MAX_VALUES = 100  # per group: bounds the substring searches on PII-dense input


def _occurrences(text: str, value: str) -> list[tuple[int, int]]:
    out = []
    i = text.find(value)
    while i >= 0:
        end = i + len(value)
        before = text[i - 1] if i > 0 else " "
        after = text[end] if end < len(text) else " "
        if not (before.isalnum() or after.isalnum()):  # whole words only
            out.append((i, end))
        i = text.find(value, end)
    return out


def propagate(
    texts: Sequence[str], spans: Sequence[list[Span]], groups: Sequence[Hashable]
) -> list[list[Span]]:
    """``spans`` per text, plus occurrences of values redacted in the same group."""
    values: dict[Hashable, dict[str, str]] = {}
    for text, found, group in zip(texts, spans, groups, strict=True):
        for s in found:
            value = text[s.start : s.end]
            seen = values.setdefault(group, {})
            if len(value.strip()) >= MIN_CHARS and len(seen) < MAX_VALUES:
                seen.setdefault(value, s.entity)
    out: list[list[Span]] = []
    for text, found, group in zip(texts, spans, groups, strict=True):
        extra = [
            Span(a, b, entity, 1.0, "propagated")
            for value, entity in values.get(group, {}).items()
            for a, b in _occurrences(text, value)
            if not any(a < s.end and s.start < b for s in found)
        ]
        out.append(resolve_overlaps(found + extra) if extra else found)
    return out
