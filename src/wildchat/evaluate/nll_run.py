"""The ``wildchat eval nll`` pipeline: select, encode, score, write the matrix.

Writes into ``out``:

* ``nll.json`` -- settings, model and dataset provenance (resolved paths,
  selection mode and seed, SHA-256 of the selected keys), and one cell per
  (model, dataset): mean NLL per assistant token with a bootstrap 95%
  interval over conversations, perplexity, token and conversation counts,
  skips by reason, throughput;
* ``nll.csv`` -- the cells as rows;
* ``nll_heatmap.png`` -- the matrix drawn.

Models are loaded one at a time (and freed) through
:func:`wildchat.train.models.load_model`; every model path is resolved
before any work starts so a wrong one fails fast.
"""

from __future__ import annotations

import csv
import gc
import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from wildchat.evaluate.heatmap import draw_heatmap
from wildchat.evaluate.nll import encode_all, score_encoded
from wildchat.evaluate.nll_data import DEFAULT_SEED, Selection, parse_dataset, select_conversations
from wildchat.evaluate.stats import bootstrap_ratio_ci
from wildchat.skips import SkipReport


@dataclass(frozen=True, slots=True)
class NllSettings:
    """Options of one ``eval nll`` run."""

    samples: int = 200
    max_length: int = 1024
    overflow: Literal["skip", "truncate"] = "truncate"
    holdout: float = 0.02
    use_all: bool = False
    seed: str = DEFAULT_SEED
    device: str | None = None
    dtype: str | None = None
    batch_size: int = 16
    batch_tokens: int | None = None  # None: 4096 on CPU, 32768 on a GPU
    fmt: str | None = None
    split: str = "full"  # which split of a release folder (wildchat.formats.release)


def _cell(
    model: str, sel: Selection, tokenizer: Any, mdl: Any, s: NllSettings, batch_tokens: int
) -> dict[str, Any]:
    report = SkipReport()
    encoded = encode_all(tokenizer, sel.messages, max_length=s.max_length, overflow=s.overflow, report=report)
    cell: dict[str, Any] = {"model": model, "dataset": sel.spec.name, "conversations": len(encoded)}
    if not encoded:
        cell.update(mean_nll=None, ci_low=None, ci_high=None, perplexity=None, loss_tokens=0, input_tokens=0)
    else:
        pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else (tokenizer.eos_token_id or 0)
        scores, tp = score_encoded(
            mdl, [e for _, e in encoded], batch_size=s.batch_size, batch_tokens=batch_tokens, pad_id=pad
        )
        est = bootstrap_ratio_ci([c.nll_sum for c in scores], [c.loss_tokens for c in scores])
        cell.update(
            mean_nll=est.value,
            ci_low=est.low,
            ci_high=est.high,
            perplexity=math.exp(est.value),
            loss_tokens=tp.loss_tokens,
            input_tokens=tp.input_tokens,
            seconds=tp.seconds,
            tokens_per_s=tp.tokens_per_s,
        )
    cell["encode"] = report.to_dict()
    return cell


def run_nll(
    model_specs: list[str],
    names: list[str] | None,
    dataset_specs: list[str],
    out: Path,
    settings: NllSettings,
    log: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Compute the matrix, write the outputs, return the ``nll.json`` object.

    Raises ``ValueError`` for mismatched ``names`` or duplicate names,
    :class:`wildchat.train.models.ModelLoadError` for a model that cannot be
    resolved or loaded, ``FileNotFoundError`` for a dataset that matches
    nothing.
    """
    from wildchat.train.models import load_model, pick_device, resolve_model_path

    say = log or (lambda _m: None)
    if names and len(names) != len(model_specs):
        raise ValueError(f"--name given {len(names)} time(s) for {len(model_specs)} model(s)")
    model_names = names or [model_name(m) for m in model_specs]
    datasets = [parse_dataset(d) for d in dataset_specs]
    for label, items in (("model", model_names), ("dataset", [d.name for d in datasets])):
        if len(set(items)) != len(items):
            raise ValueError(f"{label} names must be distinct, got {', '.join(items)} (use NAME=…)")
    resolved = [resolve_model_path(m) for m in model_specs]  # fail fast on a wrong path
    device = pick_device(settings.device)
    batch_tokens = settings.batch_tokens or (4096 if device == "cpu" else 32768)

    selections = []
    for d in datasets:
        sel = select_conversations(
            d,
            settings.samples,
            fraction=settings.holdout,
            use_all=settings.use_all,
            seed=settings.seed,
            fmt=settings.fmt,
            split=settings.split,
        )
        say(f"{d.name}: {len(sel.keys)} conversation(s) selected ({sel.mode})")
        selections.append(sel)

    cells: list[list[dict[str, Any]]] = []
    models_meta: list[dict[str, Any]] = []
    for name, spec, (folder, gguf) in zip(model_names, model_specs, resolved, strict=True):
        mdl, tokenizer = load_model(spec, device=device, dtype=settings.dtype)
        models_meta.append(
            {
                "name": name,
                "spec": spec,
                "path": str(folder),
                "gguf_file": gguf,
                "dtype": str(next(mdl.parameters()).dtype).removeprefix("torch."),
                "device": device,
            }
        )
        row = []
        for sel in selections:
            cell = _cell(name, sel, tokenizer, mdl, settings, batch_tokens)
            say(_describe(cell))
            row.append(cell)
        cells.append(row)
        del mdl
        gc.collect()

    result: dict[str, Any] = {
        "settings": {
            "samples": settings.samples,
            "max_length": settings.max_length,
            "overflow": settings.overflow,
            "holdout": settings.holdout,
            "all": settings.use_all,
            "order_seed": settings.seed,
            "batch_size": settings.batch_size,
            "batch_tokens": batch_tokens,
            "device": device,
        },
        "models": models_meta,
        "datasets": [s.to_dict() for s in selections],
        "matrix": {
            "models": model_names,
            "datasets": [d.name for d in datasets],
            "mean_nll": [[c["mean_nll"] for c in row] for row in cells],
        },
        "cells": [c for row in cells for c in row],
    }
    out.mkdir(parents=True, exist_ok=True)
    (out / "nll.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    _write_csv(out / "nll.csv", result["cells"])
    draw_heatmap(
        result["matrix"]["mean_nll"], model_names, [d.name for d in datasets], out / "nll_heatmap.png"
    )
    return result


def model_name(spec: str) -> str:
    """Default display name of a model spec: the .gguf stem or the folder name."""
    p = Path(spec)
    return p.stem if p.suffix == ".gguf" else (p.name or spec)


def _describe(cell: dict[str, Any]) -> str:
    if cell["mean_nll"] is None:
        return f"{cell['model']} on {cell['dataset']}: nothing scorable ({cell['encode']['skipped']} skipped)"
    return (
        f"{cell['model']} on {cell['dataset']}: NLL {cell['mean_nll']:.3f} "
        f"[{cell['ci_low']:.3f}, {cell['ci_high']:.3f}] over {cell['conversations']} conv / "
        f"{cell['loss_tokens']} tokens, {cell['tokens_per_s']:.0f} tok/s"
    )


CSV_FIELDS = [
    "model",
    "dataset",
    "mean_nll",
    "ci_low",
    "ci_high",
    "perplexity",
    "conversations",
    "loss_tokens",
    "input_tokens",
    "skipped",
    "tokens_per_s",
]


def _write_csv(path: Path, cells: list[dict[str, Any]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=CSV_FIELDS, extrasaction="ignore")
        w.writeheader()
        for c in cells:
            w.writerow({**c, "skipped": c["encode"]["skipped"]})
