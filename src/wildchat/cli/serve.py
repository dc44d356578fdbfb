"""`wildchat serve` and `wildchat export-logs` (collection server issue)."""

from __future__ import annotations

import typer


def serve() -> None:
    """Serve the consent-gated chatbot that logs every turn."""
    typer.echo("wildchat serve: not built yet (collection server issue)", err=True)
    raise typer.Exit(2)


def export_logs() -> None:
    """Export collected conversations as raw log v1."""
    typer.echo("wildchat export-logs: not built yet (collection server issue)", err=True)
    raise typer.Exit(2)
