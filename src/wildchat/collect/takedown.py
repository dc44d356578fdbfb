"""Hard deletion with tombstones: participant deletes, withdrawals, operator takedowns, retention.

Every path ends in :func:`erase_conversations`, which runs inside the
caller's transaction: it locks the conversations (``FOR UPDATE`` in id
order on PostgreSQL, so two erasers or an eraser and a chat never deadlock),
computes their tombstone -- keyed hashes only, see :mod:`wildchat.ledger` --
from the stored turns, writes it to ``takedown_ledger`` and deletes the turns
and the conversations.  The text is gone from the database when the
transaction commits; the tombstone is what lets curation recognise the
conversations in raw exports made earlier.

Lock order everywhere: consent row, then conversation rows (the chat hot path
takes the same order), so a chat racing a deletion either finishes first and
is deleted with the rest, or finds its conversation gone (404) or its consent
withdrawn (403).  A reply still streaming when its conversation is deleted is
not stored (its insert fails the foreign key and is dropped), so nothing of a
deleted conversation reappears.

On SQLite, ``secure_delete`` is switched on for the deleting connection so
freed pages are zeroed rather than left holding the text.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, Table, delete, func, insert, select, update
from sqlalchemy.exc import OperationalError

from wildchat.collect.db.models import ConsentRow, ConversationRow, LedgerRow, TurnRow
from wildchat.collect.gateway.keys import revoke_all as revoke_all_keys
from wildchat.collect.gateway.tombstones import tombstone_addresses
from wildchat.collect.refusals import ConsentGone, ReplyInProgress, UnknownConversation
from wildchat.ledger import LedgerEntry, LedgerError, LedgerKey

__all__ = [
    "MIN_TEXT_CHARS",
    "check_ledger_key",
    "delete_conversation",
    "erase_conversations",
    "ledger_entries",
    "purge_older_than",
    "takedown",
    "withdraw_consent",
]

_TURNS: Table = TurnRow.__table__  # type: ignore[assignment]
_CONVS: Table = ConversationRow.__table__  # type: ignore[assignment]
_CONSENTS: Table = ConsentRow.__table__  # type: ignore[assignment]
_LEDGER: Table = LedgerRow.__table__  # type: ignore[assignment]
BATCH = 500
#: A ``--text`` takedown shorter than this would match nearly every conversation.
MIN_TEXT_CHARS = 2


def _utc(ts: datetime) -> datetime:
    return ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)


def _secure_delete(conn: Connection) -> None:
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("PRAGMA secure_delete=ON")


def _write_lock(conn: Connection) -> None:
    """SQLite: take the write lock now (``BEGIN IMMEDIATE``), so the checks and reads that follow
    see the latest data and nothing can commit between them and the deletes.  (pysqlite would
    only begin at the first write; PostgreSQL gets the same guarantee from row locks.)"""
    if conn.dialect.name == "sqlite":
        _secure_delete(conn)
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def _flush_sqlite(engine: Engine) -> None:
    """SQLite: checkpoint and truncate the WAL after a deletion, best effort.

    The WAL still holds the page images written when the text was inserted;
    until a checkpoint overwrites the database pages (zeroed by
    ``secure_delete``) and the WAL is truncated, the deleted text would stay
    on disk.  A reader holding an old snapshot makes this a partial
    checkpoint; SQLite's automatic checkpoints finish the job later.
    """
    if engine.dialect.name != "sqlite":
        return
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    except OperationalError:  # busy: the automatic checkpoint will do it
        pass


def _tombstone(
    key: LedgerKey, cid: str, turns: Sequence[Any], cause: str, reason: str | None, now: datetime
) -> dict[str, Any]:
    """The ledger row of one conversation: its id hash and each exchange's content identity."""
    by_id = {t.id: t for t in turns}
    answered: set[int] = set()
    hashes: list[str] = []

    def history(leaf: Any) -> tuple[list[str], list[str]]:
        roles: list[str] = []
        contents: list[str] = []
        node, seen = leaf, set()
        while node is not None and node.id not in seen:
            seen.add(node.id)
            roles.append(node.role)
            contents.append(node.content)
            node = by_id.get(node.parent_id) if node.parent_id is not None else None
        return roles[::-1], contents[::-1]

    for t in sorted(turns, key=lambda r: r.id):
        if t.role == "assistant" and t.parent_id in by_id:
            user = by_id[t.parent_id]
            answered.add(user.id)
            roles, contents = history(user)
            hashes.append(key.exchange_hash(user.hashed_ip, roles, contents, t.content))
    for t in turns:  # unanswered user turns are exported with an empty response
        if t.role == "user" and t.id not in answered:
            roles, contents = history(t)
            hashes.append(key.exchange_hash(t.hashed_ip, roles, contents, ""))
    return {
        "created_at": now,
        "kind": "conversation",
        "cause": cause,
        "reason": reason,
        "key_fingerprint": key.fingerprint,
        "conversation_hash": key.conversation_hash(cid),
        "ip_hash": None,
        "exchange_hashes": sorted(set(hashes)),
    }


def erase_conversations(
    conn: Connection,
    key: LedgerKey,
    conversation_ids: Sequence[str],
    *,
    cause: str,
    reason: str | None = None,
    now: datetime | None = None,
) -> int:
    """Tombstone and hard-delete ``conversation_ids`` inside the caller's transaction; returns how many."""
    now = now or datetime.now(UTC)
    _secure_delete(conn)
    done = 0
    ids = sorted(set(conversation_ids))
    for start in range(0, len(ids), BATCH):
        chunk = ids[start : start + BATCH]
        locked = list(
            conn.execute(
                select(_CONVS.c.id).where(_CONVS.c.id.in_(chunk)).order_by(_CONVS.c.id).with_for_update()
            ).scalars()
        )
        if not locked:
            continue
        turns: dict[str, list[Any]] = defaultdict(list)
        cols = (
            _TURNS.c.id,
            _TURNS.c.parent_id,
            _TURNS.c.role,
            _TURNS.c.content,
            _TURNS.c.hashed_ip,
            _TURNS.c.address,
        )
        for row in conn.execute(
            select(_TURNS.c.conversation_id, *cols).where(_TURNS.c.conversation_id.in_(locked))
        ):
            turns[row.conversation_id].append(row)
        conn.execute(
            insert(_LEDGER), [_tombstone(key, cid, turns[cid], cause, reason, now) for cid in locked]
        )
        tombstone_addresses(conn, [t.address for ts in turns.values() for t in ts if t.address], now)
        conn.execute(delete(_TURNS).where(_TURNS.c.conversation_id.in_(locked)))
        conn.execute(delete(_CONVS).where(_CONVS.c.id.in_(locked)))
        done += len(locked)
    return done


def _live_consent(conn: Connection, consent_id: str, *, exclusive: bool = False) -> None:
    """:class:`ConsentGone` unless the consent exists and is not withdrawn; locks its row.

    The lock is shared, or exclusive with ``exclusive``.
    """
    query = select(_CONSENTS.c.withdrawn_at).where(_CONSENTS.c.id == consent_id)
    query = query.with_for_update(read=not exclusive)
    row = conn.execute(query).first()
    if row is None or row.withdrawn_at is not None:
        raise ConsentGone("consent withdrawn or not found; agree to the terms again")


def _owned(conn: Connection, consent_id: str, conversation_id: str) -> None:
    owner = conn.execute(
        select(_CONVS.c.consent_id).where(_CONVS.c.id == conversation_id).with_for_update()
    ).scalar_one_or_none()
    if owner is None or owner != consent_id:
        raise UnknownConversation("no such conversation for this consent")


def _reply_in_flight(conn: Connection, conversation_id: str, since: datetime) -> bool:
    """A user turn newer than ``since`` with no reply yet: its answer is still streaming."""
    rows = conn.execute(
        select(_TURNS.c.id, _TURNS.c.parent_id, _TURNS.c.role, _TURNS.c.created_at).where(
            _TURNS.c.conversation_id == conversation_id
        )
    ).all()
    answered = {r.parent_id for r in rows if r.role == "assistant"}
    return any(r.role == "user" and r.id not in answered and _utc(r.created_at) > since for r in rows)


def delete_conversation(
    engine: Engine, key: LedgerKey, consent_id: str, conversation_id: str, *, stream_window_s: float
) -> None:
    """A participant deletes one of their conversations (one transaction).

    :class:`UnknownConversation` if it is not theirs (or already deleted),
    :class:`ReplyInProgress` while a reply to it is still streaming (newer
    than ``stream_window_s``), :class:`ConsentGone` after withdrawal.
    """
    now = datetime.now(UTC)
    with engine.begin() as conn:
        _write_lock(conn)
        _live_consent(conn, consent_id)
        _owned(conn, consent_id, conversation_id)
        if _reply_in_flight(conn, conversation_id, now - timedelta(seconds=stream_window_s)):
            raise ReplyInProgress("a reply in this conversation is still being written; try again")
        erase_conversations(conn, key, [conversation_id], cause="participant", now=now)
    _flush_sqlite(engine)


def withdraw_consent(engine: Engine, key: LedgerKey, consent_id: str) -> int:
    """Delete every conversation of ``consent_id`` and mark it withdrawn (one transaction).

    The consent row stays (it proves what was agreed and when it was
    withdrawn) but loses its client facts.  Returns the number of
    conversations deleted; 403 if already withdrawn or unknown.
    """
    now = datetime.now(UTC)
    with engine.begin() as conn:
        _write_lock(conn)
        _live_consent(conn, consent_id, exclusive=True)
        ids = list(conn.execute(select(_CONVS.c.id).where(_CONVS.c.consent_id == consent_id)).scalars())
        n = erase_conversations(conn, key, ids, cause="withdrawal", now=now)
        conn.execute(
            update(_CONSENTS)
            .where(_CONSENTS.c.id == consent_id)
            .values(
                withdrawn_at=now,
                hashed_ip=None,
                ip=None,
                country=None,
                state=None,
                user_agent=None,
                accept_language=None,
            )
        )
        revoke_all_keys(conn, consent_id, now)  # a key is bound to its consent: none outlives it
    _flush_sqlite(engine)
    return n


def check_ledger_key(engine: Engine, key: LedgerKey) -> None:
    """Refuse to add tombstones under a key other than the one the database's ledger uses."""
    with engine.connect() as conn:
        other = conn.execute(
            select(_LEDGER.c.key_fingerprint).where(_LEDGER.c.key_fingerprint != key.fingerprint).limit(1)
        ).scalar_one_or_none()
    if other is not None:
        raise LedgerError(
            "takedown ledger key mismatch: the database's ledger was written under another key; "
            "use this deployment's secret key (or WILDCHAT_LEDGER_KEY)"
        )


def takedown(
    engine: Engine,
    key: LedgerKey,
    *,
    reason: str,
    conversation_id: str | None = None,
    text: str | None = None,
    hashed_ip: str | None = None,
) -> int:
    """An operator's takedown (exactly one selector); returns the conversations deleted.

    ``text``: every conversation with a user turn containing it, ignoring case (refused
    below :data:`MIN_TEXT_CHARS`); ``hashed_ip``: every conversation with a
    user turn from that pseudonym, plus an ``ip_hash`` entry so curation also
    drops that client's conversations in older exports and other sources.
    """
    if sum(x is not None for x in (conversation_id, text, hashed_ip)) != 1:
        raise ValueError("give exactly one of conversation_id, text, hashed_ip")
    if text is not None and len(text.strip()) < MIN_TEXT_CHARS:
        raise ValueError(f"takedown text must have at least {MIN_TEXT_CHARS} characters (too broad)")
    check_ledger_key(engine, key)
    with engine.begin() as conn:
        _write_lock(conn)
        n = _takedown_in(conn, key, reason, conversation_id, text, hashed_ip)
    _flush_sqlite(engine)
    return n


def _takedown_in(
    conn: Connection,
    key: LedgerKey,
    reason: str,
    conversation_id: str | None,
    text: str | None,
    hashed_ip: str | None,
) -> int:
    """The body of :func:`takedown`, inside its transaction."""
    now = datetime.now(UTC)
    if conversation_id is not None:
        ids = [conversation_id]
        n = erase_conversations(conn, key, ids, cause="takedown", reason=reason, now=now)
        if n == 0:  # not (or no longer) in the database: still recognise it in older exports
            conn.execute(insert(_LEDGER), [_tombstone(key, conversation_id, [], "takedown", reason, now)])
        return n
    users = select(_TURNS.c.conversation_id).where(_TURNS.c.role == "user").distinct()
    if text is not None:
        # case-insensitive (ASCII on SQLite): a reported e-mail address may differ in case
        users = users.where(_TURNS.c.content.icontains(text, autoescape=True))
    else:
        users = users.where(_TURNS.c.hashed_ip == hashed_ip)
        conn.execute(
            insert(_LEDGER),
            [
                {
                    "created_at": now,
                    "kind": "hashed_ip",
                    "cause": "takedown",
                    "reason": reason,
                    "key_fingerprint": key.fingerprint,
                    "ip_hash": key.ip_hash(str(hashed_ip)),
                    "conversation_hash": None,
                    "exchange_hashes": [],
                }
            ],
        )
    ids = list(conn.execute(users).scalars())
    return erase_conversations(conn, key, ids, cause="takedown", reason=reason, now=now)


def purge_older_than(engine: Engine, key: LedgerKey | None, days: float, *, dry_run: bool = False) -> int:
    """Retention: delete conversations whose newest turn is older than ``days`` (tombstoned).

    Works in transactions of :data:`BATCH` conversations so a large purge
    never holds long locks, re-checking each batch's age under its row locks
    (a conversation that got a new message meanwhile is kept).  Returns how
    many were (``dry_run``: would be) deleted; ``key`` may be ``None`` only
    for a dry run.
    """
    if days < 0:
        raise ValueError("the age must not be negative")
    cutoff = datetime.now(UTC) - timedelta(days=days)
    newest = (
        select(_CONVS.c.id)
        .outerjoin(_TURNS, _TURNS.c.conversation_id == _CONVS.c.id)
        .group_by(_CONVS.c.id, _CONVS.c.created_at)
        .having(func.coalesce(func.max(_TURNS.c.created_at), _CONVS.c.created_at) < cutoff)
        .order_by(_CONVS.c.id)
    )
    with engine.connect() as conn:
        ids = list(conn.execute(newest).scalars())
    if dry_run:
        return len(ids)
    if key is None:
        raise ValueError("a purge that deletes needs the ledger key")
    done = 0
    for start in range(0, len(ids), BATCH):
        chunk = ids[start : start + BATCH]
        with engine.begin() as conn:
            _write_lock(conn)
            conn.execute(
                select(_CONVS.c.id).where(_CONVS.c.id.in_(chunk)).order_by(_CONVS.c.id).with_for_update()
            )
            still = list(conn.execute(newest.where(_CONVS.c.id.in_(chunk))).scalars())
            done += erase_conversations(conn, key, still, cause="retention")
    _flush_sqlite(engine)
    return done


def ledger_entries(engine: Engine) -> Iterator[LedgerEntry]:
    """Every tombstone of the database's ledger, oldest first."""
    with engine.connect() as conn:
        for r in conn.execute(select(_LEDGER).order_by(_LEDGER.c.id)):
            yield LedgerEntry(
                id=r.id,
                kind=r.kind,
                cause=r.cause,
                reason=r.reason,
                created_at=_utc(r.created_at).isoformat(),
                key_fingerprint=r.key_fingerprint,
                conversation_hash=r.conversation_hash,
                exchange_hashes=list(r.exchange_hashes or []),
                ip_hash=r.ip_hash,
            )
