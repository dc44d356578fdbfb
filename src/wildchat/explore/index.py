"""The read side of an explorer index: :class:`Index` implements :class:`ExploreIndex`.

One SQLAlchemy-Core code path for SQLite (``sqlite:///path/index.db``) and
PostgreSQL (``postgresql+psycopg://...``); the few backend-specific
statements live in :mod:`wildchat.explore.dialects`, the tables in
:mod:`wildchat.explore.tables`.

Search plan: the full-text match is a subquery ``m(id, rank)`` joined to
``conversations`` and filtered there; the total is ``COUNT(*)`` over exactly
the same join and WHERE (exact, no cap); the page is a keyset query
(``rank, id`` for relevance, ``ts DESC, id DESC`` for time), so deep pages
cost what the first does.  Snippets are cut in Python from the stored record
(:func:`wildchat.explore.tokens.make_snippet`): plain text plus offsets.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import Connection, Engine, and_, func, literal, or_, select

from wildchat.explore.dialects import dialect_for
from wildchat.explore.engine import ensure_schema, make_engine
from wildchat.explore.model import (
    MAX_LIMIT,
    DatasetInfo,
    MapPoints,
    NotFound,
    QueryError,
    SearchHit,
    SearchPage,
    SearchQuery,
    UserPage,
)
from wildchat.explore.query import decode_cursor, encode_cursor, query_fingerprint, validate_query
from wildchat.explore.rows import decode_record, to_micros
from wildchat.explore.tables import (
    NO_TS,
    conversations,
    datasets,
    map_points,
    meta,
    records,
    sources,
)
from wildchat.explore.tokens import Terms, make_snippet, parse_terms

__all__ = ["Index", "make_engine", "open_index"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
c = conversations.c
_HIT_COLUMNS = (
    c.id,
    c.conversation_id,
    c.dataset_id,
    c.model,
    c.language,
    c.country,
    c.state,
    c.hashed_ip,
    c.ts,
    c.turn,
    c.toxic,
    c.redacted,
    c.jailbreak,
    c.map_id,
)
#: Time-sorted text searches walk conversations newest first and probe the
#: full-text index per row (tens of microseconds each) when the text matches at
#: least PROBE_MIN_MATCHES conversations (sorting them all would cost more) and
#: one page is expected within PROBE_WALK_ROWS rows (``(limit + 1) * size / total``).
PROBE_MIN_MATCHES = 20_000
PROBE_WALK_ROWS = 2_000
#: Searches with filters probe the full-text index once per filtered row (instead
#: of joining every match) when there are this many times more matches than rows.
FILTER_FIRST_RATIO = 20
#: Queries whose counts are remembered (LRU), so paging does not count again.
COUNT_CACHE_SIZE = 512


def open_index(url: str) -> Index:
    """Open (creating empty tables if needed) the index at ``url``."""
    engine = make_engine(url)
    ensure_schema(engine)
    return Index(engine)


def _from_micros(ts: int) -> datetime | None:
    return None if ts == NO_TS else _EPOCH + timedelta(microseconds=ts)


def _turn_texts(record: dict[str, Any]) -> list[str]:
    return [str(t.get("content") or "") for t in record.get("conversation") or []]


class Index:
    """:class:`~wildchat.explore.model.ExploreIndex` over one SQLAlchemy engine (thread-safe)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.dialect = dialect_for(engine.dialect.name)
        self._names: dict[int, str] = {}
        self._lock = threading.Lock()
        self._count_cache: OrderedDict[tuple[Any, ...], tuple[int, int, bool]] = OrderedDict()

    # ------------------------------------------------------------------ helpers
    def _dataset_names(self, conn: Connection, refresh: bool = False) -> dict[int, str]:
        if refresh or not self._names:
            self._names = {r.id: r.name for r in conn.execute(select(datasets.c.id, datasets.c.name))}
        return self._names

    def _name(self, conn: Connection, dataset_id: int) -> str:
        names = self._dataset_names(conn)
        if dataset_id not in names:
            names = self._dataset_names(conn, refresh=True)
        return names.get(dataset_id, "?")

    def _filters(self, conn: Connection, q: SearchQuery, walk_time: bool = False) -> list[Any]:
        """WHERE conditions of the query's filters.

        ``walk_time``: wrap the non-time columns as ``coalesce(col, col)`` (same
        value, but no index can serve it) so the planner walks the time index
        -- the probe plan of :meth:`search` depends on that order.
        """

        def col(name: str) -> Any:
            column = getattr(c, name)
            return func.coalesce(column, column) if walk_time else column

        conds: list[Any] = []
        if q.dataset is not None:
            ids = [i for i, n in self._dataset_names(conn, refresh=True).items() if n == q.dataset]
            conds.append(col("dataset_id") == (ids[0] if ids else -1))
        for name in ("model", "language", "country", "state", "hashed_ip", "conversation_id"):
            value = getattr(q, name)
            if value is not None:
                conds.append(col(name) == value)
        for name in ("toxic", "redacted", "jailbreak"):
            value = getattr(q, name)
            if value is not None:
                conds.append(col(name) == value)
        if q.min_turns is not None:
            conds.append(col("turn") >= q.min_turns)
        if q.max_turns is not None:
            conds.append(col("turn") <= q.max_turns)
        if q.since is not None:
            conds.append(c.ts >= to_micros(q.since))
        if q.until is not None:
            conds.append(and_(c.ts <= to_micros(q.until), c.ts != NO_TS))
        return conds

    def _terms(self, q: SearchQuery) -> Terms | None:
        """Parsed terms; ``None`` = no text condition; empty ``Terms`` = text that can match nothing."""
        if not q.text.strip():
            return None
        try:
            return parse_terms(q.text, q.phrase)
        except ValueError as exc:
            raise QueryError(f"q: {exc}") from None

    def _hit(self, conn: Connection, row: Any, snippet: str, spans: list[tuple[int, int]]) -> SearchHit:
        return SearchHit(
            conversation_id=row.conversation_id,
            dataset=self._name(conn, row.dataset_id),
            snippet=snippet,
            highlights=spans,
            model=row.model,
            language=row.language,
            country=row.country,
            state=row.state,
            hashed_ip=row.hashed_ip,
            timestamp=_from_micros(row.ts),
            turn=row.turn,
            toxic=row.toxic,
            redacted=row.redacted,
            jailbreak=row.jailbreak,
            map_id=row.map_id,
        )

    # ------------------------------------------------------------------ search
    def _records(self, conn: Connection, ids: list[int], *, record: bool) -> dict[int, Any]:
        cols = (
            (records.c.id, records.c.prompt, records.c.record) if record else (records.c.id, records.c.prompt)
        )
        return {r.id: r for r in conn.execute(select(*cols).where(records.c.id.in_(ids)))} if ids else {}

    def _size(self, conn: Connection) -> int:
        return int(conn.execute(select(func.coalesce(func.sum(datasets.c.conversations), 0))).scalar_one())

    def search(self, query: SearchQuery) -> SearchPage:
        """See :class:`ExploreIndex`.  Query plans (chosen per request):

        * total: ``COUNT`` over the full-text match alone when there are no
          filters, else over match JOIN conversations WHERE filters -- or,
          when the filters keep far fewer rows than the text matches
          (:data:`FILTER_FIRST_RATIO`), over the filtered rows, each probed in
          the full-text index (``EXISTS``; time-sorted pages then sort only them);
          on SQLite that case is one pass instead (:meth:`Dialect.match_within`:
          every match among the filtered ids with its bm25, paged in Python).
          Totals are cached per query and index version (:meth:`_counts`);
        * relevance: match (with rank) JOIN conversations, ORDER BY rank, id
          (without filters the top ``limit + 1`` are taken on the full-text side
          before the join) -- except when the text matches more than half of all
          conversations: bm25 then weighs every word ~0 and the page is ordered
          newest first;
        * time, few matches: the same join ordered by ``ts DESC, id DESC``;
        * time, many matches and hits (see :data:`PROBE_MIN_MATCHES`): walk
          ``conversations`` by the time index, newest first, and probe the
          full-text index per row (``EXISTS``), which stops after one page
          instead of sorting hundreds of thousands of matches.
        """
        validate_query(query)
        terms = self._terms(query)
        if terms is not None and not terms:
            return SearchPage(total=0, results=[], next_cursor=None)
        fingerprint = query_fingerprint(query)
        with self.engine.connect() as conn:
            conds = self._filters(conn, query)
            if terms is None:
                return self._browse(conn, query, conds, fingerprint)
            params: dict[str, Any] = {"fts_q": self.dialect.match_param(terms)}
            ids = self.dialect.match_ids().subquery("mi")
            matches, total, filter_first = self._counts(conn, fingerprint, conds, ids, params)
            if total == 0:
                return SearchPage(total=0, results=[], next_cursor=None)
            within = self.dialect.match_within(select(c.id).where(*conds)) if filter_first else None
            if within is not None:  # (total -1: counted by this plan's single pass)
                return self._page_within(conn, query, terms, fingerprint, within, params, matches)
            # bm25 gives words found in over half of all conversations an IDF of 1e-6 (FTS5
            # clamps it), so ranking such a query is noise that still costs a score per match
            by_time = query.sort == "time" or matches * 2 > self._size(conn)
            key_last = decode_cursor(query.cursor, fingerprint) if query.cursor is not None else None
            page_q: Any  # Select; SQLAlchemy's generic row typing cannot follow the branches
            if by_time:
                walk_rows = (query.limit + 1) * self._size(conn)
                if filter_first:
                    page_q = select(*_HIT_COLUMNS).where(*conds, self.dialect.exists_match())
                elif matches >= PROBE_MIN_MATCHES and total * PROBE_WALK_ROWS >= walk_rows:
                    walk = self._filters(conn, query, walk_time=True)
                    page_q = select(*_HIT_COLUMNS).where(*walk, self.dialect.exists_match())
                else:
                    joined = ids.join(conversations, c.id == ids.c.id)
                    page_q = select(*_HIT_COLUMNS).select_from(joined).where(*conds)
                if key_last is not None:
                    key, last = key_last
                    page_q = page_q.where(or_(c.ts < key, and_(c.ts == key, c.id < last)))
                page_q = page_q.order_by(c.ts.desc(), c.id.desc())
            else:
                # (ranking filtered rows by per-row bm25 probes measured slower than the join)
                m = self.dialect.match(terms).subquery("m")
                row_id = m.c.id if not conds else c.id
                after = None
                if key_last is not None:
                    key, last = key_last
                    after = or_(m.c.rank > key, and_(m.c.rank == key, row_id > last))
                if not conds:  # top-k on the full-text side, then join only the page's rows
                    top = select(m.c.id, m.c.rank).order_by(m.c.rank, m.c.id).limit(query.limit + 1)
                    m = (top.where(after) if after is not None else top).subquery("k")
                    row_id, after = c.id, None
                joined = m.join(conversations, c.id == m.c.id)
                page_q = select(*_HIT_COLUMNS, m.c.rank).select_from(joined).where(*conds)
                if after is not None:
                    page_q = page_q.where(after)
                page_q = page_q.order_by(m.c.rank, row_id)
            rows = conn.execute(page_q.limit(query.limit + 1), params).all()
            more = len(rows) > query.limit
            rows = rows[: query.limit]
            recs = self._records(conn, [r.id for r in rows], record=True)
            hits = []
            for row in rows:
                snippet, spans = make_snippet(_turn_texts(decode_record(recs[row.id].record)), terms)
                hits.append(self._hit(conn, row, snippet, spans))
            cursor = None
            if more and rows:
                last_row = rows[-1]
                cursor = encode_cursor(fingerprint, last_row.ts if by_time else last_row.rank, last_row.id)
            return SearchPage(total=total, results=hits, next_cursor=cursor)

    def _version(self, conn: Connection) -> tuple[Any, ...]:
        """What changes whenever a build adds, replaces or removes conversations."""
        ds = conn.execute(select(datasets.c.id, datasets.c.conversations, datasets.c.turns)).all()
        src = sources.c
        ss = conn.execute(select(src.id, src.size, src.mtime_ns, src.done, src.complete)).all()
        return (tuple(map(tuple, ds)), tuple(map(tuple, ss)))

    def _counts(
        self, conn: Connection, fingerprint: str, conds: list[Any], ids: Any, params: dict[str, Any]
    ) -> tuple[int, int, bool]:
        """``(matches of the text, exact total, filter_first)``, cached per query and index version.

        The total is -1 where :meth:`Dialect.match_within` serves the query: its
        page pass yields the total too.

        Page 2 of a query (same fingerprint) does not count again; the key holds
        the datasets' and sources' bookkeeping, so a build in progress never
        serves a stale total.
        """
        key = (fingerprint, FILTER_FIRST_RATIO, self._version(conn))
        with self._lock:
            hit = self._count_cache.get(key)
            if hit is not None:
                self._count_cache.move_to_end(key)
                return hit
        matches = int(conn.execute(select(func.count()).select_from(ids), params).scalar_one())
        total, filter_first = matches, False
        if conds and matches:
            # counting stops as soon as the filters are known not to be selective
            # (filtered < ceil(matches / ratio)  <=>  filtered * ratio < matches)
            cap = -(-matches // FILTER_FIRST_RATIO) if FILTER_FIRST_RATIO > 0 else None
            kept = select(literal(1)).where(*conds).limit(cap).subquery("kept")
            filtered = int(conn.execute(select(func.count()).select_from(kept)).scalar_one())
            filter_first = cap is None or filtered < cap
            if filter_first:  # few filtered rows: probe each instead of joining every match
                total_q = select(func.count()).where(*conds, self.dialect.exists_match())
            else:
                joined_ids = ids.join(conversations, c.id == ids.c.id)
                total_q = select(func.count()).select_from(joined_ids).where(*conds)
            within = self.dialect.match_within(select(c.id).where(*conds)) if filter_first else None
            if not filtered:
                total = 0
            elif within is not None:
                total = -1
            else:
                total = int(conn.execute(total_q, params).scalar_one())
        result = (matches, total, filter_first)
        with self._lock:
            self._count_cache[key] = result
            while len(self._count_cache) > COUNT_CACHE_SIZE:
                self._count_cache.popitem(last=False)
        return result

    def _page_within(
        self,
        conn: Connection,
        query: SearchQuery,
        terms: Terms,
        fingerprint: str,
        within: Any,
        params: dict[str, Any],
        matches: int,
    ) -> SearchPage:
        """Selective filters (SQLite): all matches among the filtered rows in one pass, paged in Python.

        Same order, keyset and total as the SQL plans: ``(rank, id)`` ascending
        for relevance, ``(ts, id)`` descending for time.
        """
        found = conn.execute(within, params).all()
        total = len(found)
        if total == 0:
            return SearchPage(total=0, results=[], next_cursor=None)
        by_time = query.sort == "time" or matches * 2 > self._size(conn)
        key_last = decode_cursor(query.cursor, fingerprint) if query.cursor is not None else None
        keyed: list[tuple[float, int]]  # (ts or rank, id); ts stays an int at run time
        if by_time:
            ts_of: dict[int, int] = {}
            id_list = [int(r.id) for r in found]
            for i in range(0, len(id_list), 500):
                chunk = id_list[i : i + 500]
                rows = conn.execute(select(c.id, c.ts).where(c.id.in_(chunk)))
                ts_of.update((int(r.id), int(r.ts)) for r in rows)
            keyed = sorted(((ts_of[i], i) for i in id_list), reverse=True)
            if key_last is not None:
                keyed = [k for k in keyed if k < (key_last[0], key_last[1])]
        else:
            keyed = sorted((float(r.rank), int(r.id)) for r in found)
            if key_last is not None:
                keyed = [k for k in keyed if k > (key_last[0], key_last[1])]
        page = keyed[: query.limit + 1]
        more = len(page) > query.limit
        page = page[: query.limit]
        by_id = {r.id: r for r in conn.execute(select(*_HIT_COLUMNS).where(c.id.in_([i for _, i in page])))}
        recs = self._records(conn, [i for _, i in page], record=True)
        hits = []
        for _, i in page:
            snippet, spans = make_snippet(_turn_texts(decode_record(recs[i].record)), terms)
            hits.append(self._hit(conn, by_id[i], snippet, spans))
        cursor = encode_cursor(fingerprint, page[-1][0], page[-1][1]) if more and page else None
        return SearchPage(total=total, results=hits, next_cursor=cursor)

    def _browse(self, conn: Connection, query: SearchQuery, conds: list[Any], fingerprint: str) -> SearchPage:
        """No text: filters only, newest first (``sort`` is ignored)."""
        total = int(conn.execute(select(func.count()).select_from(conversations).where(*conds)).scalar_one())
        page_q = select(*_HIT_COLUMNS).where(*conds)
        if query.cursor is not None:
            key, last = decode_cursor(query.cursor, fingerprint)
            page_q = page_q.where(or_(c.ts < key, and_(c.ts == key, c.id < last)))
        rows = conn.execute(page_q.order_by(c.ts.desc(), c.id.desc()).limit(query.limit + 1)).all()
        return self._page_of_prompts(conn, rows, query.limit, fingerprint, total)

    def _page_of_prompts(
        self, conn: Connection, rows: Sequence[Any], limit: int, fingerprint: str, total: int
    ) -> SearchPage:
        more = len(rows) > limit
        rows = rows[:limit]
        recs = self._records(conn, [r.id for r in rows], record=False)
        hits = [self._hit(conn, r, *make_snippet([recs[r.id].prompt], Terms(()))) for r in rows]
        cursor = encode_cursor(fingerprint, rows[-1].ts, rows[-1].id) if more and rows else None
        return SearchPage(total=total, results=hits, next_cursor=cursor)

    # ------------------------------------------------------------------ views
    def conversation(self, conversation_id: str) -> dict[str, Any]:
        if "\x00" in conversation_id:  # cannot be stored, so cannot exist (and PostgreSQL would raise)
            raise NotFound("no such conversation")
        with self.engine.connect() as conn:
            row = conn.execute(
                select(records.c.record, c.dataset_id, c.map_id)
                .select_from(conversations.join(records, records.c.id == c.id))
                .where(c.conversation_id == conversation_id)
            ).first()
            if row is None:
                raise NotFound(f"no conversation {conversation_id!r}")
            record = decode_record(row.record)
            record["dataset"] = self._name(conn, row.dataset_id)
            record["map_id"] = row.map_id
            return record

    def user(self, hashed_ip: str, limit: int = 100, cursor: str | None = None) -> UserPage:
        if not 1 <= limit <= MAX_LIMIT:
            raise QueryError(f"limit: must be between 1 and {MAX_LIMIT}")
        if "\x00" in hashed_ip:
            raise NotFound("no conversations for this hashed IP")
        fingerprint = "u" + hashlib.sha256(hashed_ip.encode("utf-8", "surrogatepass")).hexdigest()[:11]
        with self.engine.connect() as conn:
            total = int(conn.execute(select(func.count()).where(c.hashed_ip == hashed_ip)).scalar_one())
            if total == 0:
                raise NotFound("no conversations for this hashed IP")
            page_q = select(*_HIT_COLUMNS).where(c.hashed_ip == hashed_ip)
            if cursor is not None:
                key, last = decode_cursor(cursor, fingerprint)
                page_q = page_q.where(or_(c.ts > key, and_(c.ts == key, c.id > last)))
            rows = conn.execute(page_q.order_by(c.ts, c.id).limit(limit + 1)).all()
            page = self._page_of_prompts(conn, rows, limit, fingerprint, total)
            return UserPage(
                hashed_ip=hashed_ip, total=total, conversations=page.results, next_cursor=page.next_cursor
            )

    def datasets(self) -> list[DatasetInfo]:
        with self.engine.connect() as conn:
            paths: dict[int, list[str]] = {}
            for s in conn.execute(select(sources.c.dataset_id, sources.c.path).order_by(sources.c.id)):
                paths.setdefault(s.dataset_id, []).append(s.path)
            return [
                DatasetInfo(
                    name=d.name,
                    conversations=int(d.conversations),
                    turns=int(d.turns),
                    sources=paths.get(d.id, []),
                    filters=list(orjson.loads(d.filters)),
                    map_points=int(d.map_points),
                )
                for d in conn.execute(select(datasets).order_by(datasets.c.id))
            ]

    def facets(self) -> dict[str, list[str]]:
        with self.engine.connect() as conn:
            raw = conn.execute(select(meta.c.value).where(meta.c.key == "facets")).scalar()
        empty: dict[str, list[str]] = {"model": [], "language": [], "country": [], "state": []}
        return {**empty, **orjson.loads(raw)} if raw else empty

    # ------------------------------------------------------------------ map
    def map_points(self, dataset: str | None = None, limit: int | None = None) -> MapPoints:
        mp = map_points.c
        with self.engine.connect() as conn:
            names = self._dataset_names(conn, refresh=True)
            q = select(mp.id, mp.x, mp.y, mp.dataset_id, mp.language).order_by(mp.id)
            if dataset is not None:
                ids = [i for i, n in names.items() if n == dataset]
                if not ids:
                    raise NotFound(f"no dataset {dataset!r}")
                q = q.where(mp.dataset_id == ids[0])
            if limit is not None:
                q = q.limit(max(0, limit))
            rows = conn.execute(q).all()
            model = conn.execute(select(meta.c.value).where(meta.c.key == "map_model")).scalar()
        # column-wise, without per-row attribute access: this is the page's first paint at 100K points
        ids, xs, ys, ds_ids, langs = (
            (list(col) for col in zip(*rows, strict=True)) if rows else ([], [], [], [], [])
        )
        ds_index = {d: i for i, d in enumerate(dict.fromkeys(ds_ids))}
        lang_index = {lang: i for i, lang in enumerate(dict.fromkeys(lang or "unknown" for lang in langs))}
        return MapPoints(
            ids=ids,
            x=xs,
            y=ys,
            dataset=[ds_index[d] for d in ds_ids],
            language=[lang_index[lang or "unknown"] for lang in langs],
            datasets=[names.get(d, "?") for d in ds_index],
            languages=list(lang_index),
            model=model,
        )

    def map_hits(self, query: SearchQuery, limit: int = 100_000) -> list[int]:
        terms = self._terms(query)
        if terms is not None and not terms:
            return []
        mp = map_points.c
        with self.engine.connect() as conn:
            conds = self._filters(conn, query)
            params: dict[str, Any] = {}
            if terms is None:
                q = select(mp.id).select_from(map_points.join(conversations, c.id == mp.id)).where(*conds)
            else:
                params["fts_q"] = self.dialect.match_param(terms)
                m = self.dialect.match_ids().subquery("m")
                joined = m.join(map_points, mp.id == m.c.id)
                if conds:
                    joined = joined.join(conversations, c.id == m.c.id)
                q = select(mp.id).select_from(joined).where(*conds)
            return [int(r[0]) for r in conn.execute(q.limit(max(0, limit)), params)]

    def map_point(self, map_id: int) -> dict[str, Any]:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(c.conversation_id, c.dataset_id, records.c.prompt)
                .select_from(
                    conversations.join(map_points, map_points.c.id == c.id).join(
                        records, records.c.id == c.id
                    )
                )
                .where(c.id == map_id)
            ).first()
            if row is None:
                raise NotFound(f"no map point {map_id}")
            return {
                "conversation_id": row.conversation_id,
                "dataset": self._name(conn, row.dataset_id),
                "prompt": row.prompt,
            }

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Index:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
