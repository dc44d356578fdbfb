"""Per-message tables: consents, conversations, turns; consent documents; the takedown ledger.

One row per message, never a JSON blob per chat, so several server processes
can append to the same conversation store without read-modify-write races,
and an export can rebuild any branch.  A turn's ``parent_id`` points at the
message it follows (a user turn at the assistant turn before it, an
assistant turn at its user turn); regenerating or editing creates siblings,
never an overwrite.

Request-level facts live on the turn that carries them: client facts
(headers, pseudonymised IP, geo) on the user turn; model, params, usage,
timestamps, finish reason and error on the assistant turn.

Deletion is a hard delete of turns and conversations; what remains is a
:class:`LedgerRow` (keyed hashes only, see :mod:`wildchat.collect.takedown`).
A consent points at the full text it agreed to (:class:`ConsentDocumentRow`)
and keeps ``withdrawn_at`` once withdrawn (its client facts are then erased).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

__all__ = [
    "ApiKeyRow",
    "Base",
    "ConsentDocumentRow",
    "ConsentRow",
    "ConversationRow",
    "GatewayTombstoneRow",
    "LedgerRow",
    "TurnRow",
]

#: Autoincrementing 64-bit ids everywhere except SQLite, which needs INTEGER.
TurnId = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    """Declarative base; its metadata is what the migrations create."""


class ConsentDocumentRow(Base):
    """The full text of one consent document (a version in one language), stored once."""

    __tablename__ = "consent_documents"

    id: Mapped[int] = mapped_column(TurnId, primary_key=True, autoincrement=True)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)  # of version + language + text
    version: Mapped[str] = mapped_column(String(64))
    language: Mapped[str] = mapped_column(String(35))  # BCP 47 tag, "default" for the fallback
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ConsentRow(Base):
    """One consent given: the version agreed to, when, and who (pseudonymously)."""

    __tablename__ = "consents"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    version: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    hashed_ip: Mapped[str | None] = mapped_column(String(64))
    ip: Mapped[str | None] = mapped_column(String(45))  # only with store_raw_ip = true
    country: Mapped[str | None] = mapped_column(String(128))
    state: Mapped[str | None] = mapped_column(String(128))
    user_agent: Mapped[str | None] = mapped_column(String(512))
    accept_language: Mapped[str | None] = mapped_column(String(256))
    document_id: Mapped[int | None] = mapped_column(
        ForeignKey("consent_documents.id", name="fk_consents_document_id")
    )
    withdrawn_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ConversationRow(Base):
    """A conversation, owned by the consent that started it."""

    __tablename__ = "conversations"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    consent_id: Mapped[str] = mapped_column(ForeignKey("consents.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class TurnRow(Base):
    """One message (user or assistant) of a conversation tree."""

    __tablename__ = "turns"
    __table_args__ = (
        Index("ix_turns_conversation", "conversation_id", "id"),
        Index("ix_turns_finished_at", "finished_at"),
        Index("ix_turns_created_at", "created_at"),
        Index("ix_turns_hashed_ip", "hashed_ip"),
        # deleting a turn checks that no turn still points at it: without this, a scan per row
        Index("ix_turns_parent_id", "parent_id"),
        # the gateway finds the stored prefix of a client-sent history by its content address
        Index("ix_turns_address", "address"),
    )

    id: Mapped[int] = mapped_column(TurnId, primary_key=True, autoincrement=True)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id"))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("turns.id"))
    turn_index: Mapped[int] = mapped_column(Integer)  # position on its branch, 0 = first message
    role: Mapped[str] = mapped_column(String(16))
    content: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # user-turn (client) facts
    user_agent: Mapped[str | None] = mapped_column(String(512))
    accept_language: Mapped[str | None] = mapped_column(String(256))
    hashed_ip: Mapped[str | None] = mapped_column(String(64))
    ip: Mapped[str | None] = mapped_column(String(45))
    country: Mapped[str | None] = mapped_column(String(128))
    state: Mapped[str | None] = mapped_column(String(128))
    # assistant-turn (request) facts
    request_id: Mapped[str | None] = mapped_column(String(32), unique=True)
    model: Mapped[str | None] = mapped_column(String(64))
    backend_model: Mapped[str | None] = mapped_column(String(256))
    requested_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finish_reason: Mapped[str | None] = mapped_column(String(32))
    params: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    usage: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)
    # gateway facts: ``gateway`` (an exchange's user turn or reply), ``client`` (history as an app sent
    # it), None (the page); the keyed content address of the path root..turn; unsupported parts counted
    source: Mapped[str | None] = mapped_column(String(16))
    address: Mapped[str | None] = mapped_column(String(32))
    unsupported: Mapped[int | None] = mapped_column(Integer)


class ApiKeyRow(Base):
    """A participant's API key for the gateway: only its SHA-256 is stored, bound to one consent."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(TurnId, primary_key=True, autoincrement=True)
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    consent_id: Mapped[str] = mapped_column(ForeignKey("consents.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class GatewayTombstoneRow(Base):
    """The keyed content address of a deleted gateway message (no text): an app re-sending a deleted
    conversation's history is refused instead of storing it again (see ``collect.gateway.logging``)."""

    __tablename__ = "gateway_tombstones"

    address: Mapped[str] = mapped_column(String(32), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class LedgerRow(Base):
    """One tombstone of the takedown ledger: keyed hashes that recognise deleted data, never text.

    ``kind``: ``conversation`` (a deleted conversation: ``conversation_hash``
    and ``exchange_hashes``) or ``hashed_ip`` (every conversation of one IP
    pseudonym: ``ip_hash``).  ``cause`` says why (``participant``,
    ``withdrawal``, ``takedown``, ``retention``); ``reason`` is the operator's
    free text for takedowns.  ``key_fingerprint`` names the ledger key.
    """

    __tablename__ = "takedown_ledger"
    __table_args__ = (Index("ix_takedown_ledger_created_at", "created_at"),)

    id: Mapped[int] = mapped_column(TurnId, primary_key=True, autoincrement=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    kind: Mapped[str] = mapped_column(String(16))
    cause: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(String(512))
    key_fingerprint: Mapped[str] = mapped_column(String(32))
    conversation_hash: Mapped[str | None] = mapped_column(String(64))
    ip_hash: Mapped[str | None] = mapped_column(String(64))
    exchange_hashes: Mapped[list[str] | None] = mapped_column(JSON)
