"""`wildchat serve` and `wildchat export-logs` (collection server).

Heavy imports (FastAPI, SQLAlchemy, uvicorn) happen inside the commands so
``wildchat --help`` stays fast and works without the ``serve`` extra.
"""

from __future__ import annotations

import os
import shutil
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import typer


def _settings_or_exit(config: Path | None, **overrides: Any) -> Any:
    """Settings, or a readable error (without echoing values: they may hold the key) and exit 2."""
    import tomllib

    from pydantic import ValidationError

    from wildchat.collect.settings import load_settings

    try:
        return load_settings(config, **overrides)
    except ValidationError as exc:
        for err in exc.errors():
            loc = ".".join(str(p) for p in err["loc"]) or "settings"
            typer.echo(f"wildchat serve: {loc}: {err['msg']}", err=True)
    except (OSError, tomllib.TOMLDecodeError, ValueError) as exc:
        typer.echo(f"wildchat serve: {exc}", err=True)
    raise typer.Exit(2)


def serve(
    config: Path | None = typer.Option(None, "--config", help="TOML config file (see docs/collect.md)."),
    host: str = typer.Option("127.0.0.1", "--host", help="Interface to listen on."),
    port: int = typer.Option(8000, "--port", help="TCP port."),
    workers: int = typer.Option(1, "--workers", min=1, help="Server processes (use Redis for rate limits)."),
    dev: bool = typer.Option(False, "--dev", help="Development mode: generate and keep a secret key."),
    data_dir: Path | None = typer.Option(None, "--data-dir", help="SQLite file, dev key [./data]."),
    database_url: str | None = typer.Option(None, "--database-url", help="sqlite:///… or postgresql+psycopg://…"),
    model: list[str] | None = typer.Option(None, "--model", help="NAME=BACKEND[:ARG][?k=v&…], repeatable."),
    redis_url: str | None = typer.Option(None, "--redis-url", help="redis://… for shared rate limits."),
    trusted_proxy: list[str] | None = typer.Option(None, "--trusted-proxy", help="Proxy IP/CIDR (repeat)."),
    log_level: str = typer.Option("info", "--log-level", help="uvicorn log level."),
) -> None:
    """Serve the consent-gated chatbot that logs every turn."""
    import uvicorn

    from wildchat.collect.app import create_app
    from wildchat.collect.db.migrate import ensure_migrated
    from wildchat.collect.db.session import make_engine

    settings = _settings_or_exit(
        config,
        dev=True if dev else None,
        data_dir=data_dir,
        database_url=database_url,
        models=model or None,
        redis_url=redis_url,
        trusted_proxies=trusted_proxy or None,
    )
    if settings.dev:
        typer.echo("wildchat serve: dev mode (keys kept in the data dir); not for production", err=True)
    if workers > 1 and settings.redis_url is None:
        typer.echo("wildchat serve: several workers without redis_url: rate limits are per worker", err=True)
    engine = make_engine(settings.resolved_database_url, pool_size=1, max_overflow=0)
    try:  # once here, before any worker starts: the app's own check then finds the database current
        ensure_migrated(engine)
    except Exception as exc:
        typer.echo(f"wildchat serve: cannot prepare the database: {type(exc).__name__}", err=True)
        raise typer.Exit(1) from exc
    finally:
        engine.dispose()
    common: dict[str, Any] = {
        "host": host,
        "port": port,
        "log_level": log_level,
        "proxy_headers": False,  # X-Forwarded-For is handled by the app, for trusted proxies only
        "server_header": False,
        "access_log": False,  # uvicorn access lines carry the raw client IP
    }
    try:  # builds every backend: a missing model or package is reported before listening
        app = create_app(settings, freeze_gc=True)
    except (OSError, ValueError, RuntimeError, ImportError) as exc:
        typer.echo(f"wildchat serve: {exc}", err=True)
        raise typer.Exit(2) from exc
    if workers == 1:
        uvicorn.run(app, **common)
        return
    app.state.services.engine.dispose()
    _run_workers(settings, workers, common)


def _run_workers(settings: Any, workers: int, common: dict[str, Any]) -> None:
    """uvicorn with ``workers`` processes that re-read ``settings`` from a private 0600 file.

    The environment the workers inherit holds only that file's path, never a
    key; the file's 0700 folder is removed when the server stops.
    """
    import uvicorn

    from wildchat.collect.app import ENV_SETTINGS_FILE, write_worker_settings

    settings_file = write_worker_settings(settings)
    os.environ[ENV_SETTINGS_FILE] = str(settings_file)
    try:
        uvicorn.run("wildchat.collect.app:app_from_env", factory=True, workers=workers, **common)
    finally:
        os.environ.pop(ENV_SETTINGS_FILE, None)
        shutil.rmtree(settings_file.parent, ignore_errors=True)


def _parse_since(text: str) -> datetime:
    from wildchat.schema import RecordError, parse_timestamp

    try:
        return parse_timestamp(float(text) if text.replace(".", "", 1).isdigit() else text, "--since")
    except RecordError:
        try:
            return datetime.combine(date.fromisoformat(text), datetime.min.time(), tzinfo=UTC)
        except ValueError:
            raise typer.BadParameter("use RFC 3339 with an offset, a date (UTC), or epoch seconds") from None


def export_logs(
    db: str = typer.Option(..., "--db", help="Database URL (sqlite:///… or postgresql+psycopg://…)."),
    out: Path = typer.Option(..., "--out", help="Output file: .jsonl or .parquet (raw log v1)."),
    since: str | None = typer.Option(None, "--since", help="Only exchanges finished at/after this time."),
) -> None:
    """Export collected conversations as raw log v1 (one record per exchange)."""
    from wildchat.collect.export import export_logs as run_export

    if not out.name.endswith((".jsonl", ".parquet")):
        raise typer.BadParameter("--out must end in .jsonl or .parquet")
    since_ts = _parse_since(since) if since else None
    try:
        stats = run_export(db, out, since_ts)
    except Exception as exc:
        typer.echo(f"wildchat export-logs: {type(exc).__name__}: {exc}", err=True)
        raise typer.Exit(1) from exc
    typer.echo(
        f"wrote {stats.records} records from {stats.conversations} conversations to {out}"
        f" ({stats.incomplete} without a stored reply)",
        err=True,
    )
