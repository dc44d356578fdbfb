"""NLL evaluation throughput (tokens/s) of a local model on real conversations.

Reads real conversations at run time from the shared data folder (LMSYS-Chat-1M
and ShareGPT samples; nothing is copied into the repository), encodes them
with the model's chat template (assistant-only labels, as ``wildchat eval nll``
does) and times the batched forward passes of
:func:`wildchat.evaluate.nll.score_encoded` for each ``--batch-tokens`` budget.
Prints a Markdown table for docs/benchmarks.md ("Evaluation").

    .venv/bin/python bench/eval_nll.py [--model smollm2] [--device cpu|cuda] [--samples 24]
        [--max-length 512] [--batch-tokens 512,2048,8192] [--data ../shared/data]

Throughput = input tokens (real, not padding) / wall seconds of the forward
passes; model load and encoding are excluded (reported apart).  The first
budget is run once untimed to warm up.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="smollm2")
    ap.add_argument("--device", default=None)
    ap.add_argument("--dtype", default=None)
    ap.add_argument("--data", type=Path, default=Path("../shared/data"))
    ap.add_argument("--samples", type=int, default=24, help="conversations per dataset")
    ap.add_argument("--max-length", type=int, default=512)
    ap.add_argument("--batch-tokens", default="512,2048,8192")
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: torch default)")
    args = ap.parse_args()

    import torch

    from wildchat.evaluate.nll import encode_all, score_encoded
    from wildchat.evaluate.nll_data import parse_dataset, select_conversations
    from wildchat.skips import SkipReport
    from wildchat.train.models import load_model

    if args.threads:
        torch.set_num_threads(args.threads)
    t0 = time.perf_counter()
    model, tok = load_model(args.model, device=args.device, dtype=args.dtype)
    load_s = time.perf_counter() - t0
    device = str(next(model.parameters()).device)
    dtype = str(next(model.parameters()).dtype).removeprefix("torch.")
    messages = []
    for sub in ("lmsys_chat_1m_sample191", "sharegpt_v3_sample"):
        sel = select_conversations(parse_dataset(str(args.data / sub)), args.samples, use_all=True)
        messages += sel.messages
    t0 = time.perf_counter()
    report = SkipReport()
    encoded = [
        e
        for _, e in encode_all(tok, messages, max_length=args.max_length, overflow="truncate", report=report)
    ]
    encode_s = time.perf_counter() - t0
    n_tokens = sum(len(e.input_ids) for e in encoded)
    budgets = [int(b) for b in args.batch_tokens.split(",")]
    pad = tok.pad_token_id or 0
    score_encoded(
        model, encoded[:4], batch_size=args.batch_size, batch_tokens=budgets[0], pad_id=pad
    )  # warm-up

    print(
        f"model {args.model} on {device} ({dtype}), torch {torch.__version__}, "
        f"{torch.get_num_threads()} threads, "
        f"{platform.processor() or platform.machine()}, load avg {os.getloadavg()[0]:.1f}"
    )
    print(
        f"load {load_s:.1f} s; {len(encoded)} conversations ({report.n_skipped} skipped), {n_tokens} tokens, "
        f"encode {len(encoded) / encode_s:.0f} conv/s"
    )
    print()
    print("| batch tokens | batches | input tokens/s | assistant tokens/s | wall s | mean NLL |")
    print("|---|---|---|---|---|---|")
    for budget in budgets:
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        scores, tp = score_encoded(
            model, encoded, batch_size=args.batch_size, batch_tokens=budget, pad_id=pad
        )
        mean = sum(s.nll_sum for s in scores) / sum(s.loss_tokens for s in scores)
        print(
            f"| {budget} | {tp.batches} | {tp.tokens_per_s:,.0f} | {tp.loss_tokens / tp.seconds:,.0f} | "
            f"{tp.seconds:.1f} | {mean:.4f} |"
        )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"\npeak RSS {peak:,.0f} MB"
        + (
            f", peak GPU {torch.cuda.max_memory_allocated() / 2**20:,.0f} MB"
            if device.startswith("cuda")
            else ""
        )
    )


if __name__ == "__main__":
    main()
