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
before any work starts so a wrong one fails fast.  Every selection is encoded
with every model's tokenizer before the first weights load, so the number of
tokens to score is known up front and progress reports a true ETA.

Defaults depend on the device (see :func:`resolve_settings`): on a GPU 200
conversations per dataset up to 1,024 tokens (the paper-sized sample); on the
CPU 20 up to 512 tokens, so that two 135M models on two datasets finish in a
few minutes on two cores.  ``nll.json`` records the values used.
"""

from __future__ import annotations

import csv
import gc
import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from wildchat.evaluate.heatmap import draw_heatmap
from wildchat.evaluate.nll import encode_all, score_encoded
from wildchat.evaluate.nll_data import DEFAULT_SEED, Selection, parse_dataset, select_conversations
from wildchat.evaluate.stats import bootstrap_ratio_ci
from wildchat.skips import SkipReport
from wildchat.train.callbacks import format_eta

if TYPE_CHECKING:
    from wildchat.evaluate.nll_data import DatasetSpec
    from wildchat.train.masking import EncodedChat

GPU_DEFAULTS = {"samples": 200, "max_length": 1024, "batch_tokens": 32768}
CPU_DEFAULTS = {"samples": 20, "max_length": 512, "batch_tokens": 4096}


@dataclass(frozen=True, slots=True)
class NllSettings:
    """Options of one ``eval nll`` run (``None``: the device's default, see :func:`resolve_settings`)."""

    samples: int | None = None
    max_length: int | None = None
    overflow: Literal["skip", "truncate"] = "truncate"
    holdout: float = 0.02
    use_all: bool = False
    seed: str = DEFAULT_SEED
    device: str | None = None
    dtype: str | None = None
    batch_size: int = 16
    batch_tokens: int | None = None
    fmt: str | None = None
    split: str = "full"  # release folders: full or public


def resolve_settings(settings: NllSettings, device: str) -> NllSettings:
    """``settings`` with every ``None`` size replaced by the default of ``device``."""
    defaults = CPU_DEFAULTS if device == "cpu" else GPU_DEFAULTS
    return replace(
        settings,
        samples=settings.samples or defaults["samples"],
        max_length=settings.max_length or defaults["max_length"],
        batch_tokens=settings.batch_tokens or defaults["batch_tokens"],
    )


Encoded = list[tuple[int, "EncodedChat"]]
Progress = Callable[[int, int], None]  # (input tokens scored so far, input tokens in the whole run)


class _Meter:
    """Counts scored tokens over the whole run; gives the rate and the time left."""

    def __init__(self, total: int, progress: Progress | None) -> None:
        self.total, self.done, self.progress = total, 0, progress
        self.t0 = time.perf_counter()

    def add(self, tokens: int) -> None:
        self.done += tokens
        if self.progress is not None:
            self.progress(self.done, self.total)

    def status(self) -> str:
        seconds = time.perf_counter() - self.t0
        rate = self.done / seconds if seconds > 0 else 0.0
        left = (self.total - self.done) / rate if rate > 0 else 0.0
        return f"{self.done}/{self.total} tokens, {rate:.0f} tok/s overall, ETA {format_eta(left)}"


def _encode_for(
    spec: str, selections: list[Selection], s: NllSettings
) -> tuple[list[Encoded], list[SkipReport]]:
    """Every selection encoded with the tokenizer of model ``spec`` (cheap: no weights loaded)."""
    from wildchat.train.models import load_tokenizer

    tokenizer = load_tokenizer(spec)
    encoded, reports = [], []
    for sel in selections:
        report = SkipReport()
        assert s.max_length is not None
        encoded.append(
            encode_all(tokenizer, sel.messages, max_length=s.max_length, overflow=s.overflow, report=report)
        )
        reports.append(report)
    return encoded, reports


def _score_cell(
    model: str,
    sel: Selection,
    enc: Encoded,
    report: SkipReport,
    mdl: Any,
    tok: Any,
    s: NllSettings,
    meter: _Meter,
) -> dict[str, Any]:
    cell: dict[str, Any] = {"model": model, "dataset": sel.spec.name, "conversations": len(enc)}
    if not enc:
        cell.update(mean_nll=None, ci_low=None, ci_high=None, perplexity=None, loss_tokens=0, input_tokens=0)
    else:
        pad = tok.pad_token_id if tok.pad_token_id is not None else (tok.eos_token_id or 0)
        assert s.batch_tokens is not None
        scores, tp = score_encoded(
            mdl,
            [e for _, e in enc],
            batch_size=s.batch_size,
            batch_tokens=s.batch_tokens,
            pad_id=pad,
            progress=meter.add,
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


def _check_names(model_specs: list[str], names: list[str] | None, datasets: list[DatasetSpec]) -> list[str]:
    if names and len(names) != len(model_specs):
        raise ValueError(f"--name given {len(names)} time(s) for {len(model_specs)} model(s)")
    model_names = names or [model_name(m) for m in model_specs]
    for label, items in (("model", model_names), ("dataset", [d.name for d in datasets])):
        if len(set(items)) != len(items):
            raise ValueError(f"{label} names must be distinct, got {', '.join(items)} (use NAME=…)")
    return model_names


def _select_all(datasets: list[DatasetSpec], s: NllSettings, say: Callable[[str], None]) -> list[Selection]:
    selections = []
    for d in datasets:
        assert s.samples is not None
        sel = select_conversations(
            d, s.samples, fraction=s.holdout, use_all=s.use_all, seed=s.seed, fmt=s.fmt, split=s.split
        )
        say(f"{d.name}: {len(sel.keys)} conversation(s) selected ({sel.mode})")
        selections.append(sel)
    return selections


def _score_models(
    specs: list[str],
    model_names: list[str],
    selections: list[Selection],
    encoded: list[tuple[list[Encoded], list[SkipReport]]],
    s: NllSettings,
    device: str,
    meter: _Meter,
    say: Callable[[str], None],
) -> tuple[list[list[dict[str, Any]]], list[dict[str, Any]]]:
    """One row of cells per model (models loaded one at a time), and the models' provenance."""
    from wildchat.train.models import load_model, resolve_model_path

    cells: list[list[dict[str, Any]]] = []
    meta: list[dict[str, Any]] = []
    n_cells, k = len(specs) * len(selections), 0
    for name, spec, (enc_rows, reports) in zip(model_names, specs, encoded, strict=True):
        folder, gguf = resolve_model_path(spec)
        mdl, tok = load_model(spec, device=device, dtype=s.dtype)
        dtype = str(next(mdl.parameters()).dtype).removeprefix("torch.")
        meta.append(
            {
                "name": name,
                "spec": spec,
                "path": str(folder),
                "gguf_file": gguf,
                "dtype": dtype,
                "device": device,
            }
        )
        row = []
        for sel, enc, report in zip(selections, enc_rows, reports, strict=True):
            k += 1
            row.append(_score_cell(name, sel, enc, report, mdl, tok, s, meter))
            say(f"[{k}/{n_cells}] {_describe(row[-1])}; {meter.status()}")
        cells.append(row)
        del mdl
        gc.collect()
    return cells, meta


def run_nll(
    model_specs: list[str],
    names: list[str] | None,
    dataset_specs: list[str],
    out: Path,
    settings: NllSettings,
    log: Callable[[str], None] | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Compute the matrix, write the outputs, return the ``nll.json`` object.

    ``progress(done, total)`` follows the input tokens scored.  Raises
    ``ValueError`` for mismatched ``names`` or duplicate names,
    :class:`wildchat.train.models.ModelLoadError` for a model that cannot be
    resolved or loaded, ``FileNotFoundError`` for a dataset that matches
    nothing.
    """
    from wildchat.train.models import pick_device, resolve_model_path

    say = log or (lambda _m: None)
    datasets = [parse_dataset(d) for d in dataset_specs]
    model_names = _check_names(model_specs, names, datasets)
    for m in model_specs:
        resolve_model_path(m)  # fail fast on a wrong path
    device = pick_device(settings.device)
    s = resolve_settings(settings, device)
    say(f"on {device}: {s.samples} conversations per dataset, up to {s.max_length} tokens each")
    selections = _select_all(datasets, s, say)
    encoded = [_encode_for(spec, selections, s) for spec in model_specs]
    total = sum(len(e.input_ids) for enc_rows, _ in encoded for enc in enc_rows for _, e in enc)
    say(f"scoring {total} tokens ({len(model_specs)} model(s) x {len(datasets)} dataset(s))")
    meter = _Meter(total, progress)
    cells, models_meta = _score_models(model_specs, model_names, selections, encoded, s, device, meter, say)
    result: dict[str, Any] = {
        "settings": {
            "samples": s.samples,
            "max_length": s.max_length,
            "overflow": s.overflow,
            "holdout": s.holdout,
            "all": s.use_all,
            "order_seed": s.seed,
            "batch_size": s.batch_size,
            "batch_tokens": s.batch_tokens,
            "device": device,
            "defaults": "cpu" if device == "cpu" else "gpu",
            "split": s.split,
        },
        "models": models_meta,
        "datasets": [sel.to_dict() for sel in selections],
        "matrix": {
            "models": model_names,
            "datasets": [d.name for d in datasets],
            "mean_nll": [[c["mean_nll"] for c in row] for row in cells],
        },
        "cells": [c for row in cells for c in row],
    }
    _write_outputs(out, result)
    return result


def _write_outputs(out: Path, result: dict[str, Any]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "nll.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    _write_csv(out / "nll.csv", result["cells"])
    m = result["matrix"]
    draw_heatmap(m["mean_nll"], m["models"], m["datasets"], out / "nll_heatmap.png")


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
