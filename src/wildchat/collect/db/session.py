"""Engine and session factory: made once per process by the app factory.

SQLite runs in WAL mode with a busy timeout, so readers never block the
writer and a second process waits instead of failing; foreign keys are
switched on (SQLite leaves them off).  Errors never carry the SQL parameters
(``hide_parameters``): they hold message content and must not reach logs.  PostgreSQL gets a sized connection
pool; nothing creates an engine per request.  A SQLite file this code
creates is mode 0600 in a 0700 folder (SQLite gives its WAL and shared-memory
files the database file's mode), since it holds every message.
"""

from __future__ import annotations

import logging

from sqlalchemy import Connection, Engine, create_engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from wildchat.web.sqlite import sqlite_engine

__all__ = ["SQLITE_PRAGMAS", "is_sqlite", "make_engine", "make_session_factory", "warm_pool"]

log = logging.getLogger(__name__)

#: Run on every connection of the collection database (see the module doc).
SQLITE_PRAGMAS = ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON", "busy_timeout=10000")


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def make_engine(url: str, pool_size: int = 10, max_overflow: int = 20) -> Engine:
    """A pooled engine for ``url`` (SQLite: a new file is created 0600, a new folder 0700)."""
    if is_sqlite(url):
        return sqlite_engine(
            url,
            SQLITE_PRAGMAS,
            timeout_s=10,
            private=True,
            pool_size=pool_size,
            max_overflow=max_overflow,
            hide_parameters=True,
        )
    return create_engine(
        url,
        pool_size=pool_size,
        max_overflow=max_overflow,
        hide_parameters=True,
        pool_recycle=1800,  # no pre-ping round trip: dropped connections are retried by the store
    )


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions that keep loaded values after commit (rows are read after the transaction)."""
    return sessionmaker(engine, expire_on_commit=False)


def warm_pool(engine: Engine, n: int) -> int:
    """Open up to ``n`` pooled connections now; returns how many opened.

    The first requests after a start then don't pay for connecting (several
    ms each with PostgreSQL).  Best effort: a database that is down is
    reported by the store's retries on the first request, not here.
    """
    conns: list[Connection] = []
    try:
        for _ in range(n):
            conns.append(engine.connect())
    except SQLAlchemyError as exc:
        log.warning("could not pre-open database connections: %s", type(exc).__name__)
    finally:
        for conn in conns:
            conn.close()
    return len(conns)
