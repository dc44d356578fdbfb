"""The explorer's contract: what the index answers and what the web app asks.

The index (``wildchat.explore.index``) implements :class:`ExploreIndex` over
SQLite FTS5 or PostgreSQL; the web app (``wildchat.explore.app``) only talks
to this protocol, so both backends share every route and page.  All text in
these records is plain text: highlights are character offsets, never markup,
because conversation text is hostile input and the page renders it as text.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol

__all__ = [
    "MAX_LIMIT",
    "DatasetInfo",
    "ExploreIndex",
    "MapPoints",
    "NotFound",
    "QueryError",
    "SearchHit",
    "SearchPage",
    "SearchQuery",
    "UserPage",
]

#: Largest page a client may ask for (``limit``); larger asks are a 400, not a silent cap.
MAX_LIMIT = 200


class QueryError(ValueError):
    """A malformed query or filter value; the app answers 400 with ``str(exc)``."""


class NotFound(LookupError):
    """An unknown conversation id, user or dataset; the app answers 404."""


@dataclass(frozen=True, slots=True)
class SearchQuery:
    """One validated search: text, filters, order and page.

    ``text`` empty means "no text condition" (browse by filters, newest
    first).  ``phrase`` asks for the exact phrase.  Tri-state flags are
    ``None`` (any), ``True`` or ``False``.  ``cursor`` is the opaque token a
    previous page returned as ``next_cursor``.
    """

    text: str = ""
    phrase: bool = False
    dataset: str | None = None
    model: str | None = None
    language: str | None = None
    country: str | None = None
    state: str | None = None
    toxic: bool | None = None
    redacted: bool | None = None
    jailbreak: bool | None = None
    hashed_ip: str | None = None
    conversation_id: str | None = None
    min_turns: int | None = None
    max_turns: int | None = None
    since: datetime | None = None
    until: datetime | None = None
    sort: Literal["relevance", "time"] = "relevance"
    limit: int = 20
    cursor: str | None = None


@dataclass(frozen=True, slots=True)
class SearchHit:
    """One matching conversation, as the result list shows it.

    ``snippet`` is plain text around the best match; ``highlights`` are
    ``(start, end)`` character offsets into ``snippet`` of matched terms.
    ``map_id`` is the conversation's point on the embedding map (or ``None``).
    """

    conversation_id: str
    dataset: str
    snippet: str
    highlights: list[tuple[int, int]]
    model: str | None
    language: str | None
    country: str | None
    state: str | None
    hashed_ip: str | None
    timestamp: datetime | None
    turn: int
    toxic: bool | None
    redacted: bool | None
    jailbreak: bool | None
    map_id: int | None = None


@dataclass(frozen=True, slots=True)
class SearchPage:
    """A page of hits with the exact total count of matches (no cap)."""

    total: int
    results: list[SearchHit]
    next_cursor: str | None


@dataclass(frozen=True, slots=True)
class UserPage:
    """Every conversation of one hashed IP, oldest first (timeline order)."""

    hashed_ip: str
    total: int
    conversations: list[SearchHit]
    next_cursor: str | None


@dataclass(frozen=True, slots=True)
class DatasetInfo:
    """One loaded dataset and which filters its data can answer.

    ``filters`` names the filter fields with at least one non-null value
    (e.g. a LMSYS sample has no ``country``); the page disables the rest.
    """

    name: str
    conversations: int
    turns: int
    sources: list[str]
    filters: list[str]
    map_points: int


@dataclass(frozen=True, slots=True)
class MapPoints:
    """Embedding-map coordinates, column-wise so the page can load 100K+ fast.

    ``ids[i]`` is a point id (``SearchHit.map_id``); ``datasets``/``languages``
    are small category tables indexed by ``dataset[i]``/``language[i]``.
    """

    ids: list[int]
    x: list[float]
    y: list[float]
    dataset: list[int]
    language: list[int]
    datasets: list[str]
    languages: list[str]
    model: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class ExploreIndex(Protocol):
    """Read side of an explorer index (SQLite FTS5 or PostgreSQL tsvector)."""

    def datasets(self) -> list[DatasetInfo]:
        """Loaded datasets with their sizes and answerable filters."""
        ...

    def facets(self) -> dict[str, list[str]]:
        """Distinct values for the dropdown filters: ``model``, ``language``, ``country``, ``state``."""
        ...

    def search(self, query: SearchQuery) -> SearchPage:
        """Matching conversations, one page; raises :class:`QueryError` on bad input."""
        ...

    def conversation(self, conversation_id: str) -> dict[str, Any]:
        """The conversation in the release schema as JSON-ready dict (plus ``dataset``); :class:`NotFound`."""
        ...

    def user(self, hashed_ip: str, limit: int = 100, cursor: str | None = None) -> UserPage:
        """All conversations of one hashed IP, oldest first; :class:`NotFound` if none."""
        ...

    def map_points(self, dataset: str | None = None, limit: int | None = None) -> MapPoints:
        """All (or the first ``limit``) map points, optionally of one dataset."""
        ...

    def map_hits(self, query: SearchQuery, limit: int = 100_000) -> list[int]:
        """Map point ids of the conversations matching ``query`` (for highlighting)."""
        ...

    def map_point(self, map_id: int) -> dict[str, Any]:
        """Text of one map point on demand: ``conversation_id``, ``dataset``, ``prompt`` (first user turn)."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...
