"""The per-process objects a running server shares, built once by the app factory."""

from __future__ import annotations

from dataclasses import dataclass

from anyio import CapacityLimiter
from sqlalchemy import Engine

from wildchat.collect.backends.registry import BackendRegistry
from wildchat.collect.client import ClientInspector
from wildchat.collect.consent import ConsentSigner
from wildchat.collect.db.session import make_engine, make_session_factory
from wildchat.collect.moderation import Moderator, build_moderator
from wildchat.collect.ratelimit import RateLimiter
from wildchat.collect.settings import Settings
from wildchat.collect.store import SessionFactory

__all__ = ["Services", "build_services"]

#: Markdown renders per client per minute: a streamed reply is re-rendered a few times a second.
RENDERS_PER_MINUTE = 600


@dataclass
class Services:
    settings: Settings
    engine: Engine
    session_factory: SessionFactory
    signer: ConsentSigner
    limiter: RateLimiter
    inspector: ClientInspector
    registry: BackendRegistry
    moderator: Moderator
    consent_text: str
    #: Caps concurrent hot-path store calls at the pool size, so requests wait
    #: for a pooled connection on the event loop instead of each worker thread
    #: opening (and closing again) an overflow connection.  Made per event
    #: loop by the app's lifespan; ``None`` = anyio's default thread limiter.
    db_limiter: CapacityLimiter | None = None


def build_services(settings: Settings) -> Services:
    """Engine (no connection yet), backends, limiter, signer (cookie key), geolocator (IP key)."""
    engine = make_engine(settings.resolved_database_url, settings.db_pool_size, settings.db_max_overflow)
    return Services(
        settings=settings,
        engine=engine,
        session_factory=make_session_factory(engine),
        signer=ConsentSigner(settings.key_bytes, settings.consent_max_age_days * 86400),
        limiter=RateLimiter(
            settings.rate_limit_per_minute,
            settings.turns_per_day,
            settings.redis_url,
            consents_per_hour=settings.consents_per_hour,
            renders_per_minute=max(RENDERS_PER_MINUTE, 20 * settings.rate_limit_per_minute),
            redis_timeout_s=settings.redis_timeout_s,
        ),
        inspector=ClientInspector(settings),
        registry=BackendRegistry.from_specs(settings.models),
        moderator=build_moderator(settings),
        consent_text=settings.consent_document(),
    )
