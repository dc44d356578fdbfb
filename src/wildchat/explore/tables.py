"""The explorer index's tables, as SQLAlchemy Core metadata shared by both backends.

* ``meta`` -- key/value JSON: schema + tokenizer version, cached facets, the
  map's PCA projection.
* ``datasets`` -- one row per loaded dataset, with sizes and answerable filters
  refreshed after every build.
* ``sources`` -- one row per indexed input file: fingerprint
  (path, size, mtime_ns), ``done`` = conversations committed so far,
  ``complete`` once the whole file is in.  This is what makes builds
  incremental (complete + same fingerprint = skipped) and resumable
  (incomplete = continue after the first ``done`` conversations).
* ``conversations`` -- one row per conversation: the filter columns, all
  indexed.  Kept lean on purpose: searches with filters join every
  full-text match to this table, and at a million rows that join is only fast
  while the table stays in the page cache.
* ``records`` -- the first user prompt and the release-schema record
  (zstd-compressed JSON), read only for the rows of one page.
  ``ts`` is epoch microseconds, :data:`NO_TS` when unknown (a sentinel rather
  than NULL so both backends order it the same way).
* ``map_points`` -- embedding-map coordinates; the point id *is* the
  conversation's row id.
* the full-text table is dialect-specific (FTS5 virtual table / tsvector
  column with a GIN index) and lives in :mod:`wildchat.explore.dialects`.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Table,
    Text,
    UniqueConstraint,
)

__all__ = [
    "NO_TS",
    "SCHEMA_VERSION",
    "conversations",
    "datasets",
    "map_points",
    "meta",
    "metadata",
    "records",
    "sources",
]

#: Bumped whenever tables or tokenisation change; an index of another version is rebuilt.
SCHEMA_VERSION = 1
#: ``conversations.ts`` of a conversation without a timestamp.
NO_TS = -1

#: Row ids: BIGINT on PostgreSQL; on SQLite exactly ``INTEGER PRIMARY KEY`` so the column *is* the
#: rowid (a BIGINT primary key would be a second index, doubling every lookup by id).
ROW_ID = BigInteger().with_variant(Integer(), "sqlite")

metadata = MetaData()

meta = Table(
    "explore_meta",
    metadata,
    Column("key", Text, primary_key=True),
    Column("value", Text, nullable=False),
)

datasets = Table(
    "datasets",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("name", Text, nullable=False, unique=True),
    Column("conversations", BigInteger, nullable=False, default=0),
    Column("turns", BigInteger, nullable=False, default=0),
    Column("filters", Text, nullable=False, default="[]"),
    Column("map_points", BigInteger, nullable=False, default=0),
)

sources = Table(
    "sources",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("dataset_id", Integer, ForeignKey("datasets.id"), nullable=False),
    Column("path", Text, nullable=False),
    Column("format", Text, nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("mtime_ns", BigInteger, nullable=False),
    Column("done", BigInteger, nullable=False, default=0),
    Column("complete", Boolean, nullable=False, default=False),
    Column("skips", Text, nullable=False, default="{}"),
    UniqueConstraint("dataset_id", "path", name="uq_sources_dataset_path"),
)

conversations = Table(
    "conversations",
    metadata,
    Column("id", ROW_ID, primary_key=True, autoincrement=False),
    Column("conversation_id", Text, nullable=False, unique=True),
    Column("dataset_id", Integer, nullable=False),
    Column("source_id", Integer, nullable=False),
    Column("model", Text),
    Column("language", Text),
    Column("country", Text),
    Column("state", Text),
    Column("hashed_ip", Text),
    Column("ts", BigInteger, nullable=False),
    Column("turn", Integer, nullable=False),
    Column("toxic", Boolean),
    Column("redacted", Boolean),
    Column("jailbreak", Boolean),
    Column("map_id", BigInteger),
    Index("ix_conv_ts", "ts", "id"),
    Index("ix_conv_dataset_ts", "dataset_id", "ts"),
    Index("ix_conv_source", "source_id"),
    Index("ix_conv_model", "model"),
    Index("ix_conv_language", "language"),
    Index("ix_conv_country", "country"),
    Index("ix_conv_state", "state"),
    Index("ix_conv_hashed_ip", "hashed_ip", "ts", "id"),
    Index("ix_conv_turn", "turn"),
    Index("ix_conv_toxic", "toxic"),
    Index("ix_conv_redacted", "redacted"),
    Index("ix_conv_jailbreak", "jailbreak"),
)

records = Table(
    "records",
    metadata,
    Column("id", ROW_ID, primary_key=True, autoincrement=False),
    Column("prompt", Text, nullable=False),
    Column("record", LargeBinary, nullable=False),
)

map_points = Table(
    "map_points",
    metadata,
    Column("id", ROW_ID, primary_key=True, autoincrement=False),
    Column("dataset_id", Integer, nullable=False),
    Column("language", Text),
    Column("x", Float, nullable=False),
    Column("y", Float, nullable=False),
)
