"""Relevance-ordered pages: exact bm25 order within a bounded window, then newest-indexed first.

Scoring a match costs about a microsecond (FTS5 reads its position lists), so
ranking every match of a word found in a third of a million conversations
costs hundreds of milliseconds.  The rule here bounds that work:

* the **window** is the :data:`RANK_WINDOW` matches (after the filters) with
  the highest row ids -- the most recently indexed conversations; only they
  are scored, and they come first, ordered by rank, then row id.  A query
  with at most :data:`RANK_WINDOW` matches is therefore ranked exactly;
* the **tail** -- the older matches of a query with more -- follows, by row id
  descending, without scores.

Both parts page by keyset, so every match appears exactly once across pages:
a cursor in the window holds ``(rank, id)``, one in the tail (phase 1) holds
the last id; the tail's rows all have ids below the window's lowest.

On SQLite the filters are wrapped so no filter index applies
(:func:`~wildchat.explore.filters.filter_conditions` ``walk_time``): the
full-text index then drives the query newest-id first and stops after the
window.  :func:`page_within` is the exact plan for selective filters.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, and_, func, or_, select

from wildchat.explore.counts import Snapshot
from wildchat.explore.hits import HIT_COLUMNS, DatasetNames, hits_with_snippets
from wildchat.explore.model import SearchPage, SearchQuery
from wildchat.explore.query import encode_cursor
from wildchat.explore.tables import conversations
from wildchat.explore.tokens import Terms

__all__ = ["RANK_WINDOW", "SearchRequest", "page_within", "ranked_page", "window_floor", "window_rows"]

c = conversations.c
#: Most matches scored per relevance query (see the module docstring).
RANK_WINDOW = 5_000


def _window(dialect: Any, conds: list[Any], size: int) -> Any:
    """``SELECT id, rank`` of the ``size`` matches passing ``conds`` with the highest ids."""
    fts = dialect.fts_parts()
    source = fts.table.join(conversations, c.id == fts.id) if conds else fts.table
    return (
        select(fts.id.label("id"), fts.rank.label("rank"))
        .select_from(source)
        .where(fts.match, *conds)
        .order_by(fts.id.desc())
        .limit(size)
    )


def window_floor(conn: Connection, dialect: Any, conds: list[Any], params: dict[str, Any], size: int) -> int:
    """The lowest row id in the window (the tail holds only lower ids)."""
    fts = dialect.fts_parts()
    source = fts.table.join(conversations, c.id == fts.id) if conds else fts.table
    ids = select(fts.id.label("id")).select_from(source).where(fts.match, *conds)
    w = ids.order_by(fts.id.desc()).limit(size).subquery("wf")
    return int(conn.execute(select(func.min(w.c.id)), params).scalar_one())


def _tail(dialect: Any, conds: list[Any], below: int, n: int) -> Any:
    """Hit rows of the matches passing ``conds`` with ids below ``below``, highest first."""
    fts = dialect.fts_parts()
    return (
        select(*HIT_COLUMNS)
        .select_from(fts.table.join(conversations, c.id == fts.id))
        .where(fts.match, *conds, fts.id < below)
        .order_by(fts.id.desc())
        .limit(n)
    )


@dataclass
class SearchRequest:
    """One search in flight: the query, its parsed parts and what the index holds now.

    ``conds`` are the filters as the planner may use them (any index);
    ``walk`` the same filters wrapped so that only the full-text index can
    drive the query (``filter_conditions(..., walk_text=True)``).
    """

    query: SearchQuery
    terms: Terms
    fingerprint: str
    snap: Snapshot
    conds: list[Any]
    params: dict[str, Any] = field(default_factory=dict)
    walk: list[Any] = field(default_factory=list)


def _exact(dialect: Any, req: SearchRequest, position: tuple[float | int, int, int] | None, want: int) -> Any:
    """Every match ranked: match JOIN conversations WHERE filters ORDER BY rank, id (few matches).

    Without filters the top ``want`` are taken on the full-text side before the join.
    """
    m = dialect.match(req.terms).subquery("m")
    row_id = m.c.id if not req.conds else c.id
    after = None
    if position is not None:
        after = or_(m.c.rank > position[0], and_(m.c.rank == position[0], row_id > position[1]))
    if not req.conds:
        top = select(m.c.id, m.c.rank).order_by(m.c.rank, m.c.id).limit(want)
        m = (top.where(after) if after is not None else top).subquery("k")
        row_id, after = c.id, None
    page_q = (
        select(*HIT_COLUMNS, m.c.rank).select_from(m.join(conversations, c.id == m.c.id)).where(*req.conds)
    )
    if after is not None:
        page_q = page_q.where(after)
    return page_q.order_by(m.c.rank, row_id).limit(want)


def _in_window(
    req: SearchRequest, dialect: Any, position: tuple[float | int, int, int] | None, want: int
) -> Any:
    """The window's rows after ``position``, by rank (only the window's matches are scored)."""
    w = _window(dialect, req.walk, RANK_WINDOW).subquery("w")
    page_q = select(*HIT_COLUMNS, w.c.rank).select_from(w.join(conversations, c.id == w.c.id))
    if position is not None:
        key, last = position[0], position[1]
        page_q = page_q.where(or_(w.c.rank > key, and_(w.c.rank == key, w.c.id > last)))
    return page_q.order_by(w.c.rank, w.c.id).limit(want)


def window_rows(
    conn: Connection, dialect: Any, walk: list[Any], params: dict[str, Any], size: int
) -> list[tuple[float, int]]:
    """``(rank, id)`` of the ``size`` matches passing ``walk`` with the highest ids: one pass.

    With ``size = RANK_WINDOW + 1`` this also tells whether the window holds
    every match (then its length is the exact total, and no count is needed).
    """
    return [(float(r.rank), int(r.id)) for r in conn.execute(_window(dialect, walk, size), params)]


def _from_window(
    conn: Connection,
    window: list[tuple[float, int]],
    position: tuple[float | int, int, int] | None,
    want: int,
) -> list[tuple[Any, float | None]]:
    """The window's next ``want`` rows after ``position``, by ``(rank, id)``, as (hit row, rank)."""
    keyed = sorted(window)
    if position is not None:
        keyed = [k for k in keyed if k > (position[0], position[1])]
    keyed = keyed[:want]
    found: Any = conn.execute(select(*HIT_COLUMNS).where(c.id.in_([i for _, i in keyed]))) if keyed else []
    by_id = {r.id: r for r in found}
    return [(by_id[i], rank) for rank, i in keyed]


def ranked_page(
    conn: Connection,
    dialect: Any,
    names: DatasetNames,
    req: SearchRequest,
    position: tuple[float | int, int, int] | None,
    total: int,
    window: list[tuple[float, int]] | None = None,
) -> tuple[SearchPage, int]:
    """One relevance page by the window rule; also returns how many matches were scored.

    ``position`` is the decoded cursor ``(key, id, phase)``; ``window`` the
    window's ``(rank, id)`` when the caller read it already (:func:`window_rows`).
    With at most :data:`RANK_WINDOW` matches the window holds them all: the
    planner may then drive the query from any index (:func:`_exact`, same order).
    """
    want = req.query.limit + 1
    in_window = position is None or position[2] == 0
    picked: list[tuple[Any, float | None]] = []
    if window is not None and in_window:
        picked = _from_window(conn, window, position, want)
    elif total <= RANK_WINDOW:
        picked = [(r, r.rank) for r in conn.execute(_exact(dialect, req, position, want), req.params)]
    elif in_window:
        picked = [(r, r.rank) for r in conn.execute(_in_window(req, dialect, position, want), req.params)]
    if len(picked) < want and total > RANK_WINDOW:
        if not in_window and position is not None:
            below = position[1]
        elif window:
            below = min(i for _, i in window)
        else:
            below = window_floor(conn, dialect, req.walk, req.params, RANK_WINDOW)
        tail = conn.execute(_tail(dialect, req.walk, below, want - len(picked)), req.params)
        picked += [(r, None) for r in tail]
    more = len(picked) > req.query.limit
    picked = picked[: req.query.limit]
    cursor = None
    if more and picked:
        last_row, rank = picked[-1]
        if rank is not None:
            cursor = encode_cursor(req.fingerprint, rank, last_row.id)
        else:
            cursor = encode_cursor(req.fingerprint, last_row.id, last_row.id, phase=1)
    hits = hits_with_snippets(conn, names, [r for r, _ in picked], req.terms)
    return SearchPage(total=total, results=hits, next_cursor=cursor), min(total, RANK_WINDOW)


def page_within(
    conn: Connection,
    names: DatasetNames,
    query: SearchQuery,
    terms: Terms,
    fingerprint: str,
    within: Any,
    params: dict[str, Any],
    by_time: bool,
    key_last: tuple[float | int, int] | None,
) -> tuple[SearchPage, int]:
    """Selective filters (SQLite): all matches among the filtered rows in one pass, paged in Python.

    Exact order (every match among the filtered rows is scored: at most
    1/FILTER_FIRST_RATIO of the text's matches), same keyset and total as the
    SQL plans: ``(rank, id)`` ascending for relevance, ``(ts, id)`` descending
    for time.  Also returns how many matches were scored.
    """
    found = conn.execute(within, params).all()
    total = len(found)
    if total == 0:
        return SearchPage(total=0, results=[], next_cursor=None), 0
    keyed: list[tuple[float, int]]  # (ts or rank, id); ts stays an int at run time
    if by_time:
        ts_of: dict[int, int] = {}
        id_list = [int(r.id) for r in found]
        for i in range(0, len(id_list), 500):
            chunk = id_list[i : i + 500]
            ts_of.update(
                (int(r.id), int(r.ts)) for r in conn.execute(select(c.id, c.ts).where(c.id.in_(chunk)))
            )
        keyed = sorted(((ts_of[i], i) for i in id_list), reverse=True)
        if key_last is not None:
            keyed = [k for k in keyed if k < (key_last[0], key_last[1])]
    else:
        keyed = sorted((float(r.rank), int(r.id)) for r in found)
        if key_last is not None:
            keyed = [k for k in keyed if k > (key_last[0], key_last[1])]
    page = keyed[: query.limit + 1]
    more = len(page) > query.limit
    page = page[: query.limit]
    by_id = {r.id: r for r in conn.execute(select(*HIT_COLUMNS).where(c.id.in_([i for _, i in page])))}
    hits = hits_with_snippets(conn, names, [by_id[i] for _, i in page], terms)
    cursor = encode_cursor(fingerprint, page[-1][0], page[-1][1]) if more and page else None
    return SearchPage(total=total, results=hits, next_cursor=cursor), total
