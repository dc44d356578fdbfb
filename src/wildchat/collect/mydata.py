"""What a participant may read about themselves: their conversations, scoped to one consent.

Pure reads (the deletions are in :mod:`wildchat.collect.takedown`).  A
conversation's ``title`` is the start of its first user message, ``turns``
the number of user messages in it (all branches: WildChat's turn count),
``updated_at`` the time of its newest message.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, Table, func, select

from wildchat.collect.db.models import ConversationRow, TurnRow
from wildchat.collect.refusals import UnknownConversation

__all__ = ["TITLE_CHARS", "get_conversation", "list_conversations"]

TITLE_CHARS = 80
_TURNS: Table = TurnRow.__table__  # type: ignore[assignment]
_CONVS: Table = ConversationRow.__table__  # type: ignore[assignment]


def _iso(ts: datetime | None) -> str | None:
    if ts is None:
        return None
    return (ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)).isoformat()


def _title(text: str | None) -> str:
    flat = " ".join((text or "").split())
    return flat if len(flat) <= TITLE_CHARS else flat[: TITLE_CHARS - 1].rstrip() + "…"


def list_conversations(engine: Engine, consent_id: str, *, limit: int, offset: int) -> dict[str, Any]:
    """One page of the consent's conversations, newest activity first.

    ``{"conversations": [...], "total", "limit", "offset", "next_offset"}``;
    ``next_offset`` is ``None`` on the last page.
    """
    updated = func.coalesce(func.max(_TURNS.c.created_at), _CONVS.c.created_at).label("updated_at")
    users = func.count(_TURNS.c.id).filter(_TURNS.c.role == "user")
    first_user = func.min(_TURNS.c.id).filter(_TURNS.c.role == "user").label("first_user")
    page = (
        select(_CONVS.c.id, _CONVS.c.created_at, updated, users.label("turns"), first_user)
        .outerjoin(_TURNS, _TURNS.c.conversation_id == _CONVS.c.id)
        .where(_CONVS.c.consent_id == consent_id)
        .group_by(_CONVS.c.id, _CONVS.c.created_at)
        .order_by(updated.desc(), _CONVS.c.id.desc())
        .limit(limit)
        .offset(offset)
    )
    with engine.connect() as conn:
        total = conn.execute(
            select(func.count()).select_from(_CONVS).where(_CONVS.c.consent_id == consent_id)
        ).scalar_one()
        rows = conn.execute(page).all()
        firsts = [r.first_user for r in rows if r.first_user is not None]
        texts = (
            dict(
                conn.execute(
                    select(_TURNS.c.id, func.substr(_TURNS.c.content, 1, 4 * TITLE_CHARS)).where(
                        _TURNS.c.id.in_(firsts)
                    )
                ).all()
            )
            if firsts
            else {}
        )
    items = [
        {
            "conversation_id": r.id,
            "created_at": _iso(r.created_at),
            "updated_at": _iso(r.updated_at),
            "title": _title(texts.get(r.first_user)),
            "turns": int(r.turns or 0),
        }
        for r in rows
    ]
    following = offset + len(items)
    return {
        "conversations": items,
        "total": int(total),
        "limit": limit,
        "offset": offset,
        "next_offset": following if following < total else None,
    }


def get_conversation(engine: Engine, consent_id: str, conversation_id: str) -> dict[str, Any]:
    """The conversation with every message and its branches; 404 if it is not this consent's.

    ``messages``: every stored message (``id``, ``parent_id``, ``role``,
    ``content``, ``created_at``, ``model``, ``finish_reason``) in storage
    order.  ``branches``: one list of message ids per leaf, root first,
    oldest branch first -- the last is the most recent (what the page reopens).
    """
    with engine.connect() as conn:
        conv = conn.execute(
            select(_CONVS.c.created_at).where(
                _CONVS.c.id == conversation_id, _CONVS.c.consent_id == consent_id
            )
        ).first()
        if conv is None:
            raise UnknownConversation("no such conversation for this consent")
        rows = conn.execute(
            select(
                _TURNS.c.id,
                _TURNS.c.parent_id,
                _TURNS.c.role,
                _TURNS.c.content,
                _TURNS.c.created_at,
                _TURNS.c.model,
                _TURNS.c.finish_reason,
            )
            .where(_TURNS.c.conversation_id == conversation_id)
            .order_by(_TURNS.c.id)
        ).all()
    by_id = {r.id: r for r in rows}
    parents = {r.parent_id for r in rows if r.parent_id is not None}
    branches: list[list[int]] = []
    for leaf in (r for r in rows if r.id not in parents):
        path: list[int] = []
        node: Any = leaf
        while node is not None and node.id not in path:
            path.append(node.id)
            node = by_id.get(node.parent_id) if node.parent_id is not None else None
        branches.append(path[::-1])
    first_user = next((r for r in rows if r.role == "user"), None)
    return {
        "conversation_id": conversation_id,
        "created_at": _iso(conv.created_at),
        "updated_at": _iso(max((r.created_at for r in rows), default=conv.created_at)),
        "title": _title(first_user.content if first_user else None),
        "turns": sum(1 for r in rows if r.role == "user"),
        "messages": [
            {
                "id": r.id,
                "parent_id": r.parent_id,
                "role": r.role,
                "content": r.content,
                "created_at": _iso(r.created_at),
                "model": r.model,
                "finish_reason": r.finish_reason,
            }
            for r in rows
        ],
        "branches": branches,
    }
