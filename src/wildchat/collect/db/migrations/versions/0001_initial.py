"""Initial schema: consents, conversations, turns.

Revision ID: 0001
Revises:
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_TURN_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "consents",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("version", sa.String(64), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("hashed_ip", sa.String(64)),
        sa.Column("ip", sa.String(45)),
        sa.Column("country", sa.String(128)),
        sa.Column("state", sa.String(128)),
        sa.Column("user_agent", sa.String(512)),
        sa.Column("accept_language", sa.String(256)),
    )
    op.create_table(
        "conversations",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("consent_id", sa.String(32), sa.ForeignKey("consents.id"), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
    )
    op.create_index("ix_conversations_consent_id", "conversations", ["consent_id"])
    op.create_table(
        "turns",
        sa.Column("id", _TURN_ID, primary_key=True, autoincrement=True),
        sa.Column("conversation_id", sa.String(32), sa.ForeignKey("conversations.id"), nullable=False),
        sa.Column("parent_id", _TURN_ID, sa.ForeignKey("turns.id")),
        sa.Column("turn_index", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("user_agent", sa.String(512)),
        sa.Column("accept_language", sa.String(256)),
        sa.Column("hashed_ip", sa.String(64)),
        sa.Column("ip", sa.String(45)),
        sa.Column("country", sa.String(128)),
        sa.Column("state", sa.String(128)),
        sa.Column("request_id", sa.String(32), unique=True),
        sa.Column("model", sa.String(64)),
        sa.Column("backend_model", sa.String(256)),
        sa.Column("requested_at", _TS),
        sa.Column("finished_at", _TS),
        sa.Column("finish_reason", sa.String(32)),
        sa.Column("params", sa.JSON()),
        sa.Column("usage", sa.JSON()),
        sa.Column("error", sa.Text()),
    )
    op.create_index("ix_turns_conversation", "turns", ["conversation_id", "id"])
    op.create_index("ix_turns_finished_at", "turns", ["finished_at"])


def downgrade() -> None:
    op.drop_table("turns")
    op.drop_table("conversations")
    op.drop_table("consents")
