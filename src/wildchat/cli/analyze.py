"""`wildchat analyze` (analysis report issue)."""

from __future__ import annotations

import typer


def analyze() -> None:
    """Write the WildChat paper's tables and figures for chat datasets."""
    typer.echo("wildchat analyze: not built yet (analysis issue)", err=True)
    raise typer.Exit(2)
