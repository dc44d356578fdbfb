"""`wildchat curate` (curation pipeline issue)."""

from __future__ import annotations

import typer


def curate() -> None:
    """Curate raw logs into a release in the WildChat-1M schema."""
    typer.echo("wildchat curate: not built yet (curation issue)", err=True)
    raise typer.Exit(2)
