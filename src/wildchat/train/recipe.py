"""Named fine-tuning recipes and how command-line flags override them.

``vicuna`` is the recipe WildLlama was trained with (the WildChat paper,
following Vicuna/FastChat): 3 epochs, global batch 128, learning rate 2e-5,
2,048-token sequences, cosine schedule with 4% warm-up, no weight decay, loss
on assistant tokens only.  ``vicuna-lora`` is the same with a LoRA adapter
(r=16, alpha=32, dropout 0.05 on q/k/v/o) and the 10x learning rate LoRA
usually needs.  Gradient accumulation is derived, not chosen:
``global_batch / (micro_batch * world_size)``, which must divide exactly so
the effective batch is the recipe's.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

__all__ = ["RECIPES", "Recipe", "RecipeError", "resolve_recipe", "total_steps"]


class RecipeError(ValueError):
    """Unknown recipe or inconsistent hyperparameters."""


@dataclass(frozen=True)
class Recipe:
    """Hyperparameters of one fine-tuning run (all overridable from the CLI)."""

    name: str
    epochs: float = 3.0
    global_batch: int = 128
    micro_batch: int = 4
    lr: float = 2e-5
    max_length: int = 2048
    scheduler: str = "cosine"
    warmup_ratio: float = 0.04
    weight_decay: float = 0.0
    max_steps: int = -1  # > 0 stops after that many optimizer steps
    seed: int = 42
    lora: bool = False
    lora_r: int = 16
    lora_alpha: int = 32
    lora_dropout: float = 0.05
    lora_targets: tuple[str, ...] = ("q_proj", "k_proj", "v_proj", "o_proj")
    overflow: str = "skip"  # conversations over max_length: "skip" (counted) or "truncate"

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["lora_targets"] = list(self.lora_targets)
        return d


_VICUNA = Recipe(name="vicuna")
RECIPES: dict[str, Recipe] = {
    "vicuna": _VICUNA,
    "vicuna-lora": replace(_VICUNA, name="vicuna-lora", lora=True, lr=2e-4),
}


def resolve_recipe(name: str, overrides: dict[str, Any], world_size: int = 1) -> tuple[Recipe, int]:
    """The recipe ``name`` with every non-``None`` override applied, and its gradient accumulation.

    Raises :class:`RecipeError` for an unknown recipe or field, a non-positive
    size, or a global batch that is not a multiple of ``micro_batch * world_size``.
    """
    if name not in RECIPES:
        raise RecipeError(f"unknown recipe {name!r}; choose one of {', '.join(RECIPES)}")
    known = {f.name for f in fields(Recipe)} - {"name"}
    unknown = set(overrides) - known
    if unknown:
        raise RecipeError(f"unknown recipe field(s): {', '.join(sorted(unknown))}")
    recipe = replace(RECIPES[name], **{k: v for k, v in overrides.items() if v is not None})
    for field_name in ("global_batch", "micro_batch", "max_length"):
        if getattr(recipe, field_name) <= 0:
            raise RecipeError(f"{field_name} must be positive")
    if recipe.epochs <= 0 and recipe.max_steps <= 0:
        raise RecipeError("epochs must be positive (or set max_steps)")
    if recipe.lr <= 0:
        raise RecipeError("lr must be positive")
    if recipe.overflow not in ("skip", "truncate"):
        raise RecipeError("overflow must be 'skip' or 'truncate'")
    per_step = recipe.micro_batch * world_size
    if recipe.global_batch % per_step:
        raise RecipeError(
            f"global batch {recipe.global_batch} is not a multiple of micro batch {recipe.micro_batch} "
            f"x {world_size} device(s)"
        )
    return recipe, recipe.global_batch // per_step


def total_steps(recipe: Recipe, n_examples: int) -> int:
    """Optimizer steps the run will take (what the schedule and warm-up are sized on)."""
    if recipe.max_steps > 0:
        return recipe.max_steps
    per_epoch = max(1, math.ceil(n_examples / recipe.global_batch))
    return max(1, math.ceil(per_epoch * recipe.epochs))
