"""`wildchat analyze`: the dataset statistics report.

Heavy imports (pyarrow compute, tiktoken, matplotlib, torch) happen inside
the command so ``wildchat --help`` stays fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from wildchat.analyze.run import AnalyzeOptions


_Datasets = Annotated[
    list[Path], typer.Argument(help="Dataset files or release folders (any supported format).")
]
_Out = Annotated[Path, typer.Option("--out", "-o", help="Output folder (created).")]
_Names = Annotated[
    str | None, typer.Option("--names", help="Comma-separated dataset names (default: file stems).")
]
_Sample = Annotated[
    int, typer.Option("--sample", min=1, help="User prompts per dataset for the entropy sample.")
]
_EmbedSample = Annotated[
    int, typer.Option("--embed-sample", min=1, help="Prompts per dataset on the embedding map.")
]
_TokenSample = Annotated[
    int, typer.Option("--token-sample", min=1, help="Messages per role tokenised (exact when fewer).")
]
_Tokenizer = Annotated[
    str,
    typer.Option("--tokenizer", help="cl100k_base, o200k_base, or a local Hugging Face tokenizer folder."),
]
_Format = Annotated[
    str | None, typer.Option("--format", help="Input format for all datasets (default: auto-detect).")
]
_NoEmbed = Annotated[bool, typer.Option("--no-embed", help="Skip the embedding map.")]
_DetectLanguage = Annotated[
    bool, typer.Option("--detect-language/--no-detect-language", help="Label unlabelled conversations.")
]
_Seed = Annotated[int, typer.Option("--seed", help="Seed of every random sample.")]
_Split = Annotated[
    str, typer.Option("--split", help="Which split of a release folder to read: full or public.")
]


def analyze(
    datasets: _Datasets,
    out: _Out,
    names: _Names = None,
    sample: _Sample = 1000,
    embed_sample: _EmbedSample = 500,
    token_sample: _TokenSample = 50_000,
    tokenizer: _Tokenizer = "cl100k_base",
    fmt: _Format = None,
    no_embed: _NoEmbed = False,
    detect_language: _DetectLanguage = True,
    seed: _Seed = 0,
    split: _Split = "full",
) -> None:
    """Write the WildChat paper's tables and figures for chat datasets.

    Writes OUT/stats.json, OUT/provenance.json, OUT/tables/*.csv,
    OUT/figures/*.png|svg and OUT/report.html.  Exits non-zero only when no
    dataset could be read (or the tokenizer cannot be loaded offline).
    """
    from wildchat.analyze.run import AnalyzeOptions

    _check_inputs(datasets, fmt, split)
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
    _run(datasets, opts)


def _check_inputs(datasets: list[Path], fmt: str | None, split: str) -> None:
    """Exit 2 on a broken release folder before any work; warn about raw-log inputs."""
    from wildchat.formats.release import RAW_LOG_WARNING, ReleaseError, raw_log_inputs, resolve_inputs

    try:
        resolve_inputs(datasets, split)
    except ReleaseError as exc:
        typer.echo(f"wildchat analyze: {exc}", err=True)
        raise typer.Exit(2) from exc
    if raw_log_inputs(datasets, fmt):
        typer.echo(f"warning: {RAW_LOG_WARNING}", err=True)


def _run(datasets: list[Path], opts: AnalyzeOptions) -> None:
    """Run the analysis; exit 2 on bad input or options, 1 when nothing was readable or no tokenizer."""
    from wildchat.analyze.run import NothingReadable, run_analysis
    from wildchat.formats.release import ReleaseError
    from wildchat.text.tokenize import TokenizerError

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
    typer.echo(
        f"wrote {opts.out / 'report.html'} ({len(result.stats)} dataset(s), {len(result.files)} files)"
    )
