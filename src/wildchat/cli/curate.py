"""`wildchat curate`: raw logs -> a releasable dataset (curation pipeline issue)."""

from __future__ import annotations

from pathlib import Path

import typer


def _list_stages() -> None:
    from wildchat.curate.stages.config import DEFAULT_STAGES
    from wildchat.curate.stages import available_stages

    typer.echo(
        "link (always first, global): link logs into conversations; prefix/duplicate/retry/branch rules"
    )
    for name, cls in available_stages().items():
        mark = "*" if name in DEFAULT_STAGES else " "
        reasons = f"  [drops: {', '.join(cls.reasons)}]" if cls.reasons else ""
        typer.echo(f"{mark} {name}: {cls.description}{reasons}")
        for key, value in sorted(cls.defaults.items()):
            shown = "<secret>" if key in cls.secret_keys and value else repr(value)
            typer.echo(f"      {name}.{key} = {shown}")
    typer.echo("(* = in the default pipeline, in this order: " + ", ".join(DEFAULT_STAGES) + ")")


def curate(
    inputs: list[str] | None = typer.Argument(
        None, help="Raw log v1 files (JSONL/Parquet), globs or folders."
    ),
    out: Path | None = typer.Option(
        None, "--out", "-o", help="Output folder (full/, public/, stats.json, README.md)."
    ),
    config: Path | None = typer.Option(None, "--config", help="Pipeline config (TOML); defaults if omitted."),
    executor: str | None = typer.Option(None, "--executor", help="local (processes) or ray."),
    ray_address: str | None = typer.Option(
        None, "--ray-address", help="Existing Ray cluster (ray executor)."
    ),
    workers: int | None = typer.Option(None, "--workers", help="Local worker processes (0 = CPU count)."),
    db: str | None = typer.Option(
        None, "--db", help="Also read the collection server's database at this URL."
    ),
    limit: int | None = typer.Option(None, "--limit", min=1, help="Link only the first N valid raw logs."),
    ip_key: str | None = typer.Option(
        None,
        "--ip-key",
        help="Release key for IP HMACs (prefer env WILDCHAT_RELEASE_KEY; else generated beside OUT).",
    ),
    set_: list[str] = typer.Option(
        [], "--set", help="Override a config key: section.key=value (repeatable)."
    ),
    pii_policy: str | None = typer.Option(None, "--pii-policy", help="Shortcut for --set pii.policy=…"),
    jailbreak_library: Path | None = typer.Option(
        None, "--jailbreak-library", help="Shortcut for --set jailbreak.library_path=…"
    ),
    list_stages: bool = typer.Option(False, "--list-stages", help="List the available stages and exit."),
    takedowns: list[Path] = typer.Option(
        [],
        "--takedowns",
        help="Takedown ledger (JSONL from `wildchat takedown export`; repeatable): drop what it recognises. "
        "With --db the database's ledger is applied too. Key: WILDCHAT_LEDGER_KEY or WILDCHAT_SECRET_KEY.",
    ),
    allow_unredacted: bool = typer.Option(
        False,
        "--allow-unredacted",
        help="Write public/ even though the pipeline has no pii (or privacy) stage; "
        "the card and stats.json then say the release is NOT PII-redacted.",
    ),
) -> None:
    """Curate raw logs into a release in the WildChat-1M schema."""
    from wildchat.curate.stages.config import load_config
    from wildchat.curate.stages.base import StageConfigError

    if list_stages:
        _list_stages()
        return
    if out is None:
        raise typer.BadParameter("--out is required", param_hint="--out")
    if not inputs and not db:
        raise typer.BadParameter("give at least one INPUT or --db")
    overrides = list(set_)
    if executor:
        overrides.append(f'executor.name="{executor}"')
    if ray_address:
        overrides.append(f'executor.ray_address="{ray_address}"')
    if workers is not None:
        overrides.append(f"executor.workers={workers}")
    if pii_policy:
        overrides.append(f'pii.policy="{pii_policy}"')
    if jailbreak_library:
        overrides.append(f'jailbreak.library_path="{jailbreak_library}"')
    try:
        cfg = load_config(config, overrides)
    except (StageConfigError, KeyError, OSError, ValueError) as exc:
        typer.echo(f"wildchat curate: bad configuration: {exc}", err=True)
        raise typer.Exit(2) from exc
    try:  # takedown ledgers: the stage goes first (curate/takedown.py)
        from wildchat.curate.takedown import add_takedowns

        add_takedowns(cfg, takedowns, db)
    except ValueError as exc:  # LedgerError: unreadable, or another deployment's key
        typer.echo(f"wildchat curate: {exc}", err=True)
        raise typer.Exit(2) from exc
    from wildchat.curate.pipeline import UnsafeReleaseError, run_curate

    try:
        result = run_curate(
            inputs or [],
            out,
            cfg,
            ip_key=ip_key,
            limit=limit,
            db_url=db,
            log=lambda m: typer.echo(m, err=True),
            allow_unredacted=allow_unredacted,
        )
    except UnsafeReleaseError as exc:
        typer.echo(f"wildchat curate: refusing to write a release: {exc}", err=True)
        raise typer.Exit(2) from exc
    except FileNotFoundError as exc:
        typer.echo(f"wildchat curate: {exc}", err=True)
        raise typer.Exit(2) from exc
    except StageConfigError as exc:
        typer.echo(f"wildchat curate: {exc}", err=True)
        raise typer.Exit(2) from exc
    rel = result.stats["release"]
    ingest = result.stats["ingest"]
    typer.echo(
        f"read {ingest['read']} logs ({ingest['skipped']} bad), wrote {rel['full']} conversations "
        f"({rel['public']} public) to {out} in {result.stats['run']['seconds']['total']} s "
        f"[{result.shards_done} shard(s) written, {result.shards_resumed} resumed]",
        err=True,
    )
    for warning in result.stats["warnings"]:
        typer.echo(f"warning: {warning}", err=True)
    from wildchat.audit import AuditInputError, summary_line

    try:
        typer.echo(summary_line(out), err=True)
    except AuditInputError as exc:
        typer.echo(f"audit: could not read what was written ({exc})", err=True)
