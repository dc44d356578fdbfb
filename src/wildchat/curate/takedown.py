"""Wiring takedown ledgers into a curation run (the stage itself is ``stages/takedown.py``).

``wildchat curate --takedowns FILE`` and ``--db URL`` call :func:`add_takedowns`
before the run: it loads the ledger files and, with a database, the
database's own ledger, checks every one was made under this deployment's
ledger key (:class:`wildchat.ledger.LedgerError` otherwise: refused, nothing
curated), and puts the ``takedown`` stage first in the pipeline.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from wildchat.curate.stages.config import CurateConfig
from wildchat.ledger import LedgerError, LedgerKey, LedgerSet, read_ledger, resolve_ledger_key

__all__ = ["add_takedowns", "database_ledger"]


def database_ledger(db_url: str, key: LedgerKey) -> LedgerSet:
    """The collection database's ledger as a :class:`LedgerSet` (refused if written under another key)."""
    from wildchat.collect.db.migrate import ensure_migrated
    from wildchat.collect.db.session import make_engine
    from wildchat.collect.takedown import ledger_entries

    engine = make_engine(db_url, pool_size=1, max_overflow=0)
    out = LedgerSet(key.fingerprint)
    try:
        ensure_migrated(engine)
        for entry in ledger_entries(engine):
            out.add(entry)
    finally:
        engine.dispose()
    return out


def add_takedowns(
    cfg: CurateConfig,
    ledgers: Sequence[Path],
    db_url: str | None = None,
    key: LedgerKey | None = None,
) -> LedgerSet | None:
    """Insert the ``takedown`` stage first in ``cfg`` with every ledger's hashes; returns them.

    ``key`` defaults to :func:`wildchat.ledger.resolve_ledger_key` (environment
    or dev key file); with only ``db_url`` and no key available, nothing is
    added when the database's ledger is empty.  Raises :class:`LedgerError`.
    """
    if not ledgers and db_url is None:
        return None
    if key is None:
        try:
            key = resolve_ledger_key()
        except LedgerError:
            if ledgers or (db_url is not None and _db_has_ledger(db_url)):
                raise
            return None
    merged = read_ledger(list(ledgers), key)
    if db_url is not None:
        db = database_ledger(db_url, key)
        merged.conversations.update(db.conversations)
        merged.exchanges.update(db.exchanges)
        merged.ips.update(db.ips)
    conf = {
        "ledger_key": key.key.hex(),
        "conversations": dict(sorted(merged.conversations.items())),
        "exchanges": dict(sorted(merged.exchanges.items())),
        "ips": dict(sorted(merged.ips.items())),
    }
    cfg.stages = [(n, c) for n, c in cfg.stages if n != "takedown"]
    cfg.stages.insert(0, ("takedown", conf))
    return merged


def _db_has_ledger(db_url: str) -> bool:
    from sqlalchemy import inspect, select

    from wildchat.collect.db.models import LedgerRow
    from wildchat.collect.db.session import make_engine

    engine = make_engine(db_url, pool_size=1, max_overflow=0)
    try:
        if not inspect(engine).has_table("takedown_ledger"):
            return False
        with engine.connect() as conn:
            return conn.execute(select(LedgerRow.id).limit(1)).first() is not None
    finally:
        engine.dispose()
