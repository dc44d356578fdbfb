"""``wildchat train``: supervised fine-tuning with loss on assistant tokens only.

The data file (any :mod:`wildchat.train.sft_data` format) is encoded up front
with :func:`wildchat.train.masking.encode_chat` -- the model's own chat
template decides which tokens carry loss -- and conversations that cannot be
encoded are counted skips by reason (``too_long``, ``empty_assistant``,
``template_mismatch`` ...).  Training is transformers' ``Trainer`` on those
pre-computed ``{input_ids, labels}`` rows with :class:`SftCollator` (right
padding, labels padded with -100).  TRL's ``SFTTrainer`` was not used: it
re-derives the loss mask itself (from ``assistant_masks``/``completion_mask``,
ignoring given ``labels``), so the mask this package verifies token by token
would not be the one trained on.

Precision: weights stay fp32 (the optimizer's master copy); on a GPU the
forward/backward runs under bf16 autocast (``TrainingArguments.bf16``).

Memory: before the weights are loaded, :func:`wildchat.train.memory.plan_memory`
estimates the peak from the model's shape and the longest encoded row and
chooses attention, gradient checkpointing and micro-batch (on the CPU: SDPA,
checkpointing, micro-batch 1 with accumulation keeping the recipe's global
batch); a run that cannot fit stops there (:class:`MemoryPlanError`).

Outputs in ``OUT``: ``recipe.json`` (recipe, overrides, resolved
hyperparameters, data counts -- written before training starts),
``train_log.jsonl`` (one line per optimizer step: step, epoch, loss,
learning_rate, grad_norm), ``train_summary.json``, and the model as a plain
Hugging Face folder (safetensors + tokenizer); with LoRA the adapter in
``OUT/adapter`` and, unless ``merge=False``, the merged model in ``OUT``.
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wildchat.skips import SkipReport
from wildchat.train.callbacks import step_logger
from wildchat.train.masking import IGNORE_INDEX, EncodedChat, MaskingError, encode_chat
from wildchat.train.memory import MemoryPlan, MemoryPlanError, MemoryRequest, ModelShape, plan_memory
from wildchat.train.recipe import RECIPES, Recipe, resolve_recipe, total_steps
from wildchat.train.sft_data import SftDataError, check_sft_file, read_sft_file

__all__ = [
    "MemoryPlanError",
    "SftCollator",
    "TrainError",
    "TrainOptions",
    "TrainResult",
    "encode_file",
    "run_training",
]


class TrainError(ValueError):
    """The run cannot start (bad data, nothing usable); the message says why."""


@dataclass
class TrainOptions:
    data: Path
    model: str
    out: Path
    recipe: str = "vicuna"
    overrides: dict[str, Any] = field(default_factory=dict)
    device: str | None = None
    merge: bool = True
    gradient_checkpointing: bool | None = None  # None: the memory plan decides
    verify: str = "prefix"  # masking checks: "prefix" (exact) or "segments" (linear), see masking
    pack: bool = False  # several conversations per row (wildchat.train.packing)
    attention: str | None = None  # "sdpa" | "eager"; None: the memory plan decides (sdpa)
    memory_check: bool = True  # False: no refusal, the plan's first settings are used


@dataclass
class TrainResult:
    out: Path
    device: str
    recipe: Recipe
    report: SkipReport
    n_examples: int
    n_loss_tokens: int
    steps: int
    losses: list[float]
    seconds: float
    plan: MemoryPlan | None = None


def encode_file(
    path: Path, tokenizer: Any, max_length: int, overflow: str, report: SkipReport, verify: str = "prefix"
) -> list[EncodedChat]:
    """Every usable conversation of ``path`` encoded; the rest counted in ``report``."""
    out: list[EncodedChat] = []
    for k, messages in enumerate(read_sft_file(path, report)):
        try:
            enc = encode_chat(
                tokenizer,
                messages,
                max_length,
                "truncate" if overflow == "truncate" else "skip",
                verify="segments" if verify == "segments" else "prefix",
            )
        except MaskingError as exc:
            report.skip(exc.reason, str(exc), str(path), None)
            if exc.reason == "no_template":
                raise TrainError(str(exc)) from exc
            continue
        out.append(enc)
        report.written += 1
        if enc.truncated:
            report.repair("truncated", f"conversation {k} cut to {max_length} tokens", str(path))
    return out


class SftCollator:
    """Right-pads a list of ``{input_ids, labels}`` rows into tensors.

    ``input_ids`` pad with ``pad_id`` (attention 0), ``labels`` with -100 so
    padding never carries loss.  ``pad_to_multiple_of`` rounds the length up
    (tensor-core friendly on GPUs).
    """

    def __init__(self, pad_id: int, pad_to_multiple_of: int | None = None) -> None:
        self.pad_id = pad_id
        self.multiple = pad_to_multiple_of

    def __call__(self, features: Sequence[dict[str, list[int]]]) -> dict[str, Any]:
        import torch

        width = max(len(f["input_ids"]) for f in features)
        if self.multiple:
            width = math.ceil(width / self.multiple) * self.multiple
        ids = torch.full((len(features), width), self.pad_id, dtype=torch.long)
        labels = torch.full((len(features), width), IGNORE_INDEX, dtype=torch.long)
        mask = torch.zeros((len(features), width), dtype=torch.long)
        for row, f in enumerate(features):
            n = len(f["input_ids"])
            ids[row, :n] = torch.tensor(f["input_ids"], dtype=torch.long)
            labels[row, :n] = torch.tensor(f["labels"], dtype=torch.long)
            mask[row, :n] = 1
        return {"input_ids": ids, "labels": labels, "attention_mask": mask}


def _write_json(path: Path, obj: Any) -> None:
    path.write_text(json.dumps(obj, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _check_data(data: Path) -> Path:
    data = Path(data)
    if not data.is_file():
        raise TrainError(f"{data}: no such file (make one with `wildchat export-sft`)")
    try:
        check_sft_file(data)  # before the (slow) model load
    except SftDataError as exc:
        raise TrainError(str(exc)) from exc
    return data


def _encode_rows(
    opts: TrainOptions, data: Path, tok: Any, recipe: Recipe, max_length: int, log: Callable[[str], None]
) -> tuple[list[EncodedChat], list[dict[str, list[int]]], SkipReport]:
    """Encoded conversations, the training rows made of them (packed or not), and the read report."""
    report = SkipReport()
    log(f"encoding {data} with the model's chat template (max {max_length} tokens)")
    try:
        examples = encode_file(data, tok, max_length, recipe.overflow, report, opts.verify)
    except ValueError as exc:  # SftDataError, no_template
        raise TrainError(str(exc)) from exc
    if not examples:
        raise TrainError(f"{data}: no usable conversations\n{report.summary()}")
    if not opts.pack:
        return examples, [{"input_ids": e.input_ids, "labels": e.labels} for e in examples], report
    from wildchat.train.packing import pack

    rows = pack(examples, max_length, recipe.seed)
    log(f"packed {len(examples)} conversations into {len(rows)} rows of <= {max_length} tokens")
    return examples, rows, report


def _plan(
    opts: TrainOptions,
    recipe: Recipe,
    shape: ModelShape,
    seq_len: int,
    device: str,
    world: int,
    log: Callable[[str], None],
) -> MemoryPlan:
    """Settings that fit (see :mod:`wildchat.train.memory`), said on the console."""
    from wildchat.train.memory import GIB
    from wildchat.train.models import resolve_model_path

    request = MemoryRequest(
        micro_batch=opts.overrides.get("micro_batch"),
        gradient_checkpointing=opts.gradient_checkpointing,
        attention=opts.attention,
    )
    trainable = shape.lora_params(recipe.lora_r, len(recipe.lora_targets)) if recipe.lora else None
    plan = plan_memory(
        shape,
        seq_len,
        device,
        request,
        recipe_micro_batch=RECIPES[opts.recipe].micro_batch,
        per_device_batch=recipe.global_batch // world,
        trainable=trainable,
        gguf=resolve_model_path(opts.model)[1] is not None,
        available=None if opts.memory_check else (None, "not checked (--skip-memory-check)"),
        token_budget=recipe.max_length,
    )
    avail = "unknown" if plan.available is None else f"{plan.available / GIB:.1f} GiB"
    log(
        f"memory plan ({device}): {plan.settings.describe()} -> estimated peak "
        f"{plan.estimate.total / GIB:.1f} GiB at {seq_len} tokens ({plan.estimate.describe()} GiB); "
        f"available {avail} ({plan.available_source})"
    )
    return plan


def _recipe_json(
    opts: TrainOptions,
    recipe: Recipe,
    accum: int,
    world: int,
    steps: int,
    max_length: int,
    rows: int,
    device: str,
    plan: MemoryPlan,
    data: dict[str, Any],
) -> dict[str, Any]:
    """What ``recipe.json`` records: the recipe, the user's overrides, and everything actually used."""
    return {
        "recipe": opts.recipe,
        "recipe_defaults": resolve_recipe(opts.recipe, {}, world)[0].to_dict(),
        "overrides": {k: v for k, v in opts.overrides.items() if v is not None},
        "resolved": {
            **recipe.to_dict(),
            "max_length_used": max_length,
            "gradient_accumulation": accum,
            "world_size": world,
            "optimizer_steps": steps,
            "warmup_steps": math.ceil(steps * recipe.warmup_ratio),
            "loss": "assistant tokens only (chat-template masks)",
            "packing": opts.pack,
            "rows": rows,
            "masking_verify": opts.verify,
            "attention": plan.settings.attention,
            "gradient_checkpointing": plan.settings.gradient_checkpointing,
        },
        "memory": plan.to_dict(),
        "model": opts.model,
        "device": device,
        "precision": "bf16 autocast, fp32 weights" if device.startswith("cuda") else "fp32",
        "data": data,
    }


_QUICKER: list[tuple[str, Callable[[Recipe, float], bool]]] = [
    (
        "--max-length 512 (with --truncate to keep long chats)",
        lambda r, mean: r.max_length > 512 and mean > 256,
    ),
    ("--max-steps N", lambda r, mean: r.max_steps <= 0),
    ("--global-batch 32 (changes the recipe)", lambda r, mean: r.global_batch > 32),
]


def _say_time(
    shape: ModelShape,
    rows: list[dict[str, list[int]]],
    recipe: Recipe,
    steps: int,
    plan: MemoryPlan,
    log: Callable[[str], None],
) -> None:
    """On the CPU: the run's size and, from the matmul rate measured now, about how long it takes."""
    from wildchat.train.callbacks import format_eta
    from wildchat.train.throughput import measure_gflops, train_flops

    mean = sum(len(r["input_ids"]) for r in rows) / len(rows)
    n_rows = steps * recipe.global_batch if recipe.max_steps > 0 else math.ceil(recipe.epochs * len(rows))
    tokens = int(n_rows * mean)
    gflops = measure_gflops()
    seconds = train_flops(shape.params, tokens, plan.settings.gradient_checkpointing) / (0.75 * gflops * 1e9)
    quicker = [f for f, useful in _QUICKER if useful(recipe, mean)]
    hint = f" (a quicker try: {', or '.join(quicker)})" if seconds > 600 and quicker else ""
    log(
        f"size: {n_rows} conversations x {mean:.0f} tokens on average = {tokens} tokens forward+backward, "
        f"about {format_eta(seconds)} at the {gflops:.0f} GFLOP/s this CPU gives now{hint}"
    )


def _set(overrides: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in overrides.items() if v is not None}


def _context_length(max_length: int, config: Any, log: Callable[[str], None]) -> int:
    ctx = getattr(config, "max_position_embeddings", None)
    if isinstance(ctx, int) and ctx < max_length:
        log(f"note: max length {max_length} > the model's context {ctx}; using {ctx}")
        return ctx
    return max_length


def run_training(opts: TrainOptions, log: Callable[[str], None] = lambda _: None) -> TrainResult:
    """Fine-tune ``opts.model`` on ``opts.data`` into ``opts.out`` (see the module docstring).

    Raises :class:`TrainError` (bad or unusable data),
    :class:`wildchat.train.models.ModelLoadError` (bad model),
    :class:`wildchat.train.recipe.RecipeError` (bad hyperparameters),
    :class:`MemoryPlanError` (would not fit; raised before the weights load).
    """
    import transformers

    from wildchat.train.hf_trainer import build_trainer, load_for_training, save_trained
    from wildchat.train.models import load_tokenizer, model_shape, pick_device

    world = int(os.environ.get("WORLD_SIZE", "1"))
    # micro-batch 1 stands in until the memory plan chooses one (a user's value is checked here)
    recipe, _ = resolve_recipe(opts.recipe, {"micro_batch": 1, **_set(opts.overrides)}, world)
    device = pick_device(opts.device)
    data = _check_data(opts.data)
    config, shape = model_shape(opts.model)
    tok = load_tokenizer(opts.model)
    max_length = _context_length(recipe.max_length, config, log)
    examples, rows, report = _encode_rows(opts, data, tok, recipe, max_length, log)
    plan = _plan(opts, recipe, shape, max(len(r["input_ids"]) for r in rows), device, world, log)
    chosen = {**opts.overrides, "micro_batch": plan.settings.micro_batch}
    recipe, accum = resolve_recipe(opts.recipe, chosen, world)
    steps = total_steps(recipe, len(rows))
    n_loss = sum(e.n_loss_tokens for e in examples)
    out = Path(opts.out)
    out.mkdir(parents=True, exist_ok=True)
    counts = {"path": str(data), "examples": len(examples), "loss_tokens": n_loss, "read": report.to_dict()}
    meta = _recipe_json(opts, recipe, accum, world, steps, max_length, len(rows), device, plan, counts)
    _write_json(out / "recipe.json", meta)
    if device == "cpu":
        _say_time(shape, rows, recipe, steps, plan, log)
    log(f"loading model {opts.model} on {device}")
    transformers.set_seed(recipe.seed)
    model = load_for_training(opts.model, device, plan, recipe)
    losses: list[float] = []
    (out / "train_log.jsonl").write_text("", encoding="utf-8")
    callback = step_logger(out / "train_log.jsonl", steps, accum, losses, log)
    trainer = build_trainer(model, tok, rows, recipe, accum, out, device, opts.pack, callback)
    log(
        f"training {len(examples)} conversations, {steps} optimizer steps of {recipe.global_batch} "
        f"(micro-batch {recipe.micro_batch} x accumulation {accum} x {world} device(s))"
    )
    t0 = time.perf_counter()
    trainer.train()
    seconds = time.perf_counter() - t0
    save_trained(trainer, tok, out, recipe, opts.merge)
    summary = {
        "steps": len(losses),
        "first_loss": losses[0] if losses else None,
        "last_loss": losses[-1] if losses else None,
        "seconds": round(seconds, 2),
        "examples": len(examples),
        "loss_tokens": n_loss,
        "model_saved": not recipe.lora or opts.merge,
    }
    _write_json(out / "train_summary.json", summary)
    return TrainResult(out, device, recipe, report, len(examples), n_loss, len(losses), losses, seconds, plan)
