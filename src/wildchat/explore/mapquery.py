"""Map reads: every point column-wise (the page's first paint), search hits as point ids, one point's text."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select

from wildchat.explore.filters import filter_conditions, query_terms
from wildchat.explore.hits import DatasetNames
from wildchat.explore.model import MapPoints, NotFound, SearchQuery
from wildchat.explore.tables import conversations, map_points, meta, records

__all__ = ["map_hits", "map_point", "read_map_points"]

c = conversations.c
mp = map_points.c


def read_map_points(
    conn: Connection, names: DatasetNames, dataset: str | None, limit: int | None
) -> MapPoints:
    """All (or the first ``limit``) points, optionally of one dataset; :class:`NotFound` if unknown."""
    known = names.all(conn, refresh=True)
    q = select(mp.id, mp.x, mp.y, mp.dataset_id, mp.language).order_by(mp.id)
    if dataset is not None:
        ids = [i for i, n in known.items() if n == dataset]
        if not ids:
            raise NotFound(f"no dataset {dataset!r}")
        q = q.where(mp.dataset_id == ids[0])
    if limit is not None:
        q = q.limit(max(0, limit))
    rows = conn.execute(q).all()
    model = conn.execute(select(meta.c.value).where(meta.c.key == "map_model")).scalar()
    # column-wise, without per-row attribute access: this is the page's first paint at 100K points
    point_ids, xs, ys, ds_ids, langs = (
        (list(col) for col in zip(*rows, strict=True)) if rows else ([], [], [], [], [])
    )
    ds_index = {d: i for i, d in enumerate(dict.fromkeys(ds_ids))}
    lang_index = {lang: i for i, lang in enumerate(dict.fromkeys(lang or "unknown" for lang in langs))}
    return MapPoints(
        ids=point_ids,
        x=xs,
        y=ys,
        dataset=[ds_index[d] for d in ds_ids],
        language=[lang_index[lang or "unknown"] for lang in langs],
        datasets=[known.get(d, "?") for d in ds_index],
        languages=list(lang_index),
        model=model,
    )


def map_hits(
    conn: Connection, dialect: Any, names: DatasetNames, query: SearchQuery, limit: int
) -> list[int]:
    """Point ids of the conversations matching ``query`` (text and filters), at most ``limit``."""
    terms = query_terms(query)
    if terms is not None and not terms:
        return []
    conds = filter_conditions(conn, names, query)
    params: dict[str, Any] = {}
    if terms is None:
        q = select(mp.id).select_from(map_points.join(conversations, c.id == mp.id)).where(*conds)
    else:
        params["fts_q"] = dialect.match_param(terms)
        m = dialect.match_ids().subquery("m")
        joined = m.join(map_points, mp.id == m.c.id)
        if conds:
            joined = joined.join(conversations, c.id == m.c.id)
        q = select(mp.id).select_from(joined).where(*conds)
    return [int(r[0]) for r in conn.execute(q.limit(max(0, limit)), params)]


def map_point(conn: Connection, names: DatasetNames, map_id: int) -> dict[str, Any]:
    """``conversation_id``, ``dataset`` and first prompt of one point; :class:`NotFound` if absent."""
    row = conn.execute(
        select(c.conversation_id, c.dataset_id, records.c.prompt)
        .select_from(conversations.join(map_points, mp.id == c.id).join(records, records.c.id == c.id))
        .where(c.id == map_id)
    ).first()
    if row is None:
        raise NotFound(f"no map point {map_id}")
    return {
        "conversation_id": row.conversation_id,
        "dataset": names.name(conn, row.dataset_id),
        "prompt": row.prompt,
    }
