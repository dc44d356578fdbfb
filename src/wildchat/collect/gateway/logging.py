"""Logging gateway exchanges: the client's history as sent, folded into one conversation tree.

An app sends the whole history with every request, and it may differ from
what this server streamed earlier (the user edited a message, the app
truncated or rewrote it, another app continued the chat).  Each request is
one exchange, stored in the same per-message tables as page traffic:

* Every message of a history has a **content address**: a keyed chain hash
  ``addr_i = HMAC(k, addr_{i-1} | role | len | text)`` rooted at the
  consent (``addr_0 = HMAC(k, "root" | consent id)``).  Equal addresses
  mean the same messages in the same order from the same participant.
* The deepest stored address of the request's history is where it attaches
  (a new conversation when none is stored); the messages after it are
  stored as sent (``source = "client"``), the last user message is the
  exchange's user turn (``source = "gateway"``, with the client facts and
  the count of unsupported parts), and the reply is stored under it
  (``source = "gateway"``) with its own address -- so the next request of
  the same chat, which sends that reply back, attaches below it: a
  multi-turn chat from an app is one conversation, and a rewritten history
  becomes a branch at the first message that differs.
* Walking parent links from a user turn gives back exactly the history the
  client sent with it, which is what the raw-log export writes.

Deleted conversations stay deleted: a history reaching the address of a
deleted message is refused (:mod:`.tombstones`).

Addresses are keyed (a key derived from the secret key) and include the
consent, so they reveal nothing without the key and never link two
participants; they stay in the database (curation computes its own).
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, Table, bindparam, insert, select
from sqlalchemy.exc import IntegrityError

from wildchat.collect.client import ClientInfo
from wildchat.collect.db.models import ConsentRow, ConversationRow, TurnRow
from wildchat.collect.errors import ApiError
from wildchat.collect.gateway.tombstones import find_tombstoned
from wildchat.collect.store import ExchangeOutcome, reply_values, retrying, store_reply
from wildchat.schema import Message

__all__ = [
    "GatewayPrepared",
    "address_key",
    "addresses",
    "extend_address",
    "finish_gateway_exchange",
    "start_gateway_exchange",
]

_LABEL = b"wildchat/gateway-address/v1"
_ROLE = {"system": b"S", "user": b"U", "assistant": b"A"}
_TURNS: Table = TurnRow.__table__  # type: ignore[assignment]
_CONVS: Table = ConversationRow.__table__  # type: ignore[assignment]
_CONSENTS: Table = ConsentRow.__table__  # type: ignore[assignment]
_LOOKUP_CHUNK = 500
_INSERT_TURN = insert(_TURNS).returning(_TURNS.c.id)
_INSERT_CONVERSATION = insert(_CONVS)
_LIVE_CONSENT = (
    select(_CONSENTS.c.withdrawn_at).where(_CONSENTS.c.id == bindparam("consent")).with_for_update(read=True)
)
_LOCK_CONVERSATION = select(_CONVS.c.consent_id).where(_CONVS.c.id == bindparam("cid")).with_for_update()
# built once (an expanding IN): no statement construction or cache-key work per request
_BY_ADDRESS = (
    select(_TURNS.c.id, _TURNS.c.address, _TURNS.c.conversation_id, _TURNS.c.turn_index)
    .where(_TURNS.c.address.in_(bindparam("addrs", expanding=True)))
    .order_by(_TURNS.c.id)
)


def address_key(secret: bytes) -> bytes:
    """The address key of a deployment (derived from the secret key with a label of its own)."""
    return hmac.new(secret, _LABEL, hashlib.sha256).digest()


def _root(key: bytes, consent_id: str) -> str:
    return hmac.new(key, b"root\0" + consent_id.encode("ascii"), hashlib.sha256).hexdigest()[:32]


def extend_address(key: bytes, parent: str, role: str, content: str) -> str:
    """The address of a message of ``role`` and ``content`` following ``parent`` (32 hex)."""
    data = content.encode("utf-8", "surrogatepass")
    msg = parent.encode("ascii") + _ROLE.get(role, b"?") + len(data).to_bytes(8, "big") + data
    return hmac.new(key, msg, hashlib.sha256).hexdigest()[:32]


def addresses(key: bytes, consent_id: str, messages: Sequence[Message]) -> list[str]:
    """The address of every prefix of ``messages`` (one per message)."""
    out: list[str] = []
    current = _root(key, consent_id)
    for m in messages:
        current = extend_address(key, current, m.role, m.content)
        out.append(current)
    return out


@dataclass(frozen=True, slots=True)
class GatewayPrepared:
    """The stored user turn of one gateway exchange and the history to send to the model."""

    conversation_id: str
    user_turn_id: int
    user_turn_index: int
    user_address: str
    history: list[Message]
    requested_at: datetime
    new_turns: int


def _check_live(conn: Any, consent_id: str) -> None:
    live = conn.execute(_LIVE_CONSENT, {"consent": consent_id}).first()
    if live is None or live.withdrawn_at is not None:
        raise ApiError(401, "invalid_api_key", "this API key was revoked")


def _deepest(conn: Any, consent_id: str, addrs: list[str]) -> tuple[int, Any] | None:
    """``(position, row)`` of the deepest stored prefix of the history, or ``None``."""
    found: dict[str, Any] = {}
    for start in range(0, len(addrs), _LOOKUP_CHUNK):
        chunk = addrs[start : start + _LOOKUP_CHUNK]
        for row in conn.execute(_BY_ADDRESS, {"addrs": chunk}):
            found.setdefault(row.address, row)
    for i in range(len(addrs) - 1, -1, -1):
        row = found.get(addrs[i])
        if row is None:
            continue
        owner = conn.execute(_LOCK_CONVERSATION, {"cid": row.conversation_id}).scalar_one_or_none()
        if owner == consent_id:  # else deleted meanwhile (or never ours): keep looking
            return i, row
    return None


def _insert_rest(
    conn: Any,
    conversation_id: str,
    parent_id: int | None,
    index: int,
    rest: list[Message],
    addrs: list[str],
    unsupported: int,
    client: ClientInfo,
    now: datetime,
) -> tuple[int | None, int]:
    """Store ``rest`` (the history below the attach point) as a chain; the last is the exchange's user turn.

    Returns ``(id of the last stored turn, next turn index)``.
    """
    facts = {
        "user_agent": client.user_agent,
        "accept_language": client.accept_language,
        "hashed_ip": client.hashed_ip,
        "ip": client.ip,
        "country": client.country,
        "state": client.state,
    }
    for i, m in enumerate(rest):
        is_last = i == len(rest) - 1
        values: dict[str, Any] = {
            "conversation_id": conversation_id,
            "parent_id": parent_id,
            "turn_index": index,
            "role": m.role,
            "content": m.content,
            "created_at": now,
            "source": "gateway" if is_last else "client",
            "address": addrs[i],
            "unsupported": unsupported if is_last else None,
        }
        if m.role == "user":
            values.update(facts)
        parent_id = conn.execute(_INSERT_TURN, values).scalar_one()
        index += 1
    return parent_id, index


def _start(
    conn: Any,
    key: bytes,
    owner: Callable[[Any], str],
    messages: list[Message],
    unsupported: int,
    client: ClientInfo,
    now: datetime,
) -> GatewayPrepared:
    consent_id = owner(conn)
    _check_live(conn, consent_id)
    addrs = addresses(key, consent_id, messages)
    hit = _deepest(conn, consent_id, addrs)
    if hit is None:
        position, parent_id, index = -1, None, 0
        conversation_id = uuid.uuid4().hex
        conn.execute(
            _INSERT_CONVERSATION, {"id": conversation_id, "consent_id": consent_id, "created_at": now}
        )
    else:
        position, row = hit
        parent_id, index, conversation_id = row.id, row.turn_index + 1, row.conversation_id
    # A new message right below a live stored one cannot be a deleted one (deletion takes whole
    # conversations), so the tombstones are only looked up for histories that attach higher up.
    fresh = addrs[position + 1 :]
    if (hit is None or len(fresh) > 1) and find_tombstoned(conn, fresh):  # raising rolls back
        raise ApiError(
            409, "conversation_deleted", "this conversation was deleted; start a new chat to continue"
        )
    parent_id, index = _insert_rest(
        conn, conversation_id, parent_id, index, messages[position + 1 :], fresh, unsupported, client, now
    )
    last = len(messages) - 1
    if conn.dialect.name == "sqlite":  # the write lock came with the first insert: check again
        _check_live(conn, consent_id)
    assert parent_id is not None
    return GatewayPrepared(
        conversation_id=conversation_id,
        user_turn_id=int(parent_id),
        user_turn_index=index - 1,
        user_address=addrs[last],
        history=messages,
        requested_at=now,
        new_turns=len(messages) - 1 - position,
    )


def start_gateway_exchange(
    engine: Engine,
    key: bytes,
    *,
    owner: Callable[[Any], str],
    messages: list[Message],
    unsupported: int,
    client: ClientInfo,
    now: datetime,
) -> GatewayPrepared:
    """Attach the client's history to its conversation and store what is new (one transaction).

    ``owner(connection)`` names the consent (the API key check, run inside the
    transaction so a request costs one connection checkout) or raises.
    """

    def run() -> GatewayPrepared:
        try:
            with engine.begin() as conn:
                return _start(conn, key, owner, messages, unsupported, client, now)
        except IntegrityError as exc:  # the consent row is gone
            raise ApiError(401, "invalid_api_key", "this API key was revoked") from exc

    return retrying(run)


def finish_gateway_exchange(
    engine: Engine, key: bytes, prepared: GatewayPrepared, outcome: ExchangeOutcome
) -> int:
    """Store the reply (complete, partial or empty) under the user turn; returns its id.

    The page's row (:func:`wildchat.collect.store.reply_values`) plus the
    gateway's source and the reply's content address; stored once under
    retries by :func:`wildchat.collect.store.store_reply`.
    """
    values = reply_values(prepared, outcome)
    values["source"] = "gateway"
    values["address"] = extend_address(key, prepared.user_address, "assistant", values["content"])
    return store_reply(engine, values)
