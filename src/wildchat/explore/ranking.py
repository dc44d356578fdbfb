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

from typing import Any

from sqlalchemy import Connection, and_, func, or_, select

from wildchat.explore.hits import HIT_COLUMNS, DatasetNames, hits_with_snippets
from wildchat.explore.model import SearchPage, SearchQuery
from wildchat.explore.query import encode_cursor
from wildchat.explore.tables import conversations
from wildchat.explore.tokens import Terms

__all__ = ["RANK_WINDOW", "page_within", "ranked_page", "window_floor"]

c = conversations.c
#: Most matches scored per relevance query (see the module docstring).
RANK_WINDOW = 10_000


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


def ranked_page(
    conn: Connection,
    dialect: Any,
    names: DatasetNames,
    query: SearchQuery,
    terms: Terms,
    position: tuple[float | int, int, int] | None,
    conds: list[Any],
    params: dict[str, Any],
    total: int,
    fingerprint: str,
) -> tuple[SearchPage, int]:
    """One relevance page by the window rule; also returns how many matches were scored.

    ``conds`` must be the index-free (wrapped) filter conditions;
    ``position`` is the decoded cursor ``(key, id, phase)``.
    """
    want = query.limit + 1
    rows: list[Any] = []
    scored = 0
    if position is None or position[2] == 0:
        w = _window(dialect, conds, RANK_WINDOW).subquery("w")
        page_q = select(*HIT_COLUMNS, w.c.rank).select_from(w.join(conversations, c.id == w.c.id))
        if position is not None:
            key, last = position[0], position[1]
            page_q = page_q.where(or_(w.c.rank > key, and_(w.c.rank == key, w.c.id > last)))
        rows = list(conn.execute(page_q.order_by(w.c.rank, w.c.id).limit(want), params).all())
        scored = min(total, RANK_WINDOW)
    if len(rows) < want and total > RANK_WINDOW:
        if position is not None and position[2] == 1:
            below = position[1]
        else:
            below = window_floor(conn, dialect, conds, params, RANK_WINDOW)
        rows += conn.execute(_tail(dialect, conds, below, want - len(rows)), params).all()
    more = len(rows) > query.limit
    rows = rows[: query.limit]
    cursor = None
    if more and rows:
        last_row = rows[-1]
        rank = getattr(last_row, "rank", None) if "rank" in last_row._fields else None
        if rank is not None:
            cursor = encode_cursor(fingerprint, rank, last_row.id)
        else:
            cursor = encode_cursor(fingerprint, last_row.id, last_row.id, phase=1)
    hits = hits_with_snippets(conn, names, rows, terms)
    return SearchPage(total=total, results=hits, next_cursor=cursor), scored


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
