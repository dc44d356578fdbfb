"""`wildchat export-sft` and `wildchat train`.

torch / transformers are imported inside the commands so ``wildchat --help``
stays fast and works without the ``train`` extra.
"""

from __future__ import annotations

from pathlib import Path

import typer

from wildchat.skips import SkipReport


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


def export_sft(
    datasets: list[Path] = typer.Argument(
        ..., help="Dataset files or release folders (any supported format)."
    ),
    out: Path = typer.Option(
        ..., "--out", "-o", help="Output JSONL file (FILE.stats.json is written next to it)."
    ),
    fmt: str = typer.Option("messages", "--format", help="messages | sharegpt | openai."),
    public_only: bool = typer.Option(
        False, "--public-only", help="Read only curated releases' public/ split (= --split public)."
    ),
    split: str = typer.Option("full", "--split", help="Which split of a release folder: full or public."),
    language: list[str] = typer.Option([], "--language", help="Keep only these languages (repeatable)."),
    min_turns: int = typer.Option(
        1, "--min-turns", min=1, help="Keep conversations with at least N replies."
    ),
    max_tokens: int | None = typer.Option(
        None, "--max-tokens", min=1, help="Drop conversations over N tokens."
    ),
    tokenizer: str | None = typer.Option(
        None, "--tokenizer", help="Length measure: model folder, .gguf or smollm2 (default: tiktoken cl100k)."
    ),
    dedup_prompts: bool = typer.Option(False, "--dedup-prompts", help="Drop repeated first prompts."),
    holdout: float = typer.Option(
        0.02, "--holdout", help="Held-out evaluation fraction left out (0 = none)."
    ),
    drop_toxic: bool = typer.Option(False, "--drop-toxic", help="Drop conversations flagged toxic."),
    input_format: str | None = typer.Option(None, "--input-format", help="Force the input format."),
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
    data: Path = typer.Option(
        ..., "--data", help="JSONL from `wildchat export-sft` (messages/sharegpt/openai)."
    ),
    model: str = typer.Option(..., "--model", help="Model folder, .gguf file, or smollm2."),
    out: Path = typer.Option(..., "--out", "-o", help="Output folder (model, recipe.json, train_log.jsonl)."),
    recipe: str = typer.Option("vicuna", "--recipe", help="vicuna (WildLlama) or vicuna-lora."),
    lora: bool | None = typer.Option(None, "--lora/--full", help="LoRA adapter (r16, q/k/v/o) or full FT."),
    merge: bool = typer.Option(True, "--merge/--no-merge", help="With LoRA, also save the merged model."),
    epochs: float | None = typer.Option(None, "--epochs", help="Epochs (recipe: 3)."),
    lr: float | None = typer.Option(None, "--lr", help="Peak learning rate (recipe: 2e-5)."),
    global_batch: int | None = typer.Option(
        None, "--global-batch", help="Conversations per step (recipe: 128)."
    ),
    micro_batch: int | None = typer.Option(
        None,
        "--micro-batch",
        help="Per-device batch (recipe: 4; CPU default: 1, accumulation keeps the global batch).",
    ),
    max_length: int | None = typer.Option(None, "--max-length", help="Max tokens per conversation (2048)."),
    max_steps: int | None = typer.Option(None, "--max-steps", help="Stop after N optimizer steps."),
    seed: int | None = typer.Option(None, "--seed", help="Random seed (recipe: 42)."),
    truncate: bool = typer.Option(
        False, "--truncate", help="Cut over-long conversations instead of skipping."
    ),
    device: str | None = typer.Option(None, "--device", help="cpu, cuda (default: cuda when available)."),
    pack: bool = typer.Option(
        False, "--pack", help="Pack several conversations per row (batch sizes then count rows)."
    ),
    verify: str = typer.Option(
        "prefix", "--verify", help="Masking checks: prefix (exact) or segments (linear, for long chats)."
    ),
    gradient_checkpointing: bool | None = typer.Option(
        None,
        "--gradient-checkpointing/--no-gradient-checkpointing",
        help="Trade compute for memory (default: on for CPU, on a GPU only if needed to fit).",
    ),
    attn: str | None = typer.Option(None, "--attn", help="Attention: sdpa (default) or eager."),
    skip_memory_check: bool = typer.Option(
        False, "--skip-memory-check", help="Train even if the memory estimate says it will not fit."
    ),
) -> None:
    """Fine-tune a model with loss on assistant tokens only (Vicuna/WildLlama recipe).

    Flags override the recipe; everything resolved is written to OUT/recipe.json.
    Before loading the weights the peak memory is estimated and the settings
    chosen to fit (CPU: SDPA, gradient checkpointing, micro-batch 1); exit 2,
    naming the flags to change, when even those would not fit.
    """
    from rich.console import Console

    from wildchat.train.models import ModelLoadError
    from wildchat.train.recipe import RecipeError
    from wildchat.train.trainer import MemoryPlanError, TrainError, TrainOptions, run_training

    console = Console(stderr=True)
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
    if lora and recipe == "vicuna":  # --lora means the recipe's LoRA variant (its learning rate too)
        recipe = "vicuna-lora"
    if verify not in ("prefix", "segments"):
        typer.echo("wildchat train: --verify must be prefix or segments", err=True)
        raise typer.Exit(2)
    if attn not in (None, "sdpa", "eager"):
        typer.echo("wildchat train: --attn must be sdpa or eager", err=True)
        raise typer.Exit(2)
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
    try:
        result = run_training(opts, lambda msg: console.print(msg, highlight=False))
    except (TrainError, ModelLoadError, RecipeError, MemoryPlanError) as exc:
        typer.echo(f"wildchat train: {exc}", err=True)
        raise typer.Exit(2) from exc
    except ValueError as exc:  # bad --device
        typer.echo(f"wildchat train: {exc}", err=True)
        raise typer.Exit(2) from exc
    _print_report(f"training data {data}", result.report)
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
