"""Search planning: which plan answers a :class:`SearchQuery`, and the time-ordered plans.

Plans (chosen per request; every one keeps the exact total and a keyset cursor):

* **nothing can match** -- empty text terms, or a filter on a field no
  dataset in scope carries (:func:`~wildchat.explore.filters.cannot_match`):
  answered without touching the conversations;
* **browse** (no text): filters only, newest first;
* **total**: :func:`~wildchat.explore.counts.count_matches`, cached per query
  and index version (:class:`~wildchat.explore.counts.CountCache`); with
  filters, from the match ids and the filter columns held in memory
  (:class:`~wildchat.explore.bitmaps.RowSets`, SQLite) instead of a join;
* **memory** (SQLite, the filter columns read): with filters, or newest first
  with at most :data:`MEMORY_MAX_MATCHES` matches, the page comes from the
  filtered match ids (:func:`~wildchat.explore.mempages.memory_page`: same
  order, total and cursors as the SQL plans below); browsing with filters too;
* **selective filters** (fewer filtered rows than 1/FILTER_FIRST_RATIO of the
  matches) on SQLite: :func:`~wildchat.explore.ranking.page_within`, one pass;
* **relevance**: :func:`~wildchat.explore.ranking.ranked_page` -- exact bm25
  order for up to RANK_WINDOW matches, a bounded window beyond -- except when
  the text matches more than half of all conversations: bm25 then weighs
  every word ~0 (FTS5 clamps the IDF) and the page is ordered newest first;
* **time, few matches**: match JOIN conversations ordered by ``ts DESC, id DESC``;
* **time, many matches and hits** (:data:`PROBE_MIN_MATCHES`): walk
  ``conversations`` by the time index, newest first, probing the full-text
  index per row (``EXISTS``) -- stops after one page instead of sorting
  hundreds of thousands of matches.
"""

from __future__ import annotations

import threading
from dataclasses import replace
from typing import Any

from sqlalchemy import Connection, and_, func, or_, select

from wildchat.explore import counts as counts_module
from wildchat.explore import ranking
from wildchat.explore.bitmaps import MatchRows, RowSets
from wildchat.explore.counts import DEFERRED, CountCache, Counts, Snapshot, count_matches, join_total
from wildchat.explore.filters import cannot_match, filter_conditions, query_terms
from wildchat.explore.hits import HIT_COLUMNS, DatasetNames, hits_with_snippets, page_of_prompts
from wildchat.explore.mempages import ScoreCache, memory_page, newest_first, rows_by_id
from wildchat.explore.model import SearchPage, SearchQuery
from wildchat.explore.query import decode_position, encode_cursor, query_fingerprint, validate_query
from wildchat.explore.ranking import SearchRequest, page_within, ranked_page, window_rows
from wildchat.explore.tables import conversations

__all__ = ["MEMORY_MAX_MATCHES", "PROBE_MIN_MATCHES", "PROBE_WALK_ROWS", "SearchPlanner"]

c = conversations.c
#: Time-sorted text searches walk conversations newest first and probe the
#: full-text index per row (tens of microseconds each) when the text matches at
#: least PROBE_MIN_MATCHES conversations (sorting them all would cost more) and
#: one page is expected within PROBE_WALK_ROWS rows (``(limit + 1) * size / total``).
PROBE_MIN_MATCHES = 20_000
PROBE_WALK_ROWS = 2_000
#: Newest-first searches without filters read the match ids into memory (about
#: 0.15 us each, more for several words) up to this many matches.
MEMORY_MAX_MATCHES = 100_000
_EMPTY = SearchPage(total=0, results=[], next_cursor=None)


class SearchPlanner:
    """Answers searches for :class:`~wildchat.explore.index.Index` (thread-safe).

    ``last_plan`` (per thread) names the plan of the latest search and how
    many matches it scored -- a load-independent measure for benchmarks.
    """

    def __init__(self, dialect: Any, names: DatasetNames) -> None:
        self.dialect = dialect
        self.names = names
        self.cache = CountCache()
        self.rowsets = RowSets()
        self.scores = ScoreCache()
        self._local = threading.local()

    @property
    def last_plan(self) -> dict[str, Any]:
        return dict(getattr(self._local, "plan", {}))

    def _note(self, plan: str, scored: int = 0) -> None:
        self._local.plan = {"plan": plan, "scored": scored}

    def search(self, conn: Connection, query: SearchQuery) -> SearchPage:
        """See :class:`~wildchat.explore.model.ExploreIndex` and the module docstring."""
        validate_query(query)
        terms = query_terms(query)
        self._note("empty")
        if terms is not None and not terms:
            return _EMPTY
        snap = Snapshot.read(conn)
        if cannot_match(query, snap.carried):
            self._note("not carried")
            return _EMPTY
        fingerprint = query_fingerprint(query)
        conds = filter_conditions(conn, self.names, query)
        if terms is None:
            self._note("browse")
            return self._browse(conn, query, conds, fingerprint, snap)
        req = SearchRequest(
            query, terms, fingerprint, snap, conds, {"fts_q": self.dialect.match_param(terms)}
        )
        counts = self._counts(conn, req, defer_join=query.sort == "relevance")
        if counts.total == 0:
            return _EMPTY
        by_time = query.sort == "time" or counts.matches * 2 > snap.size
        if by_time and counts.total == DEFERRED:
            ids = self.dialect.match_ids().subquery("mi")
            counts = self._resolve(req, counts, join_total(conn, conds, ids, req.params))
        position = decode_position(query.cursor, fingerprint) if query.cursor is not None else None
        found = self._in_memory(conn, req, counts, by_time)
        if found is not None:
            return self._memory_page(conn, req, counts, found, position, by_time)
        within = self.dialect.match_within(select(c.id).where(*conds)) if counts.filter_first else None
        if within is not None:
            key_last = (position[0], position[1]) if position is not None else None
            page, scored = page_within(
                conn, self.names, query, terms, fingerprint, within, req.params, by_time, key_last
            )
            self._note("within", 0 if by_time else scored)
            return page
        if by_time:
            return self._time_page(conn, req, counts, position)
        req.walk = filter_conditions(conn, self.names, query, walk_text=True) if conds else []
        window = None
        if counts.total == DEFERRED:  # one pass: the window, and the total when it holds every match
            window = window_rows(conn, self.dialect, req.walk, req.params, ranking.RANK_WINDOW + 1)
            total = len(window)
            window = window[: ranking.RANK_WINDOW]
            if total > len(window):  # the window's rows are counted; count only the matches below it
                ids = self.dialect.match_ids().subquery("mi")
                below = min(i for _, i in window)
                total = len(window) + join_total(conn, conds, ids, req.params, below)
            counts = self._resolve(req, counts, total)
            if total == 0:
                return _EMPTY
        page, scored = ranked_page(conn, self.dialect, self.names, req, position, counts.total, window)
        self._note("window" if counts.total > scored else "ranked", scored)
        return page

    @staticmethod
    def _key(req: SearchRequest) -> tuple[Any, ...]:
        return (req.fingerprint, counts_module.FILTER_FIRST_RATIO, req.snap.version)

    def _counts(self, conn: Connection, req: SearchRequest, defer_join: bool) -> Counts:
        """Cached counts; a relevance query may leave its join count to the window pass."""
        hit = self.cache.get(self._key(req))
        if hit is None:
            ratio = counts_module.FILTER_FIRST_RATIO
            fts_q = str(req.params["fts_q"])
            fast = self.rowsets.counts(conn, self.dialect, self.names, req.snap, req.query, fts_q)
            if fast is not None:  # exact, from the in-memory row sets
                hit, filtered = fast
                cap = -(-hit.matches // ratio) if ratio > 0 else None  # as count_matches decides
                hit = replace(hit, filter_first=bool(req.conds) and (cap is None or filtered < cap))
            else:
                ids = self.dialect.match_ids().subquery("mi")
                hit = count_matches(conn, self.dialect, req.conds, ids, req.params, ratio, defer_join)
            self.cache.put(self._key(req), hit)
        return hit

    def _memory_page(
        self,
        conn: Connection,
        req: SearchRequest,
        counts: Counts,
        found: MatchRows,
        position: tuple[float | int, int, int] | None,
        by_time: bool,
    ) -> SearchPage:
        """The page from ``found`` (:func:`memory_page`); a deferred total is remembered."""
        if counts.total < 0:
            self._resolve(req, counts, len(found.ids))
        page, scored = memory_page(conn, self.names, req, found, position, by_time, self.scores)
        self._note("memory", scored)
        return page

    def _in_memory(
        self, conn: Connection, req: SearchRequest, counts: Counts, by_time: bool
    ) -> MatchRows | None:
        """The filtered matches from memory when a page from them is exact and cheaper than SQL.

        With filters (their match ids were read for the total already), except
        selective filters ranking more than a window (:func:`page_within` ranks
        every match there); without filters, only newest first and when the
        match ids are cheap to read (at most :data:`MEMORY_MAX_MATCHES`) or read already.
        """
        if self.dialect.name != "sqlite":
            return None
        fts_q = str(req.params["fts_q"])
        if req.conds:
            if counts.filter_first and not by_time and not 0 <= counts.total <= ranking.RANK_WINDOW:
                return None
        elif not by_time or (
            counts.matches > MEMORY_MAX_MATCHES and not self.rowsets.has_matches(req.snap, fts_q)
        ):
            return None
        return self.rowsets.match_rows(conn, self.names, req.snap, req.query, str(req.params["fts_q"]))

    def _resolve(self, req: SearchRequest, counts: Counts, total: int) -> Counts:
        """Remember the exact total of a query whose count was deferred."""
        resolved = replace(counts, total=total)
        self.cache.put(self._key(req), resolved)
        return resolved

    def _time_page(
        self,
        conn: Connection,
        req: SearchRequest,
        counts: Counts,
        position: tuple[float | int, int, int] | None,
    ) -> SearchPage:
        """Newest first: the probe walk for many matches, else match JOIN conversations sorted."""
        query, conds = req.query, req.conds
        walk_rows = (query.limit + 1) * req.snap.size
        if counts.filter_first:
            page_q = select(*HIT_COLUMNS).where(*conds, self.dialect.exists_match())
            self._note("time, filtered probe")
        elif counts.matches >= PROBE_MIN_MATCHES and counts.total * PROBE_WALK_ROWS >= walk_rows:
            walk = filter_conditions(conn, self.names, query, walk_time=True)
            page_q = select(*HIT_COLUMNS).where(*walk, self.dialect.exists_match())
            self._note("time, probe walk")
        else:
            ids = self.dialect.match_ids().subquery("mi")
            joined = ids.join(conversations, c.id == ids.c.id)
            page_q = select(*HIT_COLUMNS).select_from(joined).where(*conds)
            self._note("time, join")
        if position is not None:
            key, last = position[0], position[1]
            page_q = page_q.where(or_(c.ts < key, and_(c.ts == key, c.id < last)))
        page_q = page_q.order_by(c.ts.desc(), c.id.desc())
        rows = conn.execute(page_q.limit(query.limit + 1), req.params).all()
        more = len(rows) > query.limit
        rows = rows[: query.limit]
        cursor = encode_cursor(req.fingerprint, rows[-1].ts, rows[-1].id) if more and rows else None
        hits = hits_with_snippets(conn, self.names, rows, req.terms)
        return SearchPage(total=counts.total, results=hits, next_cursor=cursor)

    def _browse(
        self, conn: Connection, query: SearchQuery, conds: list[Any], fingerprint: str, snap: Snapshot
    ) -> SearchPage:
        """No text: filters only, newest first (``sort`` is ignored); the total from the row sets if read."""
        position = decode_position(query.cursor, fingerprint) if query.cursor is not None else None
        found = self.rowsets.filtered_ids(conn, self.names, snap, query) if conds else None
        if found is not None:  # newest first from the columns in memory: no filter index to walk
            self._note("browse, memory")
            picked = rows_by_id(conn, newest_first(found, position, query.limit + 1))
            return page_of_prompts(conn, self.names, picked, query.limit, fingerprint, len(found.ids))
        total = self.rowsets.filtered_rows(conn, self.names, snap, query)
        if total is None:
            total = int(
                conn.execute(select(func.count()).select_from(conversations).where(*conds)).scalar_one()
            )
        page_q = select(*HIT_COLUMNS).where(*conds)
        if position is not None:
            key, last = position[0], position[1]
            page_q = page_q.where(or_(c.ts < key, and_(c.ts == key, c.id < last)))
        rows = conn.execute(page_q.order_by(c.ts.desc(), c.id.desc()).limit(query.limit + 1)).all()
        return page_of_prompts(conn, self.names, rows, query.limit, fingerprint, total)
