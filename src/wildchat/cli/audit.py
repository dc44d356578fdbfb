"""`wildchat audit`: the pre-publication gate for a curated release.

Exit status: 0 clean, 1 findings to fix (PII or secrets left in any split,
ids shared with a ``--previous`` release, a release marked NOT PII-redacted),
2 bad input (not a release, an older release format, a missing split,
corrupt Parquet: the message names the file and nothing is written).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import typer


def _table(doc: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    from wildchat.audit.detect import KINDS

    console = Console()
    table = Table(title=f"wildchat audit: {doc['release']}")
    for col in ("kind", "found", "to fix", "full", "public", "first location"):
        table.add_column(col, justify="right" if col in ("found", "to fix", "full", "public") else "left")
    for kind in dict.fromkeys(KINDS.values()):
        k = doc[kind]
        loc = k["locations"][0] if k["locations"] else None
        where = (
            f"{loc['split']} {str(loc['conversation_id'])[:12]} turn {loc['turn']} {loc['field']}"
            if loc
            else ""
        )
        if kind == "names" and k.get("skipped"):
            where = f"skipped: {k['skipped']}"
        style = "bold red" if k["blocking"] else None
        table.add_row(kind, str(k["count"]), str(k["blocking"]), str(k["by_split"]["full"]),
                      str(k["by_split"]["public"]), where, style=style)  # fmt: skip
    console.print(table)
    for prev in doc["previous"]:
        ids = prev["ids"]
        shared = ", ".join(f"{n} {v['shared']}" for n, v in ids.items())
        console.print(f"shared with {prev['release']}: {shared}")
    q = doc["quasi_identifiers"]
    console.print(
        f"quasi-identifiers: {q['unique_users']}/{q['users']} users ({100 * q['unique_share']:.1f}%) "
        f"unique on ({', '.join(q['tuple'])}); k distribution {q['k_distribution']}"
    )
    for rec in doc["recommendations"]:
        console.print(f"recommendation: {rec}")
    verdict = "[green]clean[/green]" if doc["exit_code"] == 0 else "[bold red]findings to fix[/bold red]"
    console.print(f"audit: {verdict}")


def audit(
    release: Path = typer.Argument(..., help="Release folder written by `wildchat curate`."),
    previous: list[Path] = typer.Option(
        [], "--previous", help="An older release of overlapping logs: report shared ids (repeatable)."
    ),
    json_out: Path | None = typer.Option(None, "--json", help="Write the full report as JSON here (for CI)."),
    strict: bool = typer.Option(
        False, "--strict", help="Every strict finding blocks (also IBANs, cue-less phones, sample e-mails)."
    ),
    names: bool = typer.Option(True, "--names/--no-names", help="Run the name check (NER after name cues)."),
    batch_size: int = typer.Option(1024, "--batch-size", min=1, help="Conversations per scanned batch."),
    workers: int = typer.Option(1, "--workers", min=1, help="Processes scanning shards in parallel."),
) -> None:
    """Scan a release for PII, secrets, linkable ids and quasi-identifiers before publishing it."""
    from wildchat.audit import AuditInputError, audit_release

    if json_out is not None and json_out.parent and not json_out.parent.is_dir():
        typer.echo(f"wildchat audit: {json_out.parent}: no such folder for --json", err=True)
        raise typer.Exit(2)
    try:
        report = audit_release(
            release, previous, strict=strict, names=names, batch_size=batch_size, workers=workers
        )
    except AuditInputError as exc:
        typer.echo(f"wildchat audit: {exc}", err=True)
        raise typer.Exit(2) from exc
    doc = report.to_json()
    _table(doc)
    if json_out is not None:
        tmp = json_out.with_name(json_out.name + ".tmp")
        tmp.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        os.replace(tmp, json_out)
    raise typer.Exit(report.exit_code)
