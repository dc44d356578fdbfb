"""Pages from the match ids and filter columns held in memory (SQLite, large indexes).

The SQL plans find a filtered page by walking the matches and looking each up
in ``conversations`` (one step per match: 100-200 ms for a word in a quarter
of the conversations).  With :class:`~wildchat.explore.bitmaps.MatchRows`
the filtered matches are known already (an array, exact), so:

* **time order** -- ``(ts DESC, id DESC)`` is a partial sort of their
  timestamps (held in memory too); only the page's rows are read;
* **relevance** -- the same window rule as
  :func:`~wildchat.explore.ranking.ranked_page`: the
  :data:`~wildchat.explore.ranking.RANK_WINDOW` filtered matches with the
  highest ids are scored (bm25, one FTS5 pass bounded by their id range; the
  other matches in that range are skipped before bm25), ordered by
  ``(rank, id)``; the tail follows by id descending.  Same order, totals and
  cursors as the SQL plans, so a cursor from either plan pages on in the other.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from typing import Any

import numpy as np
import orjson
from sqlalchemy import Connection, select

from wildchat.explore import ranking
from wildchat.explore.bitmaps import MatchRows
from wildchat.explore.hits import HIT_COLUMNS, DatasetNames, hits_with_snippets
from wildchat.explore.model import SearchPage
from wildchat.explore.query import encode_cursor
from wildchat.explore.ranking import SearchRequest
from wildchat.explore.tables import conversations

__all__ = ["SCORE_CACHE_SIZE", "ScoreCache", "memory_page", "newest_first", "rows_by_id", "score_ids"]

c = conversations.c
Position = tuple[float | int, int, int] | None
#: Scored windows kept (LRU; up to RANK_WINDOW ``(rank, id)`` pairs each).
SCORE_CACHE_SIZE = 16


def newest_first(found: MatchRows, position: Position, n: int) -> list[int]:
    """Up to ``n`` filtered match ids after ``position``, by ``(ts, id)`` descending."""
    ids = found.ids
    ts = found.ts[ids]
    if position is not None:
        key, last = position[0], position[1]
        keep = (ts < key) | ((ts == key) & (ids < last))
        ids, ts = ids[keep], ts[keep]
    if len(ids) > n:  # every row at or above the n-th newest timestamp (ties included)
        cut = np.partition(ts, len(ts) - n)[len(ts) - n]
        top = ts >= cut
        ids, ts = ids[top], ts[top]
    order = np.argsort(ts, kind="stable")[::-1]  # ids ascend, so ties come out id-descending
    return [int(i) for i in ids[order[:n]]]


def score_ids(
    conn: Connection, fts_q: str, found: MatchRows, window: np.ndarray[Any, Any]
) -> list[tuple[float, int]]:
    """``(bm25, id)`` of the ``window`` ids (ascending, all matches): one pass over their id range.

    Matches in the range that are not in the window are dropped before bm25
    (``+rowid``: membership in the materialised list, not one probe per id).
    """
    if not len(window):
        return []
    lo, hi = int(window[0]), int(window[-1])
    in_range = int(np.searchsorted(found.every, hi, "right") - np.searchsorted(found.every, lo, "left"))
    sql = "SELECT rowid, bm25(conv_fts) FROM conv_fts WHERE conv_fts MATCH ? AND rowid >= ? AND rowid <= ?"
    args: tuple[Any, ...] = (fts_q, lo, hi)
    if in_range > len(window):
        sql += " AND +rowid IN (SELECT value FROM json_each(?))"
        args += (orjson.dumps(window.tolist()).decode(),)
    return [(float(rank), int(i)) for i, rank in conn.exec_driver_sql(sql, args)]


class ScoreCache:
    """Thread-safe LRU of scored windows, so page 2 of a query does not score its window again.

    Keyed by index version, full-text expression and a digest of the window's
    ids: a score depends on nothing else, so an entry is never stale.
    """

    def __init__(self, size: int = SCORE_CACHE_SIZE) -> None:
        self.size = size
        self._lock = threading.Lock()
        self._items: OrderedDict[tuple[Any, ...], list[tuple[float, int]]] = OrderedDict()

    def scored(
        self,
        conn: Connection,
        version: tuple[Any, ...],
        fts_q: str,
        found: MatchRows,
        window: np.ndarray[Any, Any],
    ) -> list[tuple[float, int]]:
        """``(rank, id)`` of ``window`` ascending (:func:`score_ids`), from the cache when scored before."""
        key = (version, fts_q, len(window), hashlib.blake2b(window.tobytes(), digest_size=16).digest())
        with self._lock:
            hit = self._items.get(key)
            if hit is not None:
                self._items.move_to_end(key)
                return hit
        keyed = sorted(score_ids(conn, fts_q, found, window))
        with self._lock:
            self._items[key] = keyed
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return keyed


def rows_by_id(conn: Connection, ids: list[int]) -> list[Any]:
    """Hit rows of ``ids``, in that order."""
    by_id = {r.id: r for r in conn.execute(select(*HIT_COLUMNS).where(c.id.in_(ids)))} if ids else {}
    return [by_id[i] for i in ids]


def _ranked(
    conn: Connection, req: SearchRequest, found: MatchRows, position: Position, want: int, scores: ScoreCache
) -> list[tuple[Any, float | None]]:
    """The next ``want`` rows by the window rule, as (hit row, rank or ``None`` in the tail)."""
    ids, size = found.ids, ranking.RANK_WINDOW
    window = ids[-size:] if size > 0 else ids[:0]
    in_window = position is None or position[2] == 0
    picked: list[tuple[Any, float | None]] = []
    if in_window:
        keyed = scores.scored(conn, req.snap.version, str(req.params["fts_q"]), found, window)
        if position is not None:
            keyed = [k for k in keyed if k > (position[0], position[1])]
        keyed = keyed[:want]
        picked = list(zip(rows_by_id(conn, [i for _, i in keyed]), [r for r, _ in keyed], strict=True))
    if len(picked) < want and len(ids) > len(window):
        below = int(window[0]) if in_window else int(position[1])  # type: ignore[index]
        start = int(np.searchsorted(ids, below, "left"))
        tail = [int(i) for i in ids[max(0, start - (want - len(picked))) : start][::-1]]
        picked += [(r, None) for r in rows_by_id(conn, tail)]
    return picked


def memory_page(
    conn: Connection,
    names: DatasetNames,
    req: SearchRequest,
    found: MatchRows,
    position: Position,
    by_time: bool,
    scores: ScoreCache,
) -> tuple[SearchPage, int]:
    """One page of ``req`` from ``found``; also how many matches were scored.

    ``total`` is ``len(found.ids)``: exact.  Cursors as the SQL plans write them.
    """
    total, want = len(found.ids), req.query.limit + 1
    if by_time:
        picked: list[tuple[Any, float | None]] = [
            (r, None) for r in rows_by_id(conn, newest_first(found, position, want))
        ]
        scored = 0
    else:
        picked = _ranked(conn, req, found, position, want, scores)
        scored = min(total, ranking.RANK_WINDOW)
    more = len(picked) > req.query.limit
    picked = picked[: req.query.limit]
    cursor = None
    if more and picked:
        row, rank = picked[-1]
        if by_time:
            cursor = encode_cursor(req.fingerprint, row.ts, row.id)
        elif rank is not None:
            cursor = encode_cursor(req.fingerprint, rank, row.id)
        else:
            cursor = encode_cursor(req.fingerprint, row.id, row.id, phase=1)
    hits = hits_with_snippets(conn, names, [r for r, _ in picked], req.terms)
    return SearchPage(total=total, results=hits, next_cursor=cursor), scored
