"""Run the shipped Alembic migrations programmatically.

The migration scripts live inside the package (``db/migrations``), so an
installed wheel can upgrade its own database; no ``alembic.ini`` is read.
Several processes may start at once (``--workers``, several hosts on one
PostgreSQL), so the upgrade runs under a PostgreSQL advisory lock, or an
exclusive lock file next to a SQLite database.

:func:`ensure_migrated` is what servers call: it reads the database's
revision (one query) and runs Alembic only when the database is behind the
packaged head, so the upgrade runs once per database -- not again for each
app build, worker process or restart.  :func:`migrate` always runs the
upgrade (tests and tools that move to a given revision).
"""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, text
from sqlalchemy.engine import make_url

__all__ = ["MIGRATIONS_DIR", "alembic_config", "ensure_migrated", "head_revision", "migrate"]

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
_PG_LOCK_ID = 0x77696C64  # "wild"


def alembic_config(connection: Connection | None = None) -> Config:
    """An in-memory Alembic config pointing at the packaged scripts."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


@contextmanager
def _sqlite_lock(engine: Engine) -> Iterator[None]:
    database = make_url(str(engine.url)).database
    if not database or database == ":memory:":
        yield
        return
    lock_path = Path(database).with_name(Path(database).name + ".migrate.lock")
    with open(lock_path, "a+b") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def migrate(engine: Engine, revision: str = "head") -> None:
    """Upgrade the database behind ``engine`` to ``revision`` (idempotent)."""
    if engine.dialect.name == "sqlite":
        with _sqlite_lock(engine), engine.begin() as conn:
            command.upgrade(alembic_config(conn), revision)
        return
    with engine.connect() as conn:
        conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": _PG_LOCK_ID})
        conn.commit()
        try:
            with conn.begin():
                command.upgrade(alembic_config(conn), revision)
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _PG_LOCK_ID})
            conn.commit()


@cache
def head_revision() -> str:
    """The newest revision of the packaged scripts (read once per process)."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:
        raise RuntimeError(f"no migration scripts in {MIGRATIONS_DIR}")
    return head


def ensure_migrated(engine: Engine) -> bool:
    """Upgrade the database to the packaged head unless it is there already; ``True`` when it ran.

    The check takes no lock: a database found at head stays there (nothing
    downgrades it), and one found behind goes through :func:`migrate`, which
    locks and lets Alembic skip what another process applied meanwhile.
    """
    with engine.connect() as conn:
        current = MigrationContext.configure(conn).get_current_revision()
    if current == head_revision():
        return False
    migrate(engine)
    return True
