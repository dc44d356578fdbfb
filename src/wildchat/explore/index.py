"""The read side of an explorer index: :class:`Index` implements :class:`ExploreIndex`.

One SQLAlchemy-Core code path for SQLite (``sqlite:///path/index.db``) and
PostgreSQL (``postgresql+psycopg://...``); the few backend-specific
statements live in :mod:`wildchat.explore.dialects`, the tables in
:mod:`wildchat.explore.tables`.  This class is the facade callers use; the
work is done by

* :mod:`wildchat.explore.search` -- search planning (which plan per query)
  and the time-ordered plans; :mod:`wildchat.explore.ranking` -- relevance
  order (exact within a bounded window) and the selective-filter pass;
* :mod:`wildchat.explore.counts` -- exact totals and their locked cache;
* :mod:`wildchat.explore.filters` -- filters as WHERE conditions, and the
  filters no loaded data can satisfy;
* :mod:`wildchat.explore.lookups` -- conversation, user timeline, datasets, facets;
* :mod:`wildchat.explore.mapquery` -- map points, map hits, one point's text.

Totals are exact (no cap); pages are keyset-paged (``next_cursor``), so deep
pages cost what the first does.  Snippets are cut in Python from the stored
record (:func:`wildchat.explore.tokens.make_snippet`): plain text plus offsets.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine

from wildchat.explore import lookups, mapquery
from wildchat.explore.dialects import dialect_for
from wildchat.explore.engine import ensure_schema, make_engine
from wildchat.explore.hits import DatasetNames
from wildchat.explore.model import DatasetInfo, MapPoints, SearchPage, SearchQuery, UserPage
from wildchat.explore.search import SearchPlanner

__all__ = ["Index", "make_engine", "open_index", "open_served_index"]


def open_index(url: str) -> Index:
    """Open (creating empty tables if needed) the index at ``url``."""
    engine = make_engine(url)
    ensure_schema(engine)
    return Index(engine)


def open_served_index(url: str) -> Index:
    """:func:`open_index` for a long-running server: also starts reading the in-memory row sets.

    (:mod:`wildchat.explore.bitmaps`; in the background, for large SQLite indexes.)
    """
    ix = open_index(url)
    ix.planner.rowsets.warm(ix.engine)
    return ix


class Index:
    """:class:`~wildchat.explore.model.ExploreIndex` over one SQLAlchemy engine (thread-safe)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.dialect = dialect_for(engine.dialect.name)
        self._names = DatasetNames()
        self.planner = SearchPlanner(self.dialect, self._names)

    def search(self, query: SearchQuery) -> SearchPage:
        """See :class:`ExploreIndex` and :mod:`wildchat.explore.search` for the plans."""
        with self.engine.connect() as conn:
            return self.planner.search(conn, query)

    def conversation(self, conversation_id: str) -> dict[str, Any]:
        with self.engine.connect() as conn:
            return lookups.conversation(conn, self._names, conversation_id)

    def user(self, hashed_ip: str, limit: int = 100, cursor: str | None = None) -> UserPage:
        with self.engine.connect() as conn:
            return lookups.user_page(conn, self._names, hashed_ip, limit, cursor)

    def datasets(self) -> list[DatasetInfo]:
        with self.engine.connect() as conn:
            return lookups.dataset_infos(conn)

    def facets(self) -> dict[str, list[str]]:
        with self.engine.connect() as conn:
            return lookups.facets(conn)

    def map_points(self, dataset: str | None = None, limit: int | None = None) -> MapPoints:
        with self.engine.connect() as conn:
            return mapquery.read_map_points(conn, self._names, dataset, limit)

    def map_hits(self, query: SearchQuery, limit: int = 100_000) -> list[int]:
        with self.engine.connect() as conn:
            return mapquery.map_hits(conn, self.dialect, self._names, query, limit)

    def map_point(self, map_id: int) -> dict[str, Any]:
        with self.engine.connect() as conn:
            return mapquery.map_point(conn, self._names, map_id)

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Index:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
