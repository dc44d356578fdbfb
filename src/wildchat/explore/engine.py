"""Engines for index URLs, and the schema check, shared by the builder and the reader.

SQLite connections get WAL (readers never block the builder, and the web app
can serve while a build appends), ``synchronous=NORMAL`` (durable at each
checkpoint, safe against application crashes -- the resumable build commits
per batch), a 1 GiB memory map and a 64 MiB page cache.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, create_engine, select

from wildchat.explore.dialects import dialect_for
from wildchat.explore.tables import SCHEMA_VERSION, meta, metadata
from wildchat.web.sqlite import sqlite_engine

__all__ = ["SQLITE_PRAGMAS", "ensure_schema", "make_engine"]

#: Run on every index connection (see the module doc).
SQLITE_PRAGMAS = (
    "journal_mode=WAL",
    "synchronous=NORMAL",
    "temp_store=MEMORY",
    "mmap_size=1073741824",
    "cache_size=-65536",
    "busy_timeout=30000",
)


def make_engine(url: str) -> Engine:
    """Engine for an index URL; a bare path is taken as a SQLite file (parent folders created)."""
    if "://" not in url:
        url = f"sqlite:///{Path(url).resolve()}"
    if url.startswith("sqlite"):
        return sqlite_engine(url, SQLITE_PRAGMAS, timeout_s=30)
    if url.startswith("postgresql"):
        return create_engine(url, pool_pre_ping=True)
    raise ValueError(f"unsupported index URL {url!r}: use sqlite:///FILE or postgresql+psycopg://...")


def ensure_schema(engine: Engine) -> None:
    """Create missing tables; refuse an index written by another schema version."""
    dialect = dialect_for(engine.dialect.name)
    with engine.begin() as conn:
        metadata.create_all(conn)
        dialect.create_fts(conn)
        row = conn.execute(select(meta.c.value).where(meta.c.key == "schema_version")).scalar()
        if row is None:
            conn.execute(meta.insert().values(key="schema_version", value=str(SCHEMA_VERSION)))
        elif int(row) != SCHEMA_VERSION:
            raise RuntimeError(
                f"index has schema version {row}, this wildchat writes {SCHEMA_VERSION}: "
                "delete it and rebuild"
            )
