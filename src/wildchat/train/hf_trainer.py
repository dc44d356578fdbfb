"""The transformers side of ``wildchat train``: model set-up, the ``Trainer``, saving.

Kept apart from :mod:`wildchat.train.trainer` (which decides *what* to train
with which settings) so each stays small; torch, transformers and peft are
imported inside the functions.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from wildchat.train.memory import MemoryPlan
from wildchat.train.recipe import Recipe

__all__ = ["build_trainer", "load_for_training", "save_trained"]


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


def load_for_training(spec: str, device: str, plan: MemoryPlan, recipe: Recipe) -> Any:
    """The model in fp32 with the plan's attention and checkpointing, LoRA-wrapped if the recipe says so."""
    from wildchat.train.models import load_model

    model, _tok = load_model(
        spec,
        device=device,
        dtype="float32",
        for_training=True,
        attn_implementation=plan.settings.attention,
    )
    model.config.use_cache = False  # no KV cache in training (and packing needs none)
    if plan.settings.gradient_checkpointing:
        if hasattr(model, "activation_checkpointing_enable"):  # transformers >= 5 names it so
            model.activation_checkpointing_enable(activation_checkpointing_kwargs={"use_reentrant": False})
        else:
            model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
        if recipe.lora:  # frozen embeddings: checkpointed blocks still need inputs that require grad
            model.enable_input_require_grads()
    return _apply_lora(model, recipe) if recipe.lora else model


def build_trainer(
    model: Any,
    tok: Any,
    rows: list[dict[str, list[int]]],
    recipe: Recipe,
    accum: int,
    out: Path,
    device: str,
    pack: bool,
    callback: Any,
) -> Any:
    """transformers ``Trainer`` for the resolved recipe (console printing left to ``callback``)."""
    from transformers import Trainer, TrainingArguments
    from transformers.trainer_callback import PrinterCallback

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
    pad_id = tok.pad_token_id if tok.pad_token_id is not None else 0
    from wildchat.train.trainer import SftCollator

    collator: Any = SftCollator(pad_id, 8 if device.startswith("cuda") else None)
    if pack:
        from wildchat.train.packing import PackedCollator

        collator = PackedCollator(pad_id)
    trainer = Trainer(
        model=model, args=args, train_dataset=rows, data_collator=collator, callbacks=[callback]
    )
    trainer.remove_callback(PrinterCallback)  # the callback prints each step already
    return trainer


def save_trained(trainer: Any, tok: Any, out: Path, recipe: Recipe, merge: bool) -> None:
    """The trained model as a plain Hugging Face folder in ``out`` (LoRA: adapter in ``out/adapter``)."""
    from wildchat.train.models import save_model

    trained: Any = trainer.model
    trained.config.use_cache = True  # saved for inference
    if (out / "checkpoints").is_dir() and not any((out / "checkpoints").iterdir()):
        (out / "checkpoints").rmdir()
    if recipe.lora:
        trained.save_pretrained(str(out / "adapter"))
        tok.save_pretrained(str(out / "adapter"))
        if merge:
            save_model(trained.merge_and_unload(), tok, out)
    else:
        save_model(trained, tok, out)
