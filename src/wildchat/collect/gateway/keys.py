"""Participant API keys: created with the consent cookie, bound to that consent, stored as hashes.

* ``POST /api/keys`` (consent cookie) -> ``{"key", "prefix", "created_at"}``:
  the key is shown this once; the database keeps its SHA-256 only (the key
  holds 256 random bits, so an unkeyed hash cannot be inverted or guessed)
  and its public ``prefix``.
* ``GET /api/keys`` -> ``{"keys": [{"prefix", "created_at", "revoked_at"}]}``.
* ``DELETE /api/keys/{prefix}`` -> 204 (404 for another consent's key).

A key authenticates ``/v1`` requests only while its consent is live: not
withdrawn (withdrawal also revokes every key, in the withdrawal's
transaction: :func:`revoke_all`), for the current consent version and not
older than ``consent_max_age_days`` -- the same rules as the cookie.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import anyio
from fastapi import APIRouter, Response
from sqlalchemy import Connection, Engine, Table, bindparam, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from wildchat.collect.db.models import ApiKeyRow, ConsentRow
from wildchat.collect.deps import AppServices, Client, ValidConsent
from wildchat.collect.errors import ApiError
from wildchat.collect.routes.consent import is_withdrawn
from wildchat.collect.services import Services

__all__ = [
    "KEY_PREFIX",
    "KeyOwner",
    "KeyRefused",
    "authenticate",
    "create_key",
    "key_digest",
    "key_prefix",
    "list_keys",
    "revoke_all",
    "revoke_key",
    "router",
]

KEY_PREFIX = "wc-"
#: Active keys one consent may hold (a key per app is plenty).
MAX_ACTIVE_KEYS = 10
_KEYS: Table = ApiKeyRow.__table__  # type: ignore[assignment]
_CONSENTS: Table = ConsentRow.__table__  # type: ignore[assignment]
_KEY_SHAPE = re.compile(r"^wc-([0-9a-f]{12})-[A-Za-z0-9_-]{43}$")
_PREFIX_SHAPE = re.compile(r"^(?:wc-)?([0-9a-f]{12})$")

router = APIRouter(prefix="/api")


@dataclass(frozen=True, slots=True)
class KeyOwner:
    """Who a valid key belongs to."""

    consent_id: str
    prefix: str


class KeyRefused(Exception):
    """A key that does not authenticate; ``reason`` is safe to show (never the key)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def key_digest(key: str) -> str:
    """SHA-256 (hex) of a key: what the database stores and looks up."""
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def _utc(ts: datetime | None) -> datetime | None:
    if ts is None:
        return None
    return ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)


def create_key(engine: Engine, consent_id: str, now: datetime) -> tuple[str, str]:
    """A new key for a live consent: ``(key, prefix)``; 403 if withdrawn, 429 past the key cap."""
    for _attempt in range(3):
        prefix = secrets.token_hex(6)
        key = f"{KEY_PREFIX}{prefix}-{secrets.token_urlsafe(32)}"
        try:
            with engine.begin() as conn:
                live = conn.execute(
                    select(_CONSENTS.c.withdrawn_at).where(_CONSENTS.c.id == consent_id).with_for_update()
                ).first()
                if live is None or live.withdrawn_at is not None:
                    raise ApiError(403, "consent_required", "consent withdrawn or not found")
                active = conn.execute(
                    select(func.count())
                    .select_from(_KEYS)
                    .where(_KEYS.c.consent_id == consent_id, _KEYS.c.revoked_at.is_(None))
                ).scalar_one()
                if active >= MAX_ACTIVE_KEYS:
                    raise ApiError(
                        429, "too_many_keys", f"at most {MAX_ACTIVE_KEYS} active keys; revoke one first"
                    )
                conn.execute(
                    insert(_KEYS).values(
                        prefix=prefix, digest=key_digest(key), consent_id=consent_id, created_at=now
                    )
                )
            return key, prefix
        except IntegrityError:  # a prefix collision (48 random bits): draw again
            continue
    raise ApiError(500, "internal_error", "could not create a key; try again")


def list_keys(engine: Engine, consent_id: str) -> list[dict[str, Any]]:
    """This consent's keys (prefixes only), newest first."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(_KEYS.c.prefix, _KEYS.c.created_at, _KEYS.c.revoked_at)
            .where(_KEYS.c.consent_id == consent_id)
            .order_by(_KEYS.c.id.desc())
        ).all()
    return [
        {
            "prefix": KEY_PREFIX + r.prefix,
            "created_at": _iso(r.created_at),
            "revoked_at": _iso(r.revoked_at),
        }
        for r in rows
    ]


def _iso(ts: datetime | None) -> str | None:
    value = _utc(ts)
    return value.isoformat() if value is not None else None


def revoke_key(engine: Engine, consent_id: str, prefix: str, now: datetime) -> bool:
    """Revoke one of this consent's active keys; False if there is none with that prefix."""
    with engine.begin() as conn:
        done = conn.execute(
            update(_KEYS)
            .where(_KEYS.c.prefix == prefix, _KEYS.c.consent_id == consent_id, _KEYS.c.revoked_at.is_(None))
            .values(revoked_at=now)
        ).rowcount
    return bool(done)


def revoke_all(conn: Connection, consent_id: str, now: datetime) -> int:
    """Revoke every key of ``consent_id`` inside the caller's transaction (withdrawal); returns how many."""
    return int(
        conn.execute(
            update(_KEYS)
            .where(_KEYS.c.consent_id == consent_id, _KEYS.c.revoked_at.is_(None))
            .values(revoked_at=now)
        ).rowcount
    )


def key_prefix(key: str) -> str | None:
    """The public prefix of a well-formed key (no database access), else ``None``."""
    shape = _KEY_SHAPE.match(key)
    return shape.group(1) if shape else None


def authenticate(
    engine: Engine | Connection, key: str, *, version: str, max_age: timedelta, now: datetime
) -> KeyOwner:
    """The owner of a valid key, else :class:`KeyRefused` (unknown, revoked, consent no longer live).

    Given a ``Connection`` (the caller's transaction) the check runs on it;
    given an ``Engine`` it checks out a connection of its own.
    """
    shape = _KEY_SHAPE.match(key)
    if shape is None:
        raise KeyRefused("invalid API key")
    prefix = shape.group(1)
    if isinstance(engine, Connection):
        row = _key_row(engine, prefix)
    else:
        with engine.connect() as conn:
            row = _key_row(conn, prefix)
    # constant-time digest check (the prefix lookup is public information anyway)
    if row is None or not hmac.compare_digest(row.digest, key_digest(key)):
        raise KeyRefused("invalid API key")
    if row.revoked_at is not None or row.withdrawn_at is not None:
        raise KeyRefused("this API key was revoked")
    if row.version != version:
        raise KeyRefused("the terms changed: agree to them again on the page and create a new key")
    created = _utc(row.created_at)
    if created is not None and created + max_age < now:
        raise KeyRefused("the consent behind this key expired: agree again and create a new key")
    return KeyOwner(consent_id=row.consent_id, prefix=prefix)


_KEY_ROW = (
    select(
        _KEYS.c.consent_id,
        _KEYS.c.digest,
        _KEYS.c.revoked_at,
        _CONSENTS.c.version,
        _CONSENTS.c.created_at,
        _CONSENTS.c.withdrawn_at,
    )
    .join(_CONSENTS, _CONSENTS.c.id == _KEYS.c.consent_id)
    .where(_KEYS.c.prefix == bindparam("prefix"))
)


def _key_row(conn: Connection, prefix: str) -> Any:
    return conn.execute(_KEY_ROW, {"prefix": prefix}).first()


# ---- routes ----------------------------------------------------------------------------------


async def require_live(services: Services, consent_id: str) -> None:
    """403 unless the cookie's consent is still live (not withdrawn)."""
    if await anyio.to_thread.run_sync(is_withdrawn, services, consent_id, limiter=services.db_limiter):
        raise ApiError(403, "consent_required", "consent withdrawn or not found; agree to the terms again")


@router.post("/keys")
async def post_key(consent: ValidConsent, services: AppServices, client: Client) -> dict[str, Any]:
    """Create a key for this consent; the key itself is in this response only."""
    await anyio.to_thread.run_sync(services.limiter.check_request, client.rate_key)
    now = datetime.now(UTC)
    run = partial(create_key, services.engine, consent.consent_id, now)
    key, prefix = await anyio.to_thread.run_sync(run, limiter=services.db_limiter)
    return {"key": key, "prefix": KEY_PREFIX + prefix, "created_at": now.isoformat()}


@router.get("/keys")
async def get_keys(consent: ValidConsent, services: AppServices) -> dict[str, Any]:
    """This consent's keys: prefixes and dates, never the keys."""
    await require_live(services, consent.consent_id)
    run = partial(list_keys, services.engine, consent.consent_id)
    return {"keys": await anyio.to_thread.run_sync(run, limiter=services.db_limiter)}


@router.delete("/keys/{prefix}", status_code=204)
async def delete_key(prefix: str, consent: ValidConsent, services: AppServices, client: Client) -> Response:
    """Revoke one key by its prefix (with or without ``wc-``); 404 if it is not this consent's."""
    await anyio.to_thread.run_sync(services.limiter.check_request, client.rate_key)
    await require_live(services, consent.consent_id)
    shape = _PREFIX_SHAPE.match(prefix)
    if shape is None:
        raise ApiError(404, "unknown_key", "no such active key for this consent")
    run = partial(revoke_key, services.engine, consent.consent_id, shape.group(1), datetime.now(UTC))
    if not await anyio.to_thread.run_sync(run, limiter=services.db_limiter):
        raise ApiError(404, "unknown_key", "no such active key for this consent")
    return Response(status_code=204)
