"""Alembic migration scripts of the collection store (run by ``wildchat.collect.db.migrate``)."""
