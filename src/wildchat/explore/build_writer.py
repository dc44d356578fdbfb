"""Batch writes of an explorer build: ids, id collisions, full-text rows, and removing a source.

Used by :mod:`wildchat.explore.build` only; one :class:`BatchWriter` per build.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import islice
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, delete, func, insert, select

from wildchat.explore.dialects import dialect_for
from wildchat.explore.prepare import Prepared
from wildchat.explore.rows import decode_record, record_text
from wildchat.explore.tables import conversations, map_points, records
from wildchat.skips import SkipReport

if TYPE_CHECKING:
    from wildchat.explore.build import _Source

__all__ = ["BatchWriter", "chunked"]


class BatchWriter:
    """Batch writes of one build (ids, id collisions, full-text rows)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.dialect = dialect_for(engine.dialect.name)
        with engine.connect() as conn:
            self.next_id = (
                int(conn.execute(select(func.coalesce(func.max(conversations.c.id), 0))).scalar_one()) + 1
            )

    def _owners(self, conn: Connection, ids: list[str]) -> dict[str, int]:
        q = select(conversations.c.conversation_id, conversations.c.dataset_id).where(
            conversations.c.conversation_id.in_(ids)
        )
        return {r.conversation_id: r.dataset_id for r in conn.execute(q)}

    def write(
        self,
        conn: Connection,
        src: _Source,
        source_id: int,
        dataset: str,
        batch: list[Prepared],
        report: SkipReport,
    ) -> int:
        ids = [p[0] for p in batch]
        owners = self._owners(conn, ids)
        renamed = {i: f"{dataset}:{i}" for i in ids if i in owners and owners[i] != src.dataset_id}
        if renamed:
            owners.update(self._owners(conn, list(renamed.values())))
        rows: list[dict[str, Any]] = []
        recs: list[dict[str, Any]] = []
        fts: list[tuple[int, str]] = []
        seen: set[str] = set()
        for raw_id, fields, record, body in batch:
            cid = renamed.get(raw_id, raw_id)
            if cid in owners or cid in seen:
                report.skip("duplicate_conversation_id", "conversation_id already indexed", src.path)
                continue
            seen.add(cid)
            row_id = self.next_id
            self.next_id += 1
            prompt = fields.pop("prompt")
            rows.append(
                {
                    "id": row_id,
                    "conversation_id": cid,
                    "dataset_id": src.dataset_id,
                    "source_id": source_id,
                    "map_id": None,
                    **fields,
                }
            )
            recs.append({"id": row_id, "prompt": prompt, "record": record})
            fts.append((row_id, body))
        if rows:
            conn.execute(insert(conversations), rows)
            conn.execute(insert(records), recs)
            self.dialect.insert_fts(conn, fts)
        return len(rows)

    def delete_source(self, conn: Connection, source_id: int) -> None:
        """Remove every row of one source (full-text rows need their indexed text back)."""
        q = (
            select(records.c.id, records.c.record)
            .select_from(conversations.join(records, records.c.id == conversations.c.id))
            .where(conversations.c.source_id == source_id)
        )
        for chunk in chunked(conn.execute(q).all(), 2000):
            fts = [(r.id, self.dialect.prepare_body(record_text(decode_record(r.record)))) for r in chunk]
            self.dialect.delete_fts(conn, fts)
            conn.execute(delete(map_points).where(map_points.c.id.in_([r.id for r in chunk])))
            conn.execute(delete(records).where(records.c.id.in_([r.id for r in chunk])))
        conn.execute(delete(conversations).where(conversations.c.source_id == source_id))


def chunked(rows: Iterable[Any], size: int) -> Iterator[list[Any]]:
    it = iter(rows)
    while chunk := list(islice(it, size)):
        yield chunk
