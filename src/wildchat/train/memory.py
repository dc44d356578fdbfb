"""Peak-memory estimate of a fine-tuning run, and the settings that make it fit.

Why: the Vicuna recipe as written for GPUs (micro-batch 4 x 2,048 tokens, eager
attention) keeps every layer's attention matrices for the backward pass; on a
CPU that is ~20 GB for a 135M-parameter model, and the kernel kills the run
minutes in.  So before the model is loaded, :func:`plan_memory` estimates the
peak from the model's shape and the run's sizes, picks the settings, and
refuses (:class:`MemoryPlanError`, naming the flags to change) when even the
safest settings would not fit the memory available now.

The estimate, in bytes (fp32 master weights; meant as an upper bound, checked
against measured peak RSS in ``docs/benchmarks.md``):

* weights ``4 P``; gradients ``4 T`` and AdamW moments ``8 T`` (``T`` =
  trainable parameters: all of them, or the LoRA adapter's);
* activations kept for backward: per layer and token ``4 (10 h + 4 i + 3 kv)``
  (norms, projections, RoPE, MLP), or, with gradient checkpointing, each
  layer's input ``4 h`` plus one layer recomputed in full; eager attention adds
  ``4 x 2 x heads x L^2`` per layer and sequence (scores and probabilities;
  SDPA keeps O(L));
* logits: ``4 x 4 x tokens x vocab`` (logits, log-softmax, their gradients);
* runtime: the interpreter, torch and transformers (a measured constant), and
  the load itself (a GGUF is dequantised through a second copy of the weights).

Settings: on the CPU the defaults are SDPA attention, gradient checkpointing
and micro-batch 1 (accumulation keeps the recipe's global batch) -- or, when
every row is short, as many rows (up to the recipe's micro-batch) as fit in the
tokens of one ``max_length`` row, which bounds activations and logits by the
same token count as one full-length row and spares hundreds of tiny forward
passes (``token_budget``); on a GPU the
recipe's micro-batch without checkpointing, made safer step by step (first
checkpointing, then halving the micro-batch) only if it does not fit.  Values
the user set are never changed.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

__all__ = [
    "MemoryEstimate",
    "MemoryPlan",
    "MemoryPlanError",
    "MemoryRequest",
    "MemorySettings",
    "ModelShape",
    "available_memory",
    "estimate_training_memory",
    "plan_memory",
]

GIB = 1024**3
RUNTIME_BYTES = int(0.9 * GIB)  # python + torch + transformers + tokenizer, measured ~0.7 GiB on CPU
HEADROOM = 0.85  # plan to use at most this share of the memory available now
CGROUP_ROOT = Path("/sys/fs/cgroup")  # cgroup v2: memory.max / memory.current of this container


class MemoryPlanError(ValueError):
    """Even the safest settings would not fit; the message names the flags to change."""


@dataclass(frozen=True)
class ModelShape:
    """What the estimate needs to know about a decoder-only model."""

    params: int
    layers: int
    hidden: int
    intermediate: int
    heads: int
    kv_heads: int
    vocab: int

    @classmethod
    def from_config(cls, config: Any, params: int) -> ModelShape:
        """Read a transformers config (Llama-style names, with the usual aliases)."""
        hidden = int(_first(config, "hidden_size", "n_embd", "d_model"))
        heads = int(_first(config, "num_attention_heads", "n_head"))
        return cls(
            params=params,
            layers=int(_first(config, "num_hidden_layers", "n_layer")),
            hidden=hidden,
            intermediate=int(
                _first(config, "intermediate_size", "n_inner", default=4 * hidden) or 4 * hidden
            ),
            heads=heads,
            kv_heads=int(_first(config, "num_key_value_heads", default=heads) or heads),
            vocab=int(_first(config, "vocab_size")),
        )

    def lora_params(self, r: int, targets: int) -> int:
        """Trainable parameters of a LoRA adapter of rank ``r`` on ``targets`` square-ish projections."""
        return self.layers * targets * r * 2 * self.hidden


def _first(config: Any, *names: str, default: Any = None) -> Any:
    for name in names:
        value = getattr(config, name, None)
        if value is not None:
            return value
    if default is None:
        raise ValueError(f"model config has none of {', '.join(names)}: cannot estimate its memory")
    return default


@dataclass(frozen=True)
class MemorySettings:
    """The knobs that decide activation memory."""

    micro_batch: int
    gradient_checkpointing: bool
    attention: str  # "sdpa" or "eager"

    def describe(self) -> str:
        ckpt = "on" if self.gradient_checkpointing else "off"
        return f"attention {self.attention}, gradient checkpointing {ckpt}, micro-batch {self.micro_batch}"


@dataclass(frozen=True)
class MemoryEstimate:
    """Peak bytes by part; ``total`` is their sum."""

    parts: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.parts.values())

    def describe(self) -> str:
        return ", ".join(f"{k} {v / GIB:.2f}" for k, v in self.parts.items() if v)


def estimate_training_memory(
    shape: ModelShape,
    seq_len: int,
    settings: MemorySettings,
    *,
    trainable: int | None = None,
    gguf: bool = False,
) -> MemoryEstimate:
    """Estimated peak memory of full (or, with ``trainable``, adapter) fine-tuning (module docstring)."""
    trainable = shape.params if trainable is None else trainable
    tokens = settings.micro_batch * seq_len
    head_dim = shape.hidden // max(1, shape.heads)
    per_layer_token = 4 * (10 * shape.hidden + 4 * shape.intermediate + 3 * shape.kv_heads * head_dim)
    eager = (
        4 * 2 * shape.heads * seq_len * seq_len * settings.micro_batch if settings.attention == "eager" else 0
    )
    if settings.gradient_checkpointing:
        activations = shape.layers * tokens * 4 * shape.hidden + tokens * per_layer_token + eager
    else:
        activations = shape.layers * (tokens * per_layer_token + eager)
    weights = 4 * shape.params
    parts = {
        "weights": weights,
        "gradients": 4 * trainable,
        "optimizer": 8 * trainable,
        "activations": activations,
        "logits": 4 * 4 * tokens * shape.vocab,
        "runtime": RUNTIME_BYTES,
    }
    load_peak = RUNTIME_BYTES + weights * (3 if gguf else 2)
    if load_peak > sum(parts.values()):  # the load, not training, is the peak
        parts["load"] = load_peak - sum(parts.values())
    return MemoryEstimate(parts)


def available_memory(device: str = "cpu") -> tuple[int | None, str]:
    """Bytes this process can still use on ``device`` and where that figure came from.

    CPU: the smaller of ``MemAvailable`` (psutil or ``/proc/meminfo``) and the
    cgroup limit's headroom; GPU: ``torch.cuda.mem_get_info``.  ``(None, why)``
    when it cannot be known (then nothing is refused).
    """
    if device.startswith("cuda"):
        import torch

        free, _total = torch.cuda.mem_get_info(torch.device(device))
        return int(free), f"free memory of {device}"
    found: list[tuple[int, str]] = []
    try:
        import psutil

        found.append((int(psutil.virtual_memory().available), "available RAM (psutil)"))
    except ImportError:
        meminfo = _meminfo_available()
        if meminfo is not None:
            found.append((meminfo, "MemAvailable in /proc/meminfo"))
    cgroup = _cgroup_headroom()
    if cgroup is not None:
        found.append((cgroup, "the cgroup memory limit"))
    if not found:
        return None, "unknown (no psutil, /proc/meminfo or cgroup limit)"
    return min(found)


def _meminfo_available() -> int | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def _cgroup_headroom() -> int | None:
    try:
        limit = (CGROUP_ROOT / "memory.max").read_text().strip()
        if limit == "max":
            return None
        return max(0, int(limit) - int((CGROUP_ROOT / "memory.current").read_text().strip()))
    except (OSError, ValueError):
        return None


@dataclass(frozen=True)
class MemoryRequest:
    """What the user fixed (``None``: let the plan choose)."""

    micro_batch: int | None = None
    gradient_checkpointing: bool | None = None
    attention: str | None = None


@dataclass(frozen=True)
class MemoryPlan:
    """The chosen settings, their estimate, and what they were measured against."""

    settings: MemorySettings
    estimate: MemoryEstimate
    available: int | None
    available_source: str
    seq_len: int
    chosen_by: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "micro_batch": self.settings.micro_batch,
            "gradient_checkpointing": self.settings.gradient_checkpointing,
            "attention": self.settings.attention,
            "chosen_by": dict(self.chosen_by),
            "sequence_length": self.seq_len,
            "estimated_peak_bytes": self.estimate.total,
            "estimate_bytes": dict(self.estimate.parts),
            "available_bytes": self.available,
            "available_source": self.available_source,
        }


def _candidates(
    device: str, req: MemoryRequest, recipe_micro: int, per_device_batch: int, cpu_rows: int
) -> Iterator[MemorySettings]:
    """Settings to try, fastest first; user-fixed values stay fixed."""
    cpu = device == "cpu"
    fitting = [m for m in range(1, max(1, recipe_micro) + 1) if per_device_batch % m == 0]
    cpu_micro = max(m for m in fitting if m <= max(1, cpu_rows))
    first = MemorySettings(
        micro_batch=req.micro_batch or (cpu_micro if cpu else max(fitting)),
        gradient_checkpointing=cpu if req.gradient_checkpointing is None else req.gradient_checkpointing,
        attention=req.attention or "sdpa",
    )
    yield first
    if req.gradient_checkpointing is None and not first.gradient_checkpointing:
        first = replace(first, gradient_checkpointing=True)
        yield first
    if req.micro_batch is None:
        mb = first.micro_batch
        while mb > 1:
            mb //= 2
            if per_device_batch % mb == 0:
                yield replace(first, micro_batch=mb)


def plan_memory(
    shape: ModelShape,
    seq_len: int,
    device: str,
    request: MemoryRequest,
    *,
    recipe_micro_batch: int,
    per_device_batch: int,
    trainable: int | None = None,
    gguf: bool = False,
    available: tuple[int | None, str] | None = None,
    token_budget: int | None = None,
) -> MemoryPlan:
    """The first candidate settings whose estimate fits ``HEADROOM`` of the available memory.

    ``per_device_batch`` = global batch / world size (a micro-batch must divide
    it); ``seq_len`` = the longest row; ``token_budget`` (the recipe's max
    length) lets the CPU default take several short rows per micro-batch.
    Raises :class:`MemoryPlanError` naming the flags to change when none fits.
    """
    avail, source = available if available is not None else available_memory(device)
    tried: list[tuple[MemorySettings, MemoryEstimate]] = []
    cpu_rows = (token_budget // seq_len) if token_budget and seq_len else 1
    for settings in _candidates(device, request, recipe_micro_batch, per_device_batch, cpu_rows):
        est = estimate_training_memory(shape, seq_len, settings, trainable=trainable, gguf=gguf)
        tried.append((settings, est))
        if avail is None or est.total <= HEADROOM * avail:
            return MemoryPlan(settings, est, avail, source, seq_len, _chosen_by(settings, request, device))
    assert avail is not None
    raise MemoryPlanError(_refusal(shape, seq_len, tried[-1], avail, source, trainable, gguf))


def _chosen_by(settings: MemorySettings, req: MemoryRequest, device: str) -> dict[str, str]:
    where = "cpu default" if device == "cpu" else "fits the GPU"
    return {
        "micro_batch": "user" if req.micro_batch else where,
        "gradient_checkpointing": "user" if req.gradient_checkpointing is not None else where,
        "attention": "user" if req.attention else where,
    }


def _refusal(
    shape: ModelShape,
    seq_len: int,
    last: tuple[MemorySettings, MemoryEstimate],
    avail: int,
    source: str,
    trainable: int | None,
    gguf: bool,
) -> str:
    settings, est = last
    safest = replace(settings, micro_batch=1, gradient_checkpointing=True, attention="sdpa")
    fits = _longest_fitting(shape, safest, HEADROOM * avail, seq_len, trainable, gguf)
    hint = f"--max-length {fits} (the longest that fits)" if fits else "--max-length (no length fits)"
    return (
        f"not enough memory to train: estimated peak {est.total / GIB:.1f} GiB ({est.describe()} GiB) "
        f"with {settings.describe()} at {seq_len} tokens, but only {avail / GIB:.1f} GiB available "
        f"({source}; the plan uses at most {HEADROOM:.0%}). Change: {hint}, --micro-batch 1, "
        "--gradient-checkpointing, --attn sdpa, --lora (adapter only: no full gradients or optimizer "
        "state), a smaller --model, or --device cuda; --skip-memory-check trains anyway."
    )


def _longest_fitting(
    shape: ModelShape, settings: MemorySettings, budget: float, upper: int, trainable: int | None, gguf: bool
) -> int | None:
    lo, hi = 0, upper
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if estimate_training_memory(shape, mid, settings, trainable=trainable, gguf=gguf).total <= budget:
            lo = mid
        else:
            hi = mid - 1
    return lo if lo >= 16 else None
