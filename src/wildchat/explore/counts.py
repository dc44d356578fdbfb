"""Exact search totals, cached: what the index holds now (:class:`Snapshot`) and a locked LRU of counts.

A total is exact (no cap) and can cost tens of milliseconds for a frequent
word, so page 2 of a query must not count again.  Counts are remembered per
query fingerprint *and* index version -- the datasets' and sources'
bookkeeping, which every build step changes -- so a build in progress never
serves a stale total.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import Connection, func, literal, select

from wildchat.explore.tables import conversations, datasets, sources

__all__ = [
    "COUNT_CACHE_SIZE",
    "DEFERRED",
    "FILTER_FIRST_RATIO",
    "CountCache",
    "Counts",
    "Snapshot",
    "count_matches",
    "join_total",
]

c = conversations.c
#: Searches with filters probe the full-text index once per filtered row (instead
#: of joining every match) when there are this many times more matches than rows.
FILTER_FIRST_RATIO = 20
#: Queries whose counts are remembered (LRU), so paging does not count again.
COUNT_CACHE_SIZE = 512


@dataclass(frozen=True, slots=True)
class Snapshot:
    """What a search needs to know about the whole index, read in two small queries.

    ``version`` changes whenever a build adds, replaces or removes
    conversations; ``size`` is the number of conversations; ``carried`` maps
    each dataset name to the filter fields its rows carry, or is ``None``
    while those lists may be stale (a source is incomplete, or a dataset's
    size differs from what its sources wrote: stats are refreshed at the end
    of a build).
    """

    version: tuple[Any, ...]
    size: int
    carried: dict[str, frozenset[str]] | None

    @classmethod
    def read(cls, conn: Connection) -> Snapshot:
        d, s = datasets.c, sources.c
        ds = conn.execute(select(d.id, d.name, d.conversations, d.turns, d.filters)).all()
        ss = conn.execute(select(s.id, s.dataset_id, s.size, s.mtime_ns, s.done, s.complete, s.skips)).all()
        version = (
            tuple((r.id, r.conversations, r.turns) for r in ds),
            tuple((r.id, r.size, r.mtime_ns, r.done, r.complete) for r in ss),
        )
        written: dict[int, int] = {}
        fresh = all(r.complete for r in ss)
        for r in ss if fresh else ():
            written[r.dataset_id] = written.get(r.dataset_id, 0) + int(
                orjson.loads(r.skips).get("written", -1)
            )
        fresh = fresh and all(written.get(r.id, 0) == r.conversations for r in ds)
        carried = {r.name: frozenset(orjson.loads(r.filters)) for r in ds} if fresh else None
        return cls(version=version, size=sum(int(r.conversations) for r in ds), carried=carried)


@dataclass(frozen=True, slots=True)
class Counts:
    """``matches``: conversations the text matches; ``total``: exact total with the filters.

    ``total`` is -1 when the filter-first single pass
    (:meth:`Dialect.match_within`) will yield it; ``filter_first``: the
    filters keep fewer than 1/:data:`FILTER_FIRST_RATIO` of the matches.
    """

    matches: int
    total: int
    filter_first: bool


class CountCache:
    """Thread-safe LRU of :class:`Counts` keyed by query fingerprint and :attr:`Snapshot.version`."""

    def __init__(self, size: int = COUNT_CACHE_SIZE) -> None:
        self.size = size
        self._lock = threading.Lock()
        self._items: OrderedDict[tuple[Any, ...], Counts] = OrderedDict()

    def get(self, key: tuple[Any, ...]) -> Counts | None:
        with self._lock:
            hit = self._items.get(key)
            if hit is not None:
                self._items.move_to_end(key)
            return hit

    def put(self, key: tuple[Any, ...], value: Counts) -> None:
        with self._lock:
            self._items[key] = value
            while len(self._items) > self.size:
                self._items.popitem(last=False)


#: :attr:`Counts.total` of a query whose join count was left to the page's own pass.
DEFERRED = -2


def join_total(
    conn: Connection, conds: list[Any], ids: Any, params: dict[str, Any], below: int | None = None
) -> int:
    """Exact count of the matches (``ids``, a ``SELECT id`` subquery) passing ``conds``, by a join.

    ``below``: count only ids below it (the part of the matches a window pass has not read).
    """
    joined = ids.join(conversations, c.id == ids.c.id)
    where = [*conds, ids.c.id < below] if below is not None else conds
    return int(conn.execute(select(func.count()).select_from(joined).where(*where), params).scalar_one())


def count_matches(
    conn: Connection,
    dialect: Any,
    conds: list[Any],
    ids: Any,
    params: dict[str, Any],
    ratio: int,
    defer_join: bool = False,
) -> Counts:
    """Count the text's matches, then (with filters) the exact total -- by the cheaper of two plans.

    Counting the filtered rows stops as soon as they are known not to be
    selective (``filtered < ceil(matches / ratio)``); selective filters then
    probe the full-text index once per filtered row instead of joining every match.
    ``defer_join``: where the total would need the join of every match, return
    :data:`DEFERRED` instead -- the relevance page's window pass finds it
    (see :mod:`wildchat.explore.search`).
    """
    matches = int(conn.execute(select(func.count()).select_from(ids), params).scalar_one())
    if not conds or not matches:
        return Counts(matches, matches, False)
    cap = -(-matches // ratio) if ratio > 0 else None
    kept = select(literal(1)).where(*conds).limit(cap).subquery("kept")
    filtered = int(conn.execute(select(func.count()).select_from(kept)).scalar_one())
    filter_first = cap is None or filtered < cap
    if not filtered:
        return Counts(matches, 0, filter_first)
    if filter_first:
        if dialect.match_within(select(c.id).where(*conds)) is not None:
            return Counts(matches, -1, True)
        total_q = select(func.count()).where(*conds, dialect.exists_match())
    else:
        return Counts(matches, DEFERRED if defer_join else join_total(conn, conds, ids, params), False)
    return Counts(matches, int(conn.execute(total_q, params).scalar_one()), filter_first)
