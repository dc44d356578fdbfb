"""Exact totals for frequent words from row sets held in memory (SQLite).

At hundreds of thousands of conversations, the exact total of a frequent word
AND another frequent word (``how to``), or of a frequent word with a broad
filter (a language, a month), costs SQLite one step per match: the AND of two
long doclists, or a lookup of every match in ``conversations`` -- 100-500 ms
at 424,000 conversations.  Here the filter columns of every conversation (a
few bytes each) and, per frequent token, the rows it occurs in (a boolean
array indexed by row id) are held in memory, so such a total is an AND of
arrays and a count: about a millisecond once the arrays are in.

Exactness: everything is read at one :attr:`Snapshot.version` and used only
while the index still has that version (a build changes it; then the SQL
plans answer until the arrays are read again).  A token's rows are exactly
the rows of its FTS5 MATCH, and a filter keeps exactly the rows its WHERE
condition (:func:`~wildchat.explore.filters.filter_conditions`) keeps: NULL
never equals a value nor passes a range.  Filters on ``hashed_ip`` and
``conversation_id`` (selective by nature) and phrases stay with SQL.

The columns are read in a background thread (about a second per 400,000
rows) the first time a search could use them; searches never wait for it.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import Connection, Engine

from wildchat.explore.counts import Counts, Snapshot
from wildchat.explore.hits import DatasetNames
from wildchat.explore.model import SearchQuery
from wildchat.explore.rows import to_micros
from wildchat.explore.tables import NO_TS

__all__ = ["BITMAP_MIN_DOCS", "MATCH_CACHE_SIZE", "MatchRows", "RowSets"]

#: Only indexes with at least this many conversations use the in-memory columns.
BITMAP_MIN_DOCS = 20_000
#: Match id lists kept (LRU; 8 bytes per match each).
MATCH_CACHE_SIZE = 64
_TEXT = ("model", "language", "country", "state")
_BOOL = ("toxic", "redacted", "jailbreak")
_COLUMNS = ("id", "dataset_id", *_TEXT, "ts", "turn", *_BOOL)


class _Columns:
    """The filter columns of every conversation as arrays indexed by row id (absent ids never match)."""

    def __init__(self, rows: Sequence[Any], version: tuple[Any, ...]) -> None:
        self.version = version
        ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
        self.size = int(ids.max()) + 1 if len(rows) else 1
        self.present = np.zeros(self.size, dtype=bool)
        self.present[ids] = True
        self.codes: dict[str, dict[str, int]] = {}
        self.arrays: dict[str, np.ndarray[Any, Any]] = {}
        for j, name in enumerate(_COLUMNS[1:], start=1):
            if name in _TEXT:
                codes: dict[str, int] = {}
                values = [-1 if r[j] is None else codes.setdefault(r[j], len(codes)) for r in rows]
                self.codes[name] = codes
            elif name in _BOOL:
                values = [-1 if r[j] is None else int(bool(r[j])) for r in rows]
            else:
                values = [int(r[j]) for r in rows]
            full = np.full(self.size, -1, dtype=np.int64)
            full[ids] = np.asarray(values, dtype=np.int64)
            self.arrays[name] = full

    def mask(self, conn: Connection, names: DatasetNames, q: SearchQuery) -> np.ndarray[Any, Any] | None:
        """Rows passing the filters of ``q`` (as SQL would), or ``None`` for a filter kept in SQL."""
        if q.hashed_ip is not None or q.conversation_id is not None:
            return None
        keep = self.present.copy()
        if q.dataset is not None:
            ids = names.ids_of(conn, q.dataset)
            keep &= self.arrays["dataset_id"] == (ids[0] if ids else -1)
        for name in _TEXT:
            value = getattr(q, name)
            if value is not None:
                keep &= self.arrays[name] == self.codes[name].get(value, -2)
        for name in _BOOL:
            value = getattr(q, name)
            if value is not None:
                keep &= self.arrays[name] == int(bool(value))
        turn, ts = self.arrays["turn"], self.arrays["ts"]
        if q.min_turns is not None:
            keep &= turn >= q.min_turns
        if q.max_turns is not None:
            keep &= turn <= q.max_turns
        if q.since is not None:
            keep &= ts >= to_micros(q.since)
        if q.until is not None:
            keep &= (ts <= to_micros(q.until)) & (ts != NO_TS)
        return keep


class RowSets:
    """Filter columns and frequent tokens' row sets of one index version (thread-safe)."""

    def __init__(self, min_docs: int = BITMAP_MIN_DOCS) -> None:
        self.min_docs = min_docs
        self._lock = threading.Lock()
        self._columns: _Columns | None = None
        self._loading: tuple[Any, ...] | None = None
        self._matches: OrderedDict[tuple[tuple[Any, ...], str], np.ndarray[Any, Any]] = OrderedDict()

    def load(self, conn: Connection, version: tuple[Any, ...]) -> None:
        """Read the filter columns of ``version`` now (the background loader calls this)."""
        rows = conn.exec_driver_sql(f"SELECT {', '.join(_COLUMNS)} FROM conversations").fetchall()
        columns = _Columns(rows, version)
        with self._lock:
            self._columns = columns
            self._matches.clear()

    def _columns_for(self, engine: Engine, snap: Snapshot) -> _Columns | None:
        """The columns of ``snap`` if read; else start reading them in the background.

        Indexes smaller than ``min_docs`` conversations never use them (SQL is quick there).
        """
        version = snap.version
        if snap.size < self.min_docs:
            return None
        with self._lock:
            if self._columns is not None and self._columns.version == version:
                return self._columns
            if self._loading == version:
                return None
            self._loading = version

        def run() -> None:
            try:
                with engine.connect() as conn:
                    if Snapshot.read(conn).version == version:
                        self.load(conn, version)
            finally:
                with self._lock:
                    if self._loading == version:
                        self._loading = None

        threading.Thread(target=run, name="explore-rowsets", daemon=True).start()
        return None

    def warm(self, engine: Engine) -> None:
        """Start reading the columns now (a server calls this at start) when the index is large."""
        with engine.connect() as conn:
            snap = Snapshot.read(conn)
        if engine.dialect.name == "sqlite":
            self._columns_for(engine, snap)

    def _mask(
        self, conn: Connection, names: DatasetNames, snap: Snapshot, q: SearchQuery
    ) -> tuple[_Columns, np.ndarray[Any, Any]] | None:
        """The columns and the boolean mask of rows passing the filters of ``q``; ``None`` = SQL answers."""
        if conn.dialect.name != "sqlite":
            return None
        cols = self._columns_for(conn.engine, snap)
        keep = cols.mask(conn, names, q) if cols is not None else None
        return None if cols is None or keep is None else (cols, keep)

    def filtered_rows(
        self, conn: Connection, names: DatasetNames, snap: Snapshot, q: SearchQuery
    ) -> int | None:
        """Exact number of conversations passing the filters of ``q``, or ``None`` (SQL counts)."""
        found = self._mask(conn, names, snap, q)
        return None if found is None else int(np.count_nonzero(found[1]))

    def filtered_ids(
        self, conn: Connection, names: DatasetNames, snap: Snapshot, q: SearchQuery
    ) -> MatchRows | None:
        """Every conversation passing the filters of ``q`` (ascending ids), or ``None`` (SQL answers)."""
        found = self._mask(conn, names, snap, q)
        if found is None:
            return None
        cols, keep = found
        ids = np.flatnonzero(keep).astype(np.int64)
        return MatchRows(ids, ids, cols.arrays["ts"])

    def _match_ids(self, conn: Connection, cols: _Columns, fts_q: str) -> np.ndarray[Any, Any]:
        """Row ids the full-text expression ``fts_q`` matches (cached per index version)."""
        key = (cols.version, fts_q)
        with self._lock:
            hit = self._matches.get(key)
            if hit is not None:
                self._matches.move_to_end(key)
                return hit
        joined = conn.exec_driver_sql(
            "SELECT group_concat(rowid) FROM conv_fts WHERE conv_fts MATCH ?", (fts_q,)
        ).scalar()
        ids = np.fromstring(str(joined), dtype=np.int64, sep=",") if joined else np.zeros(0, np.int64)
        ids = ids[ids < cols.size]  # (a row past the columns belongs to a newer version)
        with self._lock:
            self._matches[key] = ids
            while len(self._matches) > MATCH_CACHE_SIZE:
                self._matches.popitem(last=False)
        return ids

    def counts(
        self, conn: Connection, dialect: Any, names: DatasetNames, snap: Snapshot, q: SearchQuery, fts_q: str
    ) -> tuple[Counts, int] | None:
        """``(Counts, filtered rows)`` from the columns, or ``None`` where SQL should count.

        Only for searches with filters (without, the total is the match count
        SQL gives anyway) once the columns of this index version are read.
        """
        if dialect.name != "sqlite" or not _has_filters(q):
            return None
        cols = self._columns_for(conn.engine, snap)
        keep = cols.mask(conn, names, q) if cols is not None else None
        if cols is None or keep is None:
            return None
        ids = self._match_ids(conn, cols, fts_q)
        total = int(np.count_nonzero(keep[ids]))
        return Counts(len(ids), total, False), int(np.count_nonzero(keep))

    def match_rows(
        self, conn: Connection, names: DatasetNames, snap: Snapshot, q: SearchQuery, fts_q: str
    ) -> MatchRows | None:
        """The matches of ``fts_q`` passing the filters of ``q``, from memory; ``None`` where SQL answers.

        Exact as :meth:`counts` is (same version, same filter semantics).
        """
        if conn.dialect.name != "sqlite":
            return None
        cols = self._columns_for(conn.engine, snap)
        keep = cols.mask(conn, names, q) if cols is not None else None
        if cols is None or keep is None:
            return None
        ids = self._match_ids(conn, cols, fts_q)
        return MatchRows(ids, ids[keep[ids]], cols.arrays["ts"])

    def has_matches(self, snap: Snapshot, fts_q: str) -> bool:
        """Whether the match ids of ``fts_q`` at ``snap`` are in memory already (no SQL to read them)."""
        with self._lock:
            cols = self._columns
            return (
                cols is not None and cols.version == snap.version and (cols.version, fts_q) in self._matches
            )


@dataclass(frozen=True)
class MatchRows:
    """``every``: all match ids, ascending; ``ids``: those passing the filters; ``ts`` by row id."""

    every: np.ndarray[Any, Any]
    ids: np.ndarray[Any, Any]
    ts: np.ndarray[Any, Any]


def _has_filters(q: SearchQuery) -> bool:
    names = (
        *_TEXT,
        *_BOOL,
        "dataset",
        "hashed_ip",
        "conversation_id",
        "min_turns",
        "max_turns",
        "since",
        "until",
    )
    return any(getattr(q, n) is not None for n in names)
