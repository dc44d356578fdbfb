"""The OpenAI-compatible gateway: API keys, content addresses and sources of turns, tombstones.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "api_keys",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("prefix", sa.String(16), nullable=False, unique=True),
        sa.Column("digest", sa.String(64), nullable=False, unique=True),
        sa.Column("consent_id", sa.String(32), sa.ForeignKey("consents.id"), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("revoked_at", _TS),
    )
    op.create_index("ix_api_keys_consent_id", "api_keys", ["consent_id"])
    # Plain ADD COLUMN (nullable, no default): no table copy on SQLite, no rewrite on PostgreSQL.
    op.add_column("turns", sa.Column("source", sa.String(16)))
    op.add_column("turns", sa.Column("address", sa.String(32)))
    op.add_column("turns", sa.Column("unsupported", sa.Integer()))
    op.create_index("ix_turns_address", "turns", ["address"])
    op.create_table(
        "gateway_tombstones",
        sa.Column("address", sa.String(32), primary_key=True),
        sa.Column("created_at", _TS, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("gateway_tombstones")
    op.drop_index("ix_turns_address", "turns")
    with op.batch_alter_table("turns") as batch:
        batch.drop_column("unsupported")
        batch.drop_column("address")
        batch.drop_column("source")
    op.drop_index("ix_api_keys_consent_id", "api_keys")
    op.drop_table("api_keys")
