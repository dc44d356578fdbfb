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
from wildchat.train.masking import IGNORE_INDEX, EncodedChat, MaskingError, encode_chat
from wildchat.train.recipe import Recipe, resolve_recipe, total_steps
from wildchat.train.sft_data import SftDataError, check_sft_file, read_sft_file

__all__ = ["SftCollator", "TrainError", "TrainOptions", "TrainResult", "encode_file", "run_training"]


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
    gradient_checkpointing: bool = False
    verify: str = "prefix"  # masking checks: "prefix" (exact) or "segments" (linear), see masking
    pack: bool = False  # several conversations per row (wildchat.train.packing)


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


def _callback(log_path: Path, total: int, losses: list[float], log: Callable[[str], None]) -> Any:
    from transformers import TrainerCallback

    class StepLog(TrainerCallback):  # type: ignore[misc]
        """One JSON line and one console line per optimizer step."""

        def on_log(
            self, args: Any, state: Any, control: Any, logs: dict[str, Any] | None = None, **kw: Any
        ) -> None:
            if not logs or "loss" not in logs:
                return
            row = {
                "step": int(state.global_step),
                "epoch": round(float(logs.get("epoch", state.epoch or 0.0)), 4),
                "loss": float(logs["loss"]),
                "learning_rate": float(logs.get("learning_rate", 0.0)),
                "grad_norm": None if logs.get("grad_norm") is None else float(logs["grad_norm"]),
            }
            losses.append(float(logs["loss"]))
            with log_path.open("a", encoding="utf-8") as fh:
                fh.write(json.dumps(row) + "\n")
            log(f"step {row['step']}/{total}  loss {row['loss']:.4f}  lr {row['learning_rate']:.2e}")

    return StepLog()


def _apply_lora(model: Any, recipe: Recipe) -> Any:
    from peft import LoraConfig, get_peft_model

    config = LoraConfig(
        r=recipe.lora_r,
        lora_alpha=recipe.lora_alpha,
        lora_dropout=recipe.lora_dropout,
        target_modules=list(recipe.lora_targets),
        task_type="CAUSAL_LM",
    )
    return get_peft_model(model, config)


def run_training(opts: TrainOptions, log: Callable[[str], None] = lambda _: None) -> TrainResult:
    """Fine-tune ``opts.model`` on ``opts.data`` into ``opts.out`` (see the module docstring).

    Raises :class:`TrainError` (bad or unusable data),
    :class:`wildchat.train.models.ModelLoadError` (bad model),
    :class:`wildchat.train.recipe.RecipeError` (bad hyperparameters).
    """
    from wildchat.train.models import load_model, pick_device, save_model

    world = int(os.environ.get("WORLD_SIZE", "1"))
    recipe, accum = resolve_recipe(opts.recipe, opts.overrides, world)
    device = pick_device(opts.device)
    data = Path(opts.data)
    if not data.is_file():
        raise TrainError(f"{data}: no such file (make one with `wildchat export-sft`)")
    try:
        check_sft_file(data)  # before the (slow) model load
    except SftDataError as exc:
        raise TrainError(str(exc)) from exc
    log(f"loading model {opts.model} on {device}")
    model, tok = load_model(opts.model, device=device, dtype="float32", for_training=True)
    max_length = recipe.max_length
    ctx = getattr(model.config, "max_position_embeddings", None)
    if isinstance(ctx, int) and ctx < max_length:
        log(f"note: max length {max_length} > the model's context {ctx}; using {ctx}")
        max_length = ctx
    report = SkipReport()
    log(f"encoding {data} with the model's chat template (max {max_length} tokens)")
    try:
        examples = encode_file(data, tok, max_length, recipe.overflow, report, opts.verify)
    except ValueError as exc:  # SftDataError, no_template
        raise TrainError(str(exc)) from exc
    if not examples:
        raise TrainError(f"{data}: no usable conversations\n{report.summary()}")
    rows: list[dict[str, list[int]]]
    if opts.pack:
        from wildchat.train.packing import pack

        rows = pack(examples, max_length, recipe.seed)
        log(f"packed {len(examples)} conversations into {len(rows)} rows of <= {max_length} tokens")
    else:
        rows = [{"input_ids": e.input_ids, "labels": e.labels} for e in examples]
    steps = total_steps(recipe, len(rows))
    n_loss = sum(e.n_loss_tokens for e in examples)
    out = Path(opts.out)
    out.mkdir(parents=True, exist_ok=True)
    log_path = out / "train_log.jsonl"
    log_path.write_text("", encoding="utf-8")
    _write_json(
        out / "recipe.json",
        {
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
                "rows": len(rows),
                "masking_verify": opts.verify,
            },
            "model": opts.model,
            "device": device,
            "precision": "bf16 autocast, fp32 weights" if device.startswith("cuda") else "fp32",
            "data": {
                "path": str(data),
                "examples": len(examples),
                "loss_tokens": n_loss,
                "read": report.to_dict(),
            },
        },
    )
    import transformers
    from transformers import Trainer, TrainingArguments

    transformers.set_seed(recipe.seed)
    model.config.use_cache = False  # no KV cache in training (and packing needs none)
    if opts.gradient_checkpointing:
        model.gradient_checkpointing_enable()
        if recipe.lora:  # frozen embeddings: checkpointed blocks still need inputs that require grad
            model.enable_input_require_grads()
    if recipe.lora:
        model = _apply_lora(model, recipe)
    args = TrainingArguments(
        output_dir=str(out / "checkpoints"),
        per_device_train_batch_size=recipe.micro_batch,
        gradient_accumulation_steps=accum,
        num_train_epochs=recipe.epochs,
        max_steps=recipe.max_steps,
        learning_rate=recipe.lr,
        lr_scheduler_type=recipe.scheduler,
        warmup_steps=recipe.warmup_ratio,  # < 1: a fraction of the total steps
        weight_decay=recipe.weight_decay,
        logging_steps=1,
        save_strategy="no",
        report_to="none",
        disable_tqdm=True,
        bf16=device.startswith("cuda"),
        use_cpu=device == "cpu",
        seed=recipe.seed,
        data_seed=recipe.seed,
        dataloader_num_workers=0,
        remove_unused_columns=False,
    )
    losses: list[float] = []
    pad_id = tok.pad_token_id if tok.pad_token_id is not None else 0
    collator: Any = SftCollator(pad_id, 8 if device.startswith("cuda") else None)
    if opts.pack:
        from wildchat.train.packing import PackedCollator

        collator = PackedCollator(pad_id)
    trainer = Trainer(
        model=model,
        args=args,
        train_dataset=rows,
        data_collator=collator,
        callbacks=[_callback(log_path, steps, losses, log)],
    )
    from transformers.trainer_callback import PrinterCallback

    trainer.remove_callback(PrinterCallback)  # StepLog prints each step already
    log(f"training {len(examples)} conversations, {steps} optimizer steps, accumulation {accum}")
    t0 = time.perf_counter()
    trainer.train()
    seconds = time.perf_counter() - t0
    trained: Any = trainer.model
    trained.config.use_cache = True  # saved for inference
    if (out / "checkpoints").is_dir() and not any((out / "checkpoints").iterdir()):
        (out / "checkpoints").rmdir()
    if recipe.lora:
        trained.save_pretrained(str(out / "adapter"))
        tok.save_pretrained(str(out / "adapter"))
        if opts.merge:
            save_model(trained.merge_and_unload(), tok, out)
    else:
        save_model(trained, tok, out)
    result = TrainResult(out, device, recipe, report, len(examples), n_loss, len(losses), losses, seconds)
    _write_json(
        out / "train_summary.json",
        {
            "steps": len(losses),
            "first_loss": losses[0] if losses else None,
            "last_loss": losses[-1] if losses else None,
            "seconds": round(seconds, 2),
            "examples": len(examples),
            "loss_tokens": n_loss,
            "model_saved": not recipe.lora or opts.merge,
        },
    )
    return result
