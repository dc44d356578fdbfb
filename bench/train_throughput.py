"""Training throughput: chat-template encoding + masking, and SFT step time of SmolLM2-135M.

1. Encoding: conversations/s of :func:`wildchat.train.masking.encode_chat`
   (then packing into 2,048-token rows, :mod:`wildchat.train.packing`, timed apart)
   (the model's chat template; ``--verify`` segments and/or prefix checks) with the
   SmolLM2 tokenizer over a generated release shaped like WildChat-1M
   (``bench/analyze_scale.py`` ``generate()``, cached under ``--work``).
   Reading the Parquet is timed separately; ``--workers`` encode in parallel
   processes (each loads the tokenizer from a saved folder).
2. SFT steps: ``--sft-steps`` optimizer steps (AdamW, lr 2e-5, the recipe's)
   of SmolLM2-135M on batches of ``--sft-batch`` sequences of exactly
   ``--seq-len`` tokens cut from the encoded conversations (assistant-only
   labels kept), on ``--device`` (bf16 autocast on CUDA).  Prints seconds per
   step, tokens/s and the loss per step.

Usage: .venv/bin/python bench/train_throughput.py --n 20000 --sft-steps 3
       .venv/bin/python bench/train_throughput.py --n 0 --device cuda --sft-steps 30 --sft-batch 16
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys
import time
from multiprocessing import get_context
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

_TOKENIZER: Any = None


def _analyze_scale() -> Any:
    spec = importlib.util.spec_from_file_location(
        "analyze_scale", Path(__file__).with_name("analyze_scale.py")
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _init_worker(folder: str) -> None:
    global _TOKENIZER
    from transformers import AutoTokenizer

    _TOKENIZER = AutoTokenizer.from_pretrained(folder, local_files_only=True)


def _encode_chunk(
    args: tuple[list[list[dict[str, str]]], int, str],
) -> tuple[int, int, dict[str, int], list[Any], int, float]:
    """Encode (and pack, timed apart) one chunk: counts, a few kept examples, packed rows, pack seconds."""
    from wildchat.train.masking import MaskingError, encode_chat
    from wildchat.train.packing import pack

    chats, keep, verify = args
    ok = tokens = 0
    skipped: dict[str, int] = {}
    kept: list[Any] = []
    encoded = []
    for messages in chats:
        try:
            enc = encode_chat(_TOKENIZER, messages, max_length=2048, verify=verify)  # type: ignore[arg-type]
        except MaskingError as exc:
            skipped[exc.reason] = skipped.get(exc.reason, 0) + 1
            continue
        ok += 1
        tokens += len(enc)
        encoded.append(enc)
        if len(kept) < keep:
            kept.append((enc.input_ids, enc.labels))
    t = time.perf_counter()
    rows = len(pack(encoded, 2048))
    return ok, tokens, skipped, kept, rows, time.perf_counter() - t


def bench_encoding(
    args: argparse.Namespace, tok_folder: Path, verify: str
) -> tuple[dict[str, Any], list[Any]]:
    from wildchat.formats import iter_conversations
    from wildchat.train.sft_data import conversation_messages, drop_trailing_user, structure_problem

    path = args.work / f"release_{args.n}.parquet"
    if not path.exists():
        t = time.monotonic()
        _analyze_scale().generate(path, args.n)
        print(f"generated {path} in {time.monotonic() - t:.1f}s", file=sys.stderr)
    t = time.perf_counter()
    chats: list[list[dict[str, str]]] = []
    for conv in iter_conversations([path]):
        messages = conversation_messages(conv)
        drop_trailing_user(messages)
        if structure_problem(messages) is None:
            chats.append(messages)
    read_s = time.perf_counter() - t
    step = max(1, -(-len(chats) // (args.workers * 8)))
    chunks = [(chats[i : i + step], 64, verify) for i in range(0, len(chats), step)]
    t = time.perf_counter()
    if args.workers > 1:
        with get_context("spawn").Pool(args.workers, _init_worker, (str(tok_folder),)) as pool:
            parts = pool.map(_encode_chunk, chunks)
    else:
        _init_worker(str(tok_folder))
        parts = [_encode_chunk(c) for c in chunks]
    enc_s = time.perf_counter() - t
    ok = sum(p[0] for p in parts)
    tokens = sum(p[1] for p in parts)
    skipped: dict[str, int] = {}
    for p in parts:
        for k, v in p[2].items():
            skipped[k] = skipped.get(k, 0) + v
    kept = [x for p in parts for x in p[3]]
    rows = sum(p[4] for p in parts)
    pack_s = sum(p[5] for p in parts)
    result = {
        "conversations": len(chats),
        "encoded": ok,
        "skipped": skipped,
        "tokens": tokens,
        "read_seconds": round(read_s, 2),
        "encode_seconds": round(enc_s, 2),
        "conversations_per_s": round(len(chats) / enc_s, 1),
        "tokens_per_s": round(tokens / enc_s, 1),
        "workers": args.workers,
        "verify": verify,
        "packed_rows_2048": rows,
        "pack_fill": round(tokens / max(1, rows * 2048), 3),
        "pack_seconds_summed_over_workers": round(pack_s, 2),
    }
    return result, kept


def _batches(kept: list[Any], seq_len: int, batch: int, eos: int) -> list[Any]:
    """Sequences of exactly ``seq_len`` tokens: encoded chats concatenated (packed) and cut."""
    ids: list[int] = []
    labels: list[int] = []
    for a, b in kept:
        ids.extend(a)
        labels.extend(b)
    if not ids:  # no encoded data (--n 0): a synthetic sequence
        ids, labels = [eos] * seq_len, [eos] * seq_len
    while len(ids) < seq_len * batch:
        ids, labels = ids + ids, labels + labels
    rows = [
        {"input_ids": ids[i * seq_len : (i + 1) * seq_len], "labels": labels[i * seq_len : (i + 1) * seq_len]}
        for i in range(len(ids) // seq_len)
    ]
    return [rows[i : i + batch] for i in range(0, len(rows) - batch + 1, batch)]


def bench_sft(args: argparse.Namespace, kept: list[Any]) -> dict[str, Any]:
    import torch

    from wildchat.train.models import load_model
    from wildchat.train.trainer import SftCollator

    t = time.perf_counter()
    model, tok = load_model(args.model, device=args.device, dtype="float32", for_training=True)
    load_s = time.perf_counter() - t
    device = str(next(model.parameters()).device)
    collate = SftCollator(tok.pad_token_id or 0)
    batches = _batches(kept, args.seq_len, args.sft_batch, tok.eos_token_id or 0)
    opt = torch.optim.AdamW(model.parameters(), lr=2e-5, weight_decay=0.0)
    cuda = device.startswith("cuda")
    times: list[float] = []
    losses: list[float] = []
    for k in range(args.sft_steps + args.warmup):
        batch = {n: v.to(device) for n, v in collate(batches[k % len(batches)]).items()}
        if cuda:
            torch.cuda.synchronize()
        t = time.perf_counter()
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=cuda):
            loss = model(**batch).loss
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        if cuda:
            torch.cuda.synchronize()
        if k >= args.warmup:
            times.append(time.perf_counter() - t)
            losses.append(round(float(loss.detach()), 4))
            print(f"step {k - args.warmup + 1}: {times[-1]:.2f}s loss {losses[-1]}", file=sys.stderr)
    per_step = sum(times) / len(times)
    tokens = args.seq_len * args.sft_batch
    return {
        "model": args.model,
        "device": device,
        "device_name": torch.cuda.get_device_name(0) if cuda else "cpu",
        "torch_threads": torch.get_num_threads(),
        "load_seconds": round(load_s, 1),
        "seq_len": args.seq_len,
        "batch": args.sft_batch,
        "steps": len(times),
        "seconds_per_step": round(per_step, 3),
        "tokens_per_s": round(tokens / per_step, 1),
        "losses": losses,
        "peak_gpu_mem_gb": round(torch.cuda.max_memory_allocated() / 2**30, 2) if cuda else None,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=20_000, help="conversations to encode (0 = skip encoding)")
    ap.add_argument("--work", type=Path, default=Path("/tmp/wc_train_bench"))
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--verify", default="segments,prefix", help="masking checks to time (comma-separated)")
    ap.add_argument("--model", default="smollm2")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--sft-steps", type=int, default=3)
    ap.add_argument("--sft-batch", type=int, default=1)
    ap.add_argument("--seq-len", type=int, default=512)
    ap.add_argument("--warmup", type=int, default=1, help="untimed steps first")
    ap.add_argument("--json", type=Path, help="also write the results here")
    args = ap.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    load1 = os.getloadavg()[0]
    from wildchat.train.models import load_tokenizer

    tok_folder = args.work / "tokenizer"
    if not (tok_folder / "tokenizer.json").exists():
        load_tokenizer(args.model).save_pretrained(str(tok_folder))
    results: dict[str, Any] = {"cpus": os.cpu_count(), "loadavg_1min_start": round(load1, 2)}
    kept: list[Any] = []
    if args.n > 0:
        for verify in args.verify.split(","):
            results[f"encode_{verify}"], kept = bench_encoding(args, tok_folder, verify)
            print(json.dumps(results[f"encode_{verify}"]), file=sys.stderr)
    if args.sft_steps > 0:
        results["sft"] = bench_sft(args, kept)
    results["loadavg_1min_end"] = round(os.getloadavg()[0], 2)
    text = json.dumps(results, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")


if __name__ == "__main__":
    main()
