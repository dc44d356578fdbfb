"""The only backend-specific SQL: full-text DDL, writes, match and rank.

Everything else (tables, filters, paging) is shared SQLAlchemy Core.  Both
backends index the *pre-tokenised* text of :mod:`wildchat.explore.tokens`
(tokens separated by single spaces), so they agree on what matches:

* SQLite: a contentless FTS5 table ``conv_fts(body)`` whose rowid is the
  conversation's id, tokenizer ``unicode61 remove_diacritics 2``, fed the
  text with CJK runs expanded to bigrams.  Contentless keeps the file small
  (the text already lives, compressed, in the record; snippets are made in
  Python).  Deleting a row needs its exact indexed text, which is
  regenerated from the record (tokenisation is versioned by ``SCHEMA_VERSION``).
* PostgreSQL: table ``conv_fts(id, tsv)`` with a GIN index.  The tsvector is
  written as a literal with explicit positions, so PostgreSQL's parser never
  re-splits tokens; queries are tsquery literals (``'a' <-> 'b' & 'c'``).

Rank is returned so that *smaller is better* on both (FTS5 ``bm25()`` is
negative; PostgreSQL gets ``-ts_rank``), which lets paging share one keyset.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple, Protocol

from sqlalchemy import (
    Connection,
    Float,
    Integer,
    ScalarSelect,
    Select,
    TextClause,
    TextualSelect,
    bindparam,
    cast,
    column,
    func,
    literal_column,
    select,
    table,
    text,
)

from wildchat.explore.tables import conversations
from wildchat.explore.tokens import Terms, cjk_expand, index_text

__all__ = ["Dialect", "FtsParts", "PostgresDialect", "SqliteDialect", "dialect_for"]

#: PostgreSQL keeps positions up to 16383 and at most 256 per lexeme.
_PG_MAX_POS = 16383
_PG_MAX_POSITIONS = 255


class Dialect(Protocol):
    name: str

    def create_fts(self, conn: Connection) -> None: ...

    def prepare_body(self, text: str) -> str:
        """Conversation text (turns joined by newlines) -> what :meth:`insert_fts` stores."""
        ...

    def insert_fts(self, conn: Connection, rows: Sequence[tuple[int, str]]) -> None: ...

    def delete_fts(self, conn: Connection, rows: Sequence[tuple[int, str]]) -> None: ...

    def match(self, terms: Terms) -> TextualSelect:
        """``SELECT id, rank`` of matching conversations (bind parameter ``fts_q``)."""
        ...

    def match_param(self, terms: Terms) -> str: ...

    def match_ids(self) -> TextualSelect:
        """``SELECT id`` of matching conversations (no rank: for counts and joins)."""
        ...

    def exists_match(self) -> TextClause:
        """``EXISTS`` condition: the row of ``conversations`` matches (a per-row probe)."""
        ...

    def rank_probe(self) -> ScalarSelect[Any]:
        """Rank of the row of ``conversations`` (NULL when it does not match), by a per-row probe."""
        ...

    def match_within(self, filtered: Select[Any]) -> Select[Any] | None:
        """``SELECT id, rank`` of the matches whose id ``filtered`` (a ``SELECT id``) returns.

        ``None`` where the backend has no plan cheaper than the join.
        """
        ...

    def fts_parts(self) -> FtsParts:
        """The full-text table as a join partner: its id column, the match condition, the rank."""
        ...


class FtsParts(NamedTuple):
    """The full-text table for SQLAlchemy joins (bind parameter ``fts_q``); ``rank``: smaller is better."""

    table: Any
    id: Any
    match: Any
    rank: Any


class SqliteDialect:
    name = "sqlite"

    def fts_parts(self) -> FtsParts:
        fts = table("conv_fts", column("rowid"))
        fts_col: Any = literal_column("conv_fts")
        return FtsParts(fts, fts.c.rowid, fts_col.op("MATCH")(bindparam("fts_q")), func.bm25(fts_col))

    def create_fts(self, conn: Connection) -> None:
        conn.execute(
            text(
                "CREATE VIRTUAL TABLE IF NOT EXISTS conv_fts USING fts5("
                "body, content='', tokenize='unicode61 remove_diacritics 2')"
            )
        )

    def prepare_body(self, text: str) -> str:
        return cjk_expand(text)

    def match_ids(self) -> TextualSelect:
        return text("SELECT rowid AS id FROM conv_fts WHERE conv_fts MATCH :fts_q").columns(id=Integer)

    def exists_match(self) -> TextClause:
        return text(
            "EXISTS (SELECT 1 FROM conv_fts WHERE conv_fts MATCH :fts_q "
            "AND conv_fts.rowid = conversations.id)"
        )

    def rank_probe(self) -> ScalarSelect[Any]:
        fts = table("conv_fts", column("rowid"))
        return (
            select(func.bm25(literal_column("conv_fts")))
            .select_from(fts)
            .where(
                literal_column("conv_fts").op("MATCH")(bindparam("fts_q")), fts.c.rowid == conversations.c.id
            )
            .scalar_subquery()
        )

    def match_within(self, filtered: Select[Any]) -> Select[Any] | None:
        # One pass over the doclist; ``+rowid`` keeps FTS5 from taking the IN list as
        # per-value index probes (each re-reading the whole doclist for bm25's
        # statistics: 34 s for 5,000 ids at 1M), so SQLite checks membership in
        # the materialised filtered ids and computes bm25 only for rows that pass.
        fts = table("conv_fts", column("rowid"))
        return select(fts.c.rowid.label("id"), func.bm25(literal_column("conv_fts")).label("rank")).where(
            literal_column("conv_fts").op("MATCH")(bindparam("fts_q")),
            literal_column("+conv_fts.rowid").in_(filtered),
        )

    def insert_fts(self, conn: Connection, rows: Sequence[tuple[int, str]]) -> None:
        if rows:
            conn.exec_driver_sql("INSERT INTO conv_fts(rowid, body) VALUES (?, ?)", list(rows))

    def delete_fts(self, conn: Connection, rows: Sequence[tuple[int, str]]) -> None:
        if rows:
            conn.exec_driver_sql(
                "INSERT INTO conv_fts(conv_fts, rowid, body) VALUES ('delete', ?, ?)", list(rows)
            )

    def match_param(self, terms: Terms) -> str:
        # each chunk one double-quoted FTS5 string (quotes doubled): a phrase, never syntax
        return " AND ".join('"' + chunk.replace('"', '""') + '"' for chunk in terms.chunks)

    def match(self, terms: Terms) -> TextualSelect:
        return text(
            "SELECT rowid AS id, bm25(conv_fts) AS rank FROM conv_fts WHERE conv_fts MATCH :fts_q"
        ).columns(id=Integer, rank=Float)


def _pg_quote(token: str) -> str:
    return "'" + token.replace("\\", "\\\\").replace("'", "''") + "'"


def pg_tsvector_literal(body: str) -> str:
    """Space-separated tokens -> tsvector literal with positions (1-based, capped as PostgreSQL does)."""
    positions: dict[str, list[int]] = {}
    for i, tok in enumerate(body.split(" "), start=1):
        if not tok:
            continue
        plist = positions.setdefault(tok, [])
        if len(plist) < _PG_MAX_POSITIONS:
            plist.append(min(i, _PG_MAX_POS))
    return " ".join(f"{_pg_quote(t)}:{','.join(map(str, dict.fromkeys(p)))}" for t, p in positions.items())


class PostgresDialect:
    name = "postgresql"

    def fts_parts(self) -> FtsParts:
        from sqlalchemy.dialects.postgresql import DOUBLE_PRECISION, TSQUERY

        f = table("conv_fts", column("id"), column("tsv")).alias("f")
        q = cast(bindparam("fts_q"), TSQUERY)
        return FtsParts(f, f.c.id, f.c.tsv.op("@@")(q), -cast(func.ts_rank(f.c.tsv, q), DOUBLE_PRECISION))

    def create_fts(self, conn: Connection) -> None:
        conn.execute(
            text("CREATE TABLE IF NOT EXISTS conv_fts (id BIGINT PRIMARY KEY, tsv TSVECTOR NOT NULL)")
        )
        conn.execute(text("CREATE INDEX IF NOT EXISTS ix_conv_fts_tsv ON conv_fts USING GIN (tsv)"))

    def prepare_body(self, text: str) -> str:
        return pg_tsvector_literal(index_text(text))

    def match_ids(self) -> TextualSelect:
        return text("SELECT f.id AS id FROM conv_fts f WHERE f.tsv @@ CAST(:fts_q AS tsquery)").columns(
            id=Integer
        )

    def exists_match(self) -> TextClause:
        return text(
            "EXISTS (SELECT 1 FROM conv_fts f WHERE f.id = conversations.id "
            "AND f.tsv @@ CAST(:fts_q AS tsquery))"
        )

    def rank_probe(self) -> ScalarSelect[Any]:
        from sqlalchemy.dialects.postgresql import DOUBLE_PRECISION, TSQUERY

        f = table("conv_fts", column("id"), column("tsv")).alias("f")
        q = cast(bindparam("fts_q"), TSQUERY)
        return (
            select(-cast(func.ts_rank(f.c.tsv, q), DOUBLE_PRECISION))
            .where(f.c.id == conversations.c.id, f.c.tsv.op("@@")(q))
            .scalar_subquery()
        )

    def match_within(self, filtered: Select[Any]) -> Select[Any] | None:
        return None

    def insert_fts(self, conn: Connection, rows: Sequence[tuple[int, str]]) -> None:
        if rows:
            conn.execute(
                text("INSERT INTO conv_fts (id, tsv) VALUES (:id, CAST(:tsv AS tsvector))"),
                [{"id": i, "tsv": body} for i, body in rows],
            )

    def delete_fts(self, conn: Connection, rows: Sequence[tuple[int, str]]) -> None:
        if rows:
            conn.execute(text("DELETE FROM conv_fts WHERE id = :id"), [{"id": i} for i, _ in rows])

    def match_param(self, terms: Terms) -> str:
        def group(g: Sequence[str]) -> str:
            inner = " <-> ".join(_pg_quote(t) for t in g)
            return f"({inner})" if len(g) > 1 else inner

        return " & ".join(group(g) for g in terms.groups)

    def match(self, terms: Terms) -> TextualSelect:
        return text(
            "SELECT f.id AS id, -CAST(ts_rank(f.tsv, CAST(:fts_q AS tsquery)) AS double precision) AS rank "
            "FROM conv_fts f WHERE f.tsv @@ CAST(:fts_q AS tsquery)"
        ).columns(id=Integer, rank=Float)


def dialect_for(name: str) -> Any:
    """The :class:`Dialect` for a SQLAlchemy dialect name."""
    if name == "sqlite":
        return SqliteDialect()
    if name == "postgresql":
        return PostgresDialect()
    raise ValueError(f"unsupported database {name!r}: use sqlite:/// or postgresql+psycopg://")
