"""``wildchat pii whitelist IN.parquet... -o whitelist.json``: the public-entity whitelist's first pass.

See :mod:`wildchat.enrich.pii.whitelist`: reads release-schema Parquet
files (WildChat format, not yet redacted), counts detected values per
distinct user and writes the digests of the public ones
(:func:`wildchat.curate.stages.pii.build_whitelist`); ``wildchat curate``
then takes the file as the ``pii`` stage's ``whitelist_path``.  Prints
counts only, never values.  Exit 2 (nothing written) when an input is not a
file.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from enum import StrEnum
from pathlib import Path
from typing import Any

import typer

__all__ = ["pii_app", "whitelist"]

pii_app = typer.Typer(help="PII redaction helpers (the public-entity whitelist).", no_args_is_help=True)


class Policy(StrEnum):
    """The PII policies a whitelist can be counted under."""

    wildchat = "wildchat"
    strict = "strict"


def _batches(paths: Sequence[Path], batch_size: int) -> Iterator[Any]:
    import pyarrow.parquet as pq

    for path in paths:
        yield from pq.ParquetFile(path).iter_batches(batch_size=batch_size)


@pii_app.command("whitelist")
def whitelist(
    inputs: list[Path] = typer.Argument(..., help="Release-schema Parquet files."),
    out: Path = typer.Option(..., "--out", "-o", help="Whitelist JSON to write."),
    policy: Policy = typer.Option(Policy.wildchat, "--policy", help="PII policy."),
    min_users_person: int = typer.Option(
        50, "--min-users-person", help="Distinct users before a name is public."
    ),
    min_users_other: int = typer.Option(
        10, "--min-users-other", help="Distinct users before other values are."
    ),
    no_ner: bool = typer.Option(False, "--no-ner", help="Skip NER (names are then never counted)."),
    batch_size: int = typer.Option(256, "--batch-size", min=1, help="Rows per Parquet batch."),
) -> None:
    """First pass: count entities per distinct user and write the public ones' digests."""
    missing = [str(p) for p in inputs if not p.is_file()]
    if missing:
        typer.echo(f"not a file: {', '.join(missing)}", err=True)
        raise typer.Exit(2)
    from wildchat.curate.stages.pii import build_whitelist

    found = build_whitelist(
        _batches(inputs, batch_size),
        policy=policy.value,
        ner=not no_ner,
        whitelist_min_users_person=min_users_person,
        whitelist_min_users_other=min_users_other,
    )
    found.save(out)
    typer.echo(f"{len(found)} public entity values -> {out}")
