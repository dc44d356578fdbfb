"""Storage: typed ORM models, engine/session factory and Alembic migrations."""
