"""Point reads of an explorer index: one conversation, one user's timeline, the datasets, the facets.

Each is a single indexed lookup (or a stored row written by
:func:`wildchat.explore.stats.refresh_stats`), so none needs planning.
"""

from __future__ import annotations

import hashlib
from typing import Any

import orjson
from sqlalchemy import Connection, and_, func, or_, select

from wildchat.explore.hits import HIT_COLUMNS, DatasetNames, page_of_prompts
from wildchat.explore.model import MAX_LIMIT, DatasetInfo, NotFound, QueryError, UserPage
from wildchat.explore.query import decode_cursor
from wildchat.explore.rows import decode_record
from wildchat.explore.tables import conversations, datasets, meta, records, sources

__all__ = ["conversation", "dataset_infos", "facets", "user_page"]

c = conversations.c


def conversation(conn: Connection, names: DatasetNames, conversation_id: str) -> dict[str, Any]:
    """The stored release-schema record plus ``dataset`` and ``map_id``; :class:`NotFound` if absent."""
    if "\x00" in conversation_id:  # cannot be stored, so cannot exist (and PostgreSQL would raise)
        raise NotFound("no such conversation")
    row = conn.execute(
        select(records.c.record, c.dataset_id, c.map_id)
        .select_from(conversations.join(records, records.c.id == c.id))
        .where(c.conversation_id == conversation_id)
    ).first()
    if row is None:
        raise NotFound(f"no conversation {conversation_id!r}")
    record = decode_record(row.record)
    record["dataset"] = names.name(conn, row.dataset_id)
    record["map_id"] = row.map_id
    return record


def user_page(
    conn: Connection, names: DatasetNames, hashed_ip: str, limit: int, cursor: str | None
) -> UserPage:
    """One hashed IP's conversations, oldest first, keyset-paged; :class:`NotFound` if none."""
    if not 1 <= limit <= MAX_LIMIT:
        raise QueryError(f"limit: must be between 1 and {MAX_LIMIT}")
    if "\x00" in hashed_ip:
        raise NotFound("no conversations for this hashed IP")
    fingerprint = "u" + hashlib.sha256(hashed_ip.encode("utf-8", "surrogatepass")).hexdigest()[:11]
    total = int(conn.execute(select(func.count()).where(c.hashed_ip == hashed_ip)).scalar_one())
    if total == 0:
        raise NotFound("no conversations for this hashed IP")
    page_q = select(*HIT_COLUMNS).where(c.hashed_ip == hashed_ip)
    if cursor is not None:
        key, last = decode_cursor(cursor, fingerprint)
        page_q = page_q.where(or_(c.ts > key, and_(c.ts == key, c.id > last)))
    rows = conn.execute(page_q.order_by(c.ts, c.id).limit(limit + 1)).all()
    page = page_of_prompts(conn, names, rows, limit, fingerprint, total)
    return UserPage(
        hashed_ip=hashed_ip, total=total, conversations=page.results, next_cursor=page.next_cursor
    )


def dataset_infos(conn: Connection) -> list[DatasetInfo]:
    """Loaded datasets with sizes, sources and the filters their data can answer."""
    paths: dict[int, list[str]] = {}
    for s in conn.execute(select(sources.c.dataset_id, sources.c.path).order_by(sources.c.id)):
        paths.setdefault(s.dataset_id, []).append(s.path)
    return [
        DatasetInfo(
            name=d.name,
            conversations=int(d.conversations),
            turns=int(d.turns),
            sources=paths.get(d.id, []),
            filters=list(orjson.loads(d.filters)),
            map_points=int(d.map_points),
        )
        for d in conn.execute(select(datasets).order_by(datasets.c.id))
    ]


def facets(conn: Connection) -> dict[str, list[str]]:
    """Stored dropdown values per facet (every facet key present, possibly empty)."""
    raw = conn.execute(select(meta.c.value).where(meta.c.key == "facets")).scalar()
    empty: dict[str, list[str]] = {"model": [], "language": [], "country": [], "state": []}
    return {**empty, **orjson.loads(raw)} if raw else empty
