"""``wildchat export-logs``: the collection database -> raw log v1 file.

Reads conversations in batches (all turns of a conversation at once, since
every record carries its full history) and writes them with
:class:`wildchat.formats.rawlog.RawLogWriter` (``.jsonl`` or ``.parquet``).
The mapping itself is :mod:`wildchat.collect.rawlog_map`.  The output holds
raw participant data, so it is written 0600 (a new folder 0700).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from wildchat.collect.db.models import ConsentRow, ConversationRow, TurnRow
from wildchat.collect.db.session import make_engine
from wildchat.collect.rawlog_map import INCOMPLETE, conversation_records
from wildchat.formats.rawlog import RawLogWriter
from wildchat.schema import RawLog
from wildchat.web.files import ensure_private_file

__all__ = ["ExportStats", "export_logs", "iter_records"]

BATCH = 500


@dataclass
class ExportStats:
    conversations: int = 0
    records: int = 0
    incomplete: int = 0


def iter_records(
    session: Session, since: datetime | None = None, now: datetime | None = None
) -> Iterator[RawLog]:
    """Raw logs of every exchange finished at or after ``since``, conversation by conversation."""
    now = now or datetime.now(UTC)
    ids_query = select(TurnRow.conversation_id).distinct()
    if since is not None:
        ids_query = ids_query.where(TurnRow.created_at >= since)
    ids = sorted(session.scalars(ids_query))
    for start in range(0, len(ids), BATCH):
        chunk = ids[start : start + BATCH]
        convs = session.execute(
            select(ConversationRow, ConsentRow)
            .join(ConsentRow, ConsentRow.id == ConversationRow.consent_id)
            .where(ConversationRow.id.in_(chunk))
            .order_by(ConversationRow.created_at, ConversationRow.id)
        ).all()
        turns: dict[str, list[TurnRow]] = defaultdict(list)
        for turn in session.scalars(select(TurnRow).where(TurnRow.conversation_id.in_(chunk))):
            turns[turn.conversation_id].append(turn)
        for conv, consent in convs:
            yield from conversation_records(conv.id, consent, turns[conv.id], since=since, now=now)
        session.expunge_all()


def export_logs(database_url: str, out: Path, since: datetime | None = None) -> ExportStats:
    """Write every exchange finished at or after ``since`` (all when ``None``) to ``out`` (mode 0600)."""
    engine = make_engine(database_url, pool_size=1, max_overflow=0)
    ensure_private_file(out, replace=True)
    stats = ExportStats()
    seen: set[str] = set()
    try:
        with Session(engine) as s, RawLogWriter(out) as writer:
            for record in iter_records(s, since):
                writer.write(record)
                stats.records += 1
                stats.incomplete += record.finish_reason == INCOMPLETE
                if record.conversation_id is not None:
                    seen.add(record.conversation_id)
    finally:
        engine.dispose()
    stats.conversations = len(seen)
    return stats
