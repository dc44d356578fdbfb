"""Participant rights: consent documents, withdrawal, the takedown ledger.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TS = sa.DateTime(timezone=True)
_FK = "fk_consents_document_id"


def upgrade() -> None:
    op.create_table(
        "consent_documents",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("sha256", sa.String(64), nullable=False, unique=True),
        sa.Column("version", sa.String(64), nullable=False),
        sa.Column("language", sa.String(35), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
    )
    # Plain ADD COLUMN, no batch table copy: on SQLite that copy would drop a table that
    # conversations reference.
    if op.get_bind().dialect.name == "sqlite":  # SQLite's ADD COLUMN takes a column REFERENCES clause
        op.execute(
            f"ALTER TABLE consents ADD COLUMN document_id INTEGER "
            f"CONSTRAINT {_FK} REFERENCES consent_documents (id)"
        )
    else:
        op.add_column("consents", sa.Column("document_id", _ID))
        op.create_foreign_key(_FK, "consents", "consent_documents", ["document_id"], ["id"])
    op.add_column("consents", sa.Column("withdrawn_at", _TS))
    op.create_table(
        "takedown_ledger",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("cause", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(512)),
        sa.Column("key_fingerprint", sa.String(32), nullable=False),
        sa.Column("conversation_hash", sa.String(64)),
        sa.Column("ip_hash", sa.String(64)),
        sa.Column("exchange_hashes", sa.JSON()),
    )
    op.create_index("ix_takedown_ledger_created_at", "takedown_ledger", ["created_at"])
    # Purges find old conversations by their turns' age; user turns by IP for hashed-IP takedowns.
    op.create_index("ix_turns_created_at", "turns", ["created_at"])
    op.create_index("ix_turns_hashed_ip", "turns", ["hashed_ip"])
    # Deleting a turn makes PostgreSQL check that no turn points at it (parent_id): a table scan
    # per deleted row without this index (a 1,000-turn withdrawal took 11 s on 10k turns).
    op.create_index("ix_turns_parent_id", "turns", ["parent_id"])


def downgrade() -> None:
    op.drop_index("ix_turns_parent_id", "turns")
    op.drop_index("ix_turns_hashed_ip", "turns")
    op.drop_index("ix_turns_created_at", "turns")
    op.drop_table("takedown_ledger")
    if op.get_bind().dialect.name != "sqlite":
        op.drop_constraint(_FK, "consents", type_="foreignkey")
    with op.batch_alter_table("consents") as batch:
        batch.drop_column("withdrawn_at")
        batch.drop_column("document_id")
    op.drop_table("consent_documents")
