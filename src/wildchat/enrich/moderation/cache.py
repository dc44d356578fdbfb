"""A persistent moderation cache in SQLite, shared by parallel workers.

Keyed by ``(sha256(text), model)``: the same text judged by another model is
another entry.  Raw text is *not* stored unless ``store_text=True`` (a
deployer's opt-in: turns may hold PII).  WAL journaling plus a busy timeout
let several worker processes read and write one file at once; each process
opens its own connection lazily (connections are not picklable).
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

_SCHEMA = """
CREATE TABLE IF NOT EXISTS moderation (
    text_sha256 TEXT NOT NULL,
    model TEXT NOT NULL,
    result TEXT NOT NULL,
    text TEXT,
    created REAL NOT NULL,
    PRIMARY KEY (text_sha256, model)
)
"""


def text_key(text: str) -> str:
    """SHA-256 hex of the UTF-8 text (surrogates replaced, so junk cannot crash it)."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


class ModerationCache:
    """``get_many`` / ``put_many`` of JSON-able results by text hash."""

    def __init__(self, path: str | Path, *, store_text: bool = False, busy_timeout_s: float = 30.0) -> None:
        self.path = Path(path)
        self.store_text = store_text
        self.busy_timeout_s = busy_timeout_s
        self._conn: sqlite3.Connection | None = None

    def _connect(self) -> sqlite3.Connection:
        if self._conn is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, timeout=self.busy_timeout_s, isolation_level=None)
            conn.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout_s * 1000)}")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute(_SCHEMA)
            self._conn = conn
        return self._conn

    def get_many(self, keys: Iterable[str], model: str) -> dict[str, Any]:
        """Cached results for those of ``keys`` that are present."""
        wanted = list(dict.fromkeys(keys))
        out: dict[str, Any] = {}
        conn = self._connect()
        for i in range(0, len(wanted), 500):
            chunk = wanted[i : i + 500]
            marks = ",".join("?" * len(chunk))
            rows = conn.execute(
                f"SELECT text_sha256, result FROM moderation WHERE model = ? AND text_sha256 IN ({marks})",
                [model, *chunk],
            )
            out.update({k: json.loads(v) for k, v in rows})
        return out

    def put_many(self, results: Mapping[str, tuple[str, Any]], model: str) -> None:
        """Store ``{key: (text, result)}``; the text is kept only if ``store_text``."""
        if not results:
            return
        now = time.time()
        rows = [
            (k, model, json.dumps(r, sort_keys=True), t if self.store_text else None, now)
            for k, (t, r) in results.items()
        ]
        conn = self._connect()
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.executemany("INSERT OR REPLACE INTO moderation VALUES (?, ?, ?, ?, ?)", rows)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_conn"] = None
        return state
