"""A :class:`SearchQuery`'s filters as WHERE conditions, and the filters no data can satisfy.

Every filter column is conversation-level and indexed (:mod:`wildchat.explore.tables`).
A field that no loaded dataset carries is NULL in every row, and NULL never
equals a value nor passes a range -- so such a filter matches nothing, and
:func:`cannot_match` lets a search answer that at once instead of scanning.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, and_, func

from wildchat.explore.hits import DatasetNames
from wildchat.explore.model import QueryError, SearchQuery
from wildchat.explore.rows import to_micros
from wildchat.explore.tables import NO_TS, conversations
from wildchat.explore.tokens import Terms, parse_terms

__all__ = ["NULLABLE_FILTERS", "cannot_match", "filter_conditions", "query_terms"]

c = conversations.c
_STR = ("model", "language", "country", "state", "hashed_ip", "conversation_id")
_BOOL = ("toxic", "redacted", "jailbreak")
#: Filters on columns left NULL where a dataset lacks the field (``datasets.filters`` lists carried ones).
NULLABLE_FILTERS = ("model", "language", "country", "state", "hashed_ip", "toxic", "redacted", "jailbreak")


def query_terms(q: SearchQuery) -> Terms | None:
    """Parsed terms; ``None`` = no text condition; empty ``Terms`` = text that can match nothing."""
    if not q.text.strip():
        return None
    try:
        return parse_terms(q.text, q.phrase)
    except ValueError as exc:
        raise QueryError(f"q: {exc}") from None


def filter_conditions(
    conn: Connection, names: DatasetNames, q: SearchQuery, walk_time: bool = False, walk_text: bool = False
) -> list[Any]:
    """WHERE conditions of the query's filters.

    ``walk_time``: wrap the non-time columns as ``coalesce(col, col)`` (same
    value, but no index can serve it) so the planner walks the time index --
    the probe plan depends on that order.  ``walk_text``: wrap every column,
    the time too, so the full-text index drives the query (the window plan).
    """

    def col(name: str) -> Any:
        column = getattr(c, name)
        return func.coalesce(column, column) if walk_time or walk_text else column

    ts = func.coalesce(c.ts, c.ts) if walk_text else c.ts

    conds: list[Any] = []
    if q.dataset is not None:
        ids = names.ids_of(conn, q.dataset)
        conds.append(col("dataset_id") == (ids[0] if ids else -1))
    for name in (*_STR, *_BOOL):
        value = getattr(q, name)
        if value is not None:
            conds.append(col(name) == value)
    if q.min_turns is not None:
        conds.append(col("turn") >= q.min_turns)
    if q.max_turns is not None:
        conds.append(col("turn") <= q.max_turns)
    if q.since is not None:
        conds.append(ts >= to_micros(q.since))
    if q.until is not None:
        conds.append(and_(ts <= to_micros(q.until), ts != NO_TS))
    return conds


def cannot_match(q: SearchQuery, carried: Mapping[str, frozenset[str]] | None) -> bool:
    """Whether a filter of ``q`` is on a field that no dataset in its scope carries.

    ``carried``: dataset name -> the filter fields its rows have values for
    (``DatasetInfo.filters``), or ``None`` when those lists may be stale (a
    build is running) -- then nothing is decided here.  ``since`` counts only
    from 1970 on: rows without a timestamp sort before any later date.
    """
    if carried is None:
        return False
    if q.dataset is not None:
        scope = [carried[q.dataset]] if q.dataset in carried else []
        if not scope:
            return True  # no such dataset
    else:
        scope = list(carried.values())
    wanted = [name for name in NULLABLE_FILTERS if getattr(q, name) is not None]
    if q.until is not None or (q.since is not None and to_micros(q.since) > NO_TS):
        wanted.append("since")
    return any(not any(name in fields for fields in scope) for name in wanted)
