"""`wildchat takedown add|list|export|key` and `wildchat purge`: the operator side of deletion.

Every command migrates the database first (so an older database gains the
ledger table) and finds the deployment's ledger key like curation does
(:func:`wildchat.ledger.resolve_ledger_key`: ``WILDCHAT_LEDGER_KEY``,
``WILDCHAT_SECRET_KEY``, ``--config``'s ``secret_key``, or the dev key file).
Bad input exits 2 with one line on stderr and changes nothing.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from wildchat.ledger import LedgerKey

__all__ = ["purge", "takedown_app"]

takedown_app = typer.Typer(
    help="Takedowns: delete conversations and keep keyed tombstones (the ledger) for later releases.",
    no_args_is_help=True,
)

_CID = re.compile(r"^[0-9a-f]{32}$")
_HIP = re.compile(r"^[0-9a-f]{64}$")
_DB_HELP = "Collection database URL (sqlite:///PATH or postgresql+psycopg://...)."
_CONFIG_HELP = "Server config (TOML) holding secret_key / retention_days."


def _fail(message: str) -> typer.Exit:
    typer.echo(f"wildchat takedown: {message}", err=True)
    return typer.Exit(2)


def _engine(db: str) -> Engine:
    from wildchat.collect.db.migrate import ensure_migrated
    from wildchat.collect.db.session import make_engine
    from wildchat.web.settings import database_url

    try:
        db = database_url(db)
    except ValueError:
        raise _fail("--db must be sqlite:///PATH or postgresql+psycopg://USER@HOST/DB") from None
    engine = make_engine(db, pool_size=1, max_overflow=0)
    ensure_migrated(engine)
    return engine


def _key(config: Path | None) -> LedgerKey:
    from wildchat.ledger import LedgerError, resolve_ledger_key

    try:
        return resolve_ledger_key(config)
    except LedgerError as exc:
        raise _fail(str(exc)) from exc


@takedown_app.command("add")
def add(
    db: str = typer.Option(..., "--db", help=_DB_HELP),
    reason: str = typer.Option(
        ..., "--reason", help="Why (e.g. 'e-mail request 2026-12-01'); never the text."
    ),
    conversation_id: str | None = typer.Option(None, "--conversation-id", help="Collector conversation id."),
    text: str | None = typer.Option(
        None, "--text", help="Every conversation with a user turn containing this."
    ),
    hashed_ip: str | None = typer.Option(
        None, "--hashed-ip", help="Every conversation of this IP pseudonym."
    ),
    config: Path | None = typer.Option(None, "--config", help=_CONFIG_HELP),
) -> None:
    """Delete matching conversations from the database and record tombstones in the ledger."""
    from wildchat.collect.takedown import MIN_TEXT_CHARS, takedown
    from wildchat.ledger import LedgerError

    if sum(x is not None for x in (conversation_id, text, hashed_ip)) != 1:
        raise _fail("give exactly one of --conversation-id, --text, --hashed-ip")
    if not reason.strip():
        raise _fail("--reason must not be empty")
    if text is not None and len(text.strip()) < MIN_TEXT_CHARS:
        raise _fail(f"--text is too broad: give at least {MIN_TEXT_CHARS} characters")
    if text is not None and text.strip().lower() in reason.lower():
        raise _fail("--reason must not contain the taken-down text (the ledger never holds text)")
    if conversation_id is not None and not _CID.match(conversation_id):
        raise _fail("--conversation-id must be 32 hex characters")
    if hashed_ip is not None and not _HIP.match(hashed_ip):
        raise _fail("--hashed-ip must be a 64-hex pseudonym as in raw exports")
    key = _key(config)
    engine = _engine(db)
    try:
        n = takedown(
            engine,
            key,
            reason=reason.strip(),
            conversation_id=conversation_id,
            text=text,
            hashed_ip=hashed_ip,
        )
    except LedgerError as exc:
        raise _fail(str(exc)) from exc
    finally:
        engine.dispose()
    typer.echo(f"deleted {n} conversation(s); tombstones recorded in the takedown ledger")


@takedown_app.command("list")
def list_(
    db: str = typer.Option(..., "--db", help=_DB_HELP),
    out: Path | None = typer.Option(None, "--out", help="Write the listing here instead of stdout."),
) -> None:
    """One line per ledger entry: id, time, kind, cause, exchanges, reason (no hashes, no text)."""
    from wildchat.collect.takedown import ledger_entries

    engine = _engine(db)
    try:
        lines = [
            "\t".join(
                (
                    str(e.id),
                    e.created_at,
                    e.kind,
                    e.cause,
                    f"{len(e.exchange_hashes)} exchange(s)",
                    e.reason or "",
                )
            )
            for e in ledger_entries(engine)
        ]
    finally:
        engine.dispose()
    text = "".join(line + "\n" for line in lines)
    if out is None:
        sys.stdout.write(text)
    else:
        out.write_text(text, encoding="utf-8")
        typer.echo(f"{len(lines)} entr{'y' if len(lines) == 1 else 'ies'} -> {out}", err=True)


@takedown_app.command("export")
def export(
    db: str = typer.Option(..., "--db", help=_DB_HELP),
    out: Path | None = typer.Option(None, "--out", help="Ledger JSONL (0600); stdout if omitted."),
    config: Path | None = typer.Option(None, "--config", help=_CONFIG_HELP),
) -> None:
    """Write the ledger as JSONL (keyed hashes only) for `wildchat curate --takedowns`."""
    import orjson

    from wildchat.collect.takedown import ledger_entries
    from wildchat.ledger import LedgerError, write_ledger

    engine = _engine(db)
    try:
        entries = list(ledger_entries(engine))
    finally:
        engine.dispose()
    fingerprints = {e.key_fingerprint for e in entries}
    if len(fingerprints) > 1:
        raise _fail("the database's ledger mixes keys (the secret key was changed); cannot export one ledger")
    fingerprint = fingerprints.pop() if fingerprints else _key(config).fingerprint
    if out is None:
        sys.stdout.write(
            orjson.dumps({"wildchat_takedown_ledger": 1, "key_fingerprint": fingerprint}).decode()
        )
        sys.stdout.write("\n")
        for e in entries:
            sys.stdout.write(orjson.dumps(e.to_json()).decode() + "\n")
        return
    try:
        n = write_ledger(out, entries, fingerprint)
    except LedgerError as exc:
        raise _fail(str(exc)) from exc
    typer.echo(f"{n} ledger entr{'y' if n == 1 else 'ies'} -> {out}", err=True)


@takedown_app.command("key")
def key(config: Path | None = typer.Option(None, "--config", help=_CONFIG_HELP)) -> None:
    """Print the ledger key (64 hex) to give a curator as WILDCHAT_LEDGER_KEY (not the server secret)."""
    typer.echo(_key(config).key.hex())


def purge(
    db: str = typer.Option(..., "--db", help=_DB_HELP),
    older_than: float | None = typer.Option(
        None, "--older-than", help="Age in days (default: retention_days of --config)."
    ),
    dry_run: bool = typer.Option(False, "--dry-run", help="Only count what would be deleted."),
    config: Path | None = typer.Option(None, "--config", help=_CONFIG_HELP),
) -> None:
    """Retention: hard-delete conversations whose newest message is older than DAYS (tombstoned)."""
    import tomllib

    from wildchat.collect.takedown import purge_older_than

    if older_than is None and config is not None:
        try:
            with open(config, "rb") as fh:
                data = tomllib.load(fh)
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise _fail(f"cannot read --config: {type(exc).__name__}") from exc
        days = (data.get("server") or {}).get("retention_days", data.get("retention_days"))
        older_than = float(days) if isinstance(days, int | float) and not isinstance(days, bool) else None
    if older_than is None:
        raise _fail("give --older-than DAYS or a --config with retention_days")
    if older_than < 0 or older_than != older_than:
        raise _fail("--older-than must not be negative")
    ledger_key = None if dry_run else _key(config)  # a dry run writes nothing: no key needed
    engine = _engine(db)
    try:
        n = purge_older_than(engine, ledger_key, older_than, dry_run=dry_run)
    finally:
        engine.dispose()
    verb = "would delete" if dry_run else "deleted"
    typer.echo(f"{verb} {n} conversation(s) older than {older_than:g} day(s)")
