"""SQLite engines for the apps: pragmas on every connection, private files where the data is private.

Each app passes its own pragma list (the collection database wants foreign
keys and a short busy timeout, the explorer's read-mostly index a large
memory map and page cache); the mechanics are the same everywhere:
``check_same_thread`` off (pooled connections move between worker threads),
a driver timeout, and the pragmas run on each new connection.

A database that holds participant text (the collection database, a review
queue) is created ``private``: mode 0600 in a 0700 folder, from its first byte
(SQLite gives its WAL and shared-memory files the database file's mode).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url

from wildchat.web.files import ensure_private_file

__all__ = ["sqlite_engine", "sqlite_path"]


def sqlite_path(url: str) -> Path | None:
    """The database file of a SQLite ``url``; ``None`` for an in-memory or ``file:`` URI database."""
    database = make_url(url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database)


def sqlite_engine(
    url: str, pragmas: Sequence[str], *, timeout_s: float, private: bool = False, **engine_kw: Any
) -> Engine:
    """An engine for the SQLite ``url`` whose connections run ``PRAGMA p`` for each ``p`` in order.

    The file's folder is created when missing; with ``private`` the file is
    also created (empty, 0600; a new folder 0700) before SQLite opens it.
    ``engine_kw`` goes to :func:`sqlalchemy.create_engine` (pool size,
    ``hide_parameters`` ...).
    """
    path = sqlite_path(url)
    if path is not None:
        if private:
            ensure_private_file(path)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": timeout_s}, **engine_kw)
    statements = [f"PRAGMA {p}" for p in pragmas]

    def on_connect(dbapi_conn: Any, _record: Any) -> None:
        cur = dbapi_conn.cursor()
        for statement in statements:
            cur.execute(statement)
        cur.close()

    event.listen(engine, "connect", on_connect)
    return engine
