"""`wildchat export-sft` and `wildchat train`.

torch / transformers are imported inside the commands so ``wildchat --help``
stays fast and works without the ``train`` extra.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from wildchat.skips import SkipReport

if TYPE_CHECKING:
    from wildchat.train.trainer import TrainOptions


def _print_report(title: str, report: SkipReport) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title, show_edge=False)
    table.add_column("outcome")
    table.add_column("count", justify="right")
    table.add_column("example", overflow="fold")
    table.add_row("read", str(report.read), "")
    table.add_row("kept", str(report.written), "")
    for reason, n in report.skipped.most_common():
        table.add_row(f"dropped: {reason}", str(n), (report.examples.get(reason) or [""])[0])
    for reason, n in report.repaired.most_common():
        table.add_row(f"repaired: {reason}", str(n), (report.repair_examples.get(reason) or [""])[0])
    Console(stderr=True).print(table)


# Options as reusable annotated types: the command signatures stay one line per option.
_Datasets = Annotated[
    list[Path], typer.Argument(help="Dataset files or release folders (any supported format).")
]
_ExportOut = Annotated[
    Path, typer.Option("--out", "-o", help="Output JSONL file (FILE.stats.json is written next to it).")
]
_Format = Annotated[str, typer.Option("--format", help="messages | sharegpt | openai.")]
_PublicOnly = Annotated[
    bool, typer.Option("--public-only", help="Read only curated releases' public/ split (= --split public).")
]
_Split = Annotated[str, typer.Option("--split", help="Which split of a release folder: full or public.")]
_Language = Annotated[list[str], typer.Option("--language", help="Keep only these languages (repeatable).")]
_MinTurns = Annotated[
    int, typer.Option("--min-turns", min=1, help="Keep conversations with at least N replies.")
]
_MaxTokens = Annotated[
    int | None, typer.Option("--max-tokens", min=1, help="Drop conversations over N tokens.")
]
_Tokenizer = Annotated[
    str | None,
    typer.Option(
        "--tokenizer", help="Length measure: model folder, .gguf or smollm2 (default: tiktoken cl100k)."
    ),
]
_Dedup = Annotated[bool, typer.Option("--dedup-prompts", help="Drop repeated first prompts.")]
_Holdout = Annotated[
    float, typer.Option("--holdout", help="Held-out evaluation fraction left out (0 = none).")
]
_DropToxic = Annotated[bool, typer.Option("--drop-toxic", help="Drop conversations flagged toxic.")]
_InputFormat = Annotated[str | None, typer.Option("--input-format", help="Force the input format.")]

_Data = Annotated[
    Path, typer.Option("--data", help="JSONL from `wildchat export-sft` (messages/sharegpt/openai).")
]
_Model = Annotated[str, typer.Option("--model", help="Model folder, .gguf file, or smollm2.")]
_TrainOut = Annotated[
    Path, typer.Option("--out", "-o", help="Output folder (model, recipe.json, train_log.jsonl).")
]
_Recipe = Annotated[str, typer.Option("--recipe", help="vicuna (WildLlama) or vicuna-lora.")]
_Lora = Annotated[bool | None, typer.Option("--lora/--full", help="LoRA adapter (r16, q/k/v/o) or full FT.")]
_Merge = Annotated[bool, typer.Option("--merge/--no-merge", help="With LoRA, also save the merged model.")]
_Epochs = Annotated[float | None, typer.Option("--epochs", help="Epochs (recipe: 3).")]
_Lr = Annotated[float | None, typer.Option("--lr", help="Peak learning rate (recipe: 2e-5).")]
_GlobalBatch = Annotated[
    int | None, typer.Option("--global-batch", help="Conversations per step (recipe: 128).")
]
_MicroBatch = Annotated[
    int | None,
    typer.Option(
        "--micro-batch",
        help="Per-device batch (recipe: 4; CPU default: 1, accumulation keeps the global batch).",
    ),
]
_MaxLength = Annotated[int | None, typer.Option("--max-length", help="Max tokens per conversation (2048).")]
_MaxSteps = Annotated[int | None, typer.Option("--max-steps", help="Stop after N optimizer steps.")]
_Seed = Annotated[int | None, typer.Option("--seed", help="Random seed (recipe: 42).")]
_Truncate = Annotated[
    bool, typer.Option("--truncate", help="Cut over-long conversations instead of skipping.")
]
_Device = Annotated[str | None, typer.Option("--device", help="cpu, cuda (default: cuda when available).")]
_Pack = Annotated[
    bool, typer.Option("--pack", help="Pack several conversations per row (batch sizes then count rows).")
]
_Verify = Annotated[
    str, typer.Option("--verify", help="Masking checks: prefix (exact) or segments (linear, for long chats).")
]
_Checkpointing = Annotated[
    bool | None,
    typer.Option(
        "--gradient-checkpointing/--no-gradient-checkpointing",
        help="Trade compute for memory (default: on for CPU, on a GPU only if needed to fit).",
    ),
]
_Attn = Annotated[str | None, typer.Option("--attn", help="Attention: sdpa (default) or eager.")]
_SkipMemory = Annotated[
    bool, typer.Option("--skip-memory-check", help="Train even if the memory estimate says it will not fit.")
]


def export_sft(
    datasets: _Datasets,
    out: _ExportOut,
    fmt: _Format = "messages",
    public_only: _PublicOnly = False,
    split: _Split = "full",
    language: _Language = [],  # noqa: B006 - typer copies option defaults
    min_turns: _MinTurns = 1,
    max_tokens: _MaxTokens = None,
    tokenizer: _Tokenizer = None,
    dedup_prompts: _Dedup = False,
    holdout: _Holdout = 0.02,
    drop_toxic: _DropToxic = False,
    input_format: _InputFormat = None,
) -> None:
    """Write a supervised fine-tuning file (one conversation per JSONL line).

    Every conversation read is kept or counted as dropped with its reason
    (table on stderr, FILE.stats.json).  Exit 1 when nothing could be kept.
    """
    from wildchat.train.export import ExportError, ExportOptions
    from wildchat.train.export import export_sft as run_export
    from wildchat.train.models import ModelLoadError

    opts = ExportOptions(
        out=out,
        fmt=fmt,
        public_only=public_only,
        split=split,
        languages=list(language),
        min_turns=min_turns,
        max_tokens=max_tokens,
        tokenizer=tokenizer,
        dedup_prompts=dedup_prompts,
        holdout=holdout,
        drop_toxic=drop_toxic,
        input_format=input_format,
    )
    try:
        result = run_export(datasets, opts)
    except (ExportError, ModelLoadError, FileNotFoundError) as exc:
        typer.echo(f"wildchat export-sft: {exc}", err=True)
        raise typer.Exit(2) from exc
    _print_report(f"export-sft -> {result.out}", result.report)
    typer.echo(
        f"wrote {result.report.written} conversations to {result.out} (stats: {result.stats_path})", err=True
    )
    if result.report.written == 0:
        typer.echo("wildchat export-sft: nothing was kept", err=True)
        raise typer.Exit(1)


def train(
    data: _Data,
    model: _Model,
    out: _TrainOut,
    recipe: _Recipe = "vicuna",
    lora: _Lora = None,
    merge: _Merge = True,
    epochs: _Epochs = None,
    lr: _Lr = None,
    global_batch: _GlobalBatch = None,
    micro_batch: _MicroBatch = None,
    max_length: _MaxLength = None,
    max_steps: _MaxSteps = None,
    seed: _Seed = None,
    truncate: _Truncate = False,
    device: _Device = None,
    pack: _Pack = False,
    verify: _Verify = "prefix",
    gradient_checkpointing: _Checkpointing = None,
    attn: _Attn = None,
    skip_memory_check: _SkipMemory = False,
) -> None:
    """Fine-tune a model with loss on assistant tokens only (Vicuna/WildLlama recipe).

    Flags override the recipe; everything resolved is written to OUT/recipe.json.
    Before loading the weights the peak memory is estimated and the settings
    chosen to fit (CPU: SDPA, gradient checkpointing, micro-batch 1); exit 2,
    naming the flags to change, when even those would not fit.
    """
    from wildchat.train.trainer import TrainOptions

    overrides = {
        "epochs": epochs,
        "lr": lr,
        "global_batch": global_batch,
        "micro_batch": micro_batch,
        "max_length": max_length,
        "max_steps": max_steps,
        "seed": seed,
        "lora": lora,
        "overflow": "truncate" if truncate else None,
    }
    recipe = "vicuna-lora" if lora and recipe == "vicuna" else recipe  # --lora: the LoRA variant, its lr too
    _check_choice("--verify", verify, ("prefix", "segments"))
    _check_choice("--attn", attn, (None, "sdpa", "eager"))
    opts = TrainOptions(
        data,
        model,
        out,
        recipe,
        overrides,
        device=device,
        merge=merge,
        gradient_checkpointing=gradient_checkpointing,
        verify=verify,
        pack=pack,
        attention=attn,
        memory_check=not skip_memory_check,
    )
    _run_training(opts)


def _check_choice(flag: str, value: str | None, allowed: tuple[str | None, ...]) -> None:
    """Exit 2 naming ``flag`` and its choices when ``value`` is not one of them."""
    if value not in allowed:
        choices = " or ".join(a for a in allowed if a is not None)
        typer.echo(f"wildchat train: {flag} must be {choices}", err=True)
        raise typer.Exit(2)


def _run_training(opts: TrainOptions) -> None:
    """Train, then print the data report and a loss summary; exit 2 on any training error."""
    from rich.console import Console

    from wildchat.train.models import ModelLoadError
    from wildchat.train.recipe import RecipeError
    from wildchat.train.trainer import MemoryPlanError, TrainError, run_training

    console = Console(stderr=True)
    try:
        result = run_training(opts, lambda msg: console.print(msg, highlight=False))
    except (TrainError, ModelLoadError, RecipeError, MemoryPlanError) as exc:
        typer.echo(f"wildchat train: {exc}", err=True)
        raise typer.Exit(2) from exc
    except ValueError as exc:  # bad --device
        typer.echo(f"wildchat train: {exc}", err=True)
        raise typer.Exit(2) from exc
    _print_report(f"training data {opts.data}", result.report)
    losses = result.losses
    if losses:
        k = max(1, min(5, len(losses) // 2))
        first, last = sum(losses[:k]) / k, sum(losses[-k:]) / k
        console.print(
            f"{result.steps} steps in {result.seconds:.1f}s on {result.device}: loss {losses[0]:.4f} -> "
            f"{losses[-1]:.4f} (mean of first {k} {first:.4f}, last {k} {last:.4f})",
            highlight=False,
        )
    console.print(f"saved to {result.out}", highlight=False)
