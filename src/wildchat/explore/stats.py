"""What the index knows about itself after a build: sizes, answerable filters, facets, planner stats.

Computed once per build (aggregates over a million rows take seconds) and
stored, so :meth:`Index.datasets` and :meth:`Index.facets` are single-row reads.
"""

from __future__ import annotations

import orjson
from sqlalchemy import Connection, Engine, delete, func, insert, select, update

from wildchat.explore.tables import NO_TS, conversations, datasets, map_points, meta
from wildchat.skips import SkipReport

__all__ = ["FACET_LIMIT", "refresh_stats", "report_from", "set_meta"]

#: Most values listed per facet (most frequent first).
FACET_LIMIT = 300
_FILTER_COLUMNS = ("model", "language", "country", "state", "hashed_ip", "toxic", "redacted", "jailbreak")


def report_from(raw: str) -> SkipReport:
    """A source's stored skip report (``SkipReport.to_dict`` JSON), for builds that skip the file."""
    return SkipReport.from_dict(orjson.loads(raw) if raw else {})


def refresh_stats(engine: Engine) -> None:
    """Recompute per-dataset sizes, answerable filters and the facet lists (after a build)."""
    cc = conversations.c
    with engine.begin() as conn:
        for ds in conn.execute(select(datasets.c.id)).all():
            where = cc.dataset_id == ds.id
            counts = conn.execute(
                select(
                    func.count(),
                    func.coalesce(func.sum(cc.turn), 0),
                    *(func.count(getattr(cc, col)) for col in _FILTER_COLUMNS),
                    func.count().filter(cc.ts != NO_TS),
                ).where(where)
            ).one()
            n, turns, *have = counts
            filters = ["dataset", "conversation_id", "min_turns", "max_turns"]
            filters += [col for col, k in zip(_FILTER_COLUMNS, have[:-1], strict=True) if k]
            if have[-1]:
                filters += ["since", "until"]
            points = conn.execute(
                select(func.count()).select_from(map_points).where(map_points.c.dataset_id == ds.id)
            ).scalar_one()
            conn.execute(
                update(datasets)
                .where(datasets.c.id == ds.id)
                .values(
                    conversations=int(n),
                    turns=int(turns),
                    filters=orjson.dumps(filters).decode(),
                    map_points=int(points),
                )
            )
        facets: dict[str, list[str]] = {}
        for col in ("model", "language", "country", "state"):
            column = getattr(cc, col)
            q = (
                select(column)
                .where(column.is_not(None))
                .group_by(column)
                .order_by(func.count().desc(), column)
                .limit(FACET_LIMIT)
            )
            facets[col] = [r[0] for r in conn.execute(q)]
        set_meta(conn, "facets", orjson.dumps(facets).decode())
    if engine.dialect.name == "sqlite":
        with engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")
    else:  # VACUUM sets the visibility map: counts then skip heap fetches (measured 10x faster)
        with engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("VACUUM ANALYZE")


def set_meta(conn: Connection, key: str, value: str) -> None:
    conn.execute(delete(meta).where(meta.c.key == key))
    conn.execute(insert(meta).values(key=key, value=value))
