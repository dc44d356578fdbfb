"""Detected spans, redaction results, and the pure text-replacement step.

A :class:`Span` carries positions and a type, never the matched text, so
spans can be logged, counted and returned without leaking PII.
"""

from __future__ import annotations

import bisect
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

__all__ = ["RedactionResult", "Span", "apply_spans", "marker", "resolve_overlaps"]


def marker(entity: str) -> str:
    """The replacement WildChat used: ``<PRESIDIO_ANONYMIZED_{ENTITY}>``."""
    return f"<PRESIDIO_ANONYMIZED_{entity}>"


@dataclass(frozen=True, slots=True, order=True)
class Span:
    """``text[start:end]`` is an entity of type ``entity`` (score in [0, 1])."""

    start: int
    end: int
    entity: str
    score: float = 1.0
    source: str = field(default="", compare=False)

    def shifted(self, offset: int) -> Span:
        return Span(self.start + offset, self.end + offset, self.entity, self.score, self.source)


@dataclass(frozen=True, slots=True)
class RedactionResult:
    """One text after redaction.

    ``text`` is the redacted text (the input itself when nothing was
    redacted); ``redacted`` is true iff at least one replacement was made;
    ``entities`` counts replacements by type; ``spans`` are the replaced
    spans in *input* coordinates (sorted, non-overlapping).
    """

    text: str
    redacted: bool
    entities: dict[str, int]
    spans: tuple[Span, ...] = ()


def resolve_overlaps(spans: Iterable[Span]) -> list[Span]:
    """Non-overlapping subset: higher score wins, then the longer span.

    Ties keep the earlier span.  Result sorted by ``start``.  O(n log n) with
    a sorted list of kept intervals (a dense 1 MB turn has ~10^4 spans).
    """
    ranked = sorted(spans, key=lambda s: (-s.score, -(s.end - s.start), s.start))
    starts: list[int] = []  # starts of kept spans, sorted; kept spans never overlap
    kept: list[Span] = []  # aligned with starts
    for s in ranked:
        if s.end <= s.start:
            continue
        i = bisect.bisect_left(starts, s.start)
        if i > 0 and kept[i - 1].end > s.start:
            continue  # the kept span starting before s runs into it
        if i < len(starts) and starts[i] < s.end:
            continue  # a kept span starts inside s
        starts.insert(i, s.start)
        kept.insert(i, s)
    return kept


def apply_spans(text: str, spans: Sequence[Span]) -> RedactionResult:
    """Replace each span (sorted, non-overlapping) with its marker."""
    if not spans:
        return RedactionResult(text, False, {}, ())
    parts: list[str] = []
    pos = 0
    for s in spans:
        parts.append(text[pos : s.start])
        parts.append(marker(s.entity))
        pos = s.end
    parts.append(text[pos:])
    counts = Counter(s.entity for s in spans)
    return RedactionResult("".join(parts), True, dict(counts), tuple(spans))
