"""`wildchat curate`: raw logs -> a releasable dataset.

Options become config values (:func:`wildchat.curate.stages.config.load_config`
``values``), never TOML text: ``--jailbreak-library`` may name any path.
Exit 2, with the reason on stderr, for a bad configuration or ledger, a
pipeline refused by the release guard, or missing inputs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

import typer


def _list_stages() -> None:
    from wildchat.curate.stages import available_stages
    from wildchat.curate.stages.config import DEFAULT_STAGES

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


# Typer parameters of `wildchat curate` (module constants keep the signature readable)
_INPUTS = typer.Argument(None, help="Raw log v1 files (JSONL/Parquet), globs or folders.")
_OUT = typer.Option(None, "--out", "-o", help="Output folder (full/, public/, stats.json, README.md).")
_CONFIG = typer.Option(None, "--config", help="Pipeline config (TOML); defaults if omitted.")
_EXECUTOR = typer.Option(None, "--executor", help="local (processes) or ray.")
_RAY_ADDRESS = typer.Option(None, "--ray-address", help="Existing Ray cluster (ray executor).")
_WORKERS = typer.Option(None, "--workers", help="Local worker processes (0 = CPU count).")
_DB = typer.Option(None, "--db", help="Also read the collection server's database at this URL.")
_LIMIT = typer.Option(None, "--limit", min=1, help="Link only the first N valid raw logs.")
_IP_KEY = typer.Option(
    None,
    "--ip-key",
    help="Release key for IP HMACs (prefer env WILDCHAT_RELEASE_KEY; else generated beside OUT).",
)
_SET = typer.Option([], "--set", help="Override a config key: section.key=value (repeatable).")
_PII_POLICY = typer.Option(None, "--pii-policy", help="Shortcut for --set pii.policy=…")
_JAILBREAK_LIBRARY = typer.Option(
    None, "--jailbreak-library", help="Shortcut for --set jailbreak.library_path=…"
)
_LIST_STAGES = typer.Option(False, "--list-stages", help="List the available stages and exit.")
_TAKEDOWNS = typer.Option(
    [],
    "--takedowns",
    help="Takedown ledger (JSONL from `wildchat takedown export`; repeatable): drop what it recognises. "
    "With --db the database's ledger is applied too. Key: WILDCHAT_LEDGER_KEY or WILDCHAT_SECRET_KEY.",
)
_ALLOW_UNREDACTED = typer.Option(
    False,
    "--allow-unredacted",
    help="Write public/ even though the pipeline has no pii (or privacy) stage; "
    "the card and stats.json then say the release is NOT PII-redacted.",
)


def curate(
    inputs: list[str] | None = _INPUTS,
    out: Path | None = _OUT,
    config: Path | None = _CONFIG,
    executor: str | None = _EXECUTOR,
    ray_address: str | None = _RAY_ADDRESS,
    workers: int | None = _WORKERS,
    db: str | None = _DB,
    limit: int | None = _LIMIT,
    ip_key: str | None = _IP_KEY,
    set_: list[str] = _SET,
    pii_policy: str | None = _PII_POLICY,
    jailbreak_library: Path | None = _JAILBREAK_LIBRARY,
    list_stages: bool = _LIST_STAGES,
    takedowns: list[Path] = _TAKEDOWNS,
    allow_unredacted: bool = _ALLOW_UNREDACTED,
) -> None:
    """Curate raw logs into a release in the WildChat-1M schema."""
    if list_stages:
        _list_stages()
        return
    if out is None:
        raise typer.BadParameter("--out is required", param_hint="--out")
    if not inputs and not db:
        raise typer.BadParameter("give at least one INPUT or --db")
    options = _Options(
        inputs=list(inputs or []),
        out=out,
        config=config,
        overrides=list(set_),
        values=_option_values(executor, ray_address, workers, pii_policy, jailbreak_library),
        db=db,
        limit=limit,
        ip_key=ip_key,
        takedowns=list(takedowns),
        allow_unredacted=allow_unredacted,
    )
    _report(options.out, _run(options, _load(options)))


@dataclass
class _Options:
    """What ``wildchat curate`` was asked to do, once the options are checked."""

    inputs: list[str]
    out: Path
    config: Path | None
    overrides: list[str]
    values: dict[str, Any]
    db: str | None
    limit: int | None
    ip_key: str | None
    takedowns: list[Path] = field(default_factory=list)
    allow_unredacted: bool = False


def _option_values(
    executor: str | None,
    ray_address: str | None,
    workers: int | None,
    pii_policy: str | None,
    jailbreak_library: Path | None,
) -> dict[str, Any]:
    """The shortcut options as config values (``section.key`` -> value, taken as given)."""
    values: dict[str, Any] = {}
    if executor:
        values["executor.name"] = executor
    if ray_address:
        values["executor.ray_address"] = ray_address
    if workers is not None:
        values["executor.workers"] = workers
    if pii_policy:
        values["pii.policy"] = pii_policy
    if jailbreak_library:
        values["jailbreak.library_path"] = str(jailbreak_library)
    return values


def _fail(message: str, exc: BaseException) -> NoReturn:
    typer.echo(f"wildchat curate: {message}", err=True)
    raise typer.Exit(2) from exc


def _load(options: _Options) -> Any:
    """The run's config, takedown stage included (exit 2 on a bad config or ledger)."""
    from wildchat.curate.stages.base import StageConfigError
    from wildchat.curate.stages.config import load_config
    from wildchat.curate.takedown import add_takedowns

    try:
        cfg = load_config(options.config, options.overrides, options.values)
    except (StageConfigError, KeyError, OSError, ValueError) as exc:
        _fail(f"bad configuration: {exc}", exc)
    try:  # takedown ledgers: the stage goes first (curate/takedown.py)
        add_takedowns(cfg, options.takedowns, options.db)
    except ValueError as exc:  # LedgerError: unreadable, or another deployment's key
        _fail(str(exc), exc)
    return cfg


def _run(options: _Options, cfg: Any) -> Any:
    """Run the pipeline; refusals and missing inputs exit 2."""
    from wildchat.curate.pipeline import UnsafeReleaseError, run_curate
    from wildchat.curate.stages.base import StageConfigError

    try:
        return run_curate(
            options.inputs,
            options.out,
            cfg,
            ip_key=options.ip_key,
            limit=options.limit,
            db_url=options.db,
            log=lambda m: typer.echo(m, err=True),
            allow_unredacted=options.allow_unredacted,
        )
    except UnsafeReleaseError as exc:
        _fail(f"refusing to write a release: {exc}", exc)
    except (FileNotFoundError, StageConfigError) as exc:
        _fail(str(exc), exc)


def _report(out: Path, result: Any) -> None:
    """The one-line summary, the warnings and the audit line, on stderr."""
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
