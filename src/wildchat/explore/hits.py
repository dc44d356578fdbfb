"""Rows of ``conversations`` -> :class:`SearchHit`, shared by search, user timelines and lookups.

Kept apart from the query planning (:mod:`wildchat.explore.search`) so every
read path turns rows into hits the same way: the dataset name comes from a
small cache of the ``datasets`` table (:class:`DatasetNames`), the snippet
from the stored record or prompt (:func:`wildchat.explore.tokens.make_snippet`).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, select

from wildchat.explore.model import SearchHit, SearchPage
from wildchat.explore.query import encode_cursor
from wildchat.explore.rows import decode_record
from wildchat.explore.tables import NO_TS, conversations, datasets, records
from wildchat.explore.tokens import Terms, make_snippet

__all__ = [
    "HIT_COLUMNS",
    "DatasetNames",
    "fetch_records",
    "hits_with_snippets",
    "make_hit",
    "page_of_prompts",
]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
c = conversations.c
#: The columns a :class:`SearchHit` is made of (plus ``id`` for paging and record lookups).
HIT_COLUMNS = (
    c.id,
    c.conversation_id,
    c.dataset_id,
    c.model,
    c.language,
    c.country,
    c.state,
    c.hashed_ip,
    c.ts,
    c.turn,
    c.toxic,
    c.redacted,
    c.jailbreak,
    c.map_id,
)


class DatasetNames:
    """Dataset id -> name, read once and re-read when an unknown id shows up (thread-safe)."""

    def __init__(self) -> None:
        self._names: dict[int, str] = {}
        self._lock = threading.Lock()

    def all(self, conn: Connection, refresh: bool = False) -> dict[int, str]:
        with self._lock:
            if refresh or not self._names:
                self._names = {r.id: r.name for r in conn.execute(select(datasets.c.id, datasets.c.name))}
            return self._names

    def name(self, conn: Connection, dataset_id: int) -> str:
        names = self.all(conn)
        if dataset_id not in names:
            names = self.all(conn, refresh=True)
        return names.get(dataset_id, "?")

    def ids_of(self, conn: Connection, name: str) -> list[int]:
        """Ids named ``name`` (re-read: a build may have added it since)."""
        return [i for i, n in self.all(conn, refresh=True).items() if n == name]


def _from_micros(ts: int) -> datetime | None:
    return None if ts == NO_TS else _EPOCH + timedelta(microseconds=ts)


def make_hit(
    conn: Connection, names: DatasetNames, row: Any, snippet: str, spans: list[tuple[int, int]]
) -> SearchHit:
    """One hit from a row of :data:`HIT_COLUMNS`."""
    return SearchHit(
        conversation_id=row.conversation_id,
        dataset=names.name(conn, row.dataset_id),
        snippet=snippet,
        highlights=spans,
        model=row.model,
        language=row.language,
        country=row.country,
        state=row.state,
        hashed_ip=row.hashed_ip,
        timestamp=_from_micros(row.ts),
        turn=row.turn,
        toxic=row.toxic,
        redacted=row.redacted,
        jailbreak=row.jailbreak,
        map_id=row.map_id,
    )


def fetch_records(conn: Connection, ids: list[int], *, record: bool) -> dict[int, Any]:
    """``records`` rows by id: the prompt, and the compressed record when ``record``."""
    r = records.c
    cols = (r.id, r.prompt, r.record) if record else (r.id, r.prompt)
    return {row.id: row for row in conn.execute(select(*cols).where(r.id.in_(ids)))} if ids else {}


def _turn_texts(record: dict[str, Any]) -> list[str]:
    return [str(t.get("content") or "") for t in record.get("conversation") or []]


def hits_with_snippets(
    conn: Connection, names: DatasetNames, rows: Sequence[Any], terms: Terms
) -> list[SearchHit]:
    """Hits for ``rows`` (in order), each with a snippet around ``terms`` cut from its whole record."""
    recs = fetch_records(conn, [r.id for r in rows], record=True)
    hits = []
    for row in rows:
        snippet, spans = make_snippet(_turn_texts(decode_record(recs[row.id].record)), terms)
        hits.append(make_hit(conn, names, row, snippet, spans))
    return hits


def page_of_prompts(
    conn: Connection, names: DatasetNames, rows: Sequence[Any], limit: int, fingerprint: str, total: int
) -> SearchPage:
    """A time-keyed page (``rows`` holds up to ``limit + 1``) whose snippets are the first prompts."""
    more = len(rows) > limit
    rows = rows[:limit]
    recs = fetch_records(conn, [r.id for r in rows], record=False)
    hits = [make_hit(conn, names, r, *make_snippet([recs[r.id].prompt], Terms(()))) for r in rows]
    cursor = encode_cursor(fingerprint, rows[-1].ts, rows[-1].id) if more and rows else None
    return SearchPage(total=total, results=hits, next_cursor=cursor)
