"""Alembic environment for the collection store.

Runs only with a connection handed in through ``config.attributes`` (see
``wildchat.collect.db.migrate``); it reads no ``alembic.ini`` and configures
no logging, so importing it has no side effects beyond Alembic's own.
"""

from __future__ import annotations

from alembic import context

from wildchat.collect.db.models import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through wildchat.collect.db.migrate.migrate(engine)")
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
