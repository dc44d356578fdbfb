"""Deleted gateway conversations stay deleted: tombstones of their content addresses.

An app keeps its copy of a chat after the participant deleted it here (or an
operator took it down, or retention purged it), and re-sends that history
with the next request.  Storing it again would undo the deletion, so every
deletion also records the keyed content addresses of the deleted messages
(:mod:`wildchat.collect.gateway.logging`; 32 hex chars of an HMAC, no text)
and a request whose history reaches a tombstoned address is refused (409
``conversation_deleted``: start a new chat) before anything is stored.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Table, bindparam, insert, select

from wildchat.collect.db.models import GatewayTombstoneRow

__all__ = ["find_tombstoned", "tombstone_addresses"]

_TOMBSTONES: Table = GatewayTombstoneRow.__table__  # type: ignore[assignment]
_CHUNK = 500
_LOOKUP = select(_TOMBSTONES.c.address).where(_TOMBSTONES.c.address.in_(bindparam("addrs", expanding=True)))


def _existing(conn: Any, addresses: Sequence[str]) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(addresses), _CHUNK):
        chunk = list(addresses[start : start + _CHUNK])
        found.update(conn.execute(_LOOKUP, {"addrs": chunk}).scalars())
    return found


def tombstone_addresses(conn: Any, addresses: Sequence[str], now: datetime) -> int:
    """Record ``addresses`` as deleted inside the caller's transaction; returns how many were new."""
    wanted = sorted(set(addresses))
    if not wanted:
        return 0
    new = [a for a in wanted if a not in _existing(conn, wanted)]
    if new:
        conn.execute(insert(_TOMBSTONES), [{"address": a, "created_at": now} for a in new])
    return len(new)


def find_tombstoned(conn: Any, addresses: Sequence[str]) -> bool:
    """True if any of ``addresses`` belongs to a deleted message."""
    return bool(addresses) and bool(_existing(conn, addresses))
