"""`wildchat analyze` (analysis report issue).

Heavy imports (pyarrow compute, tiktoken, matplotlib, torch) happen inside
the command so ``wildchat --help`` stays fast.
"""

from __future__ import annotations

from pathlib import Path

import typer


def analyze(
    datasets: list[Path] = typer.Argument(
        ..., help="Dataset files or release folders (any supported format)."
    ),
    out: Path = typer.Option(..., "--out", "-o", help="Output folder (created)."),
    names: str | None = typer.Option(
        None, "--names", help="Comma-separated dataset names (default: file stems)."
    ),
    sample: int = typer.Option(
        1000, "--sample", min=1, help="User prompts per dataset for the entropy sample."
    ),
    embed_sample: int = typer.Option(
        500, "--embed-sample", min=1, help="Prompts per dataset on the embedding map."
    ),
    token_sample: int = typer.Option(
        50_000, "--token-sample", min=1, help="Messages per role tokenised (exact when fewer)."
    ),
    tokenizer: str = typer.Option(
        "cl100k_base",
        "--tokenizer",
        help="cl100k_base, o200k_base, or a local Hugging Face tokenizer folder.",
    ),
    fmt: str | None = typer.Option(
        None, "--format", help="Input format for all datasets (default: auto-detect)."
    ),
    no_embed: bool = typer.Option(False, "--no-embed", help="Skip the embedding map."),
    detect_language: bool = typer.Option(
        True, "--detect-language/--no-detect-language", help="Label unlabelled conversations."
    ),
    seed: int = typer.Option(0, "--seed", help="Seed of every random sample."),
    split: str = typer.Option(
        "full", "--split", help="Which split of a release folder to read: full or public."
    ),
) -> None:
    """Write the WildChat paper's tables and figures for chat datasets.

    Writes OUT/stats.json, OUT/provenance.json, OUT/tables/*.csv,
    OUT/figures/*.png|svg and OUT/report.html.  Exits non-zero only when no
    dataset could be read (or the tokenizer cannot be loaded offline).
    """
    from wildchat.analyze.run import AnalyzeOptions, NothingReadable, run_analysis
    from wildchat.formats.release import RAW_LOG_WARNING, ReleaseError, raw_log_inputs, resolve_inputs
    from wildchat.text.tokenize import TokenizerError

    try:
        resolve_inputs(datasets, split)  # a broken release folder is bad input: fail before any work
    except ReleaseError as exc:
        typer.echo(f"wildchat analyze: {exc}", err=True)
        raise typer.Exit(2) from exc
    if raw_log_inputs(datasets, fmt):
        typer.echo(f"warning: {RAW_LOG_WARNING}", err=True)
    name_list = [n.strip() for n in names.split(",")] if names else None
    opts = AnalyzeOptions(
        out=out,
        names=name_list,
        sample=sample,
        embed_sample=embed_sample,
        token_sample=token_sample,
        tokenizer=tokenizer,
        fmt=fmt,
        embed=not no_embed,
        detect_language=detect_language,
        seed=seed,
        split=split,
    )

    def log(msg: str) -> None:
        typer.echo(msg, err=True)

    try:
        result = run_analysis(datasets, opts, log)
    except ReleaseError as exc:
        typer.echo(f"wildchat analyze: {exc}", err=True)
        raise typer.Exit(2) from exc
    except (NothingReadable, TokenizerError) as exc:
        typer.echo(f"wildchat analyze: {exc}", err=True)
        raise typer.Exit(1) from exc
    except ValueError as exc:  # bad --names
        typer.echo(f"wildchat analyze: {exc}", err=True)
        raise typer.Exit(2) from exc
    for note in result.notes:
        typer.echo(f"note: {note}", err=True)
    typer.echo(f"wrote {out / 'report.html'} ({len(result.stats)} dataset(s), {len(result.files)} files)")
