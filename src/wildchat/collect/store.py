"""The two short transactions of the hot path, and the consent insert.

``start_exchange`` checks the conversation and parent, rebuilds the history
from stored turns (the client never supplies it) and stores the user turn,
all in one transaction.  ``finish_exchange`` stores the assistant turn --
complete, partial or empty -- in a second one.  Both are synchronous and run
in a worker thread.  They execute prebuilt Core statements with parameter
dicts on whatever ``begin()`` gives (the server passes its ``Engine``: a
pooled Connection, no ORM session), which was ~30% of server CPU when each
request built and cache-keyed fresh ORM/``values()`` statements.

Where a new user message goes in an existing conversation: a ``parent_id``
names the assistant turn it follows (a regenerate or an edit adds a sibling
branch and never overwrites); ``0`` starts a new branch at the root (an edit
of the first message); ``None`` continues the conversation's most recent
branch, i.e. follows its latest assistant turn -- what any client written
against another chat API expects when it sends only the conversation id.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, TypeVar

from sqlalchemy import Table, bindparam, insert, select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from wildchat.collect.client import ClientInfo
from wildchat.collect.db.models import ConsentDocumentRow, ConsentRow, ConversationRow, TurnRow
from wildchat.collect.refusals import BadParent, ConsentGone, TurnLimit, UnknownConversation, UnknownParent
from wildchat.schema import Message

__all__ = [
    "ExchangeOutcome",
    "PreparedExchange",
    "ReplyParent",
    "Transactor",
    "finish_exchange",
    "record_consent",
    "reply_values",
    "retrying",
    "start_exchange",
    "store_reply",
]

T = TypeVar("T")
_TURNS: Table = TurnRow.__table__  # type: ignore[assignment]
_CONVERSATIONS: Table = ConversationRow.__table__  # type: ignore[assignment]
SessionFactory = sessionmaker[Session]


class Transactor(Protocol):
    """What the hot-path transactions need: ``begin()`` -> a context whose value has ``execute``.

    Both an ``Engine`` (Core ``Connection``, what the server passes: no ORM
    session or unit of work per request) and a ``sessionmaker`` qualify.
    """

    def begin(self) -> AbstractContextManager[Any]: ...


# Statements built once: executing a reused statement with a parameter dict
# hits SQLAlchemy's compiled cache without rebuilding or re-keying it per request.
_INSERT_CONVERSATION = insert(_CONVERSATIONS)
_INSERT_TURN = insert(_TURNS).returning(_TURNS.c.id)
_LOCK_CONVERSATION = (
    select(_CONVERSATIONS.c.consent_id).where(_CONVERSATIONS.c.id == bindparam("cid")).with_for_update()
)
_BRANCH_ROWS = select(
    _TURNS.c.id, _TURNS.c.parent_id, _TURNS.c.role, _TURNS.c.content, _TURNS.c.turn_index
).where(_TURNS.c.conversation_id == bindparam("cid"))
_TURN_BY_REQUEST = select(_TURNS.c.id).where(_TURNS.c.request_id == bindparam("rid"))
# Withdrawal marks the consent row; every chat checks it (shared row lock: a withdrawal in
# progress holds it exclusively, so a chat either commits before it or sees it withdrawn).
_CONSENTS: Table = ConsentRow.__table__  # type: ignore[assignment]
_LIVE_CONSENT = (
    select(_CONSENTS.c.withdrawn_at).where(_CONSENTS.c.id == bindparam("consent")).with_for_update(read=True)
)


@dataclass(frozen=True, slots=True)
class PreparedExchange:
    """The stored user turn and the history to send to the model."""

    conversation_id: str
    user_turn_id: int
    user_turn_index: int
    history: list[Message]
    requested_at: datetime


@dataclass(frozen=True, slots=True)
class ExchangeOutcome:
    """What the model produced (maybe partial) and how it ended."""

    content: str
    finish_reason: str
    finished_at: datetime
    model: str
    backend_model: str
    params: dict[str, Any]
    usage: dict[str, Any] | None = None
    error: str | None = None


def retrying(fn: Callable[[], T], attempts: int = 4) -> T:
    """Retry transient database errors (a locked SQLite file, a dropped connection)."""
    for i in range(attempts - 1):
        try:
            return fn()
        except OperationalError:
            time.sleep(0.05 * 2**i)
    return fn()


def _document_id(s: Session, version: str, language: str, text: str, now: datetime) -> int:
    """The stored consent document with this exact text (inserted the first time it is agreed to)."""
    digest = hashlib.sha256("\x1f".join((version, language, text)).encode("utf-8")).hexdigest()
    found = s.scalar(select(ConsentDocumentRow.id).where(ConsentDocumentRow.sha256 == digest))
    if found is not None:
        return int(found)
    doc = ConsentDocumentRow(sha256=digest, version=version, language=language, text=text, created_at=now)
    s.add(doc)
    s.flush()
    return int(doc.id)


def record_consent(
    sf: SessionFactory,
    version: str,
    client: ClientInfo,
    now: datetime,
    document: tuple[str, str] | None = None,
) -> ConsentRow:
    """Store one consent; its id goes into the signed cookie.

    ``document`` = ``(language tag, full text)`` shown to the participant: stored
    once in ``consent_documents`` and referenced by the consent row.
    """
    row = ConsentRow(
        id=uuid.uuid4().hex,
        version=version,
        created_at=now,
        hashed_ip=client.hashed_ip,
        ip=client.ip,
        country=client.country,
        state=client.state,
        user_agent=client.user_agent,
        accept_language=client.accept_language,
    )

    def run() -> ConsentRow:
        for attempt in range(2):
            try:
                with sf.begin() as s:
                    if document is not None:
                        row.document_id = _document_id(s, version, document[0], document[1], now)
                    s.add(row)
                break
            except IntegrityError:  # two first consents raced to insert the same document
                if attempt:
                    raise
        return row

    return retrying(run)


def _branch(rows: dict[int, Any], leaf_id: int) -> list[Message]:
    """Messages from the root down to ``leaf_id`` along parent links."""
    out: list[Message] = []
    seen: set[int] = set()
    current: int | None = leaf_id
    while current is not None and current not in seen:
        seen.add(current)
        row = rows[current]
        out.append(Message(role=row.role, content=row.content))
        current = row.parent_id
    out.reverse()
    return out


def _latest_assistant(rows: dict[int, Any]) -> int | None:
    """The most recently stored assistant turn (ids grow with insertion), or ``None``."""
    return max((r.id for r in rows.values() if r.role == "assistant"), default=None)


def _dialect(s: Any) -> str:
    """Dialect name of a Core connection or an ORM session."""
    return str(s.get_bind().dialect.name if isinstance(s, Session) else s.dialect.name)


def _check_live(s: Any, consent_id: str) -> None:
    """:class:`ConsentGone` unless the consent exists and is not withdrawn (shared row lock on PostgreSQL)."""
    live = s.execute(_LIVE_CONSENT, {"consent": consent_id}).first()
    if live is None or live.withdrawn_at is not None:
        raise ConsentGone("consent withdrawn or not found; please agree to the terms again")


def _branch_point(
    s: Any, consent_id: str, conversation_id: str, parent_id: int | None, max_turns: int
) -> tuple[int | None, list[Message], int]:
    """``(parent turn id, history up to it, index of the new turn)`` in an existing conversation.

    Locks the conversation row; refuses someone else's conversation, a
    conversation at its turn limit and a parent that is not one of its
    assistant turns.  ``parent_id`` ``None`` follows the latest assistant turn,
    ``0`` starts a new root branch.
    """
    owner = s.execute(_LOCK_CONVERSATION, {"cid": conversation_id}).scalar_one_or_none()
    if owner is None or owner != consent_id:
        raise UnknownConversation("no such conversation for this consent")
    rows = {r.id: r for r in s.execute(_BRANCH_ROWS, {"cid": conversation_id})}
    if sum(1 for r in rows.values() if r.role == "user") >= max_turns:
        raise TurnLimit(f"this conversation reached its limit of {max_turns} turns")
    if parent_id is None:
        parent_id = _latest_assistant(rows)
    elif parent_id == 0:
        parent_id = None
    if parent_id is None:
        return None, [], 0
    parent = rows.get(parent_id)
    if parent is None:
        raise UnknownParent("parent_id is not a turn of this conversation")
    if parent.role != "assistant":
        raise BadParent("parent_id must name an assistant turn")
    return parent_id, _branch(rows, parent_id), parent.turn_index + 1


def _start(
    s: Any,
    consent_id: str,
    conversation_id: str | None,
    parent_id: int | None,
    message: str,
    client: ClientInfo,
    max_turns: int,
    now: datetime,
) -> PreparedExchange:
    _check_live(s, consent_id)
    if conversation_id is None:
        if parent_id:
            raise BadParent("parent_id needs the conversation_id it belongs to")
        history: list[Message] = []
        parent_id, index = None, 0
        conversation_id = uuid.uuid4().hex
        s.execute(_INSERT_CONVERSATION, {"id": conversation_id, "consent_id": consent_id, "created_at": now})
    else:
        parent_id, history, index = _branch_point(s, consent_id, conversation_id, parent_id, max_turns)
    turn_id = s.execute(
        _INSERT_TURN,
        {
            "conversation_id": conversation_id,
            "parent_id": parent_id,
            "turn_index": index,
            "role": "user",
            "content": message,
            "created_at": now,
            "user_agent": client.user_agent,
            "accept_language": client.accept_language,
            "hashed_ip": client.hashed_ip,
            "ip": client.ip,
            "country": client.country,
            "state": client.state,
        },
    ).scalar_one()
    if _dialect(s) == "sqlite":
        # SQLite took its write lock only at the first insert above (pysqlite begins lazily), so
        # the check at the top may predate a withdrawal that committed since: check again.
        _check_live(s, consent_id)
    history.append(Message(role="user", content=message))
    return PreparedExchange(conversation_id, turn_id, index, history, now)


def start_exchange(
    sf: Transactor,
    *,
    consent_id: str,
    conversation_id: str | None,
    parent_id: int | None,
    message: str,
    client: ClientInfo,
    max_turns: int,
    now: datetime,
) -> PreparedExchange:
    """Validate the branch point and store the user turn (one transaction).

    Raises a :class:`~wildchat.collect.refusals.Refusal` (nothing stored) for a
    withdrawn consent, someone else's conversation, a bad parent or the turn limit.
    """

    def run() -> PreparedExchange:
        try:
            with sf.begin() as s:
                return _start(s, consent_id, conversation_id, parent_id, message, client, max_turns, now)
        except IntegrityError as exc:  # the consent row is gone (database reset, withdrawal)
            raise ConsentGone("consent not found; please agree to the terms again") from exc

    return retrying(run)


class ReplyParent(Protocol):
    """Where a reply goes: what both the page's and the gateway's prepared exchanges carry."""

    @property
    def conversation_id(self) -> str: ...
    @property
    def user_turn_id(self) -> int: ...
    @property
    def user_turn_index(self) -> int: ...
    @property
    def requested_at(self) -> datetime: ...


def reply_values(prepared: ReplyParent, outcome: ExchangeOutcome) -> dict[str, Any]:
    """The assistant-turn row of ``outcome`` under ``prepared``'s user turn, with a fresh ``request_id``."""
    return {
        "conversation_id": prepared.conversation_id,
        "parent_id": prepared.user_turn_id,
        "turn_index": prepared.user_turn_index + 1,
        "role": "assistant",
        "content": outcome.content.replace("\x00", "\ufffd"),
        "created_at": outcome.finished_at,
        "request_id": uuid.uuid4().hex,
        "model": outcome.model,
        "backend_model": outcome.backend_model[:256],
        "requested_at": prepared.requested_at,
        "finished_at": outcome.finished_at,
        "finish_reason": outcome.finish_reason,
        "params": outcome.params,
        "usage": outcome.usage,
        "error": outcome.error,
    }


def store_reply(tx: Transactor, values: dict[str, Any]) -> int:
    """Insert the assistant turn ``values`` (from :func:`reply_values`) once; returns its id.

    Idempotent under retries: the row's ``request_id`` is chosen once, so a
    retry after a commit whose acknowledgement was lost finds the stored row
    instead of adding a second one.
    """

    def run() -> int:
        try:
            with tx.begin() as s:
                return int(s.execute(_INSERT_TURN, values).scalar_one())
        except IntegrityError:
            with tx.begin() as s:
                existing = s.execute(_TURN_BY_REQUEST, {"rid": values["request_id"]}).scalar_one_or_none()
            if existing is None:
                raise
            return int(existing)

    return retrying(run)


def finish_exchange(sf: Transactor, prepared: PreparedExchange, outcome: ExchangeOutcome) -> int:
    """Store the assistant turn (complete or partial); returns its id (idempotent: :func:`store_reply`)."""
    return store_reply(sf, reply_values(prepared, outcome))
