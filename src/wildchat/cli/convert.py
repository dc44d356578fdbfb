"""`wildchat convert` (foundation issue)."""

from __future__ import annotations

import typer


def convert() -> None:
    """Convert chat-log files to release-schema Parquet."""
    typer.echo("wildchat convert: not built yet", err=True)
    raise typer.Exit(2)
